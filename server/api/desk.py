"""The work-order desk (工单): queues, one incident with its history, transitions."""

from __future__ import annotations

from server.api.blueprint import Blueprint
from server.auth import current_caller, login_required, require_role
from server.console_schemas import (
    DepartmentsResponse,
    DeskListArgs,
    DeskPage,
    ExtensionRequest,
    RecordDetail,
    TransitionRequest,
    TransitionResponse,
)
from server.services import desk as service

PREFIX = "/desk"
blp = Blueprint("desk", __name__, description="Work-order desk: queues, history, transitions")


@blp.route("/departments", methods=["GET"])
@blp.response(200, DepartmentsResponse)
@login_required
def departments():
    """Departments an incident can be dispatched to (config ``DEPARTMENTS``)."""
    return {"departments": service.departments()}


@blp.route("/incidents", methods=["GET"])
@blp.arguments(DeskListArgs, location="query")
@blp.response(200, DeskPage)
@login_required
def list_incidents(args):
    """Incidents in scope, soonest deadline first, with traffic lights and queue counts.

    ``status`` picks queues (comma separated: the main path reported…closed and the side
    paths rejected, returned, shelved, void, self_handled). ``overdue=true`` keeps only red
    ones. Supervisors and admins see their area; department users see what was
    dispatched to their department. Field users get 403: they work through sync.
    """
    caller = require_role(*service.DESK_ROLES)
    return service.list_incidents(caller, args)


@blp.route("/incidents/<record_id>", methods=["GET"])
@blp.response(200, RecordDetail)
@login_required
def get_incident(record_id: str):
    """One incident with its grid, full history (from record versions), photos and actions."""
    caller = require_role(*service.DESK_ROLES)
    return service.record_detail(caller, record_id)


@blp.route("/incidents/<record_id>/transition", methods=["POST"])
@blp.arguments(TransitionRequest)
@blp.response(200, TransitionResponse)
@blp.alt_response(403, description="your role may not make this change")
@blp.alt_response(409,
                  description="illegal_transition, or stale_version when base_version is old")
@login_required
def transition(body, record_id: str):
    """Move an incident along the state machine, through the same rules as sync.

    ``{"to", "base_version", "department"?, "note"?}``. A dispatch needs a configured
    department. 409 ``illegal_transition`` for a move the state machine forbids, 409
    ``stale_version`` if the incident changed since ``base_version``, 403 ``forbidden``
    for the wrong role, 404 outside your scope. The change is a new version in the history.
    """
    caller = require_role(*service.DESK_ROLES)
    return service.transition(caller, record_id, body)


@blp.route("/incidents/<record_id>/extension", methods=["POST"])
@blp.arguments(ExtensionRequest)
@blp.response(200, TransitionResponse)
@blp.alt_response(403, description="your role may not ask for or decide on more time")
@blp.alt_response(409, description="stale_version when base_version is old")
@login_required
def extension(body, record_id: str):
    """延时: ask for more time while dispatched, or approve/refuse a request (supervisor).

    ``{"base_version", "minutes", "reason"?}`` asks; ``{"base_version", "decision":
    "approve"|"refuse"}`` decides. An approval moves ``due_at`` later by the minutes
    asked for. Requests travel by sync too, as the incident's ``extension`` field.
    """
    caller = require_role(*service.DESK_ROLES)
    return service.extension(caller, record_id, body)


@blp.route("/records/<record_id>", methods=["GET"])
@blp.response(200, RecordDetail)
@login_required
def get_record(record_id: str):
    """An inspection or incident for a map popup: who made it, when, photos, history.

    Any signed-in user, within their scope (households are not shown here).
    """
    return service.record_detail(current_caller(), record_id, ("inspection", "incident"))
