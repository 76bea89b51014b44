"""The API's blueprint class: flask-smorest's, parsing JSON bodies with orjson, and making
every operation's spec tell the truth about errors and security.

Every operation gets, unless it says otherwise (docs/protocol.md "Auth", "Responses and headers"):

- ``security: [{"bearer": []}]``; a view marked :meth:`Blueprint.public` gets ``[]``;
- the error responses any operation can give, each with the one ``Error`` schema:
  400 (malformed parameters or body), 401 and 403 (a token-less, revoked or
  unprivileged caller), 404 (a path parameter that names nothing), 413 (a body over
  ``MAX_CONTENT_LENGTH``), 503 (database unavailable) and ``default``; flask-smorest's
  ``arguments`` adds 422 (invalid values), :meth:`Blueprint.errors` the statuses
  particular to a view;
- the constraints the server enforces on well-known path parameters (a photo's name is a
  lowercase sha256, record and conflict ids are UUIDs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import flask_smorest
from apispec import BasePlugin

from server.errors import ErrorSchema
from server.jsonbody import BodyParser

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
SHA256_PATTERN = "^[0-9a-f]{64}$"

# Why each error status can happen; the body is always ``Error``.
ERROR_DESCRIPTIONS = {
    400: "malformed syntax or parameters (bad JSON, bad cursor, bbox, date or path)",
    401: "no token, or a token that is invalid, expired or revoked",
    403: "the caller's role, scope or device may not do this",
    404: "no such thing in the caller's scope",
    409: "a concurrent or conflicting change; see the code",
    413: "too many items or too large a body",
    414: "the URI is too long",
    415: "unsupported media type",
    422: "well-formed but invalid values; details say which, per field",
    429: "too many attempts; see Retry-After",
    503: "the database is unavailable for a moment; retry after Retry-After",
}

# Path parameters known by name across the API: what the server enforces on them.
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "sha256": {"type": "string", "pattern": SHA256_PATTERN,
               "description": "the photo's SHA-256, lowercase hex"},
    "record_id": {"type": "string", "format": "uuid"},
    "conflict_id": {"type": "string", "format": "uuid"},
}
# Query parameters that mean the same everywhere, with what the server enforces on them
# (parsed by server.api.params, server.services.pull and the console's schemas).
NO_NUL = "^[^\\u0000]*$"
DATE_PATTERN = "^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "bbox": {"pattern": "^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$", "description":
             "minlon,minlat,maxlon,maxlat in WGS-84: lon -180..180, lat -90..90, min <= max "
             "(else 400)"},
    "cursor": {"pattern": "^[A-Za-z0-9_-]*$", "maxLength": 512, "description":
               "opaque, as returned by the previous page (else 400 bad_cursor)"},
    "from": {"pattern": DATE_PATTERN, "description":
             "first day, YYYY-MM-DD, 2000..2100 (else 400/422)"},
    "to": {"pattern": DATE_PATTERN, "description":
           "last day (inclusive), YYYY-MM-DD, 2000..2100, not before from (else 400/422)"},
}
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def error_response(status: int, description: str | None = None) -> dict[str, Any]:
    """An OpenAPI response whose body is the ``Error`` schema.

    >>> r = error_response(409, "stale_base")
    >>> r["description"], list(r["content"]), r["content"]["application/json"]["schema"]
    ('stale_base', ['application/json'], <class 'server.errors.ErrorSchema'>)
    >>> error_response(429)["headers"]["Retry-After"]["schema"]
    {'type': 'integer', 'minimum': 0}
    """
    response: dict[str, Any] = {
        "description": description or ERROR_DESCRIPTIONS.get(status, "an error"),
        "content": {"application/json": {"schema": ErrorSchema}}}
    if status in (429, 503):  # when to try again
        response["headers"] = {"Retry-After": {
            "description": "seconds to wait before trying again",
            "schema": {"type": "integer", "minimum": 0}}}
    return response


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = BodyParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Runs after flask-smorest's own callbacks, so it sees their responses.
        self._prepare_doc_cbks.append(self._prepare_trust_doc)

    def route(self, rule: str, *, parameters: list | None = None, **options: Any):
        """flask-smorest's ``route``, documenting known path parameters' constraints and,
        for a rule with path parameters, the 404 of one that names nothing."""
        names = _RULE_ARGUMENT.findall(rule)
        given = {p["name"] for p in parameters or [] if isinstance(p, dict)}
        known = [{"in": "path", "name": name, "required": True, "schema": PATH_PARAMETERS[name]}
                 for name in names if name in PATH_PARAMETERS and name not in given]
        register = super().route(rule, parameters=[*(parameters or []), *known], **options)
        if not names:
            return register

        def decorator(view: Callable) -> Callable:
            return register(self.errors(404)(view))
        return decorator

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's ``arguments``, with one schema instance for every request.

        Given a class, webargs builds a new schema on every request (0.15 ms here, a
        tenth of a light map tile). Ours keep no per-request state, so one will do.
        """
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def public(self, view: Callable) -> Callable:
        """Mark a view that needs no token: its operation declares ``security: []``."""
        return self.doc(security=[])(view)

    def errors(self, *statuses: int | tuple[int, str]) -> Callable[[Callable], Callable]:
        """Document error statuses particular to a view: ``409`` or ``(409, "why")``."""
        responses = {}
        for item in statuses:
            status, why = item if isinstance(item, tuple) else (item, None)
            responses[str(status)] = error_response(status, why)
        return self.doc(responses=responses)

    @staticmethod
    def _prepare_trust_doc(doc: dict[str, Any], doc_info: dict[str, Any], *, method: str,
                           **_kwargs: Any) -> dict[str, Any]:
        manual = doc_info.get("manual_doc", {})
        secured = manual.get("security", BEARER) != []
        doc.setdefault("security", BEARER if secured else [])
        # flask-smorest keys responses by int, manual docs by str: one key per status.
        responses = {str(k): v for k, v in doc.get("responses", {}).items()}
        statuses = [400, 503]
        if secured:
            statuses += [401, 403]
        if method in ("post", "put", "patch"):
            statuses.append(413)
        for status in statuses:
            responses.setdefault(str(status), error_response(status))
        responses.setdefault("default", error_response(0, "any other error"))
        for status, response in responses.items():
            # An alt_response(409, description=…) says why but not what: the Error shape.
            if (status == "default" or status >= "400") and isinstance(response, dict) \
                    and "content" not in response and "$ref" not in response:
                response.update(error_response(0 if status == "default" else int(status),
                                               response.get("description")))
        doc["responses"] = dict(sorted(responses.items()))  # "default" sorts last
        return doc


class TrustPlugin(BasePlugin):
    """Adds to query parameters, once marshmallow has turned schemas into them, the
    constraints that hold for a parameter of that name wherever it appears, and refuses
    NUL characters in every string parameter (docs/protocol.md "Bad values in an op": 400)."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **_kwargs: Any) -> None:
        for operation in (operations or {}).values():
            for param in operation.get("parameters", []):
                if not isinstance(param, dict) or param.get("in") != "query":
                    continue
                schema = param.setdefault("schema", {})
                extra = QUERY_PARAMETERS.get(param["name"], {})
                if "description" in extra:
                    param["description"] = extra["description"]
                schema.update({k: v for k, v in extra.items() if k != "description"})
                if schema.get("type") == "string" and not {"pattern", "enum"} & set(schema):
                    schema["pattern"] = NO_NUL
