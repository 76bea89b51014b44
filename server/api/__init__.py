"""HTTP routes. Each route only adapts the request and calls a service."""

from __future__ import annotations

from flask import Flask

from server.extensions import api


def register_blueprints(app: Flask) -> None:
    from server.api import (
        admin,
        attachments,
        audit,
        auth,
        basemap,
        conflicts,
        desk,
        grids,
        mapdata,
        meta,
        ogc,
        stats,
        sync,
        tiles,
    )
    from server.api.params import refuse_nul_in_url

    app.before_request(refuse_nul_in_url)
    for module in (auth, meta, grids, sync, conflicts, attachments, mapdata, tiles, desk,
                   stats, audit, admin, ogc, basemap):
        api.register_blueprint(module.blp, url_prefix="/api/v1" + module.PREFIX)
    api.register_blueprint(ogc.export_blp)
