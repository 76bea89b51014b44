// IndexedDB schema (Dexie). The one place that knows table layouts.
// Schema changes must stay additive: a new service worker or app version
// must never drop unsent work (outbox, photos, drafts).
import Dexie from 'dexie';

export const db = new Dexie('gridpatrol');

db.version(1).stores({
  // Unacknowledged ops, keyed by device_seq (allocated once, never reused).
  outbox: 'device_seq, &op_id, status, entity, id',
  // Acknowledged ops (for the outbox screen: 已上传 / 冲突 / 等待中).
  history: 'device_seq, op_id, status, acked_at, id',
  // Half-filled forms, one per form key.
  drafts: 'key, updated_at',
  // Photos as Blobs keyed by sha256 hex.
  photos: 'sha, uploaded, created_at',
  // Pulled from the server for offline use.
  grids: 'code',
  households: 'id, grid_code',
  incidents: 'id, grid_code, status',
  inspections: 'id, kind',
  // Patrol in progress: track points saved one by one.
  trackpoints: '++n, patrol_id',
  // Small key/value things: device_id, token, user, cursors, counters.
  kv: 'key',
});

export async function kvGet(key, fallback = undefined) {
  const row = await db.kv.get(key);
  return row === undefined ? fallback : row.value;
}

export async function kvSet(key, value) {
  await db.kv.put({ key, value });
}

export async function kvDel(key) {
  await db.kv.delete(key);
}

export function uuid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The device id: made once, kept in IndexedDB and mirrored in localStorage. */
export async function deviceId() {
  let id = await kvGet('device_id');
  if (!id) {
    let ls = null;
    try { ls = globalThis.localStorage && localStorage.getItem('gp.device_id'); } catch { /* SW */ }
    id = ls || `d-${uuid()}`;
    await db.transaction('rw', db.kv, async () => {
      const again = await kvGet('device_id');
      if (again) { id = again; return; }
      await kvSet('device_id', id);
    });
  }
  try { globalThis.localStorage && localStorage.setItem('gp.device_id', id); } catch { /* SW */ }
  return id;
}

/** RFC 3339 with the local offset, e.g. 2026-11-23T08:15:00+08:00 */
export function nowRfc3339(d = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}
