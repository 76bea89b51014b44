"""Grid polygons, the area hierarchy, and point matching (docs/protocol.md "Grids and matching")."""

from __future__ import annotations

import itertools
import math

import numpy as np
from flask import Response, current_app
from marshmallow import fields, validate
from sqlalchemy import text

from server.api.blueprint import Blueprint
from server.api.fastgzip import gzip_fast
from server.api.params import bbox_filter
from server.auth import current_caller, login_required
from server.dbconn import CUSTOM_PLAN
from server.errors import ApiError
from server.extensions import db
from server.schemas import FEATURE_COLLECTION, BBoxArgs, MatchResponse, Strict
from server.scope import grid_filter
from server.services.grid_index import active_grids, to_wgs84_points

PREFIX = "/grids"
blp = Blueprint("grids", __name__, description="Grid polygons and point matching")
METRES_PER_DEGREE = 111_320.0
_NUMBER_TYPES = frozenset({int, float})


class MatchBody(Strict):
    """``points`` is checked by the view, in bulk: a schema walk over 10,000 points
    costs more than matching them."""

    points = fields.Raw(required=True, metadata={
        "type": "array", "maxItems": 10_000,
        "items": {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}},
        "description": "[lon, lat] (an optional third number is ignored), at most "
                       "MATCH_MAX_POINTS (10,000)"})
    datum = fields.String(load_default="wgs84",
                          validate=validate.OneOf(["wgs84", "cgcs2000", "gcj02", "bd09"]))


class AreaCount(Strict):
    code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    grids = fields.Integer()


class StreetArea(AreaCount):
    communities = fields.List(fields.Nested(AreaCount))


class DistrictArea(AreaCount):
    streets = fields.List(fields.Nested(StreetArea))


class AreasResponse(Strict):
    districts = fields.List(fields.Nested(DistrictArea))


def _json(body: str) -> Response:
    return Response(body, mimetype="application/json")


@blp.route("", methods=["GET"])
@blp.arguments(BBoxArgs, location="query")
@blp.doc(responses={"200": {"description": "GeoJSON FeatureCollection of grids", "content": {
    "application/json": {"schema": FEATURE_COLLECTION}}}})
@login_required
def list_grids(args):
    """The active grids the caller may see, as GeoJSON, optionally in a bbox.

    ``simplify`` (metres) simplifies each polygon for small map zooms, keeping it valid.
    """
    caller = current_caller()
    where, params = grid_filter(caller)
    in_bbox, bbox_params = bbox_filter(args.get("bbox"), "g.geom")
    where += in_bbox
    params.update(bbox_params)
    params["tol"] = (args.get("simplify") or 0) / METRES_PER_DEGREE
    # PostGIS writes the JSON; it goes out as is, never parsed and re-serialised here
    body = db.session.execute(text(f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
          coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', g.code,
            'geometry', ST_AsGeoJSON(CASE WHEN :tol > 0
                THEN ST_Multi(ST_SimplifyPreserveTopology(g.geom, :tol)) ELSE g.geom END,
                7)::json,
            'properties', json_build_object(
                'code', g.code, 'name', g.name, 'street_code', g.street_code,
                'street_name', g.street_name, 'community_code', g.community_code,
                'community_name', g.community_name, 'kind', g.kind, 'layer', l.name))
            ORDER BY g.code), '[]'::json))::text
        FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id
        WHERE {where}
    """), params, execution_options=CUSTOM_PLAN).scalar_one()
    return _json(body)


@blp.route("/areas", methods=["GET"])
@blp.response(200, AreasResponse)
@login_required
def areas():
    """District → street → community, with names and grid counts, of the active grids the
    caller may see: the codes a supervisor's ``--area`` scope and the console filter use."""
    where, params = grid_filter(current_caller())
    rows = db.session.execute(text(f"""
        SELECT g.district_code, g.street_code, max(g.street_name) AS street_name,
               g.community_code, max(g.community_name) AS community_name, count(*) AS grids
        FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id
        WHERE {where}
        GROUP BY 1, 2, 4 ORDER BY 1 NULLS LAST, 2 NULLS LAST, 4 NULLS LAST
    """), params).all()
    districts = []
    for dcode, drows in itertools.groupby(rows, key=lambda r: r.district_code):
        streets = []
        for scode, group in itertools.groupby(drows, key=lambda r: r.street_code):
            srows = list(group)
            comms = [{"code": r.community_code, "name": r.community_name, "grids": r.grids}
                     for r in srows]
            streets.append({"code": scode,
                            "name": next((r.street_name for r in srows if r.street_name), None),
                            "grids": sum(c["grids"] for c in comms), "communities": comms})
        districts.append({"code": dcode, "name": None,
                          "grids": sum(s["grids"] for s in streets), "streets": streets})
    return {"districts": districts}


@blp.route("/match", methods=["POST"])
@blp.errors((413, "too_many_points: more than MATCH_MAX_POINTS"))
@blp.arguments(MatchBody)
@blp.response(200, MatchResponse)
@login_required
def match(body):
    """Match up to 10,000 points to the active grids (inside, edge, nearest or outside)."""
    points = body["points"]
    if not isinstance(points, list):
        raise ApiError(422, "validation", "points must be a list of [lon, lat]",
                       {"json": {"points": ["Not a valid list."]}})
    limit = current_app.config["MATCH_MAX_POINTS"]
    if len(points) > limit:
        raise ApiError(413, "too_many_points", f"at most {limit} points per request",
                       {"limit": limit, "got": len(points)})
    lon, lat = _coordinates(points)
    lon, lat = to_wgs84_points(lon, lat, body["datum"])
    return gzip_fast(active_grids().match_json(lon, lat).encode(), "application/json")


def _coordinates(points: list) -> tuple[np.ndarray, np.ndarray]:
    """``[lon, lat]`` lists as arrays, checked in bulk; the slow path only explains errors."""
    arr = _fast_coordinates(points)
    if arr is None:
        bad = [i for i, p in enumerate(points) if not _is_lonlat(p)]
        if not bad:  # the fast path is stricter than needed only in odd cases
            arr = np.array([p[:2] for p in points], dtype=float).reshape(-1, 2)
        else:
            raise ApiError(422, "validation", "every point must be [lon, lat] in range",
                           {"points": {str(i): ["must be [lon, lat]"] for i in bad[:20]}})
    return arr[:, 0], arr[:, 1]


def _fast_coordinates(points: list) -> np.ndarray | None:
    if not points:
        return np.empty((0, 2))
    try:
        if not set(map(type, points)) <= {list}:
            return None
        lengths = set(map(len, points))
        if not lengths <= {2, 3}:
            return None
        if not set(map(type, itertools.chain.from_iterable(points))) <= _NUMBER_TYPES:
            return None  # bools, strings, nulls, nested lists
        rows = points if len(lengths) == 1 else [p[:2] for p in points]
        arr = np.array(rows, dtype=float)[:, :2]
    except (OverflowError, ValueError, TypeError):
        return None
    lon, lat = arr[:, 0], arr[:, 1]
    with np.errstate(invalid="ignore"):
        ok = (np.isfinite(arr).all() and (np.abs(lon) <= 180).all()
              and (np.abs(lat) <= 90).all())
    return arr if ok else None


def _is_lonlat(p: object) -> bool:
    try:
        return (isinstance(p, list) and len(p) in (2, 3)
                and all(isinstance(c, int | float) and not isinstance(c, bool)
                        and math.isfinite(c) for c in p)
                and -180 <= p[0] <= 180 and -90 <= p[1] <= 90)
    except OverflowError:  # an integer too large for a float
        return False

