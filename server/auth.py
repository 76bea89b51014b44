"""Passwords, device tokens and the signed-in caller.

Passwords use argon2id; tokens are random, stored only as their SHA-256, and belong to
one device so that a lost phone can be cut off without touching the others.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request
from sqlalchemy import select, text

from server.errors import ApiError
from server.extensions import db
from server.models import Device, Token, User, UserArea, UserGrid

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing the same.
_DUMMY_HASH = _hasher.hash("not a password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Caller:
    """The signed-in user and device, with their scope loaded once per request."""

    user_id: int
    username: str
    role: str
    dept: str | None
    device_id: str
    token_id: int
    scope_epoch: int
    grids: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    also: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_field(self) -> bool:
        return self.role in ("patroller", "grid_leader")

    def public(self) -> dict[str, Any]:
        return {"username": self.username, "role": self.role, "dept": self.dept,
                "grids": self.grids, "areas": self.areas}


def issue_token(user: User, device_id: str) -> tuple[str, datetime]:
    """Sign a device in, replacing any token it had: one live token per device."""
    now = datetime.now(UTC)
    device = db.session.get(Device, device_id)
    if device is None:
        device = Device(id=device_id, user_id=user.id)
        db.session.add(device)
    elif device.revoked_at is not None:
        # A lost phone stays cut off, even for someone who knows the password.
        raise ApiError(403, "device_revoked",
                       "this device was revoked; sign in from a new installation")
    elif device.user_id != user.id:
        # A shared phone: ops keep the device's sequence, but the new user owns it now.
        device.user_id = user.id
    device.last_seen_at = now
    db.session.flush()
    db.session.execute(
        text("UPDATE token SET revoked_at = now() WHERE device_id = :d AND revoked_at IS NULL"),
        {"d": device_id},
    )
    raw = secrets.token_urlsafe(32)
    expires = now + timedelta(days=current_app.config["TOKEN_TTL_DAYS"])
    db.session.add(Token(token_hash=token_digest(raw), device_id=device_id, user_id=user.id,
                         expires_at=expires))
    return raw, expires


# What load_caller's statement reads for the Caller itself; anything else is ``also``.
CALLER_COLUMNS = ("id", "username", "role", "dept", "scope_epoch", "device_id", "tid",
                  "grids", "areas")


def load_caller(raw_token: str, also: str = "", params: dict[str, Any] | None = None
                ) -> Caller | None:
    """The caller behind a token, with their scope, in one round trip: every API request
    pays for this, so it is one statement rather than one per table.

    ``also`` adds columns the view needs anyway (``", (SELECT …) AS name"``), to save it a
    round trip of its own; they come back in ``Caller.also``.
    """
    row = db.session.execute(
        text(f"""
            SELECT u.id, u.username, u.role, u.dept, u.scope_epoch, t.device_id, t.id AS tid,
                   ARRAY(SELECT grid_code FROM user_grid WHERE user_id = u.id
                         ORDER BY grid_code) AS grids,
                   ARRAY(SELECT area_code FROM user_area WHERE user_id = u.id
                         ORDER BY area_code) AS areas {also}
            FROM token t JOIN app_user u ON u.id = t.user_id JOIN device d ON d.id = t.device_id
            WHERE t.token_hash = :h AND t.revoked_at IS NULL AND t.expires_at > now()
              AND d.revoked_at IS NULL AND u.active
        """),
        {**(params or {}), "h": token_digest(raw_token)},
    ).one_or_none()
    if row is None:
        return None
    extra = {k: v for k, v in row._mapping.items() if k not in CALLER_COLUMNS}
    return Caller(row.id, row.username, row.role, row.dept, row.device_id, row.tid,
                  row.scope_epoch, list(row.grids), list(row.areas), extra)


def load_scope(user_id: int) -> tuple[list[str], list[str]]:
    grids = db.session.scalars(
        select(UserGrid.grid_code).where(UserGrid.user_id == user_id).order_by(UserGrid.grid_code)
    ).all()
    areas = db.session.scalars(
        select(UserArea.area_code).where(UserArea.user_id == user_id).order_by(UserArea.area_code)
    ).all()
    return list(grids), list(areas)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_caller(also: str = "", params: dict[str, Any] | None = None) -> Caller:
    """The signed-in caller (401 if none), loaded once per request; ``also`` as in
    :func:`load_caller`, for the request's first call."""
    caller = g.get("caller")
    if caller is None:
        raw = bearer_token()
        if raw is None:
            raise ApiError(401, "unauthorized", "sign in first: send Authorization: Bearer TOKEN")
        caller = load_caller(raw, also, params)
        if caller is None:
            raise ApiError(401, "invalid_token", "the token is invalid, expired or revoked")
        g.caller = caller
    return caller


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        current_caller()
        return view(*args, **kwargs)
    return wrapper


def require_role(*roles: str) -> Caller:
    caller = current_caller()
    if caller.role not in roles:
        raise ApiError(403, "forbidden", f"this needs one of the roles: {', '.join(roles)}")
    return caller


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username, User.active))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None
