"""Errors gunicorn answers itself, before Flask sees the request, are JSON too (PROTOCOL
v1.1 "Responses and headers"). Against a real gunicorn started with server/gunicorn_conf.py,
as scripts/run.sh, docker/entrypoint.sh and the browser tests start it."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests

from tests.browser.conftest import LiveServer


@pytest.fixture(scope="module")
def gunicorn(database_url, tmp_path_factory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("gunicorn")
    server = LiveServer(database_url, base / "attachments", base / "gunicorn.log")
    server.env["MAX_CONTENT_LENGTH"] = "4096"
    server.start()
    yield server
    server.stop()


def raw(server: LiveServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client library would send these) and read the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, body


def assert_json_error(status: int, headers: dict[str, str], body: bytes, expect: int) -> dict:
    assert status == expect, body
    assert headers["content-type"].startswith("application/json")
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    return error


def test_a_10_kb_url_is_414_json(gunicorn):
    r = requests.get(f"{gunicorn.url}/api/v1/meta?q={'x' * 10_000}", timeout=30)
    error = assert_json_error(r.status_code, {k.lower(): v for k, v in r.headers.items()},
                              r.content, 414)
    assert error["code"] == "uri_too_long"


def test_a_garbage_request_line_is_400_json(gunicorn):
    status, headers, body = raw(gunicorn, b"GARBAGE\r\n\r\n")
    assert assert_json_error(status, headers, body, 400)["code"] == "bad_request"
    status, headers, body = raw(gunicorn, b"GET /api/v1/meta HTTP/1.1\r\nHost: x\r\n"
                                          b"Bad Header Name: 1\r\n\r\n")
    assert_json_error(status, headers, body, 400)


def test_too_many_headers_is_431_json(gunicorn):
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(150))
    status, headers, body = raw(gunicorn, b"GET /api/v1/meta HTTP/1.1\r\nHost: x\r\n" + many
                                + b"\r\n")
    assert assert_json_error(status, headers, body, 431)["code"] == "headers_too_large"


def test_flask_errors_through_gunicorn_are_json(gunicorn):
    for r, expect in ((requests.get(f"{gunicorn.url}/api/v1/nope", timeout=30), 404),
                      (requests.delete(f"{gunicorn.url}/api/v1/meta", timeout=30), 405),
                      (requests.post(f"{gunicorn.url}/api/v1/auth/token", data=b"{" * 10_000,
                                     headers={"Content-Type": "application/json"},
                                     timeout=30), 413)):
        assert_json_error(r.status_code, {k.lower(): v for k, v in r.headers.items()},
                          r.content, expect)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    ok = requests.get(f"{gunicorn.url}/api/v1/meta", timeout=30)
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
