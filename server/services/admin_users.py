"""People and their devices, as the grid centre manages them (docs/protocol.md,
"Administration API").

Who may manage whom is one rule, :class:`Steward`: an admin manages everyone; a
supervisor manages field users (patrollers and grid leaders) whose grids all lie in
the supervisor's areas, and their devices; nobody else manages anyone. Every list is
filtered by it in SQL, and every write is checked by it before and after the change.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from flask import current_app
from sqlalchemy import text

from server import auth
from server.auth import Caller
from server.errors import ApiError
from server.extensions import db
from server.models import FIELD_ROLES, ROLES
from server.passwords import password_problem
from server.roster import PHONE, USERNAME
from server.scope import AREA_SQL, grid_places
from server.services import audit

# One-time passwords: 12 characters from an alphabet without look-alikes (about 59 bits).
OTP_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
OTP_LENGTH = 12
# A one-time password is random and must be changed at the first sign-in, so it needs no
# slow hash against guessing: a cheap argon2id keeps a 10,000-row roster import within
# seconds, and verification reads the parameters from the hash itself.
_otp_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
USER_FIELDS = ("display_name", "role", "grids", "areas", "dept", "phone", "disabled")


def one_time_password() -> str:
    """A fresh one-time password.

    >>> p = one_time_password()
    >>> len(p), password_problem(p) is None
    (12, True)
    """
    while True:
        candidate = "".join(secrets.choice(OTP_ALPHABET) for _ in range(OTP_LENGTH))
        if password_problem(candidate) is None:  # letters and digits both, and not common
            return candidate


def hash_one_time(password: str) -> str:
    return _otp_hasher.hash(password)


@dataclass(frozen=True)
class Steward:
    """What one caller may do to other users."""

    caller: Caller

    def check(self) -> None:
        if self.caller.role not in ("admin", "supervisor"):
            raise ApiError(403, "forbidden", "administration is for admins and supervisors")

    def user_sql(self, u: str = "u") -> tuple[str, dict[str, Any]]:
        """SQL condition on ``app_user u`` for the users the caller manages.

        The area's grid codes are read once, so the condition is two index probes of
        ``user_grid`` per user instead of joins through every version of every grid.
        """
        if self.caller.is_admin:
            return "TRUE", {}
        mine = list(db.session.scalars(text(
            f"SELECT DISTINCT g.code FROM grid g WHERE {AREA_SQL.format(g='g')}"),
            {"areas": self.caller.areas}))
        return (f"({u}.role IN ('patroller', 'grid_leader') AND EXISTS ("
                f"SELECT 1 FROM user_grid sg WHERE sg.user_id = {u}.id "
                f"AND sg.grid_code = ANY(:area_grids)) AND NOT EXISTS ("
                f"SELECT 1 FROM user_grid sg WHERE sg.user_id = {u}.id "
                f"AND sg.grid_code <> ALL(:area_grids)))"), {"area_grids": mine}

    def refusal(self, role: str | None, grids: list[str]) -> str | None:
        """Why the caller may not manage a user of ``role`` with ``grids``, or None."""
        if self.caller.is_admin:
            return None
        if role not in FIELD_ROLES:
            return "a supervisor manages grid workers only; ask an admin"
        places = grid_places(set(grids))
        outside = [g for g in grids if g not in places or not places[g].within(self.caller.areas)]
        if outside:
            return f"grids outside your area: {'、'.join(outside)}"
        if not grids:
            return "a grid worker needs at least one grid in your area"
        return None


LIST_SQL = """
    SELECT u.username, u.display_name, u.role, u.dept, u.phone, NOT u.active AS disabled,
           u.must_change_password,
           coalesce((SELECT array_agg(grid_code ORDER BY grid_code) FROM user_grid
                     WHERE user_id = u.id), '{{}}') AS grids,
           coalesce((SELECT array_agg(area_code ORDER BY area_code) FROM user_area
                     WHERE user_id = u.id), '{{}}') AS areas,
           (SELECT max(last_seen_at) FROM device WHERE user_id = u.id) AS last_seen
    FROM app_user u
    WHERE {where}
    ORDER BY u.username
    LIMIT :limit
