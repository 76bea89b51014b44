from __future__ import annotations

from sqlalchemy import text

from server.api.blueprint import Blueprint
from server.auth import (
    authenticate,
    current_caller,
    hash_password,
    issue_token,
    login_required,
    verify_password,
)
from server.errors import ApiError, ErrorSchema
from server.extensions import db
from server.schemas import LoginSchema, PasswordChangeSchema, TokenSchema
from server.services import audit, signin
from server.services.audit import client_ip
from server.services.users import check_password, user_public

PREFIX = "/auth"
blp = Blueprint("auth", __name__, description="Sign-in with per-device tokens")


def _refuse(code: str, status: int, message: str, username: str, device_id: str,
            user_id: int | None = None, headers: dict[str, str] | None = None,
            detail: dict | None = None) -> ApiError:
    """Audit a refused sign-in in a transaction of its own (what the attempt wrote, if
    anything, is rolled back first) and return the error to raise."""
    db.session.rollback()
    audit.record("auth.signin", result=code, user_id=user_id, username=username,
                 device_id=device_id, detail=detail)
    db.session.commit()
    return ApiError(status, code, message, detail, headers)


@blp.route("/token", methods=["POST"])
@blp.public
@blp.errors((401, "invalid_credentials"), (403, "device_revoked or device_in_use"),
            (429, "too_many_attempts, with Retry-After"))
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=ErrorSchema, description="invalid_credentials")
@blp.alt_response(403, schema=ErrorSchema,
                  description="device_in_use (another user's device), device_revoked")
@blp.alt_response(422, schema=ErrorSchema,
                  description="validation: a field missing, too long, or with a NUL or "
                              "other control character")
@blp.alt_response(429, schema=ErrorSchema, headers={"Retry-After": {
    "description": "seconds until an attempt may be made again",
    "schema": {"type": "integer"}}},
    description="too_many_attempts: 10 failures for this username, or 50 from this "
                "address, within 15 minutes; no password is checked")
def create_token(body):
    """Sign in on one device and get that device's token.

    Throttled (PROTOCOL v1.1): the failure counters are checked first, in one query, so
    a refused attempt costs no argon2 hashing.
    """
    username, device_id, ip = body["username"], body["device_id"], client_ip()
    lock = signin.check(username, ip)
    if lock is not None:
        what = "this username" if lock.by == "username" else "this address"
        raise _refuse("too_many_attempts", 429,
                      f"too many failed sign-ins for {what}; try again in "
                      f"{lock.retry_after} s or ask an admin to unlock it",
                      username, device_id, headers={"Retry-After": str(lock.retry_after)},
                      detail={"locked": lock.by, "retry_after": lock.retry_after})
    user = authenticate(username, body["password"])
    if user is None:
        signin.record_failure(username, ip)
        audit.record("auth.signin", result="invalid_credentials", username=username,
                     device_id=device_id)
        db.session.commit()
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    try:
        token, expires = issue_token(user, device_id)
    except ApiError as exc:
        raise _refuse(exc.code, exc.status, exc.message, username, device_id,
                      user_id=user.id) from None
    # The right password: this username's failures start over (not the address's).
    signin.clear_username(username)
    audit.record("auth.signin", user_id=user.id, username=username, device_id=device_id)
    db.session.commit()
    return {"token": token, "expires_at": expires, "user": user_public(user),
            "must_change_password": user.must_change_password}


@blp.route("/token", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, schema=ErrorSchema, description="no token, or not a live one")
@login_required
def revoke_token():
    """Log this device out: its token stops working at once."""
    caller = current_caller()
    db.session.execute(text("UPDATE token SET revoked_at = now() WHERE id = :t"),
                       {"t": caller.token_id})
    audit.record("auth.signout", user_id=caller.user_id, username=caller.username,
                 device_id=caller.device_id)
    db.session.commit()


@blp.route("/password", methods=["POST"])
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.alt_response(401, schema=ErrorSchema, description="no token, or not a live one")
@blp.alt_response(403, schema=ErrorSchema, description="invalid_credentials: `old` is wrong")
@blp.alt_response(422, schema=ErrorSchema,
                  description="weak_password: `new` breaks the password rule or equals "
                              "`old`; validation")
@blp.alt_response(429, schema=ErrorSchema, description="too_many_attempts, as for sign-in")
@login_required
def change_password(body):
    """Change the signed-in user's password (required after a one-time password).

    Checks ``old`` (a wrong one counts as a failed sign-in for the throttle), applies the
    password rule to ``new``, clears ``must_change_password``, and revokes the user's
    tokens on every other device: whoever knew the old password is signed out.
    """
    caller = current_caller()
    audit_args = {"user_id": caller.user_id, "username": caller.username,
                  "device_id": caller.device_id}
    lock = signin.check(caller.username, client_ip())
    if lock is not None:
        audit.record("auth.password", result="too_many_attempts", **audit_args)
        db.session.commit()
        raise ApiError(429, "too_many_attempts",
                       f"too many failed attempts; try again in {lock.retry_after} s",
                       {"locked": lock.by, "retry_after": lock.retry_after},
                       {"Retry-After": str(lock.retry_after)})
    stored = db.session.execute(text("SELECT password_hash FROM app_user WHERE id = :u"),
                                {"u": caller.user_id}).scalar_one()
    if not verify_password(stored, body["old"]):
        signin.record_failure(caller.username, client_ip())
        audit.record("auth.password", result="invalid_credentials", **audit_args)
        db.session.commit()
        raise ApiError(403, "invalid_credentials", "the old password is wrong")
    try:
        check_password(body["new"])
        if body["new"] == body["old"]:
            raise ApiError(422, "weak_password", "the new password must differ from the old")
    except ApiError as exc:
        audit.record("auth.password", result=exc.code, **audit_args)
        db.session.commit()
        raise
    db.session.execute(text("""
        UPDATE app_user SET password_hash = :h, must_change_password = false WHERE id = :u
    """), {"h": hash_password(body["new"]), "u": caller.user_id})
    db.session.execute(text("""
        UPDATE token SET revoked_at = now()
        WHERE user_id = :u AND id <> :t AND revoked_at IS NULL
    """), {"u": caller.user_id, "t": caller.token_id})
    signin.clear_username(caller.username)
    audit.record("auth.password", **audit_args)
    db.session.commit()
