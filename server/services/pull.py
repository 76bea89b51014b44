"""``GET /sync/pull``: changes in scope after an opaque cursor, with personal data masked."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import text

from server.auth import Caller
from server.errors import ApiError
from server.extensions import db
from server.scope import record_filter
from server.services.privacy import mask_personal
from server.services.records import record_json


def encode_cursor(seq: int, epoch: int) -> str:
    raw = json.dumps({"s": seq, "e": epoch}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int, int | None]:
    """``(seq, scope epoch)``; a cursor from before a scope change restarts at 0."""
    if not cursor:
        return 0, None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        seq, epoch = int(value["s"]), int(value["e"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "bad_cursor", "the cursor is not one this server issued",
                       {"cursor": [cursor[:64]]}) from exc
    if seq < 0:
        raise ApiError(400, "bad_cursor", "the cursor is not one this server issued")
    return seq, epoch


def pull(caller: Caller, cursor: str | None, limit: int) -> dict[str, Any]:
    seq, epoch = decode_cursor(cursor)
    if epoch is not None and epoch != caller.scope_epoch:
        seq = 0  # the user's grids changed: send everything now in scope
    where, params = record_filter(caller)
    params.update(after=seq, limit=limit + 1)
    rows = db.session.execute(text(f"""
        SELECT r.id::text AS id, r.entity, r.version, r.deleted, r.data, r.grid_code, r.match,
               r.conflict, r.created_at, r.updated_at, r.due_at, r.change_seq, r.created_by,
               u.username AS created_by_name
        FROM record r LEFT JOIN grid g ON g.id = r.grid_id JOIN app_user u ON u.id = r.created_by
        WHERE r.change_seq > :after AND {where}
        ORDER BY r.change_seq LIMIT :limit
    """), params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [{"entity": r.entity, "id": r.id, "version": r.version, "deleted": r.deleted,
                "grid_code": r.grid_code, "data": record_json(r)} for r in rows]
    mask_personal(caller, changes)
    last = rows[-1].change_seq if rows else seq
    return {"changes": changes, "cursor": encode_cursor(last, caller.scope_epoch), "more": more}
