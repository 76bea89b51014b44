from __future__ import annotations

import math

import numpy as np
from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text

from geo.datum import to_wgs84
from server.api.params import parse_bbox
from server.auth import current_caller, login_required
from server.errors import ApiError
from server.extensions import db
from server.schemas import BBoxArgs, MatchRequest, MatchResponse
from server.scope import grid_filter
from server.services.grid_index import active_grids

PREFIX = "/grids"
blp = Blueprint("grids", __name__, description="Grid polygons and point matching")
METRES_PER_DEGREE = 111_320.0


@blp.route("", methods=["GET"])
@blp.arguments(BBoxArgs, location="query")
@login_required
def list_grids(args):
    """The active grids the caller may see, as GeoJSON, optionally in a bbox."""
    caller = current_caller()
    where, params = grid_filter(caller)
    bbox = parse_bbox(args.get("bbox"))
    if bbox:
        where += " AND g.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
    tolerance = (args.get("simplify") or 0) / METRES_PER_DEGREE
    params["tol"] = tolerance
    row = db.session.execute(text(f"""
        SELECT coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', g.code,
            'geometry', ST_AsGeoJSON(CASE WHEN :tol > 0
                THEN ST_SimplifyPreserveTopology(g.geom, :tol) ELSE g.geom END, 7)::json,
            'properties', json_build_object(
                'code', g.code, 'name', g.name, 'street_code', g.street_code,
                'street_name', g.street_name, 'community_code', g.community_code,
                'community_name', g.community_name, 'kind', g.kind, 'layer', l.name))
            ORDER BY g.code), '[]'::json)
        FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id
        WHERE {where}
    """), params).scalar_one()
    return {"type": "FeatureCollection", "features": row}


@blp.route("/match", methods=["POST"])
@blp.arguments(MatchRequest)
@blp.response(200, MatchResponse)
@login_required
def match(body):
    """Match up to 10,000 points to the active grids (inside, edge, nearest or outside)."""
    points = body["points"]
    limit = current_app.config["MATCH_MAX_POINTS"]
    if len(points) > limit:
        raise ApiError(413, "too_many_points", f"at most {limit} points per request",
                       {"limit": limit, "got": len(points)})
    lon, lat = _coordinates(points)
    if body["datum"] not in ("wgs84", "cgcs2000") and len(lon):
        lon, lat = to_wgs84(lon, lat, body["datum"])
    grids = active_grids()
    idx, kinds = grids.index.match(lon, lat)
    codes = grids.codes
    return {"matches": [{"code": codes[i] if i >= 0 else None, "match": k}
                        for i, k in zip(idx.tolist(), kinds.tolist(), strict=True)]}


def _coordinates(points: list) -> tuple[np.ndarray, np.ndarray]:
    bad = [i for i, p in enumerate(points) if not _is_lonlat(p)]
    if bad:
        raise ApiError(422, "validation", "every point must be [lon, lat] in range",
                       {"points": {str(i): ["must be [lon, lat]"] for i in bad[:20]}})
    arr = np.array([p[:2] for p in points], dtype=float).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def _is_lonlat(p: object) -> bool:
    return (isinstance(p, list) and len(p) in (2, 3)
            and all(isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c)
                    for c in p)
            and -180 <= p[0] <= 180 and -90 <= p[1] <= 90)


