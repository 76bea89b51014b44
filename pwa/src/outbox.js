// The outbox: every action becomes an op written here before the UI confirms.
// device_seq is allocated inside the same IndexedDB transaction that stores
// the op, so it is unique, gap-free and never reused, even across tabs.
// An op leaves the outbox only when the server acknowledged it.
import { db, kvGet, uuid, nowRfc3339 } from './store.js';
import { notify } from './bus.js';

export const FORGETTABLE = new Set(['applied', 'merged', 'conflict', 'duplicate', 'held']);

/**
 * Queue ops. Each spec: {entity, id, action, base_version, data, label}.
 * Returns the stored ops (with op_id and device_seq).
 */
export async function enqueue(...specs) {
  const stored = [];
  await db.transaction('rw', db.kv, db.outbox, async () => {
    let last = (await kvGet('device_seq_last', 0)) || 0;
    for (const s of specs) {
      last += 1;
      const op = {
        device_seq: last,
        op_id: uuid(),
        entity: s.entity,
        id: s.id,
        action: s.action,
        base_version: s.action === 'create' ? null : (s.base_version ?? null),
        data: s.data,
        recorded_at: nowRfc3339(),
        status: 'pending',
        label: s.label || '',
        created_at: Date.now(),
        tries: 0,
      };
      await db.outbox.add(op);
      stored.push(op);
    }
    await db.kv.put({ key: 'device_seq_last', value: last });
  });
  notify('outbox');
  requestBackgroundSync();
  return stored;
}

/**
 * Add ops from a backup: same op_id and content, but a new device_seq on this
 * device (device_seq is per device). Ops already here are skipped.
 */
export async function importOps(ops) {
  let added = 0;
  await db.transaction('rw', db.kv, db.outbox, db.history, async () => {
    let last = (await kvGet('device_seq_last', 0)) || 0;
    for (const o of [...ops].sort((a, b) => a.device_seq - b.device_seq)) {
      if (!o || !o.op_id || !o.entity || !o.id || !o.action) continue;
      if (await db.outbox.where('op_id').equals(o.op_id).count()) continue;
      if (await db.history.where('op_id').equals(o.op_id).count()) continue;
      last += 1;
      await db.outbox.add({
        device_seq: last, op_id: o.op_id, entity: o.entity, id: o.id, action: o.action,
        base_version: o.base_version ?? null, data: o.data, recorded_at: o.recorded_at,
        status: 'pending', label: o.label || '', created_at: Date.now(), tries: 0,
        imported: true, orig_device_id: o.device_id || null, orig_device_seq: o.device_seq,
      });
      added += 1;
    }
    await db.kv.put({ key: 'device_seq_last', value: last });
  });
  notify('outbox');
  return added;
}

/** Ops as they go on the wire. */
export function wire(op) {
  return {
    op_id: op.op_id,
    device_seq: op.device_seq,
    entity: op.entity,
    id: op.id,
    action: op.action,
    base_version: op.base_version,
    data: op.data,
    recorded_at: op.recorded_at,
  };
}

/** The next batch to push: pending ops in device_seq order, at most `limit`. */
export async function nextBatch(limit = 500) {
  return db.outbox.orderBy('device_seq').filter((op) => op.status === 'pending').limit(limit).toArray();
}

export async function counts() {
  const all = await db.outbox.toArray();
  const rejected = all.filter((o) => o.status === 'rejected').length;
  return { unsent: all.length, rejected, pending: all.length - rejected };
}

/**
 * Apply push results (one per op, in request order, matched by op_id).
 * Forgettable results move the op to history; `rejected` keeps it for the user.
 */
export async function applyResults(ops, results) {
  const byId = new Map(results.map((r) => [r.op_id, r]));
  const now = Date.now();
  await db.transaction('rw', [db.outbox, db.history, db.households, db.incidents, db.inspections], async () => {
    for (const op of ops) {
      const r = byId.get(op.op_id);
      if (!r) continue; // unknown: keep and resend
      if (r.status === 'rejected' && r.code === 'op_id_reused' && (op.imported || op.exported || op.moved)) {
        // The same op, carried in a backup, already reached the server under
        // the other device's sequence number: it is delivered.
        r.status = 'duplicate';
      }
      if (r.status === 'duplicate' && r.original_status === 'rejected') {
        // A resend of an op the server once refused: it is still refused, and the
        // user must still see why. Never forget it silently.
        r.status = 'rejected';
      }
      if (FORGETTABLE.has(r.status)) {
        await db.outbox.delete(op.device_seq);
        await db.history.put({
          device_seq: op.device_seq,
          op_id: op.op_id,
          entity: op.entity,
          id: op.id,
          action: op.action,
          label: op.label,
          status: r.status,
          code: r.code || null,
          version: r.version ?? null,
          grid_code: r.grid_code ?? null,
          match: r.match ?? null,
          conflict_id: r.conflict_id || null,
          missing_attachments: r.missing_attachments || [],
          note: op.data && (op.data.note || op.data.title || op.data.address || ''),
          acked_at: now,
        });
        const table = { household: db.households, incident: db.incidents, inspection: db.inspections }[op.entity];
        if (table && r.version != null) {
          const rec = await table.get(op.id);
          if (rec && (rec.version == null || r.version > rec.version)) {
            await table.update(op.id, { version: r.version, grid_code: r.grid_code ?? rec.grid_code, conflict: r.status === 'conflict' ? 'hard' : rec.conflict });
          }
        }
      } else if (r.status === 'rejected') {
        await db.outbox.update(op.device_seq, { status: 'rejected', code: r.code || null, errors: r.errors || {}, rejected_at: now });
      }
    }
  });
  await pruneHistory();
  notify('outbox');
}

async function pruneHistory(keep = 2000) {
  const n = await db.history.count();
  if (n > keep) {
    const old = await db.history.orderBy('device_seq').limit(n - keep).primaryKeys();
    await db.history.bulkDelete(old);
  }
}

/** The user gives up on a rejected op. */
export async function discard(device_seq) {
  const op = await db.outbox.get(device_seq);
  if (!op || op.status !== 'rejected') return;
  await db.transaction('rw', db.outbox, db.history, async () => {
    await db.outbox.delete(device_seq);
    await db.history.put({ ...historyOf(op), status: 'discarded' });
  });
  notify('outbox');
}

/** Fix a rejected op: a NEW op (new op_id and device_seq) replaces it. */
export async function resubmit(device_seq, data) {
  const op = await db.outbox.get(device_seq);
  if (!op) return null;
  const [fresh] = await enqueue({ entity: op.entity, id: op.id, action: op.action, base_version: op.base_version, data, label: op.label });
  await db.transaction('rw', db.outbox, db.history, async () => {
    await db.outbox.delete(device_seq);
    await db.history.put({ ...historyOf(op), status: 'replaced', replaced_by: fresh.device_seq });
  });
  notify('outbox');
  return fresh;
}

function historyOf(op) {
  return {
    device_seq: op.device_seq, op_id: op.op_id, entity: op.entity, id: op.id, action: op.action,
    label: op.label, code: op.code || null, note: op.data && (op.data.note || op.data.title || ''), acked_at: Date.now(),
  };
}

export function requestBackgroundSync() {
  try {
    if (typeof navigator !== 'undefined' && navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.ready.then((reg) => reg.sync && reg.sync.register('gp-sync')).catch(() => {});
    }
  } catch { /* not available */ }
}
