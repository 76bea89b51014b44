"""The API's blueprint class: flask-smorest's, parsing JSON bodies with orjson."""

from __future__ import annotations

import flask_smorest

from server.jsonbody import BodyParser


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = BodyParser()
