from __future__ import annotations

from sqlalchemy import text

from server.api.blueprint import Blueprint
from server.api.params import bbox_filter
from server.auth import current_caller, login_required
from server.dbconn import CUSTOM_PLAN
from server.extensions import db
from server.schemas import FEATURE_COLLECTION, MapArgs
from server.scope import record_filter
from server.sqlgeo import geojson, readable

PREFIX = "/map"
blp = Blueprint("map", __name__, description="Map layers for the supervisors' console")


@blp.route("/inspections", methods=["GET"])
@blp.arguments(MapArgs, location="query")
@blp.doc(responses={"200": {"description": "GeoJSON FeatureCollection of inspections",
                            "content": {"application/json": {"schema": FEATURE_COLLECTION}}}})
@login_required
def inspections(args):
    """Inspections in the caller's scope as GeoJSON points, newest first."""
    caller = current_caller()
    where, params = record_filter(caller)
    in_bbox, bbox_params = bbox_filter(args.get("bbox"), "r.geom")
    where += in_bbox
    params.update(bbox_params)
    if args.get("kind"):
        where += " AND r.kind = :kind"
        params["kind"] = args["kind"]
    if args.get("since"):
        where += " AND r.created_at >= :since"
        params["since"] = args["since"]
    params["limit"] = args["limit"]
    features = db.session.execute(text(f"""
        SELECT coalesce(json_agg(s.f ORDER BY s.sort DESC), '[]'::json) FROM (
          SELECT r.created_at AS sort, json_build_object(
            'type', 'Feature', 'id', r.id,
            'geometry', {geojson('r.geom')},
            'properties', json_build_object(
                'id', r.id, 'kind', r.kind, 'note', r.data->>'note', 'grid_code', r.grid_code,
                'match', r.match, 'created_by', u.username,
                'occurred_at', r.data->>'occurred_at', 'created_at', r.created_at,
                'incident_id', r.data->>'incident_id', 'conflict', r.conflict)) AS f
          FROM record r LEFT JOIN grid g ON g.id = r.grid_id JOIN app_user u ON u.id = r.created_by
          WHERE r.entity = 'inspection' AND NOT r.deleted AND r.geom IS NOT NULL
            AND {readable('r.geom')} AND {where}
          ORDER BY r.created_at DESC LIMIT :limit) AS s(sort, f)
    """), params, execution_options=CUSTOM_PLAN).scalar_one()
    return {"type": "FeatureCollection", "features": features}
