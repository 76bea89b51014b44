"""The work-order desk (工单): queues by status, an incident's history, and transitions.

Transitions go through :func:`server.services.push.apply_direct`, so the desk obeys the
same state machine, roles, versions and history as sync. Traffic lights are computed in
SQL: a stage's clock starts when its status was entered (the newest ``record_version``
whose ``changed`` holds ``status``) and ends at ``due_at``; yellow from 80 % of it, red
past ``due_at``.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import text

from server.auth import Caller
from server.errors import ApiError
from server.extensions import db
from server.scope import CallerAuthority, area_filter, grid_places, record_filter
from server.services import audit
from server.services.push import REFUSAL_STATUS, apply_direct
from server.services.records import as_object, record_json
from server.sqlgeo import lat, lon
from sync.incident import (
    Actor,
    check_transition,
    next_statuses,
    open_status_sql,
    traffic_light_sql,
)

DESK_ROLES = ("supervisor", "admin", "department")
OPEN_SQL = open_status_sql("{r}")

# The moment the current status was entered.
STAGE_SINCE_SQL = ("(SELECT max(rv.created_at) FROM record_version rv "
                   "WHERE rv.record_id = {r}.id AND 'status' = ANY(rv.changed))")


def stage_since_sql(r: str = "r") -> str:
    return STAGE_SINCE_SQL.format(r=r)


def light_sql(r: str = "r", stage_since: str | None = None) -> str:
    """SQL for the traffic light of incident alias ``r``: green, yellow, red or NULL.

    ``stage_since`` is an expression for when the current status was entered (such as
    ``incident_rollup.stage_since``); by default a lookup in ``record_version``.
    """
    since = f"coalesce({stage_since or stage_since_sql(r)}, {r}.created_at)"
    return traffic_light_sql(f"{r}.due_at", since)


# --- dates -------------------------------------------------------------------------------

def console_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("CONSOLE_TIMEZONE", "Asia/Shanghai"))


def today() -> date:
    return datetime.now(console_tz()).date()


def day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=console_tz())


def window(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """``[start of first, start of the day after last)`` as aware datetimes."""
    return (day_start(first) if first else None,
            day_start(last + timedelta(days=1)) if last else None)


# --- queues ------------------------------------------------------------------------------

def departments() -> list[str]:
    return list(current_app.config.get("DEPARTMENTS") or [])


def _encode_cursor(due: datetime | None, rid: str) -> str:
    raw = json.dumps({"d": due.isoformat() if due else None, "i": rid}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime | None, str]:
    try:
        value = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        due = datetime.fromisoformat(value["d"]) if value["d"] is not None else None
        return due, str(uuid.UUID(value["i"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "bad_cursor", "the cursor is not one this server issued",
                       {"cursor": [cursor[:64]]}) from exc


def _filters(caller: Caller, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    where, params = record_filter(caller)
    sql = " AND ".join(["r.entity = 'incident' AND NOT r.deleted", where,
                        *area_filter(args, params)])
    if args.get("grid"):
        sql += " AND r.grid_code = :grid"
        params["grid"] = args["grid"]
    if args.get("department"):
        sql += " AND r.data->>'department' = :department"
        params["department"] = args["department"]
    if args.get("urgent") is not None:
        sql += " AND coalesce(r.data->'urgent' = 'true'::jsonb, false) = :urgent"
        params["urgent"] = args["urgent"]
    if args.get("overdue") is True:
        sql += " AND r.due_at < now()"
    elif args.get("overdue") is False:
        sql += " AND (r.due_at IS NULL OR r.due_at >= now())"
    if args.get("light"):
        sql += f" AND ({light_sql()}) = :light"
        params["light"] = args["light"]
    if args.get("extension"):
        sql += " AND r.data->'extension'->>'status' = :extension"
        params["extension"] = args["extension"]
    return sql, params


def list_incidents(caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
    where, params = _filters(caller, args)
    # An incident stored without a status (an old client) sits in no queue.
    counts = {row.status: row.n for row in db.session.execute(text(f"""
        SELECT r.status, count(*) AS n FROM record r LEFT JOIN grid g ON g.id = r.grid_id
        WHERE {where} AND r.status IS NOT NULL GROUP BY r.status
    """), params)}
    if args.get("status"):
        where += " AND r.status = ANY(:statuses)"
        params["statuses"] = list(args["status"])
    if args.get("cursor"):
        due, rid = _decode_cursor(args["cursor"])
        params.update(cd=due, ci=rid)
        where += (" AND (r.due_at > :cd OR (r.due_at = :cd AND r.id > CAST(:ci AS uuid)) "
                  "OR r.due_at IS NULL)" if due else
                  " AND r.due_at IS NULL AND r.id > CAST(:ci AS uuid)")
    params["limit"] = args["limit"] + 1
    rows = db.session.execute(text(f"""
        SELECT r.id::text AS id, r.version, r.status, r.data, r.due_at, r.grid_code,
               g.street_code, g.community_code, r.conflict, r.created_at, r.updated_at,
               u.username AS reporter, {lon('r.geom')} AS lon, {lat('r.geom')} AS lat,
               {light_sql()} AS light, {stage_since_sql()} AS stage_since
        FROM record r LEFT JOIN grid g ON g.id = r.grid_id JOIN app_user u ON u.id = r.created_by
        WHERE {where}
        ORDER BY r.due_at ASC NULLS LAST, r.id LIMIT :limit
    """), params).all()
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    actor_for = _actors(caller, {r.grid_code for r in rows})
    items = [_item(r, as_object(r.data), actor_for) for r in rows]
    cursor = _encode_cursor(rows[-1].due_at, rows[-1].id) if rows and more else None
    return {"incidents": items, "counts": counts, "cursor": cursor, "more": more}


def _item(r: Any, d: dict[str, Any], actor_for: Any) -> dict[str, Any]:
    return {
        "id": r.id, "version": r.version, "status": r.status, "light": r.light,
        "due_at": r.due_at, "stage_since": r.stage_since, "grid_code": r.grid_code,
        "street_code": r.street_code, "community_code": r.community_code,
        "title": d.get("title"), "category": d.get("category"),
        "urgent": d.get("urgent") is True, "department": d.get("department"),
        "reporter": r.reporter, "location": [r.lon, r.lat] if None not in (r.lon, r.lat) else None,
        "conflict": r.conflict, "created_at": r.created_at, "updated_at": r.updated_at,
        "actions": _actions(actor_for(r.grid_code), r.status, d.get("department")),
    }


def _actors(caller: Caller, codes: set[str | None]):
    authority = CallerAuthority(caller, grid_places({c for c in codes if c}))

    def actor(grid_code: str | None) -> Actor:
        return Actor(caller.role, authority.covers(grid_code), caller.dept)
    return actor


def _actions(actor: Actor, status: str | None, department: str | None) -> list[str]:
    if status is None:
        return []
    return [to for to in next_statuses(status)
            if check_transition(status, to, actor, department) is None]


# --- one record --------------------------------------------------------------------------

def _uuid_or_404(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise ApiError(404, "not_found", "no such record in your scope") from exc


def record_detail(caller: Caller, record_id: str,
                  entities: tuple[str, ...] = ("incident",)) -> dict[str, Any]:
    """The record with its grid, history, photos and open conflicts; 404 outside scope."""
    rid = _uuid_or_404(record_id)
    where, params = record_filter(caller)
    params.update(id=rid, entities=list(entities))
    row = db.session.execute(text(f"""
        SELECT r.id::text AS id, r.entity, r.version, r.data, r.grid_code, r.match, r.conflict,
               r.created_at, r.updated_at, r.due_at, r.created_by, r.status,
               u.username AS created_by_name, g.code AS g_code, g.name AS g_name,
               g.street_code, g.street_name, g.community_code, g.community_name,
               CASE WHEN r.entity = 'incident' THEN {light_sql()} END AS light,
               CASE WHEN r.entity = 'incident' THEN {stage_since_sql()} END AS stage_since
        FROM record r LEFT JOIN grid g ON g.id = r.grid_id JOIN app_user u ON u.id = r.created_by
        WHERE r.id = CAST(:id AS uuid) AND r.entity = ANY(:entities) AND NOT r.deleted
          AND {where}
    """), params).one_or_none()
    if row is None:
        raise ApiError(404, "not_found", "no such record in your scope")
    history = [{
        "version": h.version, "at": h.created_at, "by": h.username, "device_id": h.device_id,
        "changed": list(h.changed or []),
        "values": {k: v for k, v in as_object(h.data).items() if k in (h.changed or [])},
        "from_status": h.prev_status if h.status_changed else None,
        "to_status": h.status if h.status_changed else None, "deleted": h.deleted,
    } for h in db.session.execute(text("""
        SELECT rv.version, rv.created_at, rv.device_id, rv.changed, rv.data, rv.deleted,
               u.username, rv.data->>'status' AS status,
               lag(rv.data->>'status') OVER (ORDER BY rv.version) AS prev_status,
               'status' = ANY(rv.changed) AS status_changed
        FROM record_version rv LEFT JOIN app_user u ON u.id = rv.user_id
        WHERE rv.record_id = CAST(:id AS uuid) ORDER BY rv.version
    """), {"id": rid})]
    data = as_object(row.data)
    photos = data.get("photos")
    hashes = [h for h in photos if isinstance(h, str)] if isinstance(photos, list) else []
    # "stored": the photo counts as this record's (its namer uploaded it), so that whoever
    # sees the record may read it (server.services.photos.readable).
    stored = set(db.session.execute(text("""
        SELECT rp.sha256 FROM record_photo rp
        JOIN attachment_upload u ON u.sha256 = rp.sha256 AND u.user_id = rp.named_by
        WHERE rp.record_id = CAST(:id AS uuid) AND rp.sha256 = ANY(:h)
    """), {"id": rid, "h": hashes}).scalars())
    conflicts = db.session.execute(text(
        "SELECT id::text FROM conflict WHERE record_id = CAST(:id AS uuid) AND status = 'open' "
        "ORDER BY seq"), {"id": rid}).scalars().all()
    actions: list[str] = []
    if row.entity == "incident" and caller.role in DESK_ROLES:
        actions = _actions(_actors(caller, {row.grid_code})(row.grid_code), row.status,
                           data.get("department"))
    grid = ({"code": row.g_code, "name": row.g_name, "street_code": row.street_code,
             "street_name": row.street_name, "community_code": row.community_code,
             "community_name": row.community_name} if row.g_code else None)
    return {
        "entity": row.entity, "id": row.id, "record": record_json(row), "light": row.light,
        "stage_since": row.stage_since, "grid": grid, "history": history,
        "photos": [{"sha256": h, "url": f"/api/v1/attachments/{h}", "stored": h in stored}
                   for h in hashes],
        "open_conflicts": list(conflicts), "actions": actions,
    }


# --- transitions -------------------------------------------------------------------------



def _locked_incident(caller: Caller, record_id: str, base: int) -> tuple[str, Any]:
    """The incident row, locked, after checking scope and ``base_version``."""
    rid = _uuid_or_404(record_id)
    where, params = record_filter(caller)
    params["id"] = rid
    row = db.session.execute(text(f"""
        SELECT r.version, r.status, r.data FROM record r LEFT JOIN grid g ON g.id = r.grid_id
        WHERE r.id = CAST(:id AS uuid) AND r.entity = 'incident' AND NOT r.deleted AND {where}
        FOR UPDATE OF r
    """), params).one_or_none()
    if row is None:
        raise ApiError(404, "not_found", "no such incident in your scope")
    if base != row.version:
        raise ApiError(409, "stale_version",
                       f"the incident is at version {row.version}, not {base}; reload it",
                       {"base_version": base, "current_version": row.version})
    return rid, row


def _apply(caller: Caller, rid: str, base: int, data: dict[str, Any],
           messages: dict[str, str], details: dict[str, Any],
           action: str = "desk.transition") -> dict[str, Any]:
    """Apply a desk change through sync's rules; commit it, or answer why not (and
    audit either)."""
    result = apply_direct(caller, "incident", rid, "update", base, data)
    if result["status"] in ("applied", "merged"):
        audit.record(action, caller=caller, object=f"incident:{rid}", entity="incident", record_ids=[rid], detail={**details, "base_version": base})
        db.session.commit()
        return {"result": result, "incident": record_detail(caller, rid)}
    db.session.rollback()
    code = result.get("code") or "conflict"
    audit.record(action, caller=caller, result=code, object=f"incident:{rid}", entity="incident", record_ids=[rid], detail={**details, "base_version": base})
    db.session.commit()  # the refusal is audited; nothing else was written
    if result["status"] == "conflict" or code not in REFUSAL_STATUS:
        status = 409
    else:
        status = REFUSAL_STATUS[code]
    message = messages.get(code, f"the change was not applied ({code})")
    raise ApiError(status, code, message, {**details, "errors": result.get("errors")})


def transition(caller: Caller, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Move an incident to ``body["to"]``; the caller's session is committed on success."""
    to, base = body["to"], body["base_version"]
    rid, row = _locked_incident(caller, record_id, base)
    if to == row.status:
        raise ApiError(409, "illegal_transition", f"the incident is already {to}",
                       {"from": row.status, "to": to})
    data: dict[str, Any] = {"status": to}
    # Whether the department may be set, and to what, is sync.incident.check_department's
    # to say (through apply_direct), exactly as for a dispatch that comes by sync.
    if to == "dispatched" and body.get("department") is not None:
        data["department"] = body["department"]
    if body.get("note"):
        notes = as_object(row.data).get("notes")  # an old client may have stored anything
        data["notes"] = [*(notes if isinstance(notes, list) else []), {
            "id": str(uuid.uuid4()), "text": body["note"], "at": datetime.now(UTC).isoformat()}]
    return _apply(caller, rid, base, data, {
        "illegal_transition": f"{row.status} → {to} is not a legal transition",
        "forbidden": f"your role may not move this incident from {row.status} to {to}",
        "validation": "the change is not valid (see details.errors)",
    }, {"from": row.status, "to": to, "note": bool(body.get("note")),
        "department": data.get("department")})


def extension(caller: Caller, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """延时: ask for ``minutes`` more, or (a supervisor) approve or refuse the request."""
    base = body["base_version"]
    rid, row = _locked_incident(caller, record_id, base)
    pending = as_object(as_object(row.data).get("extension"))
    decision = body.get("decision")
    if decision:
        ext = {**pending, "status": "approved" if decision == "approve" else "refused"}
        ext.setdefault("minutes", 1)
    else:
        if not body.get("minutes"):
            raise ApiError(422, "validation", "say how many minutes more are needed",
                           {"json": {"minutes": ["is required to ask for more time"]}})
        ext = {"status": "requested", "minutes": body["minutes"], "reason": body.get("reason")}
    return _apply(caller, rid, base, {"extension": ext}, {
        "forbidden": "your role may not do this with the deadline",
    }, {"extension": ext.get("status"), "minutes": ext.get("minutes")}, "desk.extension")
