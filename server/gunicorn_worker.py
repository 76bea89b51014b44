"""A gunicorn worker whose own errors are JSON in the API's error shape.

gunicorn answers a request it cannot parse (a request line over ``limit_request_line``:
414; a garbage request line or header: 400; too many or too large headers: 431) before
Flask sees it, with a small HTML page. PROTOCOL v1.1 wants every error JSON, so this
worker lets gunicorn classify, log and access-log the error exactly as it always does,
catches the page it writes, and sends the same status as
``{"error": {"code", "message"}}`` instead.

Used through ``server/gunicorn_conf.py`` (``gunicorn -c server/gunicorn_conf.py …``).
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 414: "uri_too_long",
         417: "expectation_failed", 431: "headers_too_large", 500: "internal",
         501: "not_implemented"}
MESSAGE_LIMIT = 200


class _Capture:
    """Stands in for the client socket while gunicorn writes its HTML error page."""

    def __init__(self, real: Any) -> None:
        self.real, self.data = real, b""

    def gettimeout(self) -> float:
        return 0.0  # "already non-blocking": gunicorn then just calls sendall

    def setblocking(self, flag: bool) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data += data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def json_error(status_line: str, exc: BaseException) -> bytes:
    """The raw HTTP response for gunicorn's status line, as JSON.

    >>> raw = json_error("414 URI Too Long", ValueError("Request Line is too large"))
    >>> raw.split(b"\\r\\n")[0], raw.split(b"\\r\\n\\r\\n")[1]
    (b'HTTP/1.1 414 URI Too Long', b'{"error": {"code": "uri_too_long", "message": "Request Line is too large"}}')
    """
    status = int(status_line.split(" ", 1)[0])
    reason = status_line.split(" ", 1)[1] if " " in status_line else ""
    # A 5xx here is gunicorn's or the app's fault: say nothing about its insides.
    message = (str(exc) or reason)[:MESSAGE_LIMIT] if status < 500 else "internal server error"
    body = json.dumps({"error": {"code": CODES.get(status, "error"),
                                 "message": message}}).encode()
    head = (f"HTTP/1.1 {status_line}\r\nConnection: close\r\n"
            "Content-Type: application/json\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            "Referrer-Policy: same-origin\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker (``--threads``), with JSON error pages."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        capture = _Capture(client)
        super().handle_error(req, capture, addr, exc)
        first = capture.data.split(b"\r\n", 1)[0].decode("latin-1")
        if not first.startswith("HTTP/"):
            return  # gunicorn wrote nothing (or something unexpected): nothing to send
        try:
            util.write_nonblock(client, json_error(first.split(" ", 1)[1], exc))
        except Exception:
            self.log.debug("Failed to send error message.")
