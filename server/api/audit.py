"""The audit log for admins and supervisors (等级保护 2.0): JSON pages or CSV."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Response

from server.api.blueprint import Blueprint
from server.audit_schemas import AuditArgs, AuditPage
from server.auth import current_caller, login_required
from server.errors import ApiError
from server.extensions import db
from server.services import audit as service
from server.services.desk import console_tz, day_start

PREFIX = "/audit"
blp = Blueprint("audit", __name__, description="The audit log (append-only, hash-chained)")


def _bounds(args: dict[str, Any]) -> None:
    """``from``/``to`` as instants: a date covers its whole day in the console's time
    zone (``to`` becomes the exclusive start of the next day), a date-time without an
    offset is in that zone too."""
    start, end = args.get("from_"), args.get("to")
    if isinstance(start, datetime):
        args["from_"] = start if start.tzinfo else start.replace(tzinfo=console_tz())
    elif isinstance(start, date):
        args["from_"] = day_start(start)
    if isinstance(end, datetime):
        end = end if end.tzinfo else end.replace(tzinfo=console_tz())
        args["to"] = end + timedelta(microseconds=1)
    elif isinstance(end, date):
        args["to"] = day_start(end + timedelta(days=1))
    if args.get("from_") and args.get("to") and args["from_"] >= args["to"]:
        raise ApiError(422, "validation", "some fields are invalid; see details",
                       {"query": {"from": ["must not be after to"]}})


@blp.route("", methods=["GET"])
@blp.arguments(AuditArgs, location="query")
@blp.response(200, AuditPage)
@blp.doc(responses={"200": {"description": "a page of entries, newest first; with "
                            "format=csv, UTF-8 CSV with a BOM (X-Cursor, X-More headers)",
                            "content": {
                                "application/json": {
                                    "schema": AuditPage},
                                "text/csv": {"schema": {"type": "string"}}}}})
@blp.alt_response(403, description="not an admin or supervisor")
@login_required
def list_audit(args):
    """Audit entries, newest first, paged by ``cursor``.

    Admins see every entry; supervisors the entries of the field users whose grids lie
    in their areas; everyone else gets 403 (and that refusal is audited). ``from``/``to``
    are RFC 3339 date-times or dates (a date is its whole day in the console's time
    zone), between 2000 and 2100. ``format=csv`` returns the same entries as CSV. Every
    query and export is itself an audit entry.
    """
    caller = current_caller()
    action = "audit.export" if args["format"] == "csv" else "audit.query"
    if caller.role not in ("admin", "supervisor"):
        service.record(action, caller=caller, result="forbidden")
        db.session.commit()
        raise ApiError(403, "forbidden", "the audit log is for admins and supervisors")
    _bounds(args)
    page = service.list_entries(caller, args)
    filters = {k: str(args[k]) for k in ("from_", "to", "user", "action") if args.get(k)}
    service.record(action, caller=caller, object="audit_log", detail={**filters, "entries": len(page["entries"])})
    db.session.commit()
    if args["format"] != "csv":
        return page
    return Response(service.to_csv(page["entries"]), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="gridpatrol-audit.csv"',
        "Cache-Control": "no-store", "X-Cursor": page["cursor"] or "",
        "X-More": "true" if page["more"] else "false"})
