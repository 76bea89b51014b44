// Session: token, user and device id on this device. Each user who signs in on
// a phone gets their own database and their own device_id (store.js); signing
// out leaves nothing of theirs behind, and never loses unsent work.
import { api, HttpError } from './api.js';
import {
  db, kvGet, kvSet, kvDel, devGet, devSet, devDel, userEntry, setUserEntry, userDbName,
  useUser, useActiveUser, activeUserName, openUserDb, newDeviceId, unsentWork,
} from './store.js';
import { notify } from './bus.js';

/** This tab, so that it can tell its own session events from other tabs'. */
export const TAB = Math.random().toString(36).slice(2);

/** A user's entry on this phone, made (with a fresh device_id) on first sign-in. */
async function entryFor(username) {
  let e = await userEntry(username);
  if (!e || !e.device_id) {
    e = { ...(e || {}), device_id: newDeviceId(), seq_last: 0 };
    await setUserEntry(username, e);
  }
  return e;
}

function postToken(username, password, device_id) {
  return api('/auth/token', { method: 'POST', json: { username, password, device_id }, auth: false });
}

export async function login(username, password) {
  const prev = await useActiveUser();
  let entry = await entryFor(username);
  let res;
  try {
    res = await postToken(username, password, entry.device_id);
  } catch (e) {
    // The id belongs to someone else on the server (an id shared before each user
    // had their own): make a fresh one, once.
    if (!(e instanceof HttpError && e.status === 403 && e.code === 'device_in_use')) throw e;
    entry = { ...entry, device_id: newDeviceId(), seq_last: 0 };
    await setUserEntry(username, entry);
    res = await postToken(username, password, entry.device_id);
  }
  if (prev && prev !== username) await leaveUser(prev);
  await devSet('active', username);
  await devSet('last_username', username);
  await useUser(username);
  await adoptDevice(entry);
  await kvSet('token', res.token);
  await kvSet('token_expires_at', res.expires_at || null);
  await kvSet('user', res.user);
  await kvDel('auth_lost');
  notify('session', { tab: TAB, user: username });
  // A one-time password (a new account, or one an admin reset) must be replaced first.
  return { ...res.user, must_change_password: Boolean(res.must_change_password) };
}

/** Replace the password; the server signs the user out on their other devices. */
export async function changePassword(old, fresh) {
  await api('/auth/password', { method: 'POST', json: { old, new: fresh } });
}

/**
 * Make the user's database use their device id. A new id (first sign-in, or a fresh
 * one after device_in_use) starts its sequence at 1 on the server, so ops still
 * unsent are renumbered from 1: a gap would hold every later op on the server.
 */
async function adoptDevice(entry) {
  const had = await kvGet('device_id', null);
  if (had === entry.device_id) {
    const last = (await kvGet('device_seq_last', 0)) || 0;
    if ((entry.seq_last || 0) > last) await kvSet('device_seq_last', entry.seq_last);
    return;
  }
  await db.transaction('rw', db.kv, db.outbox, db.history, async () => {
    const ops = await db.outbox.orderBy('device_seq').toArray();
    // Sequence numbers of an old id mean nothing to the new one.
    let seq = had ? 0 : (entry.seq_last || 0);
    await db.outbox.clear();
    if (had) await db.history.clear();
    for (const op of ops) {
      seq += 1;
      // `moved`: if the old id did deliver it, op_id_reused means delivered (outbox.js).
      await db.outbox.add({ ...op, device_seq: seq, moved: true });
    }
    await db.kv.put({ key: 'device_id', value: entry.device_id });
    await db.kv.put({ key: 'device_seq_last', value: seq });
  });
}

/** Remember a user's last device_seq on the phone (it must outlive their database). */
async function saveSeq(username, d) {
  const entry = await userEntry(username);
  if (!entry) return;
  const row = await d.kv.get('device_seq_last');
  const last = (row && row.value) || 0;
  await setUserEntry(username, { ...entry, seq_last: Math.max(entry.seq_last || 0, last) });
}

/**
 * Another user signs in while `username`'s data is still here (a token ran out,
 * nobody signed out): delete it all, or, if some of it is unsent, keep only the
 * unsent work (it syncs when its owner signs in again) and drop what was pulled.
 */
async function leaveUser(username) {
  const entry = await userEntry(username);
  const name = await userDbName(username, entry);
  if (db.name === name) await useUser(null);
  const d = openUserDb(name);
  try {
    await saveSeq(username, d);
    const u = await unsentWork(d);
    if (!u.total) {
      d.close();
      await d.delete();
      if (entry) await setUserEntry(username, { ...(await userEntry(username)), db: undefined });
    } else {
      await d.transaction('rw', [d.kv, d.households, d.incidents, d.inspections, d.history, d.grids], async () => {
        // Households made on this phone and not yet sent stay: unsent ops name them.
        await d.households.filter((r) => !r.local).delete();
        await d.incidents.filter((r) => !r.local).delete();
        await d.inspections.clear();
        await d.history.clear();
        await d.grids.clear();
        for (const k of ['token', 'token_expires_at', 'pull_cursor', 'grids_at', 'sync_status']) await d.kv.delete(k);
      });
    }
  } finally { d.close(); }
  await scrubCaches();
}

/** Cache Storage entries that may hold personal data (API answers, photos). */
export async function scrubCaches() {
  if (!globalThis.caches) return;
  for (const name of await caches.keys()) {
    if (name.startsWith('workbox-precache')) {
      // The app shell itself is not personal; only API answers would be.
      const c = await caches.open(name);
      for (const req of await c.keys()) {
        if (new URL(req.url).pathname.startsWith('/api/')) await c.delete(req);
      }
    } else {
      await caches.delete(name);
    }
  }
}

/** What the signed-in user has not sent yet (ops, photos, drafts, a running patrol). */
export async function unsent() {
  return unsentWork(db);
}

/**
 * Sign out and leave nothing behind. Refuses ({refused: true, unsent}) while
 * anything is unsent, unless `force` (the user exported a backup first: the next
 * sign-in then gets a fresh device id, as the exported ops hold sequence numbers).
 */
export async function logout({ force = false } = {}) {
  const username = activeUserName();
  const u = await unsent();
  if (u.total && !force) return { refused: true, unsent: u };
  let revoked = true;
  try { await api('/auth/token', { method: 'DELETE', timeout: 5000 }); } catch (e) {
    // Offline: the token is deleted with the database below, so nobody can use it.
    revoked = e instanceof HttpError && e.status === 401;
  }
  if (username) {
    const d = db;
    await saveSeq(username, d);
    await useUser(null);
    d.close();
    await d.delete();
    await setUserEntry(username, { ...(await userEntry(username)), db: undefined, ...(u.total ? { device_id: null, seq_last: 0 } : {}) });
  }
  await devDel('active');
  await devDel('last_username');
  await scrubCaches();
  try { globalThis.sessionStorage && sessionStorage.clear(); } catch { /* ignore */ }
  notify('session', { tab: TAB, user: null });
  return { refused: false, revoked };
}

export async function currentUser() {
  const name = await useActiveUser();
  if (!name) return null;
  const token = await kvGet('token');
  const lost = await kvGet('auth_lost');
  if (!token || lost) return null;
  return kvGet('user', null);
}

/** The name to prefill on the login form (cleared by signing out). */
export async function lastUsername() {
  return devGet('last_username', '');
}

export async function refreshMe() {
  const res = await api('/me');
  if (res && res.user) await kvSet('user', res.user);
  return res && res.user;
}
