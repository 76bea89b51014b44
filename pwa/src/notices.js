// "Close the loop": which of my incidents moved since I last looked, a trail of
// the statuses this device has seen (the pull carries only the current record),
// and a notice when something changed or a 核查 waits: a system notification
// when the user allowed them, otherwise an in-app message.
import { kvGet, kvSet, db } from './store.js';
import { on } from './bus.js';
import { toast } from './dom.js';

const SEEN = 'incidents_seen';
const TRAIL = 'incidents_trail';
const NOTIFIED = 'incidents_notified';
/** Statuses an incident starts in: reaching them is not news to its reporter. */
export const INITIAL = new Set(['reported', 'self_handled']);

export function statusOf(r) {
  return (r && (r.status || (r.data && r.data.status))) || '';
}

/**
 * What counts as "changed": the status and the number of notes.
 *
 * >>> changeKey({ status: 'accepted', data: { notes: [{}, {}] } })  // 'accepted|2'
 */
export function changeKey(r) {
  return `${statusOf(r)}|${((r.data && r.data.notes) || []).length}`;
}

/** Changed since the user last opened it (never opened: changed unless still in its first status). */
export function isChanged(r, seen) {
  if (!r || r.local) return false;
  const s = seen[r.id];
  if (s === undefined) return !INITIAL.has(statusOf(r));
  return s !== changeKey(r);
}

export async function loadSeen() {
  return kvGet(SEEN, {});
}

export async function markSeen(r) {
  const seen = await loadSeen();
  seen[r.id] = changeKey(r);
  await kvSet(SEEN, seen);
}

/**
 * Record each status this device sees an incident in, with when it was first
 * seen, so the detail can show a timeline the pull alone cannot give.
 */
export async function observe(rows) {
  const trail = await kvGet(TRAIL, {});
  let dirty = false;
  for (const r of rows) {
    const st = statusOf(r);
    if (!st) continue;
    const t = trail[r.id] || [];
    if (!t.length || t[t.length - 1].status !== st) {
      t.push({ status: st, at: new Date().toISOString() });
      trail[r.id] = t;
      dirty = true;
    }
  }
  if (dirty) await kvSet(TRAIL, trail);
  return trail;
}

export async function trailOf(id) {
  return ((await kvGet(TRAIL, {}))[id]) || [];
}

/** Handled incidents in my grids wait for my 核查. */
export function waitsForVerify(r, myGrids) {
  return statusOf(r) === 'handled' && (!r.grid_code || (myGrids || []).includes(r.grid_code));
}

/** Incidents changed since last looked at, and those waiting for 核查. */
export async function pendingNews(user) {
  const all = await db.incidents.toArray();
  await observe(all);
  const seen = await loadSeen();
  return {
    changed: all.filter((r) => isChanged(r, seen)),
    verify: all.filter((r) => waitsForVerify(r, user && user.grids)),
  };
}

/**
 * After each pull, tell the user once per change. For main.js (lead):
 * `startIncidentWatch(() => currentUser())` after startAutoSync().
 */
export function startIncidentWatch(getUser) {
  async function check() {
    const user = await getUser();
    if (!user) return;
    const { changed, verify } = await pendingNews(user);
    const told = await kvGet(NOTIFIED, {});
    const fresh = [...changed, ...verify].filter((r) => told[r.id] !== changeKey(r));
    if (!fresh.length) return;
    for (const r of fresh) told[r.id] = changeKey(r);
    await kvSet(NOTIFIED, told);
    const n = verify.filter((r) => fresh.includes(r)).length;
    const text = n ? `有 ${n} 件事件等您核查` : `您的 ${fresh.length} 件事件有新进展`;
    notifyUser('网格巡查', `${text}，请看“我的事件”`);
  }
  return on('pulled', () => { check().catch(() => {}); });
}

/** A system notification when allowed, otherwise an in-app message. */
export function notifyUser(title, body) {
  try {
    if (globalThis.Notification && Notification.permission === 'granted') {
      new Notification(title, { body, tag: 'gp-incidents', lang: 'zh-CN' });
      return 'system';
    }
  } catch { /* some WebViews only allow notifications from the service worker */ }
  toast(body);
  return 'inapp';
}

/**
 * Ask for system notifications (call from a tap: browsers ignore it otherwise).
 * Resolves 'granted', 'denied', 'default' or 'unsupported'; in-app messages are
 * used whatever the answer.
 */
export async function askNotifications() {
  if (!globalThis.Notification) return 'unsupported';
  if (Notification.permission !== 'default') return Notification.permission;
  try { return await Notification.requestPermission(); } catch { return 'default'; }
}
