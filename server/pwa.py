"""Serving the built PWA: the field app at ``/`` and the supervisors' console at ``/console/``."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, send_from_directory
from werkzeug.exceptions import NotFound

from server.errors import ApiError

# The service worker and the page shells must be revalidated, or a phone could keep an
# old app forever; hashed assets can be cached for good.
NO_CACHE = ("index.html", "console.html", "sw.js", "manifest.webmanifest", "registerSW.js")


def _dist() -> Path:
    return Path(current_app.config["PWA_DIST"])


def _send(name: str):
    dist = _dist()
    if not (dist / "index.html").is_file():
        raise ApiError(404, "pwa_not_built", "the PWA is not built; run `make pwa`")
    response = send_from_directory(dist, name)
    # send_file streams the file untouched; buffer it so that Flask-Compress gzips it.
    response.direct_passthrough = False
    response.make_sequence()
    if name in NO_CACHE:
        response.headers["Cache-Control"] = "no-cache"
    elif name.startswith("assets/"):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def init_app(app: Flask) -> None:
    @app.get("/")
    def field_app():
        return _send("index.html")

    @app.get("/console")
    @app.get("/console/")
    def console():
        return _send("console.html")

    @app.get("/<path:name>")
    def static_file(name: str):
        if name.startswith("api/"):
            raise ApiError(404, "not_found", "no such endpoint")
        try:
            return _send(name)
        except NotFound as exc:
            raise ApiError(404, "not_found", f"no such file: {name}") from exc
