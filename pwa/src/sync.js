// Sync: push the outbox, upload photos, pull changes. One sync at a time even
// across tabs and the service worker (Web Locks). No DOM here: the service
// worker runs the same code for Background Sync.
import { api, NetworkError, HttpError } from './api.js';
import { db, kvGet, kvSet, deviceId, useActiveUser } from './store.js';
import { nextBatch, applyResults, wire, counts } from './outbox.js';
import { uploadPendingPhotos } from './photos.js';
import { Backoff } from './backoff.js';
import { decide } from './syncpolicy.js';
import { notify } from './bus.js';
import { markOnline, markOffline } from './connection.js';

export const backoff = new Backoff({ base: 2000, cap: 5 * 60 * 1000 });
let localBusy = false;

export async function setStatus(status) {
  const s = { at: Date.now(), ...status };
  await kvSet('sync_status', s);
  notify('sync', s);
  return s;
}

export async function getStatus() {
  return kvGet('sync_status', { state: 'idle', at: 0 });
}

/**
 * Run one sync unless one is already running somewhere. Returns
 * {state: 'ok'|'busy'|'offline'|'error'|'need_login', ...}.
 */
export async function syncNow({ pull = true } = {}) {
  if (typeof navigator !== 'undefined' && navigator.locks && navigator.locks.request) {
    return navigator.locks.request('gridpatrol-sync', { ifAvailable: true }, async (lock) => {
      if (!lock) return { state: 'busy' };
      return runSync({ pull });
    });
  }
  if (localBusy) return { state: 'busy' };
  localBusy = true;
  try { return await runSync({ pull }); } finally { localBusy = false; }
}

async function runSync({ pull }) {
  // The service worker has no idea who signed in last: ask the device database.
  await useActiveUser();
  const token = await kvGet('token');
  if (!token || (await kvGet('auth_lost'))) {
    return setStatus({ state: 'need_login', message: '请重新登录后同步' });
  }
  notify('progress', null);
  await setStatus({ state: 'syncing', message: '正在同步…' });
  let pushed = 0;
  let pulled = 0;
  try {
    pushed = await pushAll();
    await uploadPendingPhotos();
    if (pull) {
      pulled = await pullAll();
      await optional(refreshGridsIfStale);
      await refreshMeta();
    }
    backoff.reset();
    markOnline();
    const c = await counts();
    await kvSet('last_sync_ok', Date.now());
    return setStatus({ state: 'ok', pushed, pulled, message: c.rejected ? `同步完成，${c.rejected} 条被退回需处理` : '同步完成' });
  } catch (e) {
    // Anything else (storage, a bug) counts as a passing server error: retried, shown.
    const known = e instanceof HttpError || e instanceof NetworkError;
    const d = decide(known ? e : { status: 500, message: String((e && e.message) || e) }, { backoff });
    if (d.state === 'offline') markOffline();
    return setStatus({ state: d.state, message: d.message, pushed,
      retry_at: d.delay === null || d.delay === undefined ? null : Date.now() + d.delay });
  }
}

/** A side fetch whose 4xx must not fail the sync (a 401 still does). */
async function optional(fn) {
  try { return await fn(); } catch (e) {
    if (e instanceof HttpError && e.status !== 401 && !e.transient) return null;
    throw e;
  }
}

async function pushAll() {
  const device_id = await deviceId();
  const meta = await kvGet('meta', null);
  const limit = Math.max(1, Math.min(500, (meta && meta.sync_max_ops) || 500));
  let total = 0;
  const todo = (await counts()).pending;
  if (todo) notify('progress', { phase: 'push', done: 0, total: todo });
  for (let round = 0; round < 10000; round++) {
    const batch = await nextBatch(limit);
    if (!batch.length) break;
    await db.outbox.bulkUpdate(batch.map((op) => ({ key: op.device_seq, changes: { tries: (op.tries || 0) + 1, last_try_at: Date.now() } })));
    const res = await api('/sync/push', { method: 'POST', json: { device_id, ops: batch.map(wire) }, timeout: 120000 });
    const results = (res && res.results) || [];
    if (!results.length) throw new Error('服务器未返回结果');
    await applyResults(batch, results);
    total += results.length;
    notify('pushed', { count: results.length });
    notify('progress', { phase: 'push', done: total, total: Math.max(todo, total) });
    // If the server acknowledged nothing of this batch, stop rather than spin.
    const after = await nextBatch(1);
    if (after.length && after[0].device_seq === batch[0].device_seq) break;
  }
  return total;
}

/** Pull everything changed since our cursor into the local tables. */
export async function pullAll() {
  let cursor = await kvGet('pull_cursor', null);
  let n = 0;
  notify('progress', { phase: 'pull', done: 0 });
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ limit: '500' });
    if (cursor) q.set('cursor', cursor);
    const res = await api(`/sync/pull?${q}`, { timeout: 60000 });
    const changes = res.changes || [];
    await applyChanges(changes);
    cursor = res.cursor ?? cursor;
    await kvSet('pull_cursor', cursor);
    n += changes.length;
    notify('progress', { phase: 'pull', done: n });
    if (!res.more || !changes.length) break;
  }
  if (n) notify('pulled', { count: n });
  return n;
}

const TABLES = () => ({ household: db.households, incident: db.incidents, inspection: db.inspections });

export async function applyChanges(changes) {
  if (!changes.length) return;
  const tables = TABLES();
  await db.transaction('rw', [db.households, db.incidents, db.inspections, db.outbox], async () => {
    for (const c of changes) {
      const t = tables[c.entity];
      if (!t) continue;
      if (c.deleted) { await t.delete(c.id); continue; }
      const data = c.data || {};
      const row = {
        id: c.id,
        version: c.version,
        grid_code: c.grid_code ?? data.grid_code ?? null,
        conflict: c.conflict ?? data.conflict ?? null,
        data,
        server_data: data,
      };
      if (c.entity === 'incident') row.status = data.status || null;
      if (c.entity === 'inspection') row.kind = data.kind || null;
      // Keep the local view of edits that are still unsent on top.
      const pending = await db.outbox.where('id').equals(c.id).toArray();
      for (const op of pending.sort((a, b) => a.device_seq - b.device_seq)) {
        if (op.action === 'update') row.data = { ...row.data, ...op.data };
      }
      if (c.entity === 'incident') row.status = row.data.status || row.status;
      await t.put(row);
    }
  });
}

async function refreshGridsIfStale(maxAgeMs = 10 * 60 * 1000) {
  const at = await kvGet('grids_at', 0);
  if (Date.now() - at < maxAgeMs) return;
  await refreshGrids();
}

export async function refreshGrids() {
  const fc = await api('/grids?bbox=70,15,140,55', { timeout: 60000 });
  const feats = (fc && fc.features) || [];
  await db.transaction('rw', db.grids, db.kv, async () => {
    await db.grids.clear();
    await db.grids.bulkPut(feats.map((f) => ({ code: String(f.properties.code), properties: f.properties, geometry: f.geometry })));
    await db.kv.put({ key: 'grids_at', value: Date.now() });
  });
  notify('grids');
  return feats.length;
}

export async function refreshMeta() {
  try {
    const meta = await api('/meta', { auth: false, timeout: 10000 });
    if (meta) await kvSet('meta', meta);
    return meta;
  } catch {
    return kvGet('meta', null);
  }
}
