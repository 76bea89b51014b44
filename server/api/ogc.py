"""``/api/v1/ogc/``: OGC API Features over the caller's data, for QGIS, ArcGIS and GDAL.

Same Bearer token and scope as the rest of the API (QGIS: an "API Header"
authentication with ``Authorization: Bearer …``; GDAL: ``GDAL_HTTP_HEADERS``).
See :mod:`server.services.ogc` and docs/gis.md.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, json, request

from server.api.blueprint import Blueprint
from server.auth import current_caller, login_required
from server.dbconn import read_only
from server.extensions import db
from server.services import audit, gis_export
from server.services import ogc as service

PREFIX = "/ogc"
blp = Blueprint("ogc", __name__, description="OGC API Features (GIS clients)")
# GeoPackage and Shapefile downloads of the same collections, at /api/v1/export/.
export_blp = Blueprint("gis_export", __name__, url_prefix="/api/v1/export",
                       description="GIS files of the OGC collections")

GEOJSON = "application/geo+json"
JSON = "application/json"


def _base() -> str:
    return request.url_root.rstrip("/") + "/api/v1/ogc"


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=JSON)


def _ok(description: str, media: str = JSON) -> dict[str, Any]:
    """A 200 response in the spec: OGC documents are free-form JSON objects."""
    schema = {"type": "string", "format": "binary"} if "json" not in media else {
        "type": "object"}
    return {"responses": {"200": {"description": description,
                                  "content": {media: {"schema": schema}}}}}


def _collection(coll: service.Collection, caller: Any) -> dict[str, Any]:
    base = _base()
    meta: dict[str, Any] = {
        "id": coll.id, "title": coll.title, "description": coll.description,
        "itemType": "feature",
        "crs": list(service.CRS_LIST), "storageCrs": service.CRS84,
        "links": [
            {"href": f"{base}/collections/{coll.id}", "rel": "self", "type": JSON,
             "title": coll.title},
            {"href": f"{base}/collections/{coll.id}/items", "rel": "items", "type": GEOJSON,
             "title": coll.title},
        ],
    }
    bbox = service.extent(coll, caller)
    if bbox:
        meta["extent"] = {"spatial": {"bbox": [bbox], "crs": service.CRS84}}
    return meta


@blp.route("/", methods=["GET"])
@blp.doc(**_ok("the landing page"))
@read_only
@login_required
def landing():
    """The landing page: links to the API description, conformance and collections."""
    base = _base()
    return _json({
        "title": "GridPatrol OGC API Features",
        "description": "Grids, inspections, incidents and patrol tracks in your scope.",
        "links": [
            {"href": f"{base}/", "rel": "self", "type": JSON, "title": "this document"},
            {"href": request.url_root.rstrip("/") + "/api/v1/openapi.json",
             "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "title": "the API definition"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": JSON,
             "title": "conformance classes"},
            {"href": f"{base}/collections", "rel": "data", "type": JSON,
             "title": "collections"},
        ],
    })


@blp.route("/conformance", methods=["GET"])
@blp.doc(**_ok("the conformance classes"))
@read_only
@login_required
def conformance():
    """The conformance classes implemented: Part 1 core and GeoJSON, Part 2 CRS."""
    return _json({"conformsTo": list(service.CONFORMANCE)})


@blp.route("/collections", methods=["GET"])
@blp.doc(**_ok("the collections in your scope"))
@read_only
@login_required
def collections():
    """The four collections, with the CRSs they can be read in."""
    caller = current_caller()
    base = _base()
    return _json({
        "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON}],
        "collections": [_collection(c, caller) for c in service.COLLECTIONS.values()],
        "crs": list(service.CRS_LIST),
    })


@blp.route("/collections/<collection_id>", methods=["GET"])
@blp.doc(**_ok("one collection"))
@read_only
@login_required
def collection(collection_id: str):
    """One collection's metadata (404 for an unknown one)."""
    coll = service.collection_or_404(collection_id)
    return _json(_collection(coll, current_caller()))


@blp.route("/collections/<collection_id>/items", methods=["GET"])
@blp.doc(**_ok("a page of features (next link also in a Link header)", GEOJSON))
@read_only
@login_required
def items(collection_id: str):
    """Features of a collection, in pages.

    Query: ``bbox`` (``bbox-crs``), ``datetime`` (an instant, a date or ``start/end``
    with ``..`` for an open end; by server arrival), ``limit`` (1–10000, default 100),
    ``crs`` (CRS84 or ``http://www.opengis.net/def/crs/EPSG/0/4490``, latitude first).
    A ``next`` link (also in the ``Link`` header) follows while more remain.
    """
    coll = service.collection_or_404(collection_id)
    q = service.parse_items_query(request.args)
    body, returned, more = service.items(coll, current_caller(), q)
    url = f"{_base()}/collections/{coll.id}/items"
    kept = [(k, v) for k, v in request.args.items(multi=True) if k != "offset"]
    links = [{"href": url + ("?" + urlencode(request.args) if request.args else ""),
              "rel": "self", "type": GEOJSON, "title": "this page"}]
    headers = {"Content-Crs": f"<{q.crs}>"}
    if more:
        nxt = url + "?" + urlencode([*kept, ("offset", str(q.offset + q.limit))])
        links.append({"href": nxt, "rel": "next", "type": GEOJSON, "title": "next page"})
        headers["Link"] = f'<{nxt}>; rel="next"; type="{GEOJSON}"'
    head = json.dumps({"type": "FeatureCollection", "numberReturned": returned,
                       "links": links}, ensure_ascii=False)
    # The features were joined by PostgreSQL; splice them in rather than re-parse them.
    text = head[:-1] + ', "features": ' + body + "}"
    return Response(text, mimetype=GEOJSON, headers=headers)


MIMETYPES = {"gpkg": "application/geopackage+sqlite3", "shp.zip": "application/zip"}


@export_blp.route("/<path:name>", methods=["GET"])
@export_blp.doc(responses={"200": {"description": "a GeoPackage or a zipped Shapefile", "content": {
    media: {"schema": {"type": "string", "format": "binary"}} for media in MIMETYPES.values()}}})
@read_only
@login_required
def export(name: str):
    """``{collection}.gpkg`` or ``{collection}.shp.zip`` (``encoding=gbk`` for older
    ArcGIS): every feature of an OGC collection in the caller's scope, with the same
    ``bbox`` and ``datetime`` filters, as a file for desktop GIS."""
    collection, ext = gis_export.parse_format(name)
    body, count = gis_export.export(collection, ext, current_caller(), request.args)
    audit.record("gis.export", object=f"{collection}:{count}",
                 detail={"format": ext, "features": count,
                         "filters": {k: v[:200] for k, v in request.args.items()}})
    db.session.commit()  # a no-op in autocommit, unless the view had to open a transaction
    filename = f"gridpatrol-{collection}.{ext}"
    return Response(body, mimetype=MIMETYPES[ext], headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store"})
