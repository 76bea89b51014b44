"""Mapbox vector tiles straight from PostGIS with ``ST_AsMVT``.

Every tile is one SQL statement, scoped to the caller with :func:`record_filter` or
:func:`grid_filter`. Polygons and lines go through ``ST_AsMVTGeom`` against
``ST_TileEnvelope``. Points are projected to tile coordinates with plain arithmetic on
their longitude and latitude (spherical Web Mercator, exactly what ``ST_Transform`` to
3857 followed by ``ST_AsMVTGeom`` yields), because that is several times cheaper than a
PROJ call per point and points are where the volume is.

Below zoom :data:`AGGREGATE_BELOW` points are never sent raw: they are binned in SQL into
a 32 × 32 lattice per tile (one feature per non-empty cell, at the mean position of its
points, with counts), so that a district of a million records stays a few kilobytes a
tile. The ``heat`` layer is always binned (64 × 64 per tile).

Binned inspections (clusters below zoom 14, heat below :data:`RAW_HEAT_FROM`) are sums
over the zoom-18 cell rollups of :mod:`server.services.rollups` instead of scans of the
points: a zoom-12 tile of a whole district reads a few thousand rollup rows. The cells
carry grid, creator and day, so scope, street/community, kind and date filters apply as on
raw records (at zoom 13 a heat cell is 1/32 of the tile, the cell size). At zooms 14–15,
a tile that would carry more than ``TILES_MAX_POINTS`` raw points gets one cluster per
zoom-18 cell instead, decided inside the same statement. Department users (whose scope
is per record) get the raw queries.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import text

from server.auth import Caller
from server.dbconn import CUSTOM_PLAN
from server.errors import ApiError
from server.extensions import db
from server.models import CELL_ZOOM
from server.scope import area_filter, grid_filter, record_filter
from server.services import rollups
from server.services.desk import light_sql, today, window
from server.sqlgeo import LAT, LON, in_range
from sync.incident import open_status_sql
from sync.records import INSPECTION_KINDS

LAYERS = ("grids", "inspections", "incidents", "tracks", "heat")
MAX_ZOOM = 22
AGGREGATE_BELOW = 14
EXTENT = 4096
BUFFER = 64
CLUSTER = 128  # tile units per cluster cell below AGGREGATE_BELOW: 32 x 32 cells a tile
HEAT = 64  # tile units per heat cell: 64 x 64 cells a tile
RAW_HEAT_FROM = 16  # heat below this zoom is summed from rollup cells
FINE_CLUSTER_UNTIL = 15  # up to this zoom, a crowded tile gets per-cell clusters
# Layers whose content changes with the clock (deadlines, "today", days since a visit).
CLOCKED = ("grids", "incidents")
MAX_LAT = 85.0511287798066

# Through server.sqlgeo's guards: a stored coordinate that is subnormal, NaN or out of
# range reads as 0 or NULL instead of failing the tile.
TX = f"(({LON} + 180.0) / 360.0 * :n - :tx) * 4096.0"
TY = f"((1.0 - asinh(tan(radians({LAT}))) / pi()) / 2.0 * :n - :ty) * 4096.0"


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    def bounds(self, margin: float = 0.0) -> tuple[float, float, float, float]:
        """``(minlon, minlat, maxlon, maxlat)``, grown by ``margin`` tiles on every side.

        >>> [round(v, 4) for v in Tile(1, 1, 0).bounds()]
        [0.0, 0.0, 180.0, 85.0511]
        """
        n = 2 ** self.z

        def lon(px: float) -> float:
            return max(-180.0, min(180.0, px / n * 360.0 - 180.0))

        def lat(py: float) -> float:
            py = max(0.0, min(float(n), py))
            return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / n))))

        return (lon(self.x - margin), lat(self.y + 1 + margin),
                lon(self.x + 1 + margin), lat(self.y - margin))


def parse_tile(layer: str, z: str, x: str, y: str) -> Tile:
    """Validate the path: an unknown layer is 404, bad coordinates are 400."""
    if layer not in LAYERS:
        raise ApiError(404, "not_found", f"no layer {layer!r}; layers: {', '.join(LAYERS)}")
    try:
        tile = Tile(int(z), int(x), int(y))
    except ValueError as exc:
        raise ApiError(400, "bad_request", "z, x and y must be integers",
                       {"tile": [f"{z}/{x}/{y}"[:64]]}) from exc
    if not 0 <= tile.z <= MAX_ZOOM or not (0 <= tile.x < 2 ** tile.z and 0 <= tile.y < 2 ** tile.z):
        raise ApiError(400, "bad_request",
                       f"no such tile: z must be 0..{MAX_ZOOM} and x, y 0..2^z-1",
                       {"tile": [f"{tile.z}/{tile.x}/{tile.y}"]})
    return tile


# --- SQL ---------------------------------------------------------------------------------

def _tile_params(tile: Tile) -> dict[str, Any]:
    return {"z": tile.z, "x": tile.x, "y": tile.y, "n": float(2 ** tile.z),
            "tx": tile.x, "ty": tile.y}


def _envelope(tile: Tile, params: dict[str, Any], margin: float, column: str) -> str:
    params.update(zip(("lon0", "lat0", "lon1", "lat1"), tile.bounds(margin), strict=True))
    return f"{column} && ST_MakeEnvelope(:lon0, :lat0, :lon1, :lat1, 4326)"


def _record_where(caller: Caller, args: dict[str, Any], entity: str, tile: Tile,
                  params: dict[str, Any], margin: float, column: str = "r.geom") -> str:
    scope, scope_params = record_filter(caller)
    params.update(scope_params)
    parts = [f"r.entity = '{entity}'", "NOT r.deleted", _envelope(tile, params, margin, column),
             scope]
    t0, t1 = window(args.get("from_"), args.get("to"))
    if t0:
        parts.append("r.created_at >= :t0")
        params["t0"] = t0
    if t1:
        parts.append("r.created_at < :t1")
        params["t1"] = t1
    parts += area_filter(args, params)
    if entity == "inspection" and args.get("kind"):
        parts.append("r.kind = ANY(:kinds)")
        params["kinds"] = list(args["kind"])
    if entity == "incident" and args.get("status"):
        parts.append("r.status = ANY(:statuses)")
        params["statuses"] = list(args["status"])
    return " AND ".join(parts)


def _points(entity: str, where: str, columns: str, joins: str = "") -> str:
    return f"""
        SELECT {TX.format(g='r.geom')} AS px, {TY.format(g='r.geom')} AS py{columns}
        FROM record r LEFT JOIN grid g ON g.id = r.grid_id{joins}
        WHERE {where}"""


def _mvt(layer: str, body: str) -> str:
    # OFFSET 0 keeps the planner from pushing "geom IS NOT NULL" down into the scan, where
    # it computed every ST_AsMVTGeom twice: once to filter, once for the tile.
    return (f"SELECT coalesce((SELECT ST_AsMVT(mvt_rows, '{layer}', {EXTENT}, 'geom') "
            f"FROM ({body} OFFSET 0) AS mvt_rows WHERE mvt_rows.geom IS NOT NULL), ''::bytea)")


def _cluster_body(points: str, cell: int, counts: str) -> str:
    return f"""
        SELECT ST_MakePoint(round(avg(p.px)), round(avg(p.py))) AS geom,
               count(*)::int AS count, true AS cluster{counts}
        FROM ({points}) AS p
        GROUP BY floor(p.px / {cell}), floor(p.py / {cell})"""


# --- rollup cells ------------------------------------------------------------------------

def _rollups_for(caller: Caller) -> bool:
    """Rollup rows carry grid and creator, enough for every scope but a department's."""
    return caller.role != "department"


