"""Every error leaves as ``{"error": {"code", "message", "details"?}}``, never as HTML."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from marshmallow import EXCLUDE, Schema, fields
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large",
    415: "unsupported_media_type", 422: "validation", 429: "too_many_requests",
}

# SQLSTATEs after which the same request may well succeed a moment later: the request
# was rolled back whole, so the client retries it (the PWA's outbox does on any 5xx).
BUSY_SQLSTATES = {
    "40001": "a concurrent change got in the way",  # serialization_failure
    "40P01": "a concurrent change got in the way",  # deadlock_detected
    "55P03": "a row is locked by another request",  # lock_not_available
    "57014": "the database took too long",  # query_canceled (statement_timeout)
    "53300": "the database has too many connections",  # too_many_connections
    "57P01": "the database was shut down",  # admin_shutdown (pg_terminate_backend too)
    "57P02": "the database crashed",  # crash_shutdown
    "57P03": "the database is starting up or shutting down",  # cannot_connect_now
}
RETRY_AFTER_SECONDS = 5


class ErrorBody(Schema):
    class Meta:
        unknown = EXCLUDE

    code = fields.String(required=True, metadata={
        "description": "machine-readable, e.g. validation, bad_cursor, forbidden"})
    message = fields.String(required=True, metadata={"description": "for people"})
    details = fields.Raw(metadata={"description": "what is wrong where, e.g. per field"})


class ErrorSchema(Schema):
    """The one error shape of the API (docs/protocol.md "Auth"); the spec names it ``Error``."""

    class Meta:
        unknown = EXCLUDE

    error = fields.Nested(ErrorBody, required=True)


class ApiError(Exception):
    """An error the client can act on."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(error_body(exc.code, exc.message, exc.details)), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        details = None
        # flask-smorest puts marshmallow's per-field messages here on 422.
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and "messages" in data:
            details = data["messages"]
        code = STATUS_CODES.get(status, "error")
        message = exc.description or exc.name
        if status == 400 and details == {"json": ["Invalid JSON body."]}:
            message = "the body is not valid JSON"
        if status == 422 and details is not None:
            message = "some fields are invalid; see details"
            if _is_syntax_error(details):
                status, code = 400, "bad_request"
        return jsonify(error_body(code, message, details)), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return jsonify(error_body("internal", "internal server error")), 500

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        reason = database_retry_reason(exc)
        if reason is None:
            return _unexpected(exc)
        app.logger.warning("database unavailable: %s", exc.orig)
        body = error_body("database_unavailable",
                          f"{reason}; the request did not complete, try again")
        return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def database_retry_reason(exc: DBAPIError) -> str | None:
    """Why a database error is worth retrying (the connection was lost, or the server was
    busy), or None for an error that retrying would only repeat (a bug: 500)."""
    if exc.connection_invalidated:
        return "the connection to the database was lost"
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in BUSY_SQLSTATES:
        return BUSY_SQLSTATES[sqlstate]
    # Class 08 is connection_exception; a failed connect has no SQLSTATE at all.
    if isinstance(exc, OperationalError) and (sqlstate is None or sqlstate.startswith("08")):
        return "the database cannot be reached"
    return None


def _is_syntax_error(details: Any) -> bool:
    """Malformed JSON or a body of the wrong JSON type is a 400, not a 422."""
    json_errors = details.get("json") if isinstance(details, dict) else None
    if not isinstance(json_errors, dict):
        return False
    return "_schema" in json_errors and any(
        "Invalid input type" in m or "Invalid JSON" in m for m in json_errors["_schema"]
    )
