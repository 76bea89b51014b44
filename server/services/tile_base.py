"""What every tile layer shares: the tile address, its parameters and the SQL that
projects points into it, bins them and wraps a layer in ``ST_AsMVT``
(:mod:`server.services.tiles` describes the whole)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from server.auth import Caller
from server.errors import ApiError
from server.scope import area_filter, record_filter
from server.services.desk import window
from server.sqlgeo import LAT, LON

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

def tile_params(tile: Tile) -> dict[str, Any]:
    return {"z": tile.z, "x": tile.x, "y": tile.y, "n": float(2 ** tile.z),
            "tx": tile.x, "ty": tile.y}


def envelope(tile: Tile, params: dict[str, Any], margin: float, column: str) -> str:
    params.update(zip(("lon0", "lat0", "lon1", "lat1"), tile.bounds(margin), strict=True))
    return f"{column} && ST_MakeEnvelope(:lon0, :lat0, :lon1, :lat1, 4326)"


def record_where(caller: Caller, args: dict[str, Any], entity: str, tile: Tile,
                  params: dict[str, Any], margin: float, column: str = "r.geom") -> str:
    scope, scope_params = record_filter(caller)
    params.update(scope_params)
    parts = [f"r.entity = '{entity}'", "NOT r.deleted", envelope(tile, params, margin, column),
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


def points_sql(entity: str, where: str, columns: str, joins: str = "") -> str:
    return f"""
        SELECT {TX.format(g='r.geom')} AS px, {TY.format(g='r.geom')} AS py{columns}
        FROM record r LEFT JOIN grid g ON g.id = r.grid_id{joins}
        WHERE {where}"""


def mvt(layer: str, body: str) -> str:
    # OFFSET 0 keeps the planner from pushing "geom IS NOT NULL" down into the scan, where
    # it computed every ST_AsMVTGeom twice: once to filter, once for the tile.
    return (f"SELECT coalesce((SELECT ST_AsMVT(mvt_rows, '{layer}', {EXTENT}, 'geom') "
            f"FROM ({body} OFFSET 0) AS mvt_rows WHERE mvt_rows.geom IS NOT NULL), ''::bytea)")


def cluster_body(points: str, cell: int, counts: str) -> str:
    return f"""
        SELECT ST_MakePoint(round(avg(p.px)), round(avg(p.py))) AS geom,
               count(*)::int AS count, true AS cluster{counts}
        FROM ({points}) AS p
        GROUP BY floor(p.px / {cell}), floor(p.py / {cell})"""



def rollups_for(caller: Caller) -> bool:
    """Rollup rows carry grid and creator, enough for every scope but a department's."""
    return caller.role != "department"