def _cells(caller: Caller, args: dict[str, Any], tile: Tile,
           params: dict[str, Any]) -> tuple[str, str]:
    """``FROM … WHERE …`` over the rollup cells ``r`` inside the tile, and the count of
    the selected kinds per row."""
    scope, scope_params = record_filter(caller)
    params.update(scope_params)
    shift = CELL_ZOOM - tile.z
    params.update(cx0=tile.x << shift, cx1=((tile.x + 1) << shift) - 1,
                  cy0=tile.y << shift, cy1=((tile.y + 1) << shift) - 1,
                  scale=float(2 ** shift))
    parts = [scope, "r.cx BETWEEN :cx0 AND :cx1", "r.cy BETWEEN :cy0 AND :cy1"]
    first, last = args.get("from_"), args.get("to")
    table = "cell_day_activity" if first or last else "cell_activity"
    if first:
        parts.append("r.day >= :d0")
        params["d0"] = first
    if last:
        parts.append("r.day <= :d1")
        params["d1"] = last
    parts += area_filter(args, params)
    kinds = [k for k in INSPECTION_KINDS if k in (args.get("kind") or ())]
    sel = " + ".join(f"r.n_{k}" for k in kinds) if args.get("kind") else "r.n"
    parts.append(f"({sel or '0'}) > 0")
    return (f"FROM {table} r LEFT JOIN grid g ON g.id = r.grid_id "
            f"WHERE {' AND '.join(parts)}"), sel or "0"


