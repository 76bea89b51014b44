"""``incident_rollup`` gives statistics the same incident figures as the stage history.

The reference is the statistics' former query, which walked ``record_version`` on every
call. Incidents get random stage durations (backdated versions, as a day of real work
would leave them) in an urban and a rural grid, and the figures are compared after the
first build and again after incremental changes: a transition, a deletion, a new
incident.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from sync.incident import DEFAULT_LIMITS_MIN, RURAL_VERIFY_MIN
from tests.console.helpers import new_incident

LIMITS = ", ".join(f"('{s}', {u}, {n})" for s, (u, n) in DEFAULT_LIMITS_MIN.items())
REFERENCE_SQL = f"""
    WITH inc AS (
        SELECT r.id, r.grid_code, r.due_at, g.kind AS grid_kind,
               r.status NOT IN ('closed', 'rejected', 'void') AS open
        FROM record r JOIN grid g ON g.code = r.grid_code
        JOIN grid_layer l ON l.active_version_id = g.layer_version_id
        WHERE r.entity = 'incident' AND NOT r.deleted AND r.grid_code = ANY(%(grids)s)
          AND r.created_at >= %(t0)s
    ),
    stages AS (
        SELECT rv.record_id, rv.data->>'status' AS status, rv.created_at AS entered,
               coalesce(rv.data->'urgent' = 'true'::jsonb, false) AS urgent, inc.grid_kind,
               lead(rv.created_at) OVER w AS left_at,
               lag(rv.data->>'status') OVER w AS prev
        FROM record_version rv JOIN inc ON inc.id = rv.record_id
        WHERE 'status' = ANY(rv.changed)
        WINDOW w AS (PARTITION BY rv.record_id ORDER BY rv.version)
    ),
    per_incident AS (
        SELECT s.record_id,
               coalesce(bool_or(coalesce(s.left_at, now()) > s.entered + make_interval(mins =>
                   CASE WHEN s.status = 'handled' AND s.grid_kind = 'rural'
                        THEN greatest(CASE WHEN s.urgent THEN lim.u ELSE lim.n END,
                                      {RURAL_VERIFY_MIN})
                        WHEN s.urgent THEN lim.u ELSE lim.n END)), false) AS late,
               count(*) FILTER (WHERE s.prev = 'handled'
                                AND s.status IN ('verified', 'dispatched')) AS verifications,
               count(*) FILTER (WHERE s.prev = 'handled' AND s.status = 'dispatched') AS reworks
        FROM stages s LEFT JOIN (VALUES {LIMITS}) AS lim(status, u, n) ON lim.status = s.status
        GROUP BY s.record_id
    )
    SELECT inc.grid_code, count(*)::int AS incidents,
           count(*) FILTER (WHERE coalesce(p.late, false)
                            OR (inc.open AND inc.due_at < now()))::int AS overdue,
           coalesce(sum(p.verifications), 0)::int AS verifications,
           coalesce(sum(p.reworks), 0)::int AS reworks
    FROM inc LEFT JOIN per_incident p ON p.record_id = inc.id
    GROUP BY inc.grid_code ORDER BY inc.grid_code
