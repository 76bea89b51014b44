"""Listing and resolving conflicts (docs/protocol.md "Conflicts")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from server.auth import Caller
from server.errors import ApiError
from server.extensions import db
from server.scope import CallerAuthority, grid_places, record_filter
from server.services import audit
from server.services.privacy import (
    audit_unmasked,
    mask_household,
    sees_unmasked,
    sensitive_keys,
)
from server.services.pull import decode_cursor, encode_cursor
from server.services.push import REFUSAL_STATUS, apply_direct
from server.services.records import load_records, stamp_changes
from sync.records import SERVER_OWNED

REVIEWERS = ("supervisor", "admin", "grid_leader")


def list_conflicts(caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
    after, _ = decode_cursor(args.get("cursor"))
    where, params = record_filter(caller)
    params.update(status=args["status"], after=after, limit=args["limit"] + 1)
    if args.get("grid"):
        where += " AND c.grid_code = :grid"
        params["grid"] = args["grid"]
    rows = db.session.execute(text(f"""
        SELECT c.*, iu.username AS incoming_user, cu.username AS current_user_name,
               ru.username AS resolved_by_name, r.version AS record_version
        FROM conflict c JOIN record r ON r.id = c.record_id LEFT JOIN grid g ON g.id = r.grid_id
        LEFT JOIN app_user iu ON iu.id = c.incoming_user_id
        LEFT JOIN app_user cu ON cu.id = c.current_user_id
        LEFT JOIN app_user ru ON ru.id = c.resolved_by
        WHERE c.status = :status AND c.seq > :after AND {where}
        ORDER BY c.seq LIMIT :limit
    """), params).all()
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    conflicts = [conflict_json(r) for r in rows]
    _protect(caller, conflicts, [r.grid_code for r in rows])
    return {"conflicts": conflicts, "more": more,
            "cursor": encode_cursor(rows[-1].seq if rows else after, 0)}


def _protect(caller: Caller, conflicts: list[dict[str, Any]], grids: list[str | None]) -> None:
    """Households' phones and ID numbers (``members`` included) are masked here too,
    unless the role needs them."""
    unmasked = []
    for conflict, grid in zip(conflicts, grids, strict=True):
        if conflict["entity"] != "household":
            continue
        if sees_unmasked(caller, grid):
            unmasked.append(conflict["record_id"])
            continue
        for side in ("base", "current", "incoming"):
            conflict[side] = mask_household(conflict[side])
    audit_unmasked(caller, "household", unmasked, "read_unmasked_conflict")


def conflict_json(r: Any) -> dict[str, Any]:
    return {
        "id": str(r.id), "entity": r.entity, "record_id": str(r.record_id),
        "grid_code": r.grid_code, "code": r.code, "fields": list(r.fields or []),
        "base": r.base, "current": r.current, "incoming": r.incoming,
        "base_version": r.base_version, "current_version": r.current_version,
        "incoming_by": {"user": r.incoming_user, "device_id": r.incoming_device},
        "current_by": {"user": r.current_user_name, "device_id": r.current_device},
        "op_id": str(r.op_id) if r.op_id else None, "created_at": r.created_at,
        "status": r.status, "resolved_by": r.resolved_by_name, "resolved_at": r.resolved_at,
        # The version a resolve must name as its base_version.
        "record_version": r.record_version,
    }


def resolve(caller: Caller, conflict_id: str, base_version: int,
            data: dict[str, Any]) -> dict[str, Any]:
    if caller.role not in REVIEWERS:
        raise ApiError(403, "forbidden", "only supervisors, grid leaders and admins resolve")
    try:
        cid = str(uuid.UUID(conflict_id))
    except ValueError as exc:
        raise ApiError(404, "not_found", "no such conflict") from exc
    row = db.session.execute(text("SELECT * FROM conflict WHERE id = :i FOR UPDATE"),
                             {"i": cid}).one_or_none()
    if row is None:
        raise ApiError(404, "not_found", "no such conflict")
    records = load_records({str(row.record_id)})
    record = records.get(str(row.record_id))
    if record is None:
        raise ApiError(404, "not_found", "the conflict's record is gone")
    authority = CallerAuthority(caller, grid_places({record.grid_code} - {None}))
    if not authority.may_modify(record):
        raise ApiError(404, "not_found", "no such conflict")
    if row.status != "open":
        raise ApiError(409, "already_resolved", "this conflict is already resolved")
    if base_version != record.version:
        raise ApiError(409, "stale_base", "the record changed since; reload and resolve again",
                       {"current_version": record.version})
    clean = {k: v for k, v in data.items() if k not in SERVER_OWNED}
    _refuse_masked(caller, record, clean)
    # The third write path is the first one: every rule of sync (state machine and roles,
    # department, deadlines, 延时, note stamping, bad values, scope) applies as for an op.
    result = apply_direct(caller, record.entity, record.id, "update", base_version, clean)
    if result["status"] not in ("applied", "merged"):
        _refuse(result)
    _close(caller, cid, record.id)
    audit.record("conflict.resolve", caller=caller, object=f"conflict:{cid}",
                 entity=record.entity, record_ids=[record.id], detail={"fields": sorted(clean)})
    fresh = load_records({record.id})[record.id]
    out = {**fresh.data, "version": fresh.version, "conflict": fresh.conflict}
    if fresh.entity == "household" and not sees_unmasked(caller, fresh.grid_code):
        out = mask_household(out)
    return {"id": cid, "status": "resolved", "record": out}


def _refuse(result: dict[str, Any]) -> None:
    code = result.get("code") or "conflict"
    if result["status"] == "conflict":
        # An impossible transition, or the record changed under us since the base check.
        status, code = 409, ("illegal_transition" if code == "illegal_transition"
                             else "stale_base")
    else:
        status = REFUSAL_STATUS.get(code, 422)
    # Details name the fields of the resolution's ``data``, as before.
    errors = {k.removeprefix("data."): v for k, v in (result.get("errors") or {}).items()}
    raise ApiError(status, code, f"the resolution was not applied ({code})", errors or None)


def _refuse_masked(caller: Caller, record: Any, clean: dict[str, Any]) -> None:
    """A resolution never stores a masked value back over the real one."""
    if record.entity == "household" and not sees_unmasked(caller, record.grid_code):
        masked = sensitive_keys(clean, masked_only=True)  # members' phones included
        if masked:
            raise ApiError(422, "masked_value", "a masked value cannot be stored; leave the "
                           "field out to keep what is stored", {k: ["is masked"] for k in masked})


def _close(caller: Caller, cid: str, record_id: str) -> None:
    """Close the conflict; the record stays "hard" while another one is open."""
    db.session.execute(text("""
        UPDATE conflict SET status = 'resolved', resolved_by = :u, resolved_at = :t WHERE id = :i
    """), {"u": caller.user_id, "t": datetime.now(UTC), "i": cid})
    db.session.execute(text("""
        UPDATE record SET conflict = CASE WHEN EXISTS (
            SELECT 1 FROM conflict WHERE record_id = :r AND status = 'open') THEN 'hard' END
        WHERE id = :r
    """), {"r": record_id})
    stamp_changes([record_id])  # devices pull the cleared flag even when no value changed
