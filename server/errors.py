"""Every error leaves as ``{"error": {"code", "message", "details"?}}``, never as HTML."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large",
    415: "unsupported_media_type", 422: "validation", 429: "too_many_requests",
}


class ApiError(Exception):
    """An error the client can act on."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(error_body(exc.code, exc.message, exc.details)), exc.status

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


def _is_syntax_error(details: Any) -> bool:
    """Malformed JSON or a body of the wrong JSON type is a 400, not a 422."""
    json_errors = details.get("json") if isinstance(details, dict) else None
    if not isinstance(json_errors, dict):
        return False
    return "_schema" in json_errors and any(
        "Invalid input type" in m or "Invalid JSON" in m for m in json_errors["_schema"]
    )
