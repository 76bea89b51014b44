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
from server.models import Token, User, UserArea, UserGrid

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
    # A one-time password is still in use: only a password change or a logout may pass.
    must_change_password: bool = False

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
    """Sign a device in, replacing any token it had: one live token per device.

    A ``device_id`` belongs to the user who first signed in with it. Another user gets
    403 ``device_in_use`` and nothing changes: the owner's token and the device's
    sequence are left alone (handing the device over would let anyone who knows a
    device_id cut its owner off, and put the owner's unsent ops under someone else's
    name). ``devices release`` frees a device (``last_seen_at`` NULL, see
    :func:`release_device`); the next user to sign in on it takes it, and its
    ``next_seq`` goes on, since the sequence is the installation's, not the user's.
    Nothing is written before a refusal, so the caller may audit it and commit.
    """
    now = datetime.now(UTC)
    # ON CONFLICT: two first sign-ins on one new device_id race to own it; one wins.
    db.session.execute(text("""
        INSERT INTO device (id, user_id, last_seen_at) VALUES (:d, :u, :now)
        ON CONFLICT (id) DO NOTHING
    """), {"d": device_id, "u": user.id, "now": now})
    device = db.session.execute(text(
        "SELECT user_id, revoked_at, last_seen_at FROM device WHERE id = :d FOR UPDATE"),
        {"d": device_id}).one()
    if device.revoked_at is not None:
        # A lost phone stays cut off, even for someone who knows the password.
        raise ApiError(403, "device_revoked",
                       "this device was revoked; sign in from a new installation")
    if device.user_id != user.id and device.last_seen_at is not None:
        raise ApiError(403, "device_in_use",
                       "this device belongs to another user; sign in from your own "
                       "installation, or ask an admin to release the device")
    db.session.execute(text(
        "UPDATE device SET user_id = :u, last_seen_at = :now WHERE id = :d"),
        {"d": device_id, "u": user.id, "now": now})
    db.session.execute(
        text("UPDATE token SET revoked_at = now() WHERE device_id = :d AND revoked_at IS NULL"),
        {"d": device_id},
    )
    raw = secrets.token_urlsafe(32)
    expires = now + timedelta(days=current_app.config["TOKEN_TTL_DAYS"])
    db.session.add(Token(token_hash=token_digest(raw), device_id=device_id, user_id=user.id,
                         expires_at=expires))
    return raw, expires


def release_device(device_id: str) -> int | None:
    """Free a device for another user: revoke its owner's tokens and mark it released
    (``last_seen_at`` NULL, which no sign-in leaves behind). Returns the owner's id, or
    None for an unknown device.

    The owner's held ops are applied first, as ``sync release-held`` would (giving up on
    their gaps), because held ops are applied as the device's owner: left held, they
    would be applied later under the next user's name. ``next_seq`` is kept: the same
    installation goes on numbering its ops.
    """
    from server.services.push import _release_device

    owner = db.session.execute(text("SELECT user_id FROM device WHERE id = :d FOR UPDATE"),
                               {"d": device_id}).scalar_one_or_none()
    if owner is None:
        return None
    _release_device(device_id)
    db.session.execute(text("UPDATE device SET last_seen_at = NULL WHERE id = :d"),
                       {"d": device_id})
    db.session.execute(
        text("UPDATE token SET revoked_at = now() WHERE device_id = :d AND revoked_at IS NULL"),
        {"d": device_id})
    return owner


# What load_caller's statement reads for the Caller itself; anything else is ``also``.
CALLER_COLUMNS = ("id", "username", "role", "dept", "scope_epoch", "device_id", "tid",
                  "grids", "areas", "must_change_password")


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
                   u.must_change_password,
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
                  row.scope_epoch, list(row.grids), list(row.areas), extra,
                  row.must_change_password)


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


# What a user with a one-time password may still do: change it, or sign out.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.revoke_token"})


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
        if caller.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            raise ApiError(403, "password_change_required",
                           "change your one-time password first: POST /api/v1/auth/password")
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
