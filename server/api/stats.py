"""Grid assessment statistics, as JSON, CSV or XLSX."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response

from server.api.blueprint import Blueprint
from server.auth import current_caller, login_required
from server.console_schemas import StatsArgs, StatsResponse
from server.dbconn import read_only
from server.extensions import db
from server.services import audit, stats_export
from server.services import stats as service

PREFIX = ""
blp = Blueprint("stats", __name__, description="Grid assessment statistics and exports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@blp.route("/stats", methods=["GET"])
@blp.arguments(StatsArgs, location="query")
@blp.response(200, StatsResponse)
@read_only
@login_required
def stats(args):
    """Per grid, community or street over ``from``..``to`` (default the last 7 days).

    Patrol coverage (share of grid-days with a patrol), visits, reports, on-the-spot
    fixes (handles), incidents on time vs overdue, 核查 verifications and 返工 reworks
    with the rework rate, and silent grids (no inspection for ``silent_days``), plus a
    ``totals`` row. Scoped to the caller's grids or area; department users get 403.
    """
    result = service.statistics(current_caller(), args)
    # Serialized as StatsResponse would, without marshmallow's per-field cost.
    return Response(service.to_json(result), mimetype="application/json")


def _download(body: bytes, mimetype: str, result: dict, ext: str) -> Response:
    name = f"gridpatrol-stats-{result['level']}-{result['from_']}-{result['to']}.{ext}"
    audit.record("stats.export", object=f"stats:{result['level']}", detail={"format": ext, "from": str(result["from_"]), "to": str(result["to"]), "rows": len(result["rows"])})
    db.session.commit()  # a no-op in autocommit, unless the view had to open a transaction
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store"})


@blp.route("/stats.csv", methods=["GET"])
@blp.arguments(StatsArgs, location="query")
@blp.doc(responses={"200": {"description": "UTF-8 CSV with a BOM, one row per unit + total",
                            "content": {"text/csv": {"schema": {"type": "string"}}}}})
@read_only
@login_required
def stats_csv(args):
    """The same table as ``GET /stats``, as CSV."""
    result = service.statistics(current_caller(), args)
    return _download(stats_export.to_csv(result), "text/csv", result, "csv")


@blp.route("/stats.xlsx", methods=["GET"])
@blp.arguments(StatsArgs, location="query")
@blp.doc(responses={"200": {"description": "an XLSX workbook for people: Chinese headers, percentages, local times, a title with the area and period",
                            "content": {XLSX: {"schema": {"type": "string",
                                                          "format": "binary"}}}}})
@read_only
@login_required
def stats_xlsx(args):
    """The same table as ``GET /stats``, as an Excel workbook."""
    caller = current_caller()
    result = service.statistics(caller, args)
    body = stats_export.to_xlsx(result, stats_export.area_label(caller, args),
                                datetime.now(UTC))
    return _download(body, XLSX, result, "xlsx")
