"""Reading records into :class:`sync.state.RecordState` and writing a batch back.

Each function is one set-based statement: a push of 500 ops costs a handful of round
trips, not thousands.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text

from server.extensions import db
from sync.state import Batch, RecordState, VersionRow

# A single lock key for stamping change_seq: holding it from the stamp to the commit
# makes the sequence's order the commit order, so a pull cursor never skips a row that
# committed late.
CHANGE_SEQ_LOCK = 0x6772_6964


def as_object(data: Any) -> dict[str, Any]:
    """A copy of a record's data; data that is not an object (stored by an old client)
    reads as an empty one.

    >>> as_object({"a": 1}), as_object("x"), as_object([1]), as_object(None)
    ({'a': 1}, {}, {}, {})
    """
    return dict(data) if isinstance(data, dict) else {}


def load_records(ids: set[str]) -> dict[str, RecordState]:
    if not ids:
        return {}
    rows = db.session.execute(text("""
        SELECT r.id::text AS id, r.entity, r.version, r.data, r.deleted, r.grid_id, r.grid_code,
               r.match, r.conflict, r.created_by, r.created_device, r.due_at,
               coalesce(g.kind = 'rural', false) AS rural
        FROM record r LEFT JOIN grid g ON g.id = r.grid_id
        WHERE r.id = ANY(CAST(:ids AS uuid[])) ORDER BY r.id FOR UPDATE OF r
    """), {"ids": sorted(ids)}).all()
    return {r.id: RecordState(r.entity, r.id, r.version, as_object(r.data), r.deleted, r.grid_id,
                              r.grid_code, r.match, r.conflict, r.created_by, r.created_device,
                              r.due_at, rural=r.rural)
            for r in rows}


def load_history(bases: dict[str, int]) -> dict[str, list[VersionRow]]:
    """Versions of each record from its oldest base in the push onwards."""
    if not bases:
        return {}
    rows = db.session.execute(text("""
        SELECT rv.record_id::text AS rid, rv.version, rv.data, rv.deleted, rv.changed,
               rv.user_id, rv.device_id, rv.op_id::text AS op_id
        FROM record_version rv
        JOIN unnest(CAST(:ids AS uuid[]), CAST(:bases AS int[])) AS b(id, base)
          ON rv.record_id = b.id AND rv.version >= b.base
        ORDER BY rv.record_id, rv.version
    """), {"ids": list(bases), "bases": list(bases.values())}).all()
    out: dict[str, list[VersionRow]] = {}
    for r in rows:
        out.setdefault(r.rid, []).append(VersionRow(
            r.rid, r.version, as_object(r.data), r.deleted, tuple(r.changed or ()), r.user_id,
            r.device_id, r.op_id))
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def write_batch(batch: Batch) -> list[str]:
    """Upsert touched records and append versions and conflicts; return the touched ids.

    The caller stamps them with :func:`stamp_changes` as its last statement.
    """
    touched = [batch.records[i] for i in sorted(batch.touched)]
    if touched:
        _upsert_records(touched)
    _insert_versions(batch)
    _insert_conflicts(batch)
    return [r.id for r in touched]


def _upsert_records(records: list[RecordState]) -> None:
    rows = []
    for r in records:
        loc = r.data.get("location") if not r.deleted else None
        coords = loc.get("coordinates") if isinstance(loc, dict) else None
        rows.append({
            "id": r.id, "entity": r.entity, "version": r.version, "data": r.data,
            "lon": coords[0] if coords else None, "lat": coords[1] if coords else None,
            "grid_id": r.grid_id, "grid_code": r.grid_code, "match": r.match,
            "deleted": r.deleted, "conflict": r.conflict, "due_at": _iso(r.due_at),
            "created_by": r.created_by, "created_device": r.created_device,
        })
    db.session.execute(text("""
        INSERT INTO record (id, entity, version, data, geom, grid_id, grid_code, match, deleted,
                            conflict, due_at, created_by, created_device)
        SELECT x.id, x.entity, x.version, x.data,
               CASE WHEN x.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326) END,
               x.grid_id, x.grid_code, x.match, x.deleted, x.conflict, x.due_at, x.created_by,
               x.created_device
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
            id uuid, entity text, version int, data jsonb, lon float8, lat float8,
            grid_id bigint, grid_code text, match text, deleted bool, conflict text,
            due_at timestamptz, created_by int, created_device text)
        ON CONFLICT (id) DO UPDATE SET
            version = EXCLUDED.version, data = EXCLUDED.data, geom = EXCLUDED.geom,
            grid_id = EXCLUDED.grid_id, grid_code = EXCLUDED.grid_code, match = EXCLUDED.match,
            deleted = EXCLUDED.deleted, conflict = EXCLUDED.conflict, due_at = EXCLUDED.due_at,
            updated_at = now()
    """), {"rows": json.dumps(rows, ensure_ascii=False)})


def _insert_versions(batch: Batch) -> None:
    if not batch.versions:
        return
    rows = [{"record_id": v.record_id, "version": v.version, "data": v.data,
             "deleted": v.deleted, "changed": list(v.changed), "user_id": v.user_id,
             "device_id": v.device_id, "op_id": v.op_id} for v in batch.versions]
    db.session.execute(text("""
        INSERT INTO record_version (record_id, version, data, deleted, changed, user_id,
                                    device_id, op_id)
        SELECT x.record_id, x.version, x.data, x.deleted,
               ARRAY(SELECT jsonb_array_elements_text(x.changed)), x.user_id, x.device_id, x.op_id
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
            record_id uuid, version int, data jsonb, deleted bool, changed jsonb, user_id int,
            device_id text, op_id uuid)
    """), {"rows": json.dumps(rows, ensure_ascii=False)})
    batch.versions.clear()


def _insert_conflicts(batch: Batch) -> None:
    if not batch.conflicts:
        return
    rows = [c.__dict__ for c in batch.conflicts]
    db.session.execute(text("""
        INSERT INTO conflict (id, entity, record_id, grid_code, code, fields, base, current,
                              incoming, base_version, current_version, incoming_user_id,
                              incoming_device, current_user_id, current_device, op_id)
        SELECT x.id, x.entity, x.record_id, x.grid_code, x.code,
               ARRAY(SELECT jsonb_array_elements_text(x.fields)), x.base, x.current, x.incoming,
               x.base_version, x.current_version, x.incoming_user_id, x.incoming_device,
               x.current_user_id, x.current_device, x.op_id
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
            id uuid, entity text, record_id uuid, grid_code text, code text, fields jsonb,
            base jsonb, current jsonb, incoming jsonb, base_version int, current_version int,
            incoming_user_id int, incoming_device text, current_user_id int,
            current_device text, op_id uuid)
    """), {"rows": json.dumps(rows, ensure_ascii=False, default=str)})
    batch.conflicts.clear()


def stamp_changes(record_ids: list[str]) -> None:
    if not record_ids:
        return
    db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHANGE_SEQ_LOCK})
    db.session.execute(text("""
        UPDATE record SET change_seq = nextval('change_seq')
        WHERE id = ANY(CAST(:ids AS uuid[]))
    """), {"ids": record_ids})


def record_json(row: Any, usernames: dict[int, str] | None = None) -> dict[str, Any]:
    """A record as the API shows it: its data plus the server-owned fields.

    ``data`` that is not an object (stored by an old client) shows as an empty one.
    """
    data = as_object(row.data)
    data.update(version=row.version, grid_code=row.grid_code, match=row.match,
                conflict=row.conflict, created_at=_iso(row.created_at),
                updated_at=_iso(row.updated_at))
    if row.entity == "incident":
        data["due_at"] = _iso(row.due_at)
    by = getattr(row, "created_by_name", None) or (usernames or {}).get(row.created_by)
    data["created_by"] = by
    return data