def _cell_clusters(caller: Caller, tile: Tile, args: dict[str, Any], layer: str,
                   bits: int) -> tuple[str, dict]:
    """Clusters summed from cells, grouped to a 2^bits lattice per tile (never finer
    than a cell), each at the mean position of its points."""
    params = _tile_params(tile)
    source, sel = _cells(caller, args, tile, params)
    params["shift"] = max(0, CELL_ZOOM - tile.z - bits)
    chosen = args.get("kind")
    counts = "".join(
        f", sum(r.n_{k})::int AS {k}" if not chosen or k in chosen else f", 0 AS {k}"
        for k in INSPECTION_KINDS)
    body = f"""
        SELECT ST_MakePoint(round((sum(r.sx) / sum(r.n) / :scale - :tx) * 4096.0),
                            round((sum(r.sy) / sum(r.n) / :scale - :ty) * 4096.0)) AS geom,
               sum({sel})::int AS count, true AS cluster{counts}
        {source}
        GROUP BY r.cx >> :shift, r.cy >> :shift"""
    return _mvt(layer, body), params


def _unless_crowded(caller: Caller, tile: Tile, args: dict[str, Any], layer: str,
                    raw: tuple[str, dict]) -> tuple[str, dict]:
    """At zooms 14–15, one statement that serves per-cell clusters instead of ``raw`` when
    the tile holds more than ``TILES_MAX_POINTS`` of the selected inspections.

    Only the chosen branch runs: PostgreSQL evaluates each scalar subquery (an InitPlan)
    when its value is first needed.
    """
    if not (AGGREGATE_BELOW <= tile.z <= FINE_CLUSTER_UNTIL) or not _rollups_for(caller):
        return raw
    clusters, cluster_params = _cell_clusters(caller, tile, args, layer, 5)
    params = _tile_params(tile)
    source, sel = _cells(caller, args, tile, params)
    params["max_points"] = current_app.config["TILES_MAX_POINTS"]
    sql = (f"SELECT CASE WHEN (SELECT coalesce(sum({sel}), 0) {source}) > :max_points "
           f"THEN ({clusters}) ELSE ({raw[0]}) END")
    return sql, {**raw[1], **cluster_params, **params}


