from __future__ import annotations

from flask import current_app, request
from sqlalchemy.exc import IntegrityError

from server import faults
from server.api.blueprint import Blueprint
from server.auth import current_caller, login_required
from server.errors import ApiError
from server.extensions import db
from server.schemas import PullArgs, PullResponse, PushRequest, PushResponse
from server.services import pull as pull_service
from server.services import push as push_service

PREFIX = "/sync"
blp = Blueprint("sync", __name__, description="Offline sync: push ops, pull changes")


def _app_version() -> str | None:
    """The field app's version from its ``X-App-Version`` header (shown to admins)."""
    value = request.headers.get("X-App-Version", "")[:32]
    return value if value.isprintable() and value.strip() else None


@blp.route("/push", methods=["POST"])
@blp.errors((403, "device_mismatch: device_id is not the token's device"),
            (409, "retry: a concurrent push touched the same ops"),
            (413, "too_many_ops: more than SYNC_MAX_OPS"))
@blp.arguments(PushRequest)
@blp.response(200, PushResponse)
@login_required
def push(body):
    """Send a batch of ops; get one result per op, after they are committed."""
    caller = current_caller()
    if body["device_id"] != caller.device_id:
        raise ApiError(403, "device_mismatch",
                       "device_id differs from the device this token was issued to")
    limit = current_app.config["SYNC_MAX_OPS"]
    if len(body["ops"]) > limit:
        raise ApiError(413, "too_many_ops", f"at most {limit} ops per push; split the batch",
                       {"limit": limit, "got": len(body["ops"])})
    try:
        results = push_service.push(caller, caller.device_id, body["ops"],
                                    app_version=_app_version())
        faults.reached("push.before_commit")
        db.session.commit()
        faults.reached("push.after_commit")
    except IntegrityError as exc:
        # Only a race with another device sending the very same op_id or record id gets
        # here; nothing was written, and a resend sorts it out.
        db.session.rollback()
        raise ApiError(409, "retry", "a concurrent push touched the same ops; send again") \
            from exc
    return {"results": results}


@blp.route("/pull", methods=["GET"])
@blp.arguments(PullArgs, location="query")
@blp.response(200, PullResponse)
@login_required
def pull(args):
    """Changes in the caller's scope after a cursor, tombstones included."""
    limit = min(args["limit"], current_app.config["PULL_MAX_LIMIT"])
    page = pull_service.pull(current_caller(), args.get("cursor"), limit)
    db.session.commit()  # audit rows for unmasked reads
    return page
