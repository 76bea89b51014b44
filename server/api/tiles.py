"""``GET /api/v1/tiles/{layer}/{z}/{x}/{y}.mvt``: vector tiles for the console's map.

Tiles need the Bearer token like every other call. MapLibre GL adds it with
``transformRequest``::

    new maplibregl.Map({..., transformRequest: (url) => url.includes('/api/v1/tiles/')
        ? {url, headers: {Authorization: `Bearer ${token}`}} : {url}})
"""

from __future__ import annotations

from flask import Response, current_app, request

from server.api.blueprint import Blueprint
from server.api.fastgzip import gzip_fast
from server.auth import current_caller
from server.console_schemas import TileArgs
from server.dbconn import read_only
from server.services import tiles as service

PREFIX = "/tiles"
blp = Blueprint("tiles", __name__, description="Mapbox vector tiles of the console's map layers")

MVT = "application/vnd.mapbox-vector-tile"


@blp.route("/<layer>/<z>/<x>/<y>.mvt", methods=["GET"], parameters=[
    {"in": "path", "name": "layer", "required": True,
     "schema": {"type": "string", "enum": list(service.LAYERS)}},
    {"in": "path", "name": "z", "required": True,
     "schema": {"type": "integer", "minimum": 0, "maximum": service.MAX_ZOOM}},
    *({"in": "path", "name": n, "required": True, "description": "0..2^z-1 (else 400)",
       "schema": {"type": "integer", "minimum": 0}} for n in ("x", "y"))])
@blp.arguments(TileArgs, location="query")
@blp.doc(responses={
    "200": {"description": "a Mapbox vector tile (empty body: nothing here)",
            "content": {MVT: {"schema": {"type": "string", "format": "binary"}}}},
    "304": {"description": "not modified (If-None-Match matched the ETag)"},
    "400": {"description": "bad z/x/y"}, "404": {"description": "unknown layer"}})
@read_only
def tile(args, layer: str, z: str, x: str, y: str):
    """One tile of ``grids``, ``inspections``, ``incidents``, ``tracks`` or ``heat``.

    Scoped to the caller. Query: ``from``/``to`` (dates, inclusive, by server arrival),
    ``kind`` (inspection kinds), ``status`` (incident statuses), ``street``, ``community``,
    ``measure`` (grids: ``coverage`` = share of days in from..to, default today, with a
    patrol; ``open``/``overdue`` incidents; ``days_since_visit``). Below zoom 14 points
    come as clusters (``cluster: true``, ``count`` and per-kind or per-light counts).
    ``Cache-Control: private`` with an ETag; ``If-None-Match`` gets a 304.
    """
    # Authentication reads the tile state too: one round trip less for every tile.
    caller = current_caller(also=service.STATE_COLUMNS, params=service.STATE_PARAMS)
    t = service.parse_tile(layer, z, x, y)
    state = service.tile_state(caller.also)
    tag = service.etag(caller, layer, t, args, state)
    max_age = current_app.config.get("TILES_MAX_AGE", 30)
    headers = {"ETag": f'"{tag}"', "Cache-Control": f"private, max-age={max_age}",
               "Vary": "Authorization"}
    if tag in _if_none_match():
        return Response(status=304, headers=headers)
    body = service.render(caller, layer, t, args, state)
    return gzip_fast(body, MVT, headers=headers)


def _if_none_match() -> set[str]:
    raw = request.headers.get("If-None-Match", "")
    return {part.strip().removeprefix("W/").strip('"') for part in raw.split(",") if part.strip()}
