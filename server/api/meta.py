from __future__ import annotations

import json
from pathlib import Path

from flask import current_app, request

from server.api.blueprint import Blueprint
from server.auth import current_caller, login_required
from server.schemas import MeSchema
from server.services import basemap
from sync.incident import FINAL, INITIAL, all_statuses, open_statuses

PREFIX = ""
blp = Blueprint("meta", __name__, description="The signed-in user and app settings")

DEFAULT_CATEGORIES = Path(__file__).resolve().parent.parent / "categories.json"


@blp.route("/me", methods=["GET"])
@blp.response(200, MeSchema)
@login_required
def me():
    """The signed-in user and their scope."""
    return {"user": current_caller().public()}


@blp.route("/meta", methods=["GET"])
@blp.public
@blp.doc(responses={"200": {"description": "settings for the PWA", "content": {
    "application/json": {"schema": {"type": "object", "properties": {
        "categories": {}, "basemap_style": {"type": "string", "nullable": True},
        "basemap_datum": {"type": "string", "enum": ["wgs84", "cgcs2000", "gcj02", "bd09"]},
        "max_attachment_bytes": {"type": "integer"}, "sync_max_ops": {"type": "integer"},
        "match_edge_m": {"type": "number"},
        "incident_statuses": {"type": "object", "properties": {
            k: {"type": "array", "items": {"type": "string"}}
            for k in ("all", "initial", "final", "open")}}}}}}}})
def meta():
    """Settings the PWA needs before sign-in: the category tree and the basemap."""
    cfg = current_app.config
    path = Path(cfg["CATEGORIES_FILE"] or DEFAULT_CATEGORIES)
    base = basemap.public(basemap.resolve(cfg), request.url_root)
    return {
        "categories": json.loads(path.read_text(encoding="utf-8")),
        "basemap": base,
        # v1.0's two fields, kept for older clients: the style the apps draw, its datum.
        "basemap_style": base.get("style"),
        "basemap_datum": base["datum"],
        "max_attachment_bytes": cfg["MAX_ATTACHMENT_BYTES"],
        "sync_max_ops": cfg["SYNC_MAX_OPS"],
        "match_edge_m": cfg["MATCH_EDGE_M"],
        # The state machine's status sets (sync.incident), so that clients keep no copy.
        "incident_statuses": {"all": list(all_statuses()), "initial": list(INITIAL),
                              "final": list(FINAL), "open": list(open_statuses())},
    }
