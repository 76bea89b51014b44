"""HTTP routes. Each route only adapts the request and calls a service."""

from __future__ import annotations

from flask import Flask

from server.extensions import api


def register_blueprints(app: Flask) -> None:
    from server.api import (
        admin,
        attachments,
        auth,
        conflicts,
        desk,
        grids,
        mapdata,
        meta,
        stats,
        sync,
        tiles,
    )

    for module in (auth, meta, grids, sync, conflicts, attachments, mapdata, tiles, desk,
                   stats, admin):
        api.register_blueprint(module.blp, url_prefix="/api/v1" + module.PREFIX)