def inspections_sql(caller: Caller, tile: Tile, args: dict[str, Any],
                    only_kind: str | None = None, layer: str = "inspections") -> tuple[str, dict]:
    if only_kind:
        args = {**args, "kind": [only_kind]}
    if _rollups_for(caller) and tile.z < AGGREGATE_BELOW:
        return _cell_clusters(caller, tile, args, layer, 5)
    params = _tile_params(tile)
    if tile.z < AGGREGATE_BELOW:
        where = _record_where(caller, args, "inspection", tile, params, 0.0)
        counts = "".join(f", count(*) FILTER (WHERE p.kind = '{k}')::int AS {k}"
                         for k in INSPECTION_KINDS)
        body = _cluster_body(_points("inspection", where, ", r.kind"), CLUSTER, counts)
    else:
        where = _record_where(caller, args, "inspection", tile, params, BUFFER / EXTENT)
        body = f"""
            SELECT ST_MakePoint(round(p.px), round(p.py)) AS geom, p.id, p.kind, p.grid_code,
                   p.t, false AS cluster
            FROM ({_points("inspection", where, ", r.id::text AS id, r.kind, r.grid_code, "
                           "extract(epoch FROM r.created_at)::bigint AS t")}) AS p"""
    return _unless_crowded(caller, tile, args, layer, (_mvt(layer, body), params))


# The current stage's start for traffic lights, from the incident rollup: a lookup in
# record_version per incident costs ~20 µs, 0.4 s for a tile holding 20,000 incidents.
STAGE_JOIN = " LEFT JOIN incident_rollup ir ON ir.record_id = r.id"


def incidents_sql(caller: Caller, tile: Tile, args: dict[str, Any]) -> tuple[str, dict]:
    params = _tile_params(tile)
    light = light_sql(stage_since="ir.stage_since")
    if tile.z < AGGREGATE_BELOW:
        where = _record_where(caller, args, "incident", tile, params, 0.0)
        counts = "".join(f", count(*) FILTER (WHERE p.light = '{c}')::int AS {c}"
                         for c in ("green", "yellow", "red"))
        counts += f", count(*) FILTER (WHERE {open_status_sql('p')})::int AS open"
        body = _cluster_body(_points("incident", where, f", r.status, {light} AS light",
                                     STAGE_JOIN), CLUSTER, counts)
    else:
        where = _record_where(caller, args, "incident", tile, params, BUFFER / EXTENT)
        columns = (f", r.id::text AS id, r.status, {light} AS light, "
                   "coalesce(r.data->'urgent' = 'true'::jsonb, false) AS urgent, "
                   "r.data->>'title' AS title, r.data->>'category' AS category, "
                   "r.data->>'department' AS department, r.grid_code, "
                   "extract(epoch FROM r.due_at)::bigint AS due, "
                   "extract(epoch FROM r.created_at)::bigint AS t")
        body = f"""
            SELECT ST_MakePoint(round(p.px), round(p.py)) AS geom, p.id, p.status, p.light,
                   p.urgent, p.title, p.category, p.department, p.grid_code, p.due, p.t,
                   false AS cluster
            FROM ({_points("incident", where, columns, STAGE_JOIN)}) AS p"""
    return _mvt("incidents", body), params


