"""The SQL of each tile layer (grids, inspections, incidents, tracks, heat), and the
clusters summed from rollup cells (:mod:`server.services.tiles` describes the whole)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from server.auth import Caller
from server.models import CELL_ZOOM
from server.scope import area_filter, grid_filter, record_filter
from server.services.desk import light_sql
from server.services.tile_base import (
    AGGREGATE_BELOW,
    BUFFER,
    CLUSTER,
    EXTENT,
    FINE_CLUSTER_UNTIL,
    HEAT,
    RAW_HEAT_FROM,
    Tile,
    cluster_body,
    envelope,
    mvt,
    points_sql,
    record_where,
    rollups_for,
    tile_params,
)
from server.services.tile_measures import measure_sql, rollup_measure_sql
from server.sqlgeo import in_range
from sync.incident import open_status_sql
from sync.records import INSPECTION_KINDS

# --- rollup cells ------------------------------------------------------------------------

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
    params = tile_params(tile)
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
    return mvt(layer, body), params


def _unless_crowded(caller: Caller, tile: Tile, args: dict[str, Any], layer: str,
                    raw: tuple[str, dict]) -> tuple[str, dict]:
    """At zooms 14–15, one statement that serves per-cell clusters instead of ``raw`` when
    the tile holds more than ``TILES_MAX_POINTS`` of the selected inspections.

    Only the chosen branch runs: PostgreSQL evaluates each scalar subquery (an InitPlan)
    when its value is first needed.
    """
    if not (AGGREGATE_BELOW <= tile.z <= FINE_CLUSTER_UNTIL) or not rollups_for(caller):
        return raw
    clusters, cluster_params = _cell_clusters(caller, tile, args, layer, 5)
    params = tile_params(tile)
    source, sel = _cells(caller, args, tile, params)
    params["max_points"] = current_app.config["TILES_MAX_POINTS"]
    sql = (f"SELECT CASE WHEN (SELECT coalesce(sum({sel}), 0) {source}) > :max_points "
           f"THEN ({clusters}) ELSE ({raw[0]}) END")
    return sql, {**raw[1], **cluster_params, **params}


def inspections_sql(caller: Caller, tile: Tile, args: dict[str, Any],
                    only_kind: str | None = None, layer: str = "inspections") -> tuple[str, dict]:
    if only_kind:
        args = {**args, "kind": [only_kind]}
    if rollups_for(caller) and tile.z < AGGREGATE_BELOW:
        return _cell_clusters(caller, tile, args, layer, 5)
    params = tile_params(tile)
    if tile.z < AGGREGATE_BELOW:
        where = record_where(caller, args, "inspection", tile, params, 0.0)
        counts = "".join(f", count(*) FILTER (WHERE p.kind = '{k}')::int AS {k}"
                         for k in INSPECTION_KINDS)
        body = cluster_body(points_sql("inspection", where, ", r.kind"), CLUSTER, counts)
    else:
        where = record_where(caller, args, "inspection", tile, params, BUFFER / EXTENT)
        body = f"""
            SELECT ST_MakePoint(round(p.px), round(p.py)) AS geom, p.id, p.kind, p.grid_code,
                   p.t, false AS cluster
            FROM ({points_sql("inspection", where, ", r.id::text AS id, r.kind, r.grid_code, "
                           "extract(epoch FROM r.created_at)::bigint AS t")}) AS p"""
    return _unless_crowded(caller, tile, args, layer, (mvt(layer, body), params))


# The current stage's start for traffic lights, from the incident rollup: a lookup in
# record_version per incident costs ~20 µs, 0.4 s for a tile holding 20,000 incidents.
STAGE_JOIN = " LEFT JOIN incident_rollup ir ON ir.record_id = r.id"


def incidents_sql(caller: Caller, tile: Tile, args: dict[str, Any]) -> tuple[str, dict]:
    params = tile_params(tile)
    light = light_sql(stage_since="ir.stage_since")
    if tile.z < AGGREGATE_BELOW:
        where = record_where(caller, args, "incident", tile, params, 0.0)
        counts = "".join(f", count(*) FILTER (WHERE p.light = '{c}')::int AS {c}"
                         for c in ("green", "yellow", "red"))
        counts += f", count(*) FILTER (WHERE {open_status_sql('p')})::int AS open"
        body = cluster_body(points_sql("incident", where, f", r.status, {light} AS light",
                                     STAGE_JOIN), CLUSTER, counts)
    else:
        where = record_where(caller, args, "incident", tile, params, BUFFER / EXTENT)
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
            FROM ({points_sql("incident", where, columns, STAGE_JOIN)}) AS p"""
    return mvt("incidents", body), params