"""


def list_users(caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
    """A page of the users the caller manages, filtered; keyset-paged by username."""
    steward = Steward(caller)
    steward.check()
    where, params = steward.user_sql()
    parts = [where]
    if args.get("q"):
        # The expression of ix_app_user_search (migration 0009), so the index answers.
        parts.append("(u.username || ' ' || coalesce(u.display_name, '') || ' ' || "
                     "coalesce(u.phone, '')) ILIKE :q")
        params["q"] = "%" + args["q"].replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
    if args.get("role"):
        parts.append("u.role = :role")
        params["role"] = args["role"]
    if args.get("disabled") is not None:
        parts.append("u.active = :active")
        params["active"] = not args["disabled"]
    place = [(k, args[k]) for k in ("grid", "community", "street") if args.get(k)]
    for key, value in place:
        column = "code" if key == "grid" else f"{key}_code"
        parts.append(f"EXISTS (SELECT 1 FROM user_grid fg JOIN grid g ON g.code = fg.grid_code "
                     f"WHERE fg.user_id = u.id AND g.{column} = :{key})")
        params[key] = value
    if args.get("cursor"):
        parts.append("u.username > :cursor")
        params["cursor"] = args["cursor"]
    params["limit"] = args["limit"] + 1
    rows = db.session.execute(text(LIST_SQL.format(where=" AND ".join(parts))), params).all()
    more = len(rows) > args["limit"]
    users = [dict(r._mapping) for r in rows[:args["limit"]]]
    return {"users": users, "cursor": users[-1]["username"] if more else None, "more": more}


def get_user(caller: Caller, username: str) -> dict[str, Any]:
    steward = Steward(caller)
    steward.check()
    where, params = steward.user_sql()
    params.update(name=username, limit=1)
    row = db.session.execute(text(LIST_SQL.format(where=f"u.username = :name AND {where}")),
                             params).first()
    if row is None:
        raise ApiError(404, "not_found", f"no user {username!r} that you manage")
    return dict(row._mapping)


def validate_user(values: dict[str, Any], *, creating: bool) -> dict[str, list[str]]:
    """Per-field problems of a user's values that need no database."""
    errors: dict[str, list[str]] = {}
    if creating and not USERNAME.match(values.get("username") or ""):
        errors["username"] = ["use 1 to 64 letters, digits, Chinese characters or . _ @ -"]
    if "role" in values and values["role"] not in ROLES:
        errors["role"] = [f"must be one of {', '.join(ROLES)}"]
    phone = values.get("phone")
    if phone and not PHONE.match(phone):
        errors["phone"] = ["not a mobile or landline number"]
    dept = values.get("dept")
    if dept and dept not in current_app.config["DEPARTMENTS"]:
        errors["dept"] = [f"unknown department; one of {'、'.join(current_app.config['DEPARTMENTS'])}"]
    return errors