def tracks_sql(caller: Caller, tile: Tile, args: dict[str, Any]) -> tuple[str, dict]:
    """Patrol tracks as lines from zoom 14; below that, patrol counts per cell."""
    if tile.z < AGGREGATE_BELOW:
        return inspections_sql(caller, tile, args, only_kind="patrol", layer="tracks")
    params = _tile_params(tile)
    # kind as a literal, not a parameter: the condition then matches the partial index
    # ix_record_patrol_track, instead of the planner ANDing the track index with the
    # (entity, kind) index, which cost 36 ms per zoom-16 tile.
    where = _record_where(caller, {k: v for k, v in args.items() if k != "kind"},
                          "inspection", tile, params, BUFFER / EXTENT, column="r.track")
    # A track with a coordinate out of range (stored before push checked them) is left
    # out: ST_Transform raises on it. The CASE holds whatever order the plan takes.
    body = f"""
        SELECT CASE WHEN {in_range('r.track')} THEN
                   ST_AsMVTGeom(ST_Transform(r.track, 3857), ST_TileEnvelope(:z, :x, :y),
                                {EXTENT}, {BUFFER}, true) END AS geom,
               r.id::text AS id, r.grid_code, r.data->>'started_at' AS started_at,
               r.data->>'ended_at' AS ended_at,
               extract(epoch FROM r.created_at)::bigint AS t
        FROM record r LEFT JOIN grid g ON g.id = r.grid_id
        WHERE r.track IS NOT NULL AND r.kind = 'patrol' AND {in_range('r.track')}
          AND {where}"""
    return _unless_crowded(caller, tile, {**args, "kind": ["patrol"]}, "tracks",
                           (_mvt("tracks", body), params))


def heat_sql(caller: Caller, tile: Tile, args: dict[str, Any]) -> tuple[str, dict]:
    """Density: inspection counts per 1/64-tile cell at the cell's centre, at every zoom."""
    params = _tile_params(tile)
    if tile.z < RAW_HEAT_FROM and _rollups_for(caller):
        source, sel = _cells(caller, args, tile, params)
        params["shift"] = max(0, CELL_ZOOM - tile.z - 6)
        params["span"] = float(2 ** params["shift"])
        centre = "((((r.c{a} >> :shift) + 0.5) * :span / :scale - :t{a}) * 4096.0)"
        body = f"""
            SELECT ST_MakePoint(round({centre.format(a='x')}), round({centre.format(a='y')}))
                       AS geom, sum({sel})::int AS count
            {source}
            GROUP BY r.cx >> :shift, r.cy >> :shift"""
        return _mvt("heat", body), params
    where = _record_where(caller, args, "inspection", tile, params, 0.0)
    body = f"""
        SELECT ST_MakePoint(floor(p.px / {HEAT}) * {HEAT} + {HEAT // 2},
                            floor(p.py / {HEAT}) * {HEAT} + {HEAT // 2}) AS geom,
               count(*)::int AS count
        FROM ({_points("inspection", where, "")}) AS p
        GROUP BY floor(p.px / {HEAT}), floor(p.py / {HEAT})"""
    return _mvt("heat", body), params


def _rollup_measure_sql(measure: str, args: dict[str, Any], params: dict[str, Any]) -> str:
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


def _measure_sql(measure: str, rf: str, args: dict[str, Any], params: dict[str, Any]) -> str:
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


def grids_sql(caller: Caller, tile: Tile, args: dict[str, Any]) -> tuple[str, dict]:
    """Active grids in scope with ``measure`` and its ``value`` (null: no visit ever)."""
    params = _tile_params(tile)
    scope, scope_params = grid_filter(caller)
    rf, rf_params = record_filter(caller)
    params.update(scope_params)
    params.update(rf_params)
    where = [_envelope(tile, params, BUFFER / EXTENT, "g.geom"), scope]
    where += area_filter(args, params)
    measure = args.get("measure") or "coverage"
    if measure in ("coverage", "days_since_visit") and _rollups_for(caller):
        # The grid is in scope, so every inspection in it is (record_filter ⊇ grid_filter).
        value = _rollup_measure_sql(measure, args, params)
    else:
        value = _measure_sql(measure, rf, args, params)
    params["measure"] = measure
    body = f"""
        SELECT ST_AsMVTGeom(ST_Transform(g.geom, 3857), ST_TileEnvelope(:z, :x, :y),
                            {EXTENT}, {BUFFER}, true) AS geom,
               g.code, g.name, g.street_code, g.community_code, g.kind,
               CAST(:measure AS text) AS measure, {value} AS value
        FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id
        WHERE {" AND ".join(where)}"""
    return _mvt("grids", body), params


