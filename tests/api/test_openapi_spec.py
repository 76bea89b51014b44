"""The served OpenAPI spec tells the truth (docs/protocol.md "Auth", "Responses and headers"):
the error shape, each operation's ``security``, the constraints the server enforces and
the media types of non-JSON answers."""

from __future__ import annotations

import re
from typing import Any

import pytest

PUBLIC = {("post", "/api/v1/auth/token"), ("get", "/api/v1/meta"),
          ("get", "/api/v1/openapi.json"),
          # The basemap holds no personal data (district, street, community and grid
          # outlines; docs/security.md), and map libraries fetch it without a token.
          ("get", "/api/v1/basemap/style.json"), ("get", "/api/v1/basemap/tiles/{z}/{x}/{y}"),
          ("get", "/api/v1/basemap/fonts/{fontstack}/{range_}.pbf")}
METHODS = ("get", "put", "post", "delete", "patch", "head")


@pytest.fixture(scope="module")
def spec(app) -> dict[str, Any]:
    r = app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json


def operations(spec: dict[str, Any]):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def resolve(spec: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in obj:
        _, kind, name = obj["$ref"].removeprefix("#/").split("/")
        obj = spec["components"][kind][name]
    return obj


def parameter(spec: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    item = spec["paths"][path]
    for p in item[method].get("parameters", []) + item.get("parameters", []):
        if p["name"] == name:
            return p
    raise AssertionError(f"{method} {path} has no parameter {name}")


def test_error_schema_is_the_error_shape(spec):
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    body = resolve(spec, error["properties"]["error"])
    assert set(body["properties"]) == {"code", "message", "details"}
    assert sorted(body["required"]) == ["code", "message"]


def test_every_operation_declares_security(spec):
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    seen = set()
    for method, path, op in operations(spec):
        assert "security" in op, f"{method} {path}"
        expected = [] if (method, path) in PUBLIC else [{"bearer": []}]
        assert op["security"] == expected, f"{method} {path}"
        seen.add((method, path))
    assert seen >= PUBLIC


def test_every_error_response_is_the_error_schema(spec):
    checked = 0
    for method, path, op in operations(spec):
        statuses = set(op["responses"])
        assert "default" in statuses, f"{method} {path}"
        if path != "/api/v1/openapi.json":  # it takes no parameters
            assert "400" in statuses, f"{method} {path}"
        if (method, path) not in PUBLIC:
            assert {"401", "403"} <= statuses, f"{method} {path}"
        if "{" in path:
            assert "404" in statuses, f"{method} {path}"
        if method in ("post", "put"):
            assert "413" in statuses, f"{method} {path}"
        for status, response in op["responses"].items():
            if status == "default" or int(status) >= 400:
                content = resolve(spec, response)["content"]
                assert list(content) == ["application/json"], f"{method} {path} {status}"
                assert content["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"
                checked += 1
    assert checked > 150


@pytest.mark.parametrize(("method", "path", "statuses"), [
    ("post", "/api/v1/auth/token", {"401", "403", "422", "429"}),
    ("post", "/api/v1/sync/push", {"403", "409", "413", "422"}),
    ("post", "/api/v1/grids/match", {"413", "422"}),
    ("put", "/api/v1/attachments/{sha256}", {"404", "413", "415", "422"}),
    ("post", "/api/v1/conflicts/{conflict_id}/resolve", {"404", "409", "422"}),
    ("post", "/api/v1/desk/incidents/{record_id}/transition", {"403", "404", "409", "422"}),
])
def test_particular_errors_are_declared(spec, method, path, statuses):
    assert statuses <= set(spec["paths"][path][method]["responses"])


def test_enforced_constraints_are_in_the_schemas(spec):
    sha = parameter(spec, "/api/v1/attachments/{sha256}", "get", "sha256")["schema"]
    assert sha["pattern"] == "^[0-9a-f]{64}$"
    for path in ("/api/v1/grids", "/api/v1/map/inspections"):
        bbox = parameter(spec, path, "get", "bbox")
        assert re.fullmatch(bbox["schema"]["pattern"], "118.6,31.9,118.8,32.1")
        assert not re.fullmatch(bbox["schema"]["pattern"], "118.6,31.9,118.8")
    for path in ("/api/v1/sync/pull", "/api/v1/conflicts", "/api/v1/desk/incidents"):
        cursor = parameter(spec, path, "get", "cursor")["schema"]
        assert cursor["maxLength"] == 512 and cursor["pattern"] == "^[A-Za-z0-9_-]*$"
    for path in ("/api/v1/stats", "/api/v1/stats.csv", "/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt"):
        for name in ("from", "to"):
            date = parameter(spec, path, "get", name)["schema"]
            assert date["format"] == "date"
            assert re.fullmatch(date["pattern"], "2026-11-23")
            assert not re.fullmatch(date["pattern"], "1999-12-31")
            assert not re.fullmatch(date["pattern"], "2101-01-01")
    limit = parameter(spec, "/api/v1/sync/pull", "get", "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 1000)
    layer = parameter(spec, "/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt", "get", "layer")["schema"]
    assert layer["enum"] == ["grids", "inspections", "incidents", "tracks", "heat"]
    z = parameter(spec, "/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt", "get", "z")["schema"]
    assert (z["type"], z["minimum"], z["maximum"]) == ("integer", 0, 22)
    street = parameter(spec, "/api/v1/stats", "get", "street")["schema"]
    assert street["pattern"] == "^[^\\u0000]*$"  # a NUL is refused (400)
    push = resolve(spec, spec["paths"]["/api/v1/sync/push"]["post"]["requestBody"]["content"]
                   ["application/json"]["schema"])
    op = push["properties"]["ops"]["items"]
    assert op["properties"]["entity"]["enum"] == ["inspection", "incident", "household"]
    assert op["properties"]["device_seq"]["maximum"] == 2**53 - 1


@pytest.mark.parametrize(("method", "path", "status", "media"), [
    ("get", "/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt", "200", "application/vnd.mapbox-vector-tile"),
    ("get", "/api/v1/stats.csv", "200", "text/csv"),
    ("get", "/api/v1/stats.xlsx", "200",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("get", "/api/v1/attachments/{sha256}", "200", "image/jpeg"),
    ("put", "/api/v1/attachments/{sha256}", "201", "application/json"),
    ("get", "/api/v1/grids", "200", "application/json"),
    ("get", "/api/v1/meta", "200", "application/json"),
])
def test_media_types_are_declared(spec, method, path, status, media):
    assert media in spec["paths"][path][method]["responses"][status]["content"]


def test_attachment_upload_declares_image_bodies(spec):
    body = spec["paths"]["/api/v1/attachments/{sha256}"]["put"]["requestBody"]["content"]
    assert set(body) == {"image/jpeg", "image/png", "image/webp"}


@pytest.mark.parametrize(("method", "url", "status"), [
    ("get", "/api/v1/me", 401),
    ("get", "/api/v1/no-such-thing", 404),
    ("delete", "/api/v1/me", 405),
    ("get", "/api/v1/sync/pull?limit=0", 422),
    ("head", "/api/v1/attachments/" + "0" * 64, 404),
])
def test_real_errors_have_the_declared_shape(signed_in, method, url, status):
    dev = signed_in()
    r = getattr(dev.client, method)(url, headers=dev.headers if status != 401 else {})
    assert r.status_code == status
    assert r.mimetype == "application/json"
    if method != "head":
        assert set(r.json) == {"error"} and {"code", "message"} <= set(r.json["error"])


def test_retry_after_is_declared_where_it_is_sent(spec):
    for method, path, status in (("post", "/api/v1/auth/token", "429"),
                                 ("post", "/api/v1/sync/push", "503"),
                                 ("get", "/api/v1/sync/pull", "503")):
        headers = spec["paths"][path][method]["responses"][status]["headers"]
        assert headers["Retry-After"]["schema"]["type"] == "integer"