def create_user(caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    steward = Steward(caller)
    steward.check()
    errors = validate_user(body, creating=True)
    if errors:
        raise ApiError(422, "validation", "some fields are invalid; see details", errors)
    refusal = steward.refusal(body["role"], body.get("grids") or [])
    if refusal:
        raise ApiError(403, "forbidden", refusal)
    _check_codes(body)
    password = body.get("password")
    one_time = password is None
    if one_time:
        password = one_time_password()
        digest = hash_one_time(password)
    else:
        problem = password_problem(password)
        if problem:
            raise ApiError(422, "weak_password", problem)
        digest = auth.hash_password(password)
    row = db.session.execute(text("""
        INSERT INTO app_user (username, password_hash, role, dept, display_name, phone,
                              active, must_change_password)
        VALUES (:username, :digest, :role, :dept, :display_name, :phone, :active, :otp)
        ON CONFLICT (username) DO NOTHING RETURNING id
    """), {"username": body["username"], "digest": digest, "role": body["role"],
           "dept": body.get("dept"), "display_name": body.get("display_name"),
           "phone": body.get("phone"), "active": not body.get("disabled", False),
           "otp": one_time}).first()
    if row is None:
        raise ApiError(409, "conflict", f"user {body['username']!r} already exists")
    _set_codes(row.id, body.get("grids") or [], body.get("areas") or [])
    audit.record("admin.user_create", user_id=caller.user_id, username=caller.username,
                 device_id=caller.device_id, object=body["username"],
                 detail={"role": body["role"], "grids": body.get("grids") or [],
                         "areas": body.get("areas") or []})
    out = get_user(caller, body["username"])
    if one_time:
        out["one_time_password"] = password
    return out


def update_user(caller: Caller, username: str, body: dict[str, Any]) -> dict[str, Any]:
    before = get_user(caller, username)  # 404 for a user the caller does not manage
    steward = Steward(caller)
    errors = validate_user(body, creating=False)
    if errors:
        raise ApiError(422, "validation", "some fields are invalid; see details", errors)
    after = {**before, **{k: v for k, v in body.items() if k in USER_FIELDS}}
    refusal = steward.refusal(after["role"], after["grids"])
    if refusal:
        raise ApiError(403, "forbidden", refusal)
    _check_codes(body)
    user_id = db.session.execute(text("SELECT id FROM app_user WHERE username = :n FOR UPDATE"),
                                 {"n": username}).scalar_one()
    changed = sorted(k for k in USER_FIELDS if k in body and body[k] != before[k])
    db.session.execute(text("""
        UPDATE app_user SET display_name = :display_name, role = :role, dept = :dept,
               phone = :phone, active = NOT :disabled,
               scope_epoch = scope_epoch + CASE WHEN :rescope THEN 1 ELSE 0 END
        WHERE id = :id
    """), {**{k: after[k] for k in ("display_name", "role", "dept", "phone", "disabled")},
           "rescope": bool({"grids", "areas", "role"} & set(changed)), "id": user_id})
    if "grids" in body or "areas" in body:
        _set_codes(user_id, after["grids"], after["areas"])
    if after["disabled"] and not before["disabled"]:
        _revoke_user_tokens(user_id)
    out_password = None
    if "password" in body:
        out_password = _set_password(user_id, body["password"])
        changed.append("password")
    audit.record("admin.user_update", user_id=caller.user_id, username=caller.username,
                 device_id=caller.device_id, object=username, detail={"changed": changed})
    out = get_user(caller, username)
    if out_password:
        out["one_time_password"] = out_password
    return out


def _set_password(user_id: int, password: str | None) -> str | None:
    """``None`` sets a new one-time password and returns it; a string sets it as given."""
    if password is None:
        one_time = one_time_password()
        digest, must_change = hash_one_time(one_time), True
    else:
        problem = password_problem(password)
        if problem:
            raise ApiError(422, "weak_password", problem)
        one_time, digest, must_change = None, auth.hash_password(password), False
    db.session.execute(text("UPDATE app_user SET password_hash = :h, must_change_password = :m "
                            "WHERE id = :id"), {"h": digest, "m": must_change, "id": user_id})
    # Whoever held the old password is signed out everywhere.
    _revoke_user_tokens(user_id)
    return one_time


def _revoke_user_tokens(user_id: int) -> None:
    db.session.execute(text("UPDATE token SET revoked_at = now() "
                            "WHERE user_id = :u AND revoked_at IS NULL"), {"u": user_id})


def _check_codes(body: dict[str, Any]) -> None:
    """422 for grid or area codes no grid layer knows."""
    grids, areas = body.get("grids") or [], body.get("areas") or []
    if not grids and not areas:
        return
    known = db.session.execute(text("""
        SELECT array(SELECT DISTINCT code FROM grid WHERE code = ANY(:g)),
               array(SELECT c FROM unnest(CAST(:a AS text[])) c WHERE EXISTS (
                   SELECT 1 FROM grid g WHERE g.code = c OR g.community_code = c
                       OR g.street_code = c OR g.district_code = c))
    """), {"g": grids, "a": areas}).one()
    errors = {}
    if set(grids) - set(known[0]):
        errors["grids"] = [f"unknown grids: {'、'.join(sorted(set(grids) - set(known[0])))}"]
    if set(areas) - set(known[1]):
        errors["areas"] = [f"unknown areas: {'、'.join(sorted(set(areas) - set(known[1])))}"]
    if errors:
        raise ApiError(422, "validation", "some fields are invalid; see details", errors)


def _set_codes(user_id: int, grids: list[str], areas: list[str]) -> None:
    db.session.execute(text("""
        WITH g AS (DELETE FROM user_grid WHERE user_id = :u),
             a AS (DELETE FROM user_area WHERE user_id = :u)
        SELECT 1
    """), {"u": user_id})
    db.session.execute(text("""
        INSERT INTO user_grid (user_id, grid_code)
        SELECT :u, c FROM unnest(CAST(:g AS text[])) c ON CONFLICT DO NOTHING
    """), {"u": user_id, "g": list(dict.fromkeys(grids))})
    db.session.execute(text("""
        INSERT INTO user_area (user_id, area_code)
        SELECT :u, c FROM unnest(CAST(:a AS text[])) c ON CONFLICT DO NOTHING
    """), {"u": user_id, "a": list(dict.fromkeys(areas))})


# --- devices ----------------------------------------------------------------------------

DEVICES_SQL = """
    SELECT d.id AS device_id, u.username AS user, d.last_seen_at AS last_seen,
           d.app_version, d.last_push_at AS last_push, d.revoked_at IS NOT NULL AS revoked,
           d.last_seen_at IS NULL AS released,
           (SELECT count(*) FROM op_log o WHERE o.device_id = d.id AND o.status = 'held')
               AS held_ops
    FROM device d JOIN app_user u ON u.id = d.user_id
    WHERE {where}
    ORDER BY d.last_seen_at DESC NULLS LAST, d.id
    LIMIT 1000
"""


def list_devices(caller: Caller, username: str | None) -> dict[str, Any]:
    steward = Steward(caller)
    steward.check()
    where, params = steward.user_sql()
    if username:
        where += " AND u.username = :name"
        params["name"] = username
    rows = db.session.execute(text(DEVICES_SQL.format(where=where)), params).all()
    return {"devices": [dict(r._mapping) for r in rows]}


def _managed_device(caller: Caller, device_id: str) -> dict[str, Any]:
    steward = Steward(caller)
    steward.check()
    where, params = steward.user_sql()
    params["d"] = device_id
    row = db.session.execute(text(DEVICES_SQL.format(where=f"d.id = :d AND {where}")),
                             params).first()
    if row is None:
        raise ApiError(404, "not_found", f"no device {device_id!r} that you manage")
    return dict(row._mapping)


def revoke_device(caller: Caller, device_id: str) -> dict[str, Any]:
    """Cut a lost phone off at once: its tokens stop working and it cannot sign in again."""
    device = _managed_device(caller, device_id)
    db.session.execute(text("UPDATE device SET revoked_at = coalesce(revoked_at, now()) "
                            "WHERE id = :d"), {"d": device_id})
    db.session.execute(text("UPDATE token SET revoked_at = now() "
                            "WHERE device_id = :d AND revoked_at IS NULL"), {"d": device_id})
    audit.record("admin.device_revoke", user_id=caller.user_id, username=caller.username,
                 device_id=caller.device_id, object=device_id, detail={"owner": device["user"]})
    return _managed_device(caller, device_id)


def release_device(caller: Caller, device_id: str) -> dict[str, Any]:
    """Free a device for another user (a phone handed on)."""
    device = _managed_device(caller, device_id)
    auth.release_device(device_id)
    audit.record("admin.device_release", user_id=caller.user_id, username=caller.username,
                 device_id=caller.device_id, object=device_id, detail={"owner": device["user"]})
    return _managed_device(caller, device_id)
