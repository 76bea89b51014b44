"""``/api/v1/basemap/``: the configured basemap's style, and its tiles when the server
holds them (``BASEMAP=file:PATH``). No token: a basemap carries nothing personal, and the
field app's service worker keeps its tiles for offline use (pwa/src/basemap_offline.js).
"""

from __future__ import annotations

from flask import Response, current_app, json, request

from server.api.blueprint import Blueprint
from server.errors import ApiError
from server.services import basemap as service

PREFIX = "/basemap"
blp = Blueprint("basemap", __name__, description="The basemap (style and offline tiles)")

# Tiles of a file change only when an operator swaps the file: a day in the browser's
# cache, and ``public`` because they are the same for everyone.
TILE_CACHE = "public, max-age=86400"
STYLE_CACHE = "public, max-age=300"


@blp.record_once
def _check_configuration(state) -> None:
    # A misspelt BASEMAP stops the app at start, like a bad BASEMAP_DATUM; a missing
    # file does not (see the module).
    service.resolve(state.app.config)


def _configured() -> dict:
    return service.resolve(current_app.config)


@blp.route("/style.json", methods=["GET"])
@blp.public
@blp.doc(responses={"200": {"description": "a MapLibre style", "content": {"application/json": {"schema": {"type": "object"}}}}})
def style():
    """The MapLibre style of the configured basemap (``tianditu``, ``amap``, ``file``).

    A missing or unreadable file gives a style with only a background, so that the
    apps still draw their own layers."""
    basemap = _configured()
    if basemap["kind"] not in ("tianditu", "amap", "file"):
        raise ApiError(404, "not_found", "no server-side basemap style is configured")
    body = service.style(basemap, current_app.config, request.url_root)
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json",
                    headers={"Cache-Control": STYLE_CACHE})


@blp.route("/tiles/<z>/<x>/<y>", methods=["GET"])
@blp.public
@blp.doc(responses={"200": {"description": "a vector (MVT) or raster tile", "content": {
    m: {"schema": {"type": "string", "format": "binary"}} for m in (
        "application/vnd.mapbox-vector-tile", "application/octet-stream", "image/png",
        "image/jpeg", "image/webp")}}, "204": {"description": "no tile there"}})
def tile(z: str, x: str, y: str):
    """One tile of the ``file:`` basemap; 204 for a tile outside the file (its bounds,
    its zooms, or a gap), 404 when no file is configured or it is unreadable."""
    try:
        zi, xi, yi = int(z), int(x), int(y.split(".", 1)[0])
    except ValueError as exc:
        raise ApiError(400, "bad_request", "z, x and y must be integers",
                       {"tile": [f"{z}/{x}/{y}"[:64]]}) from exc
    if not (0 <= zi <= 24 and 0 <= xi < 2 ** zi and 0 <= yi < 2 ** zi):
        raise ApiError(400, "bad_request", "no such tile", {"tile": [f"{zi}/{xi}/{yi}"]})
    basemap = _configured()
    if basemap["kind"] != "file":
        raise ApiError(404, "not_found", "this server holds no basemap tiles (BASEMAP=file:…)")
    tf = service.open_file(basemap["path"])
    if tf is None:
        raise ApiError(404, "not_found", "the basemap file is missing or unreadable")
    data, headers = service.tile_bytes(tf, zi, xi, yi)
    if data is None:
        return Response(status=204, mimetype="application/octet-stream",
                        headers={"Cache-Control": TILE_CACHE})
    return Response(data, headers={**headers, "Cache-Control": TILE_CACHE})


@blp.route("/fonts/<fontstack>/<range_>.pbf", methods=["GET"])
@blp.public
@blp.doc(responses={"200": {"description": "an (empty) glyph range", "content": {"application/x-protobuf": {"schema": {"type": "string", "format": "binary"}}}}})
def glyphs(fontstack: str, range_: str):
    """An empty glyph range (a valid, empty protobuf). MapLibre draws the labels' Chinese
    characters itself with the browser's font; other characters are left out."""
    return Response(b"", mimetype="application/x-protobuf",
                    headers={"Cache-Control": TILE_CACHE})
