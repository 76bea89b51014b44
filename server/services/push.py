"""Persistence for ``POST /sync/push``: load the working set, apply ops, write it back.

One push is one transaction. The device row is locked first, so pushes from one device
(two tabs, a retry racing the original) are serialised; records are locked in id order,
so pushes from different devices touching the same record serialise without deadlocks.
Everything is written with one statement per table, and nothing is acknowledged before
the commit (docs/protocol.md, rule 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from server.auth import Caller
from server.extensions import db
from server.scope import CallerAuthority, grid_places
from server.services.grid_index import place_points
from server.services.photos import name_photos, not_uploaded_by
from server.services.records import load_history, load_records, stamp_changes, write_batch
from sync.apply import apply_op, rejected
from sync.ops import Op, ParsedOp, parse_op
from sync.ordering import plan, release
from sync.records import SHA256
from sync.state import Author, Batch, Placement
from sync.values import loggable

Result = dict[str, Any]


@dataclass
class Incoming:
    """An op of this push or a held one, on its way to being applied."""

    parsed: ParsedOp
    raw: Any
    index: int | None  # position in the request; None for ops held from earlier pushes
    held_before: bool = False
    result: Result | None = None
    gap: bool = False


@dataclass
class DeviceRun:
    caller: Caller
    device_id: str
    fresh: dict[int, Incoming] = field(default_factory=dict)
    app_version: str | None = None
    held: dict[int, Incoming] = field(default_factory=dict)
    touched: list[str] = field(default_factory=list)
    # Sequence numbers at or above next_seq already used up by rejected ops.
    used: set[int] = field(default_factory=set)
    # Slots this push uses up with ops already known elsewhere (see OpSeqUse).
    reslotted: dict[int, str] = field(default_factory=dict)


def push(caller: Caller, device_id: str, raw_ops: list[Any],
         app_version: str | None = None) -> list[Result]:
    """Process one push and return one result per op, in request order."""
    parsed = [parse_op(raw) for raw in raw_ops]
    results: list[Result | None] = [None] * len(parsed)
    next_seq = db.session.execute(
        text("SELECT next_seq FROM device WHERE id = :d FOR UPDATE"), {"d": device_id}
    ).scalar_one()
    run = DeviceRun(caller, device_id, app_version=app_version)
    _screen(run, parsed, raw_ops, results)
    _load_held(run, next_seq)
    run.used |= set(run.reslotted)
    ready, _held, new_next = plan(next_seq, set(run.fresh) | set(run.held) | run.used)
    _apply_in_order(run, [_pick(run, s) for s in ready if s not in run.used])
    for item in run.fresh.values():
        if item.result is None:
            item.result = {"op_id": item.parsed.op_id, "status": "held"}
        results[item.index] = item.result  # type: ignore[index]
    _finish(run, new_next)
    _fill_duplicates_in_request(parsed, results)
    _add_missing_attachments(caller, parsed, results)
    return [r for r in results if r is not None]


def release_held(older_than_s: int) -> int:
    """Apply every held op older than ``older_than_s``, giving up on the gaps before it."""
    devices = db.session.execute(text("""
        SELECT DISTINCT device_id FROM op_log
        WHERE status = 'held' AND received_at < now() - make_interval(secs => :s)
    """), {"s": older_than_s}).scalars().all()
    released = 0
    for device_id in devices:
        released += _release_device(device_id)
        db.session.commit()
    return released


def _release_device(device_id: str) -> int:
    from server.auth import load_scope

    next_seq = db.session.execute(
        text("SELECT next_seq FROM device WHERE id = :d FOR UPDATE"), {"d": device_id}
    ).scalar_one()
    owner = db.session.execute(text("""
        SELECT u.id, u.username, u.role, u.dept, u.scope_epoch FROM device d
        JOIN app_user u ON u.id = d.user_id WHERE d.id = :d
    """), {"d": device_id}).one()
    caller = Caller(owner.id, owner.username, owner.role, owner.dept, device_id, 0,
                    owner.scope_epoch)
    caller.grids, caller.areas = load_scope(owner.id)
    run = DeviceRun(caller, device_id)
    _load_held(run, next_seq)
    order, new_next = release(next_seq, set(run.held) | run.used)
    order = [s for s in order if s not in run.used]
    items = [run.held[s] for s in order]
    for item in items:
        item.gap = True
    _apply_in_order(run, items)
    _finish(run, new_next)
    return len(items)


def _screen(run: DeviceRun, parsed: list[ParsedOp], raw_ops: list[Any],
            results: list[Result | None]) -> None:
    """Answer duplicates and reused ids at once; keep the rest as fresh ops."""
    op_ids = [p.op_id for p in parsed if p.op_id]
    known = {str(r.op_id): r for r in db.session.execute(text(
        "SELECT op_id, fingerprint, result, device_id, device_seq FROM op_log "
        "WHERE op_id = ANY(CAST(:ids AS uuid[]))"), {"ids": op_ids})}
    seqs = [p.device_seq for p in parsed if p.device_seq]
    taken = set(db.session.execute(text("""
        SELECT device_seq FROM op_log WHERE device_id = :d AND device_seq = ANY(:s)
        UNION SELECT device_seq FROM op_seq_use WHERE device_id = :d AND device_seq = ANY(:s)
    """), {"d": run.device_id, "s": seqs}).scalars())
    in_request: set[str] = set()
    for i, p in enumerate(parsed):
        if p.op_id is None or p.device_seq is None:
            results[i] = rejected(p.op_id, "validation", p.errors)
        elif p.op_id in known:
            results[i] = _duplicate_or_reused(p, known[p.op_id])
            original = known[p.op_id]
            slot_is_new = p.device_seq not in taken and p.device_seq not in run.fresh
            if slot_is_new and (original.device_id, original.device_seq) != (
                    run.device_id, p.device_seq):
                run.reslotted[p.device_seq] = p.op_id
                taken.add(p.device_seq)
        elif p.op_id in in_request:
            continue  # the same op twice in one push: answered after the first is applied
        elif p.device_seq in taken or p.device_seq in run.fresh:
            results[i] = rejected(p.op_id, "seq_reused", {"device_seq": [
                f"{p.device_seq} was already used by another op from this device"]})
        else:
            in_request.add(p.op_id)
            # A refused op is logged without what the database cannot hold (NULs, depth).
            item = Incoming(p, raw_ops[i] if p.op is not None else loggable(raw_ops[i]), i)
            if p.op is None:
                item.result = rejected(p.op_id, "validation", p.errors)
            run.fresh[p.device_seq] = item


def _duplicate_or_reused(p: ParsedOp, known: Any) -> Result:
    if known.fingerprint != p.fingerprint:
        return rejected(p.op_id, "op_id_reused", {"op_id": [
            "this op_id was already used for an op with different content"]})
    original = dict(known.result)
    return {**original, "status": "duplicate", "original_status": original.get("status")}


def _load_held(run: DeviceRun, next_seq: int) -> None:
    """Held ops, and the seqs beyond the gap that rejected ops already used up."""
    for row in db.session.execute(text("""
        SELECT device_seq, payload, status FROM op_log
        WHERE device_id = :d AND (status = 'held' OR device_seq >= :n)
        UNION ALL SELECT device_seq, NULL, 'reslotted' FROM op_seq_use
        WHERE device_id = :d AND device_seq >= :n
        ORDER BY device_seq
    """), {"d": run.device_id, "n": next_seq}):
        if row.status == "held":
            item = Incoming(parse_op(row.payload), row.payload, None, True)
            if item.parsed.op is None:
                # Held before a stricter rule (a device time that is no longer valid…):
                # it is refused now, and its slot stays used up, like any rejected op.
                item.result = rejected(item.parsed.op_id, "validation", item.parsed.errors)
            run.held[row.device_seq] = item
        else:
            run.used.add(row.device_seq)


def _pick(run: DeviceRun, seq: int) -> Incoming:
    return run.fresh.get(seq) or run.held[seq]


def _apply_in_order(run: DeviceRun, items: list[Incoming]) -> None:
    """Apply ``items`` in order, set-based; if the database refuses the batch, redo it op
    by op so that only the op it refuses fails (rule 3).

    ``sync.values`` is meant to refuse every value PostgreSQL would; the savepoint is for
    the one it misses, so that it costs that op, not the push (and never a 500).
    """
    pending = [i for i in items if i.result is None and i.parsed.op is not None]
    if not pending:
        return
    try:
        with db.session.begin_nested():
            _apply_batch(run, pending)
        return
    except IntegrityError:
        raise  # a race with another push: the route answers 409 retry
    except DBAPIError:
        pass
    for item in pending:
        item.result = None
    for item in pending:
        try:
            with db.session.begin_nested():
                _apply_batch(run, [item])
        except IntegrityError:
            raise
        except DBAPIError as exc:
            item.result = rejected(item.parsed.op_id, "validation", {"op": [
                "a value of this op cannot be stored: "
                f"{type(getattr(exc, 'orig', exc)).__name__}"]})


def _apply_batch(run: DeviceRun, items: list[Incoming]) -> None:
    ops = [i.parsed.op for i in items if i.parsed.op is not None]
    placements = _placements(ops)
    batch = _load_batch(ops)
    places = grid_places({r.grid_code for r in batch.records.values() if r.grid_code}
                         | {p.grid_code for p in placements.values() if p.grid_code})
    authority = CallerAuthority(run.caller, places,
                                tuple(current_app.config.get("DEPARTMENTS") or ()))
    now = datetime.now(UTC)
    author = Author(run.caller.user_id, run.caller.username, run.device_id, run.caller.role)
    for item in items:
        op = item.parsed.op
        if item.result is not None or op is None:
            continue
        item.result = apply_op(op, author, authority, batch, placements.get(op.op_id), now)
        if item.gap and item.result["status"] in ("applied", "merged"):
            # Applied without the ops before it: flag the record for a supervisor's eye.
            item.result["gap"] = True
            record = batch.records[op.id]
            record.conflict = record.conflict or "soft"
            batch.touched.add(op.id)
    run.touched += write_batch(batch)
    name_photos([n for item in items if item.result is not None and item.parsed.op is not None
                 for n in _named_photos(item.parsed.op, item.result, batch, run.caller)])


def _named_photos(op: Op, result: Result, batch: Batch,
                  caller: Caller) -> list[tuple[str, str, int]]:
    """``(record_id, sha256, user)`` for each photo this op put in a record: its own,
    and the incident a ``handle``/``report`` inspection made. Only what took effect
    counts (a concurrent edit does, its photos being merged as a union)."""
    took_effect = result["status"] in ("applied", "merged") or (
        result["status"] == "conflict" and result.get("code") == "concurrent_edit")
    sent = op.data.get("photos")
    if not took_effect or not isinstance(sent, list):
        return []
    out = []
    for rid in (op.id, result.get("incident_id")):
        record = batch.records.get(rid) if rid else None
        held = record.data.get("photos") if record is not None else None
        if isinstance(held, list):
            out += [(rid, h, caller.user_id) for h in sent
                    if isinstance(h, str) and SHA256.match(h) and h in held]
    return out


def _placements(ops: list[Op]) -> dict[str, Placement]:
    located = [op for op in ops if isinstance(op.data.get("location"), dict)]
    points = [(*op.data["location"]["coordinates"][:2], op.data.get("location_datum", "wgs84"))
              for op in located]
    return {op.op_id: p for op, p in zip(located, place_points(points), strict=True)}


def _load_batch(ops: list[Op]) -> Batch:
    ids = {op.id for op in ops}
    ids |= {op.data["incident_id"] for op in ops if op.data.get("incident_id")}
    batch = Batch(records=load_records(ids))
    bases: dict[str, int] = {}
    for op in ops:
        if op.base_version is not None and op.id in batch.records:
            bases[op.id] = min(bases.get(op.id, op.base_version), op.base_version)
    batch.history = load_history(bases)
    return batch


def _finish(run: DeviceRun, new_next: int) -> None:
    """Log every fresh op and the outcome of held ones, then move the device on."""
    fresh = [{"op_id": it.parsed.op_id, "device_seq": seq, "entity": _get(it.raw, "entity"),
              "record_id": it.parsed.op.id if it.parsed.op else None,
              "action": _get(it.raw, "action"), "fingerprint": it.parsed.fingerprint,
              "payload": it.raw, "status": (it.result or {"status": "held"})["status"],
              "result": it.result or {"op_id": it.parsed.op_id, "status": "held"}}
             for seq, it in run.fresh.items()]
    db.session.execute(text("""
        INSERT INTO op_log (op_id, device_id, device_seq, user_id, entity, record_id, action,
                            fingerprint, payload, status, result, processed_at)
        SELECT x.op_id, :d, x.device_seq, :u, x.entity, x.record_id, x.action, x.fingerprint,
               x.payload, x.status, x.result, CASE WHEN x.status <> 'held' THEN now() END
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
            op_id uuid, device_seq bigint, entity text, record_id uuid, action text,
            fingerprint text, payload jsonb, status text, result jsonb)
    """), {"d": run.device_id, "u": run.caller.user_id, "rows": json.dumps(fresh)})
    done = [{"seq": s, "status": it.result["status"], "result": it.result}
            for s, it in run.held.items() if it.result is not None]
    if done:
        db.session.execute(text("""
            UPDATE op_log o SET status = x.status, result = x.result, processed_at = now()
            FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(seq bigint, status text, result jsonb)
            WHERE o.device_id = :d AND o.device_seq = x.seq
        """), {"d": run.device_id, "rows": json.dumps(done)})
    if run.reslotted:
        db.session.execute(text("""
            INSERT INTO op_seq_use (device_id, device_seq, op_id)
            SELECT :d, x.seq, x.op_id FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                AS x(seq bigint, op_id uuid)
        """), {"d": run.device_id, "rows": json.dumps(
            [{"seq": k, "op_id": v} for k, v in run.reslotted.items()])})
    db.session.execute(text(
        "UPDATE device SET next_seq = :n, last_seen_at = now(), last_push_at = now(), "
        "app_version = coalesce(:v, app_version) WHERE id = :d"),
        {"n": new_next, "d": run.device_id, "v": run.app_version})
    stamp_changes(run.touched)


def _get(raw: Any, key: str) -> Any:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, str) and len(value) <= 16 else None


def _fill_duplicates_in_request(parsed: list[ParsedOp], results: list[Result | None]) -> None:
    first: dict[str, Result] = {}
    for i, p in enumerate(parsed):
        if results[i] is not None and p.op_id and p.op_id not in first:
            first[p.op_id] = results[i]  # type: ignore[assignment]
    for i, p in enumerate(parsed):
        if results[i] is None and p.op_id in first:
            original = first[p.op_id]
            same = any(q.op_id == p.op_id and q.fingerprint == p.fingerprint
                       for q in parsed[:i])
            results[i] = ({**original, "status": "duplicate",
                           "original_status": original.get("status")} if same else
                          rejected(p.op_id, "op_id_reused", {"op_id": [
                              "this op_id was already used for an op with different content"]}))


def _add_missing_attachments(caller: Caller, parsed: list[ParsedOp],
                             results: list[Result | None]) -> None:
    """A named photo is missing until its namer uploaded it themselves, even if the
    server has the bytes from someone else: only then does it count as the record's."""
    wanted = {i: [h for h in (p.op.data.get("photos") or []) if SHA256.match(h)]
              for i, p in enumerate(parsed) if p.op is not None}
    hashes = sorted({h for hs in wanted.values() for h in hs})
    if not hashes:
        return
    absent = not_uploaded_by(caller.user_id, hashes)
    for i, hs in wanted.items():
        result = results[i]
        missing = [h for h in hs if h in absent]
        if result is not None and missing and result["status"] != "rejected":
            result["missing_attachments"] = missing


# How a desk action or a conflict resolution answers an op its rules refused (one map
# for both paths through apply_direct).
REFUSAL_STATUS = {"forbidden": 403, "unknown_record": 404, "record_deleted": 404,
                  "validation": 422, "base_ahead": 409}


def apply_direct(caller: Caller, entity: str, record_id: str, action: str,
                 base_version: int | None, data: dict[str, Any]) -> Result:
    """Apply one change made at a desk (not by a device): same rules, no device sequence.

    The caller commits. A result is returned as for sync; the desk turns ``conflict`` into
    409 and ``rejected`` into 403/404/422.
    """
    import uuid

    raw = {"op_id": str(uuid.uuid4()), "device_seq": 1, "entity": entity, "id": record_id,
           "action": action, "base_version": base_version, "data": data}
    parsed = parse_op(raw)
    if parsed.op is None:
        return rejected(parsed.op_id, "validation", parsed.errors)
    run = DeviceRun(caller, caller.device_id)
    item = Incoming(parsed, raw, None)
    _apply_in_order(run, [item])
    stamp_changes(run.touched)
    return item.result or rejected(parsed.op_id, "validation", {})
