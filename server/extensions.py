"""Extensions are created unbound here and bound to an app in :func:`init_app`."""

from __future__ import annotations

from flask import Flask
from flask_compress import Compress
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from server.config import ROOT
from server.errors import ErrorSchema


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate(directory=str(ROOT / "server" / "migrations"))


class TruthfulApi(Api):
    """flask-smorest's Api, whose generic error responses (``default``, the 422 of
    argument parsing) describe the error shape this server really sends."""

    ERROR_SCHEMA = ErrorSchema


api = TruthfulApi()
# The PWA's first load must stay under 500 KB over the wire: gzip assets and JSON alike.
compress = Compress()


def init_app(app: Flask) -> None:
    from server import safejson

    # Stored JSON that json.loads cannot read (huge numbers, deep nesting) must not fail
    # the reads that touch it (server.safejson).
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options.setdefault("json_deserializer", safejson.loads)
    db.init_app(app)
    from server.dbconn import plan_with_values, watch_pool

    with app.app_context():  # builds the engine object; nothing connects yet
        watch_pool(db.engine, app.config["DB_PING_IDLE_SECONDS"])
        plan_with_values(db.engine)
    compress.init_app(app)
    migrate.init_app(app, db)
    from server.api.blueprint import TrustPlugin, error_response

    api.init_app(app, spec_kwargs={"extra_plugins": [TrustPlugin()]})
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "a device token"}
    )
    # The spec describes itself too: it is the one operation besides sign-in and /meta
    # that needs no token (docs/protocol.md "Auth").
    rule = next(r for r in app.url_map.iter_rules() if r.rule.endswith("/openapi.json"))
    api.spec.path(rule=rule, parameters=[], operations={"get": {
        "summary": "This OpenAPI document", "tags": ["meta"], "security": [],
        "responses": {"200": {"description": "the OpenAPI 3 document", "content": {
            "application/json": {"schema": {"type": "object"}}}},
        "default": error_response(0, "any other error")}}})
