from __future__ import annotations

from sqlalchemy import text

from server.api.blueprint import Blueprint
from server.auth import authenticate, current_caller, issue_token, login_required
from server.errors import ApiError
from server.extensions import db
from server.schemas import LoginSchema, TokenSchema
from server.services.users import user_public

PREFIX = "/auth"
blp = Blueprint("auth", __name__, description="Sign-in with per-device tokens")


@blp.route("/token", methods=["POST"])
@blp.public
@blp.errors((401, "invalid_credentials"), (403, "device_revoked or device_in_use"),
            (429, "too_many_attempts, with Retry-After"))
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
def create_token(body):
    """Sign in on one device and get that device's token."""
    user = authenticate(body["username"], body["password"])
    if user is None:
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    token, expires = issue_token(user, body["device_id"])
    db.session.commit()
    return {"token": token, "expires_at": expires, "user": user_public(user)}


@blp.route("/token", methods=["DELETE"])
@blp.response(204)
@login_required
def revoke_token():
    """Log this device out: its token stops working at once."""
    caller = current_caller()
    db.session.execute(text("UPDATE token SET revoked_at = now() WHERE id = :t"),
                       {"t": caller.token_id})
    db.session.commit()
