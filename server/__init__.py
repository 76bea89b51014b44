"""GridPatrol's Flask server: a thin HTTP and SQL layer over :mod:`sync` and :mod:`geo`."""

from __future__ import annotations

from typing import Any

from flask import Flask

from server.config import load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. Nothing connects to the database until a request or command needs it."""
    app = Flask(__name__, static_folder=None)
    app.config.update(load_config())
    if test_config:
        app.config.update(test_config)
    if app.config["BASEMAP_DATUM"] not in ("wgs84", "cgcs2000", "gcj02", "bd09"):
        raise ValueError(f"BASEMAP_DATUM must be wgs84, cgcs2000, gcj02 or bd09, "
                         f"not {app.config['BASEMAP_DATUM']!r}")
    from server import cli, errors, extensions, headers, pwa
    from server.jsonbody import JSONProvider

    app.json = JSONProvider(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    from server.api import register_blueprints

    extensions.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    register_blueprints(app)
    pwa.init_app(app)
    cli.init_app(app)
    if app.config["TRUSTED_PROXIES"] > 0:
        # request.remote_addr becomes the client's address as the last trusted proxy saw
        # it; the sign-in throttle and the audit log count by it.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app
