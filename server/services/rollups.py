"""Rollups for statistics and tiles, folded in from ``change_seq``.

Statistics and map tiles of a district with a million inspections cannot scan them on
every request. Three tables hold live (not deleted) inspections counted per key:

- ``grid_day_activity (grid_code, day) → n, n_<kind>, last_at, last_visit_at``:
  statistics and the grids layer's measures;
- ``cell_day_activity (grid_code, day, grid_id, created_by, cx, cy) → n, n_<kind>, sx, sy``
  with ``cx, cy`` the zoom-18 tile holding the point (the cell) and ``sx, sy`` the sums of
  the points' zoom-18 world coordinates, so that clusters sit at the mean of their
  points. ``grid_id`` and ``created_by`` are in the key so that the very scope filter of
  raw records (:func:`server.scope.record_filter`) applies to rollup rows;
- ``cell_activity``: the same summed over all days, for tiles without a date filter.

and one row per live incident in ``incident_rollup`` (see :func:`_incident_upsert`): its
stage history reduced to what statistics and traffic lights need, so that neither walks
``record_version`` per request.

Days are calendar days in ``CONSOLE_TIMEZONE`` of ``created_at`` (server arrival), as in
statistics. ``''`` and ``0`` stand for a NULL grid code and grid id.

**Refresh.** Every record write is stamped with ``change_seq`` in commit order (see
:func:`server.services.records.stamp_changes`), so "everything after the last seq folded
in" is exact. :func:`refresh` runs under an advisory lock, off the push path: it takes the
records stamped after ``rollup_state.last_seq``, collects the (grid, day) keys they have
now *and* the grid they were last rolled up under (``rollup_member``: a point that moved
to another grid, or was deleted, leaves its old key), recomputes those keys from
``record`` (a few rows each through the (grid_code, created_at) index), and advances
``last_seq``. Recomputing keys instead of adding deltas keeps the tables exactly equal to
the raw computation whatever happened in between. A large backlog (the first run, a bulk
load) is rebuilt in one pass instead.

:func:`ensure_fresh` is called at the start of statistics and rollup-backed tiles: one
indexed ``max(change_seq)`` lookup when nothing changed (none for tiles, whose ETag query
reads the same two numbers). ``flask --app server rollups
refresh`` does the same from cron.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server.dbconn import leave_read_only
from server.errors import database_retry_reason
from server.extensions import db
from server.models import CELL_ZOOM, ROLLUP_KINDS
from server.sqlgeo import LAT, LON, readable
from sync.incident import REWORK_MOVE, VERIFIED_MOVES, due_at_sql, moves_sql

NAME = "activity"
LOCK = 0x726F_6C6C  # 'roll'
# Above this many changed records, rebuild everything in one pass.
FULL_REBUILD_ABOVE = 50_000
WORLD = 2 ** CELL_ZOOM

# Zoom-18 world coordinates of a point (spherical Web Mercator, as in tiles.py), through
# server.sqlgeo's guards: a subnormal, NaN or out-of-range coordinate stored by an old
# client must never fail the refresh (and with it every tile and statistic).
WX = f"(({LON} + 180.0) / 360.0 * {WORLD}.0)"
WY = f"((1.0 - asinh(tan(radians({LAT}))) / pi()) / 2.0 * {WORLD}.0)"


def _tz() -> str:
    return current_app.config.get("CONSOLE_TIMEZONE", "Asia/Shanghai")


def _state() -> Any:
    return db.session.execute(text("""
        SELECT (SELECT max(change_seq) FROM record) AS top,
               (SELECT last_seq FROM rollup_state WHERE name = :name) AS last
    """), {"name": NAME}).one()


def is_fresh(top: int | None, last: int | None) -> bool:
    """Whether rollups that folded in up to ``last`` cover changes up to ``top``."""
    return last is not None and (top is None or top <= last)


# After a refresh failed, reads on this node use the rollups as they are for this long
# before trying again, instead of each repeating the failure.
RETRY_AFTER_FAILURE_S = 30.0
_failed_at: list[float] = []


def ensure_fresh(top: int | None = None, last: int | None = None) -> None:
    """Fold in pending changes if there are any (cheap when there are none).

    A caller that has just read ``max(change_seq)`` and ``rollup_state.last_seq`` (the
    tiles' ETag does) passes them, and nothing is queried when they show no change.

    A refresh that fails for a reason retrying would only repeat (a bug, a stored value
    nobody foresaw) is logged and rolled back, and the read goes on with the rollups as
    they are: it must not take every tile and statistic down for everyone. The
    ``rollups refresh`` command still fails loudly. An unavailable database is still a 503.
    """
    if is_fresh(top, last):
        return
    st = _state()
    if is_fresh(st.top, st.last):
        return
    if _failed_at and time.monotonic() - _failed_at[-1] < RETRY_AFTER_FAILURE_S:
        return
    leave_read_only()  # the refresh holds its advisory lock until it commits
    try:
        refresh()
    except DBAPIError as exc:
        if database_retry_reason(exc) is not None:
            raise
        db.session.rollback()
        _failed_at[:] = [time.monotonic()]
        current_app.logger.exception("rollups: refresh failed; reads use the rollups as "
                                     "they are and retry in %.0f s", RETRY_AFTER_FAILURE_S)


def _day(col: str) -> str:
    return f"({col} AT TIME ZONE :tz)::date"


def _cell_select(source: str, day: bool) -> str:
    """Aggregate inspection rows ``r`` of ``source`` into cell rows."""
    kinds = "".join(f", count(*) FILTER (WHERE r.kind = '{k}')" for k in ROLLUP_KINDS)
    d = f", {_day('r.created_at')}" if day else ""
    return f"""
        SELECT coalesce(r.grid_code, ''){d}, coalesce(r.grid_id, 0), r.created_by,
               floor({WX.format(g='r.geom')})::int, floor({WY.format(g='r.geom')})::int,
               count(*), sum({WX.format(g='r.geom')}), sum({WY.format(g='r.geom')}){kinds}
        FROM {source}
        WHERE r.geom IS NOT NULL AND {readable('r.geom')} AND abs(ST_Y(r.geom)) < 85.05
        GROUP BY 1, 2, 3, 4, 5, 6"""


def _grid_day_insert(source: str) -> str:
    kinds = ", ".join(f"n_{k}" for k in ROLLUP_KINDS)
    counts = "".join(f", count(*) FILTER (WHERE r.kind = '{k}')" for k in ROLLUP_KINDS)
    return f"""
        INSERT INTO grid_day_activity (grid_code, day, n, {kinds}, last_at, last_visit_at)
        SELECT r.grid_code, {_day('r.created_at')}, count(*){counts}, max(r.created_at),
               max(r.created_at) FILTER (WHERE r.kind = 'visit')
        FROM {source}
        GROUP BY 1, 2"""


def _incident_upsert(changed: str) -> str:
    """Recompute ``incident_rollup`` rows of the live incidents selected by ``changed``
    (a condition on ``record r``) from their stage history in ``record_version``.

    A stage is the span between two status changes; it is late when it was left (or,
    for the current one, is still open) after entered + the time limit of its status and
    urgency (``sync.incident.DEFAULT_LIMITS_MIN``; ``handled`` in a rural grid gets at
    least ``RURAL_VERIFY_MIN``). A 核查 is handled → verified or dispatched; 返工 the
    latter.
    """
    # The deadlines and the 核查 moves are sync.incident's, generated as SQL there.
    end_urban = due_at_sql("s.status", "s.urgent", "s.entered")
    end_rural = due_at_sql("s.status", "s.urgent", "s.entered", rural=True)
    return f"""
        WITH inc AS (
            SELECT r.id, r.grid_code, r.created_at, r.status, r.due_at FROM record r
            WHERE r.entity = 'incident' AND NOT r.deleted AND {changed}
        ),
        stages AS (
            SELECT rv.record_id, rv.data->>'status' AS status, rv.created_at AS entered,
                   coalesce(rv.data->'urgent' = 'true'::jsonb, false) AS urgent,
                   lead(rv.created_at) OVER w AS left_at,
                   lag(rv.data->>'status') OVER w AS prev
            FROM record_version rv JOIN inc ON inc.id = rv.record_id
            WHERE 'status' = ANY(rv.changed)
            WINDOW w AS (PARTITION BY rv.record_id ORDER BY rv.version)
        ),
        limited AS (
            SELECT s.*, {end_urban} AS end_urban, {end_rural} AS end_rural
            FROM stages s
        ),
        per AS (
            SELECT record_id, max(entered) AS stage_since,
                   coalesce(bool_or(left_at > end_urban), false) AS late_urban,
                   coalesce(bool_or(left_at > end_rural), false) AS late_rural,
                   max(end_urban) FILTER (WHERE left_at IS NULL) AS deadline_urban,
                   max(end_rural) FILTER (WHERE left_at IS NULL) AS deadline_rural,
                   count(*) FILTER (WHERE {moves_sql("prev", "status", VERIFIED_MOVES)})
                       AS verifications,
                   count(*) FILTER (WHERE {moves_sql("prev", "status", [REWORK_MOVE])})
                       AS reworks
            FROM limited GROUP BY record_id
        )
        INSERT INTO incident_rollup (record_id, grid_code, created_at, status, due_at,
                                     stage_since, late_urban, late_rural, deadline_urban,
                                     deadline_rural, verifications, reworks)
        SELECT inc.id, inc.grid_code, inc.created_at, inc.status, inc.due_at, p.stage_since,
               coalesce(p.late_urban, false), coalesce(p.late_rural, false),
               p.deadline_urban, p.deadline_rural, coalesce(p.verifications, 0),
               coalesce(p.reworks, 0)
        FROM inc LEFT JOIN per p ON p.record_id = inc.id"""


CELL_COLS = ("grid_id, created_by, cx, cy, n, sx, sy, "
             + ", ".join(f"n_{k}" for k in ROLLUP_KINDS))
SUM_COLS = "sum(n), sum(sx), sum(sy), " + ", ".join(f"sum(n_{k})" for k in ROLLUP_KINDS)
LIVE = "r.entity = 'inspection' AND NOT r.deleted"


def refresh(full: bool = False) -> dict[str, Any]:
    """Fold every change after ``last_seq`` into the rollups and commit.

    Returns what it did: ``{"mode": "none" | "incremental" | "full", "records": …,
    "keys": …, "seq": …, "ms": …}``.
    """
    started = time.perf_counter()
    params = {"tz": _tz(), "name": NAME}
    db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK})
    st = _state()  # again, under the lock: another refresh may have just run
    top = st.top or 0
    last = st.last
    out: dict[str, Any] = {"mode": "none", "records": 0, "keys": 0, "seq": top}
    if last is None or full:
        out.update(mode="full", records=_rebuild(params))
    elif top > last:
        pending = db.session.execute(text(
            "SELECT count(*) FROM record WHERE change_seq > :last AND change_seq <= :top"),
            {"last": last, "top": top}).scalar_one()
        if pending > FULL_REBUILD_ABOVE:
            out.update(mode="full", records=_rebuild(params))
        else:
            out.update(mode="incremental", records=pending,
                       keys=_incremental({**params, "last": last, "top": top}))
    if out["mode"] != "none" or last is None:
        db.session.execute(text("""
            INSERT INTO rollup_state (name, last_seq, refreshed_at) VALUES (:name, :top, now())
            ON CONFLICT (name) DO UPDATE SET last_seq = greatest(rollup_state.last_seq,
                                                                  EXCLUDED.last_seq),
                                             refreshed_at = now()
        """), {"name": NAME, "top": top})
    db.session.commit()
    _failed_at.clear()
    out["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return out


def _rebuild(params: dict[str, Any]) -> int:
    ex = db.session.execute
    ex(text("TRUNCATE grid_day_activity, cell_day_activity, cell_activity, rollup_member, "
            "incident_rollup"))
    ex(text(_incident_upsert("true")))
    ex(text(_grid_day_insert(f"record r WHERE {LIVE} AND r.grid_code IS NOT NULL")), params)
    ex(text(f"INSERT INTO cell_day_activity (grid_code, day, {CELL_COLS}) "
            + _cell_select(f"record r WHERE {LIVE}", day=True).replace(
                "WHERE r.geom", "AND r.geom")), params)
    ex(text(f"""
        INSERT INTO cell_activity (grid_code, {CELL_COLS})
        SELECT grid_code, grid_id, created_by, cx, cy, {SUM_COLS}
        FROM cell_day_activity GROUP BY grid_code, grid_id, created_by, cx, cy
    """))
    n = ex(text("""
        INSERT INTO rollup_member (record_id, grid_code)
        SELECT r.id, coalesce(r.grid_code, '') FROM record r WHERE r.entity = 'inspection'
    """)).rowcount
    for table in ("grid_day_activity", "cell_day_activity", "cell_activity", "rollup_member",
                  "incident_rollup"):
        ex(text(f"ANALYZE {table}"))
    return n


def _incremental(params: dict[str, Any]) -> int:
    ex = db.session.execute
    changed_incidents = ("r.change_seq > :last AND r.change_seq <= :top "
                         "AND r.entity = 'incident'")
    ex(text(f"""
        DELETE FROM incident_rollup i USING record r
        WHERE r.id = i.record_id AND {changed_incidents}
    """), params)
    ex(text(_incident_upsert(changed_incidents)), params)
    # The (grid, day) keys touched: where each changed inspection is now, and the grid it
    # was last rolled up under. created_at never changes, so neither does its day.
    ex(text(f"""
        CREATE TEMP TABLE rollup_keys ON COMMIT DROP AS
        SELECT DISTINCT k.grid_code, k.day
        FROM (SELECT r.id, coalesce(r.grid_code, '') AS grid_code,
                     {_day('r.created_at')} AS day
              FROM record r
              WHERE r.change_seq > :last AND r.change_seq <= :top
                AND r.entity = 'inspection') AS c
        LEFT JOIN rollup_member m ON m.record_id = c.id
        CROSS JOIN LATERAL (VALUES (c.grid_code, c.day), (m.grid_code, c.day)) AS k(grid_code, day)
        WHERE k.grid_code IS NOT NULL
    """), params)
    keys = ex(text("SELECT count(*) FROM rollup_keys")).scalar_one()
    # The live inspections of those keys, as they are now (one index range per key).
    bounds = ("r.created_at >= (k.day::timestamp AT TIME ZONE :tz) "
              "AND r.created_at < ((k.day + 1)::timestamp AT TIME ZONE :tz)")
    ex(text(f"""
        CREATE TEMP TABLE rollup_rows ON COMMIT DROP AS
        SELECT r.grid_code, r.grid_id, r.created_by, r.created_at, r.kind, r.geom
        FROM rollup_keys k JOIN record r
          ON r.grid_code = k.grid_code AND {bounds} AND {LIVE}
        WHERE k.grid_code <> ''
        UNION ALL
        SELECT r.grid_code, r.grid_id, r.created_by, r.created_at, r.kind, r.geom
        FROM rollup_keys k JOIN record r
          ON r.grid_code IS NULL AND {bounds} AND {LIVE}
        WHERE k.grid_code = ''
    """), params)
    ex(text("""
        DELETE FROM grid_day_activity a USING rollup_keys k
        WHERE a.grid_code = k.grid_code AND a.day = k.day
    """))
    ex(text(_grid_day_insert("rollup_rows r WHERE r.grid_code IS NOT NULL")), params)
    ex(text("""
        DELETE FROM cell_day_activity a USING rollup_keys k
        WHERE a.grid_code = k.grid_code AND a.day = k.day
    """))
    ex(text(f"INSERT INTO cell_day_activity (grid_code, day, {CELL_COLS}) "
            + _cell_select("rollup_rows r", day=True)), params)
    ex(text("""
        DELETE FROM cell_activity a
        WHERE a.grid_code IN (SELECT grid_code FROM rollup_keys)
    """))
    ex(text(f"""
        INSERT INTO cell_activity (grid_code, {CELL_COLS})
        SELECT grid_code, grid_id, created_by, cx, cy, {SUM_COLS}
        FROM cell_day_activity
        WHERE grid_code IN (SELECT grid_code FROM rollup_keys)
        GROUP BY grid_code, grid_id, created_by, cx, cy
    """))
    ex(text("""
        INSERT INTO rollup_member (record_id, grid_code)
        SELECT r.id, coalesce(r.grid_code, '') FROM record r
        WHERE r.change_seq > :last AND r.change_seq <= :top AND r.entity = 'inspection'
        ON CONFLICT (record_id) DO UPDATE SET grid_code = EXCLUDED.grid_code
    """), params)
    return keys
