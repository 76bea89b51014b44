"""HTTP routes. Each route only adapts the request and calls a service."""

from __future__ import annotations

from flask import Flask

from server.extensions import api


def register_blueprints(app: Flask) -> None:
    from server.api import attachments, auth, conflicts, grids, mapdata, meta, sync

    for module in (auth, meta, grids, sync, conflicts, attachments, mapdata,
                   __import__("server.api.tiles", fromlist=["blp"]),  # console (issue 6)
                   __import__("server.api.desk", fromlist=["blp"]),  # console (issue 6)
                   __import__("server.api.stats", fromlist=["blp"]),  # console (issue 6)
                   ):
        api.register_blueprint(module.blp, url_prefix="/api/v1" + module.PREFIX)