"""
PATHS = [
    ("accepted", "filed", "dispatched", "handled", "verified", "closed"),
    ("accepted", "filed", "dispatched", "handled", "dispatched", "handled", "verified"),
    ("accepted", "filed", "dispatched"),
    ("accepted",),
    (),
    ("accepted", "filed", "dispatched", "handled"),
    ("rejected",),
]
# Stage lengths around every limit: 5 min, 40 min, 90 min, 3 h, 2 days.
DURATIONS = [timedelta(minutes=m) for m in (5, 40, 90, 180, 2880)]


def _pg(app) -> psycopg.Connection:
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True)


def _transition(sup, rid: str, to: str) -> None:
    version = sup.get(f"/api/v1/desk/incidents/{rid}").json["record"]["version"]
    extra = {"department": "市政"} if to == "dispatched" else {}
    r = sup.post(f"/api/v1/desk/incidents/{rid}/transition",
                 json={"to": to, "base_version": version, **extra})
    assert r.status_code == 200, (to, r.json)


def _backdate(conn: psycopg.Connection, rid: str, length) -> None:
    """Spread the incident's versions back in time: ``length(status)`` is how long the
    stage entered by each version lasted."""
    versions = conn.execute(
        "SELECT version, data->>'status' FROM record_version WHERE record_id = %s "
        "ORDER BY version DESC", (rid,)).fetchall()
    at = datetime.now(ZoneInfo("UTC"))
    for i, (v, status) in enumerate(versions):
        at -= length(status) if i else timedelta(minutes=1)
        conn.execute("UPDATE record_version SET created_at = %s WHERE record_id = %s "
                     "AND version = %s", (at, rid, v))
    conn.execute("UPDATE record SET created_at = %s, change_seq = nextval('change_seq') "
                 "WHERE id = %s", (at, rid))


@pytest.fixture(scope="module")
def grids(app, inside_points):
    """An urban and a rural grid (the rural one switched for this module only)."""
    urban, rural = sorted(inside_points)[30:32]
    with _pg(app) as conn:
        kind = conn.execute("SELECT kind FROM grid WHERE code = %s", (rural,)).fetchone()[0]
        conn.execute("UPDATE grid SET kind = 'rural' WHERE code = %s", (rural,))
        yield urban, rural
        conn.execute("UPDATE grid SET kind = %s WHERE code = %s", (kind, rural))
        # the rollups were built with the switched kind only where it matters: stats
        conn.execute("DELETE FROM rollup_state")


def _compare(sup, app, grid_codes, since) -> list[dict]:
    day = since.astimezone(ZoneInfo("Asia/Shanghai")).date()
    r = sup.get(f"/api/v1/stats?level=grid&from={day.isoformat()}")
    assert r.status_code == 200, r.json
    got = [{k: row[k] for k in ("unit", "incidents", "incidents_overdue", "verifications",
                                "reworks")}
           for row in r.json["rows"] if row["unit"] in grid_codes and row["incidents"]]
    with _pg(app) as conn:
        cur = conn.execute(REFERENCE_SQL, {"grids": list(grid_codes), "t0": datetime.combine(
            day, datetime.min.time(), tzinfo=ZoneInfo("Asia/Shanghai"))})
        want = [{"unit": g, "incidents": n, "incidents_overdue": o, "verifications": v,
                 "reworks": w} for g, n, o, v, w in cur.fetchall()]
    assert got == want
    return got


def test_rollup_matches_the_stage_history(app, grids, inside_points, signed_in):
    rng = random.Random(6)
    sup = signed_in(role="supervisor", areas=list(grids))
    rids, handled_90 = [], []
    for code in grids:
        dev = signed_in(grids=[code])
        for i in range(14):
            rid = new_incident(dev, inside_points[code], urgent=i % 3 == 0)
            for to in PATHS[i % len(PATHS)]:
                _transition(sup, rid, to)
            rids.append(rid)
        # late only in an urban grid: 90 min handled (limit 60, rural 120), the rest quick
        rid = new_incident(dev, inside_points[code])
        for to in PATHS[0]:
            _transition(sup, rid, to)
        handled_90.append(rid)
    with _pg(app) as conn:
        for rid in rids:
            _backdate(conn, rid, lambda status: rng.choice(DURATIONS))
        for rid in handled_90:
            _backdate(conn, rid, lambda status: timedelta(
                minutes=90 if status == "handled" else 5))
    since = datetime.now(ZoneInfo("UTC")) - timedelta(days=15)
    first = _compare(sup, app, grids, since)
    assert sum(row["incidents_overdue"] for row in first) > 0
    assert sum(row["reworks"] for row in first) > 0

    # incremental: a transition, a deleted incident, a new one
    _transition(sup, rids[3], "filed")
    dev = signed_in(grids=[grids[1]])
    version = sup.get(f"/api/v1/desk/incidents/{rids[-1]}").json["record"]["version"]
    assert dev.push(dev.op("incident", "delete", id=rids[-1], base_version=version)
                    )[0]["status"] == "applied"
    new_incident(dev, inside_points[grids[1]], urgent=True)
    _compare(sup, app, grids, since)