def tracks_sql(caller: Caller, tile: Tile, args: dict[str, Any]) -> tuple[str, dict]:
    """Patrol tracks as lines from zoom 14; below that, patrol counts per cell."""
    if tile.z < AGGREGATE_BELOW:
        return inspections_sql(caller, tile, args, only_kind="patrol", layer="tracks")
    params = tile_params(tile)
    # kind as a literal, not a parameter: the condition then matches the partial index
    # ix_record_patrol_track, instead of the planner ANDing the track index with the
    # (entity, kind) index, which cost 36 ms per zoom-16 tile.
    where = record_where(caller, {k: v for k, v in args.items() if k != "kind"},
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
                           (mvt("tracks", body), params))


def heat_sql(caller: Caller, tile: Tile, args: dict[str, Any]) -> tuple[str, dict]:
    """Density: inspection counts per 1/64-tile cell at the cell's centre, at every zoom."""
    params = tile_params(tile)
    if tile.z < RAW_HEAT_FROM and rollups_for(caller):
        source, sel = _cells(caller, args, tile, params)
        params["shift"] = max(0, CELL_ZOOM - tile.z - 6)
        params["span"] = float(2 ** params["shift"])
        centre = "((((r.c{a} >> :shift) + 0.5) * :span / :scale - :t{a}) * 4096.0)"
        body = f"""
            SELECT ST_MakePoint(round({centre.format(a='x')}), round({centre.format(a='y')}))
                       AS geom, sum({sel})::int AS count
            {source}
            GROUP BY r.cx >> :shift, r.cy >> :shift"""
        return mvt("heat", body), params
    where = record_where(caller, args, "inspection", tile, params, 0.0)
    body = f"""
        SELECT ST_MakePoint(floor(p.px / {HEAT}) * {HEAT} + {HEAT // 2},
                            floor(p.py / {HEAT}) * {HEAT} + {HEAT // 2}) AS geom,
               count(*)::int AS count
        FROM ({points_sql("inspection", where, "")}) AS p
        GROUP BY floor(p.px / {HEAT}), floor(p.py / {HEAT})"""
    return mvt("heat", body), params



def grids_sql(caller: Caller, tile: Tile, args: dict[str, Any]) -> tuple[str, dict]:
    """Active grids in scope with ``measure`` and its ``value`` (null: no visit ever)."""
    params = tile_params(tile)
    scope, scope_params = grid_filter(caller)
    rf, rf_params = record_filter(caller)
    params.update(scope_params)
    params.update(rf_params)
    where = [envelope(tile, params, BUFFER / EXTENT, "g.geom"), scope]
    where += area_filter(args, params)
    measure = args.get("measure") or "coverage"
    if measure in ("coverage", "days_since_visit") and rollups_for(caller):
        # The grid is in scope, so every inspection in it is (record_filter ⊇ grid_filter).
        value = rollup_measure_sql(measure, args, params)
    else:
        value = measure_sql(measure, rf, args, params)
    params["measure"] = measure
    body = f"""
        SELECT ST_AsMVTGeom(ST_Transform(g.geom, 3857), ST_TileEnvelope(:z, :x, :y),
                            {EXTENT}, {BUFFER}, true) AS geom,
               g.code, g.name, g.street_code, g.community_code, g.kind,
               CAST(:measure AS text) AS measure, {value} AS value
        FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id
        WHERE {" AND ".join(where)}"""
    return mvt("grids", body), params


BUILDERS = {"grids": grids_sql, "inspections": inspections_sql, "incidents": incidents_sql,
            "tracks": tracks_sql, "heat": heat_sql}
