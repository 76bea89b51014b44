"""Grids and records as GeoPackage or zipped Shapefile, written with pyogrio (GDAL).

The rows are those of the OGC API collection (:func:`server.services.ogc.source`: same
scope, ``bbox`` and ``datetime``), with the same properties. Times are written as ISO
8601 text: a Shapefile has no time-of-day type, and text survives every GIS unchanged.

Shapefiles: field names are cut to 10 characters by an explicit table (GDAL's own
truncation would make ``street_code`` and ``street_name`` collide as ``street_cod`` and
``street_nam``, guessable but unstable); the ``.cpg`` names the encoding, UTF-8 by default,
or GBK (``encoding=gbk``) for older ArcGIS and other software that ignores ``.cpg``.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
from sqlalchemy import text

from server.auth import Caller
from server.dbconn import CUSTOM_PLAN
from server.errors import ApiError
from server.extensions import db
from server.services import ogc

FORMATS = {"gpkg": "GPKG", "shp.zip": "ESRI Shapefile"}
ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "gbk": "GBK", "cp936": "GBK"}
NUMERIC = {"households", "length_m"}
SHP_NAMES = {
    "district_code": "district", "street_code": "street", "street_name": "street_nm",
    "community_code": "community", "community_name": "comm_name", "occurred_at": "occurred",
    "created_at": "created", "incident_id": "incident", "started_at": "started",
    "ended_at": "ended",
}
GEOMETRY_TYPES = {"grids": "MultiPolygon", "inspections": "Point", "incidents": "Point",
                  "tracks": "LineString"}
WGS84_WKT = "EPSG:4326"
# An export is read into memory whole; a bigger one should page through the OGC API.
MAX_FEATURES = 200_000


def parse_format(name: str) -> tuple[str, str]:
    """``grids.gpkg`` → ``("grids", "gpkg")``; an unknown format is a 404.

    >>> parse_format("tracks.shp.zip"), parse_format("grids.gpkg")
    (('tracks', 'shp.zip'), ('grids', 'gpkg'))
    """
    for ext in FORMATS:
        if name.endswith("." + ext):
            return name[: -len(ext) - 1], ext
    raise ApiError(404, "not_found", "exports are {collection}.gpkg or {collection}.shp.zip")


def parse_encoding(value: str | None, ext: str) -> str:
    """The Shapefile's DBF encoding: UTF-8 unless ``gbk`` is asked for.

    >>> parse_encoding(None, "shp.zip"), parse_encoding("GBK", "shp.zip")
    ('UTF-8', 'GBK')
    """
    if not value:
        return "UTF-8"
    enc = ENCODINGS.get(value.strip().lower())
    if enc is None or (ext == "gpkg" and enc != "UTF-8"):
        raise ApiError(400, "bad_request", "encoding must be utf-8 or gbk (Shapefile only)",
                       {"encoding": [value[:32]]})
    return enc


def _rows(coll: ogc.Collection, caller: Caller, args: Any) -> tuple[list[str], list[Any]]:
    src = ogc.source(coll, caller,
                     ogc.parse_bbox_crs(args.get("bbox"), ogc.parse_crs(args.get("bbox-crs"))),
                     ogc.parse_datetime(args.get("datetime")))
    props = ogc.properties(coll)
    cols = ", ".join(f"({expr}){'' if name in NUMERIC else '::text'} AS {name}"
                     for name, expr in props)
    geom = f"ST_Multi({src.geom})" if coll.id == "grids" else src.geom
    rows = db.session.execute(text(f"""
        SELECT {cols}, ST_AsBinary({geom}) AS wkb FROM {src.tables}
        WHERE {src.where} ORDER BY {src.order} LIMIT :cap
    """), {**src.params, "cap": MAX_FEATURES + 1}, execution_options=CUSTOM_PLAN).all()
    if len(rows) > MAX_FEATURES:
        raise ApiError(400, "bad_request", f"more than {MAX_FEATURES} features: narrow the "
                       "export with bbox or datetime, or page through the OGC API",
                       {"limit": [MAX_FEATURES]})
    return [name for name, _ in props], rows


def export(collection: str, ext: str, caller: Caller, args: Any) -> tuple[bytes, int]:
    """The file's bytes and its feature count."""
    coll = ogc.collection_or_404(collection)
    encoding = parse_encoding(args.get("encoding"), ext)
    names, rows = _rows(coll, caller, args)
    field_data = []
    for i, name in enumerate(names):
        values = [r[i] for r in rows]
        if name in NUMERIC:
            field_data.append(np.array([np.nan if v is None else float(v) for v in values],
                                       dtype=np.float64))
        else:
            field_data.append(np.array(values, dtype=object))
    geometry = np.array([bytes(r[-1]) for r in rows], dtype=object)
    driver = FORMATS[ext]
    fields = [SHP_NAMES.get(n, n) for n in names] if ext == "shp.zip" else names
    with tempfile.TemporaryDirectory(prefix="gp-export-") as tmp:
        base = Path(tmp) / coll.id
        path = base.with_suffix(".gpkg" if ext == "gpkg" else ".shp")
        kwargs: dict[str, Any] = {}
        if ext == "shp.zip":
            kwargs["encoding"] = encoding
        pyogrio.raw.write(str(path), geometry, field_data, fields, driver=driver,
                          layer=coll.id, geometry_type=GEOMETRY_TYPES[coll.id],
                          crs=WGS84_WKT, **kwargs)
        if ext == "gpkg":
            return path.read_bytes(), len(rows)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, part.name)
            if not (Path(tmp) / f"{coll.id}.cpg").exists():
                zf.writestr(f"{coll.id}.cpg", encoding)
        return out.getvalue(), len(rows)
