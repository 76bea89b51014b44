"""Schemathesis over every operation of the served spec, signed in, on a real database.

A bounded, derandomized run (the same cases every time): about 25 positive and 10
negative cases per operation, as an admin and as a patroller. Every response must not be
a 5xx and must match the spec: status code, content type and body. The long run is
``bench/schemathesis_long.py`` (``make fuzz``).

Failures that other branches are fixing now are listed, explicitly, in
``tests/api/openapi_fuzz.py`` ``KNOWN_ISSUES``; they are printed, not failed on.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode

from tests.api.openapi_fuzz import CHECKS, fresh_token, run
from tests.conftest import PASSWORD, ApiClient
from tests.console.helpers import incident, inspection, tile_of
from tests.sync.helpers import household

GRID = "320105001001004"
# Sign-in and sign-out do not depend on the role: the admin's run covers them.
ROLE_INDEPENDENT = r"/api/v1/auth/token$"


@pytest.mark.parametrize(("role", "grids", "skip"), [
    ("admin", (), None),
    ("patroller", (GRID,), ROLE_INDEPENDENT),
])
def test_every_operation_conforms_to_the_spec(app, client, make_user, capsys, role, grids,
                                             skip):
    name = make_user(role=role, grids=grids)
    sign_in = fresh_token(client, name, PASSWORD)
    token = sign_in()
    device = sign_in.device_id  # type: ignore[attr-defined]
    reports = [run(app, token, device, examples=examples, sign_in=sign_in, modes=(mode,),
                   skip=skip)
               for mode, examples in ((GenerationMode.POSITIVE, 25),
                                      (GenerationMode.NEGATIVE, 10))]
    with capsys.disabled():  # the counts and known issues, even when output is captured
        print(f"\nschemathesis as {role}:")
        for report in reports:
            print("\n".join(report.lines()))
    assert sum(r.cases for r in reports) > 300
    assert all(r.by_operation for r in reports)
    violations = {label: titles for r in reports for label, titles in r.failures.items()}
    assert not violations, "\n".join(line for r in reports for line in r.lines())


def test_real_answers_conform_to_the_spec(app, client, make_user, inside_points):
    """Generated ids find nothing, so the fuzz mostly sees 404s for one record: here every
    operation answers with real data (2xx) and the answer must match the spec."""
    name = make_user(role="admin")
    sign_in = fresh_token(client, name, PASSWORD)
    token, device = sign_in(), sign_in.device_id  # type: ignore[attr-defined]
    other = ApiClient(client, make_user(role="admin"))
    me = ApiClient(client, name)
    me.token, me.device_id = token, device
    p = inside_points[GRID]
    photo = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(32)
    sha = hashlib.sha256(photo).hexdigest()
    insp = me.op("inspection", "create", inspection("report", p, photos=[sha]))
    inc = me.op("incident", "create", incident(p))
    house = me.op("household", "create", household(p, phone="13812345678"))
    upd = me.op("incident", "update", {"title": "甲"}, id=inc["id"], base_version=1)
    clash = other.op("incident", "update", {"title": "乙"}, id=inc["id"], base_version=1)
    z, x, y = tile_of(*p, 16)
    today = datetime.date.today().isoformat()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/v1/openapi.json", {}), ("GET", "/api/v1/me", {}),
        ("GET", "/api/v1/meta", {}),
        ("POST", "/api/v1/auth/token", {"body": {"username": name, "password": PASSWORD,
                                                 "device_id": f"real-{secrets.token_hex(4)}"}}),
        ("PUT", "/api/v1/attachments/{sha256}", {"path_parameters": {"sha256": sha},
                                                 "body": photo, "media_type": "image/png"}),
        ("POST", "/api/v1/sync/push", {"body": {"device_id": device,
                                                "ops": [insp, inc, house, upd]}}),
        ("GET", "/api/v1/sync/pull", {"query": {"limit": 1000}}),
        ("HEAD", "/api/v1/attachments/{sha256}", {"path_parameters": {"sha256": sha}}),
        ("GET", "/api/v1/attachments/{sha256}", {"path_parameters": {"sha256": sha}}),
        ("GET", "/api/v1/grids", {"query": {"bbox": f"{p[0] - .01},{p[1] - .01},"
                                                     f"{p[0] + .01},{p[1] + .01}"}}),
        ("GET", "/api/v1/grids/areas", {}),
        ("POST", "/api/v1/grids/match", {"body": {"points": [list(p)]}}),
        ("GET", "/api/v1/map/inspections", {"query": {"limit": 10}}),
        *(("GET", "/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt",
           {"path_parameters": {"layer": layer, "z": z, "x": x, "y": y}})
          for layer in ("grids", "inspections", "incidents", "tracks", "heat")),
        ("GET", "/api/v1/desk/departments", {}),
        ("GET", "/api/v1/desk/incidents", {"query": {"limit": 5}}),
        ("GET", "/api/v1/desk/incidents/{record_id}", {"path_parameters": {"record_id":
                                                                          inc["id"]}}),
        ("GET", "/api/v1/desk/records/{record_id}", {"path_parameters": {"record_id":
                                                                        insp["id"]}}),
        *(("GET", path, {"query": {"from": today, "to": today, "level": "street"}})
          for path in ("/api/v1/stats", "/api/v1/stats.csv", "/api/v1/stats.xlsx")),
    ]
    seen = []
    for method, path, kw in calls:
        seen.append(_call(schema, method, path, token, kw))
    result = other.push(clash)[0]
    assert result["status"] == "conflict", result
    conflicts = _call(schema, "GET", "/api/v1/conflicts", token, {"query": {"limit": 500}})
    assert any(c["id"] == result["conflict_id"] for c in conflicts.json()["conflicts"])
    version = me.get(f"/api/v1/desk/records/{inc['id']}").json["record"]["version"]
    resolved = _call(schema, "POST", "/api/v1/conflicts/{conflict_id}/resolve", token, {
        "path_parameters": {"conflict_id": result["conflict_id"]},
        "body": {"base_version": version, "data": {"title": "定"}}})
    version = resolved.json()["record"]["version"]
    moved = _call(schema, "POST", "/api/v1/desk/incidents/{record_id}/transition", token, {
        "path_parameters": {"record_id": inc["id"]},
        "body": {"to": "accepted", "base_version": version, "note": "受理"}})
    version = moved.json()["incident"]["record"]["version"]
    for to in ("filed", "dispatched"):
        body = {"to": to, "base_version": version, **({"department": "城管"}
                                                     if to == "dispatched" else {})}
        r = me.post(f"/api/v1/desk/incidents/{inc['id']}/transition", json=body)
        version = r.json["incident"]["record"]["version"]
    _call(schema, "POST", "/api/v1/desk/incidents/{record_id}/extension", token, {
        "path_parameters": {"record_id": inc["id"]},
        "body": {"base_version": version, "minutes": 60, "reason": "材料"}})
    _call(schema, "DELETE", "/api/v1/auth/token", sign_in(), {})
    assert len(seen) == len(calls)


def _call(schema: Any, method: str, path: str, token: str, kw: dict[str, Any]) -> Any:
    case = schema[path][method].Case(**kw)
    response = case.call(headers={"Authorization": f"Bearer {token}",
                                  "Accept-Encoding": "identity"})
    assert 200 <= response.status_code < 300, (method, path, response.text[:300])
    case.validate_response(response, checks=CHECKS)
    return response
