// The outbox's guarantees, on IndexedDB (fake-indexeddb): device_seq is gap-free and
// never reused; an op leaves only on a forgettable result; a rejected op stays for the
// user; a resend of a once-rejected op stays rejected.
import { beforeEach, describe, expect, it } from 'vitest';
import { db } from '../src/store.js';
import {
  FORGETTABLE, applyResults, counts, discard, enqueue, nextBatch, resubmit, wire,
} from '../src/outbox.js';

const spec = (n) => ({ entity: 'inspection', id: `rec-${n}`, action: 'create', data: { kind: 'patrol', note: `第${n}次` } });

beforeEach(async () => {
  await Promise.all(db.tables.map((t) => t.clear()));
});

describe('enqueue', () => {
  it('allocates device_seq 1, 2, 3… with no gaps, across calls', async () => {
    await enqueue(spec(1), spec(2));
    await enqueue(spec(3));
    const ops = await nextBatch();
    expect(ops.map((o) => o.device_seq)).toEqual([1, 2, 3]);
    expect(new Set(ops.map((o) => o.op_id)).size).toBe(3);
    expect(ops.every((o) => o.status === 'pending' && o.base_version === null)).toBe(true);
  });

  it('never reuses a device_seq after ops leave the outbox', async () => {
    const [op] = await enqueue(spec(1));
    await applyResults([op], [{ op_id: op.op_id, status: 'applied', version: 1 }]);
    const [next] = await enqueue(spec(2));
    expect(next.device_seq).toBe(2);
  });

  it('puts on the wire exactly the contract fields', async () => {
    const [op] = await enqueue(spec(1));
    expect(Object.keys(wire(op)).sort()).toEqual(
      ['action', 'base_version', 'data', 'device_seq', 'entity', 'id', 'op_id', 'recorded_at']);
    expect(wire(op).recorded_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
  });
});

describe('applyResults', () => {
  it('forgets an op only on a forgettable result and keeps unknown ones', async () => {
    const ops = await enqueue(spec(1), spec(2), spec(3));
    await applyResults(ops, [
      { op_id: ops[0].op_id, status: 'applied', version: 1 },
      { op_id: ops[1].op_id, status: 'held' },
      // no result for ops[2]: the response was cut; it must be sent again
    ]);
    expect((await nextBatch()).map((o) => o.device_seq)).toEqual([3]);
    expect(await db.history.count()).toBe(2);
  });

  it.each([...FORGETTABLE])('%s is forgettable', async (status) => {
    const [op] = await enqueue(spec(1));
    await applyResults([op], [{ op_id: op.op_id, status }]);
    expect(await db.outbox.count()).toBe(0);
  });

  it('keeps a rejected op, with its errors, out of the next batch', async () => {
    const [op] = await enqueue(spec(1));
    await applyResults([op], [{ op_id: op.op_id, status: 'rejected', code: 'validation', errors: { 'data.note': ['too long'] } }]);
    expect(await nextBatch()).toEqual([]);
    expect(await counts()).toEqual({ unsent: 1, rejected: 1, pending: 0 });
    const kept = await db.outbox.get(op.device_seq);
    expect(kept.code).toBe('validation');
    expect(kept.errors['data.note']).toEqual(['too long']);
  });

  it('a duplicate of a once-rejected op is still rejected, never silently forgotten', async () => {
    const [op] = await enqueue(spec(1));
    await applyResults([op], [{ op_id: op.op_id, status: 'duplicate', original_status: 'rejected', code: 'validation' }]);
    expect((await counts()).rejected).toBe(1);
  });

  it('op_id_reused for an op carried in a backup means it was delivered', async () => {
    const [op] = await enqueue(spec(1));
    await db.outbox.update(op.device_seq, { imported: true });
    const stored = await db.outbox.get(op.device_seq);
    await applyResults([stored], [{ op_id: op.op_id, status: 'rejected', code: 'op_id_reused' }]);
    expect(await db.outbox.count()).toBe(0);
    expect((await db.history.get(op.device_seq)).status).toBe('duplicate');
  });
});

describe('fixing a rejected op', () => {
  it('discard keeps a trace in history and frees nothing else', async () => {
    const [op] = await enqueue(spec(1));
    await applyResults([op], [{ op_id: op.op_id, status: 'rejected', code: 'forbidden' }]);
    await discard(op.device_seq);
    expect(await db.outbox.count()).toBe(0);
    expect((await db.history.get(op.device_seq)).status).toBe('discarded');
  });

  it('resubmit sends a new op with a new op_id and the next device_seq', async () => {
    const [op] = await enqueue(spec(1));
    await applyResults([op], [{ op_id: op.op_id, status: 'rejected', code: 'validation' }]);
    const fresh = await resubmit(op.device_seq, { kind: 'patrol', note: '改好了' });
    expect(fresh.device_seq).toBe(2);
    expect(fresh.op_id).not.toBe(op.op_id);
    expect((await nextBatch()).map((o) => o.data.note)).toEqual(['改好了']);
    expect((await db.history.get(1)).status).toBe('replaced');
  });
});
