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

This module is the entry point (a tile's statement, rendering, the planning choice). One
job per module: :mod:`server.services.tile_base` (the tile address and the SQL every
layer shares), :mod:`server.services.tile_layers` (each layer's SQL),
:mod:`server.services.tile_measures` (what a grid is coloured by) and
:mod:`server.services.tile_cache` (the state and ETag tiles are cached by).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from server.auth import Caller
from server.dbconn import CUSTOM_PLAN
from server.extensions import db
from server.services import rollups
from server.services.tile_base import (
    AGGREGATE_BELOW,
    FINE_CLUSTER_UNTIL,
    LAYERS,
    MAX_ZOOM,
    Tile,
    parse_tile,
    rollups_for,
)
from server.services.tile_cache import STATE_COLUMNS, STATE_PARAMS, TileState, etag, tile_state
from server.services.tile_layers import BUILDERS

# The tile API's names (server.api.tiles, bench/tiles.py and the tests import them here).
__all__ = ["LAYERS", "MAX_ZOOM", "STATE_COLUMNS", "STATE_PARAMS", "Tile", "TileState", "etag",
           "parse_tile", "plan_for", "render", "tile_sql", "tile_state"]


def tile_sql(caller: Caller, layer: str, tile: Tile, args: dict[str, Any],
             state: TileState | None = None) -> tuple[str, dict]:
    """The tile's statement, after folding pending changes into the rollups it reads."""
    if layer == "incidents" or (rollups_for(caller) and (
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
