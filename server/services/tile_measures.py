"""The measure a grid is coloured by in the ``grids`` tile layer: coverage, open and
overdue incidents, days since a visit; from the rollups where the scope allows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from server.services.desk import today, window
from sync.incident import open_status_sql


def rollup_measure_sql(measure: str, args: dict[str, Any], params: dict[str, Any]) -> str:
    """Coverage and days since a visit from ``grid_day_activity`` (grids in scope)."""
    first, last = args.get("from_"), args.get("to")
    base = "FROM grid_day_activity a WHERE a.grid_code = g.code"
    if measure == "coverage":
        first, last = first or today(), last or today()
        params.update(d0=first, d1=last, days=float((last - first).days + 1))
        return (f"(SELECT count(*) {base} AND a.n_patrol > 0 "
                "AND a.day >= :d0 AND a.day <= :d1)::float8 / :days")
    dates = ""
    if first:
        dates += " AND a.day >= :d0"
        params["d0"] = first
    if last:
        dates += " AND a.day <= :d1"
        params["d1"] = last
    t1 = window(None, last)[1]
    params["ref"] = min(t1, datetime.now(t1.tzinfo)) if t1 else None
    return (f"floor(extract(epoch FROM (coalesce(CAST(:ref AS timestamptz), now()) - "
            f"(SELECT max(a.last_visit_at) {base}{dates}))) / 86400.0)::float8")


def measure_sql(measure: str, rf: str, args: dict[str, Any], params: dict[str, Any]) -> str:
    base = f"FROM record r WHERE r.grid_code = g.code AND NOT r.deleted AND {rf}"
    first, last = args.get("from_"), args.get("to")
    if measure == "coverage":
        first, last = first or today(), last or today()
        params["t0"], params["t1"] = window(first, last)
        params["days"] = float((last - first).days + 1)
        params["tz"] = current_app.config.get("CONSOLE_TIMEZONE", "Asia/Shanghai")
        return (f"(SELECT count(DISTINCT (r.created_at AT TIME ZONE :tz)::date) {base} "
                "AND r.entity = 'inspection' AND r.kind = 'patrol' "
                "AND r.created_at >= :t0 AND r.created_at < :t1)::float8 / :days")
    t0, t1 = window(first, last)
    dates = ""
    if t0:
        dates += " AND r.created_at >= :t0"
        params["t0"] = t0
    if t1:
        dates += " AND r.created_at < :t1"
        params["t1"] = t1
    if measure in ("open", "overdue"):
        overdue = " AND r.due_at < now()" if measure == "overdue" else ""
        return (f"(SELECT count(*) {base} AND r.entity = 'incident' "
                f"AND {open_status_sql('r')}{overdue}{dates})::float8")
    params["ref"] = min(t1, datetime.now(t1.tzinfo)) if t1 else None
    return (f"floor(extract(epoch FROM (coalesce(CAST(:ref AS timestamptz), now()) - "
            f"(SELECT max(r.created_at) {base} AND r.entity = 'inspection' AND r.kind = 'visit'"
            f"{dates}))) / 86400.0)::float8")