BUILDERS = {"grids": grids_sql, "inspections": inspections_sql, "incidents": incidents_sql,
            "tracks": tracks_sql, "heat": heat_sql}


def tile_sql(caller: Caller, layer: str, tile: Tile, args: dict[str, Any],
             state: TileState | None = None) -> tuple[str, dict]:
    """The tile's statement, after folding pending changes into the rollups it reads."""
    if layer == "incidents" or (_rollups_for(caller) and (
            layer == "grids" or tile.z <= FINE_CLUSTER_UNTIL)):
        rollups.ensure_fresh(*((state.seq, state.rolled_up) if state else ()))
    return BUILDERS[layer](caller, tile, args)


def render(caller: Caller, layer: str, tile: Tile, args: dict[str, Any],
           state: TileState | None = None) -> bytes:
    sql, params = tile_sql(caller, layer, tile, args, state)
    return bytes(db.session.execute(text(sql), params,
                                    execution_options=plan_for(tile)).scalar_one())


def plan_for(tile: Tile) -> dict[str, bool]:
    """How to plan a tile's statement (see ``server.dbconn``).

    Below ``AGGREGATE_BELOW`` a tile covers several streets, and the rows in it range from
    none to the whole district centre: a generic plan, which assumes a couple of rows in
    any box, made a zoom-12 incidents tile 2× slower, so those tiles are planned with their
    values. Smaller tiles keep their prepared plan: planning one costs 1–4 ms, more than
    a wrong plan loses there (measured in ``bench/RESULTS.md``).

    >>> plan_for(Tile(12, 3398, 1663)), plan_for(Tile(15, 27185, 13304))
    ({'custom_plan': True}, {})
    """
    return CUSTOM_PLAN if tile.z < AGGREGATE_BELOW else {}


# --- caching -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TileState:
    """What every tile depends on besides its own rows: the newest ``change_seq``, the
    active grid layer versions, and how far the rollups have folded changes in."""

    seq: int | None
    layers: str | None
    rolled_up: int | None


# Also read by the tile endpoint's authentication statement, saving a round trip.
STATE_COLUMNS = """,
    (SELECT max(change_seq) FROM record) AS seq,
    (SELECT string_agg(id || ':' || coalesce(active_version_id, 0), ',' ORDER BY id)
     FROM grid_layer) AS layers,
    (SELECT last_seq FROM rollup_state WHERE name = :rollup_name) AS rolled_up"""


STATE_PARAMS = {"rollup_name": rollups.NAME}


def tile_state(columns: dict[str, Any] | None = None) -> TileState:
    """The state from ``columns`` read with :data:`STATE_COLUMNS`, else from the database."""
    if columns is not None and {"seq", "layers", "rolled_up"} <= columns.keys():
        return TileState(columns["seq"], columns["layers"], columns["rolled_up"])
    row = db.session.execute(text(f"SELECT {STATE_COLUMNS.lstrip(',')}"), STATE_PARAMS).one()
    return TileState(row.seq, row.layers, row.rolled_up)


def etag(caller: Caller, layer: str, tile: Tile, args: dict[str, Any],
         state: TileState) -> str:
    """A validator that changes when anything the tile shows may have changed.

    It hashes the layer, tile and filters, the caller's scope, the newest ``change_seq``
    (stamped on every record write), the active grid layer versions, and for layers that
    depend on the clock, the current ``TILES_MAX_AGE`` period.
    """
    max_age = current_app.config.get("TILES_MAX_AGE", 30)
    clock = int(time.time() // max(max_age, 1)) if layer in CLOCKED else None
    key = json.dumps([
        layer, tile.z, tile.x, tile.y, sorted((k, str(v)) for k, v in args.items()),
        caller.user_id, caller.role, caller.dept, caller.scope_epoch, caller.grids,
        caller.areas, state.seq, state.layers, clock, str(today()),
    ], ensure_ascii=False, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:32]
