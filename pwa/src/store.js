// IndexedDB schema (Dexie). The one place that knows table layouts.
// Schema changes must stay additive: a new service worker or app version
// must never drop unsent work (outbox, photos, drafts).
import Dexie from 'dexie';

// One database per user who signs in on this phone, so two people sharing a phone
// never see each other's data: the signed-out user's database is deleted, and one
// whose owner left unsent work behind is kept (scrubbed of pulled data) but never
// opened for anybody else. A small device database remembers who is signed in and
// each user's own device_id and last device_seq (a random id and a counter: no
// personal data), which must outlive a wipe because the server never lets a
// device reuse a sequence number.
const SCHEMA = {
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
};

/** The database of the app before per-user databases; adopted by its user. */
export const LEGACY_DB = 'gridpatrol';
/** Opened when nobody is signed in: stays empty. */
const NOBODY_DB = 'gridpatrol-nobody';

export function openUserDb(name) {
  const d = new Dexie(name);
  d.version(1).stores(SCHEMA);
  // Deleted elsewhere (a sign-out in another tab): Dexie closes it; open a fresh one next time.
  d.on('versionchange', () => { d.gpGone = true; });
  return d;
}

export const deviceDb = new Dexie('gridpatrol-device');
deviceDb.version(1).stores({ kv: 'key' });

/** The signed-in user's database (a live binding: it changes on sign-in and sign-out). */
export let db = openUserDb(NOBODY_DB);
let dbUser = null;

export async function devGet(key, fallback = undefined) {
  const row = await deviceDb.kv.get(key);
  return row === undefined ? fallback : row.value;
}

export async function devSet(key, value) {
  await deviceDb.kv.put({ key, value });
}

export async function devDel(key) {
  await deviceDb.kv.delete(key);
}

/**
 * A user's key on this phone: a hash, so that what stays behind after sign-out (their
 * device id and sequence counter) does not even name them.
 */
export async function userKey(username) {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`gridpatrol:${username}`));
  return [...new Uint8Array(d)].slice(0, 12).map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Name of the database holding a user's data. */
export async function userDbName(username, entry = null) {
  return (entry && entry.db) || `gridpatrol-u-${await userKey(username)}`;
}

/** This phone's record of one user: {db, device_id, seq_last}. */
export async function userEntry(username) {
  return devGet(`user:${await userKey(username)}`, null);
}

export async function setUserEntry(username, entry) {
  await devSet(`user:${await userKey(username)}`, entry);
}

/** Switch `db` to a user's database (null: nobody). */
export async function useUser(username) {
  if (username === dbUser && db && !db.gpGone) return db;
  const name = username ? await userDbName(username, await userEntry(username)) : NOBODY_DB;
  if (db && (db.name !== name || db.gpGone)) db.close();
  if (!db || db.name !== name || db.gpGone) db = openUserDb(name);
  dbUser = username;
  return db;
}

export function activeUserName() {
  return dbUser;
}

let legacyChecked = null;

/** The first start after the upgrade: the old shared database becomes its user's. */
function adoptLegacy() {
  if (!legacyChecked) {
    legacyChecked = (async () => {
      if (await devGet('legacy_checked', false)) return;
      if (await Dexie.exists(LEGACY_DB)) {
        const old = openUserDb(LEGACY_DB);
        try {
          const get = async (k) => { const r = await old.kv.get(k); return r && r.value; };
          const user = await get('user');
          const name = (user && user.username) || (await get('pull_user'));
          if (name && !(await userEntry(name))) {
            await setUserEntry(name, { db: LEGACY_DB, device_id: (await get('device_id')) || null, seq_last: (await get('device_seq_last')) || 0 });
            if (!(await devGet('active', null))) await devSet('active', name);
          }
          const last = await get('last_username');
          if (last && !(await devGet('last_username', null))) await devSet('last_username', last);
        } finally { old.close(); }
      }
      try { globalThis.localStorage && localStorage.removeItem('gp.device_id'); } catch { /* SW */ }
      await devSet('legacy_checked', true);
    })();
  }
  return legacyChecked;
}

/** Open the database of whoever is signed in on this phone (or nobody's). */
export async function useActiveUser() {
  await adoptLegacy();
  const name = await devGet('active', null);
  await useUser(name);
  return name;
}

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

export function newDeviceId() {
  return `d-${uuid()}`;
}

/** The signed-in user's device id on this phone (each user has their own). */
export async function deviceId() {
  const id = await kvGet('device_id');
  if (id) return id;
  const entry = dbUser ? await userEntry(dbUser) : null;
  return (entry && entry.device_id) || null;
}

/** What a database holds that the server does not have yet. */
export async function unsentWork(d = db) {
  const [ops, photos, drafts, patrol] = await Promise.all([
    d.outbox.count(),
    d.photos.filter((p) => p.uploaded !== 1).count(),
    d.drafts.count(),
    d.kv.get('patrol_active'),
  ]);
  const active = patrol && patrol.value ? 1 : 0;
  return { ops, photos, drafts, patrol: active, total: ops + photos + drafts + active };
}

/** RFC 3339 with the local offset, e.g. 2026-11-23T08:15:00+08:00 */
export function nowRfc3339(d = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}
