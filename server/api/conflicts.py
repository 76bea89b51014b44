from __future__ import annotations

from server.api.blueprint import Blueprint
from server.auth import current_caller, login_required
from server.extensions import db
from server.schemas import ConflictArgs, ConflictPage, ResolveRequest, ResolveResponse
from server.services import conflicts as service

PREFIX = "/conflicts"
blp = Blueprint("conflicts", __name__, description="Review and resolve sync conflicts")


@blp.route("", methods=["GET"])
@blp.arguments(ConflictArgs, location="query")
@blp.response(200, ConflictPage)
@login_required
def list_conflicts(args):
    """Conflicts in the caller's scope, oldest first, paged by cursor."""
    page = service.list_conflicts(current_caller(), args)
    db.session.commit()  # audit entries for unmasked reads
    return page


@blp.route("/<conflict_id>/resolve", methods=["POST"])
@blp.errors((409, "the record changed since base_version, or the conflict is resolved"))
@blp.arguments(ResolveRequest)
@blp.response(200, ResolveResponse)
@login_required
def resolve(body, conflict_id):
    """Write the chosen values as a new version and close the conflict."""
    out = service.resolve(current_caller(), conflict_id, body["base_version"], body["data"])
    db.session.commit()
    return out
