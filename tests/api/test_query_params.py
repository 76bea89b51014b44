"""Query parameters that carry a NUL character or a date off the calendar are 4xx JSON.

Every GET operation of the spec is tried, so a new endpoint is covered the day it
appears: each of its query parameters with a NUL character, and each date parameter with
days outside 2000-2100, as an admin (who reaches every endpoint). Never a 500, always the
error shape.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

NUL_VALUES = ("a\x00b", "\x00")
OFF_CALENDAR = ("0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01")
# Concrete values for path parameters, so that the request reaches the query parsing.
PATH_VALUES = {"z": "13", "x": "6847", "y": "3307", "layer": "grids",
               "sha256": "0" * 64, "record_id": "00000000-0000-0000-0000-000000000000",
               "id": "00000000-0000-0000-0000-000000000000"}


def get_operations(spec: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    ops = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None:
            continue
        params = [p for p in op.get("parameters", []) + item.get("parameters", [])
                  if p.get("in") == "query"]
        url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "x"), path)
        ops.append((url, params))
    return ops


def assert_error_json(response, url: str) -> None:
    assert 400 <= response.status_code < 500, (url, response.status_code, response.data[:300])
    body = response.get_json()
    assert body and set(body["error"]) >= {"code", "message"}, (url, response.data[:300])


@pytest.fixture
def admin(signed_in):
    return signed_in("admin")


@pytest.fixture
def spec(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def test_nul_in_any_query_parameter_is_400(admin, spec):
    tried = 0
    for url, params in get_operations(spec):
        names = [p["name"] for p in params] + ["unknown_param"]
        for name in names:
            for value in NUL_VALUES:
                response = admin.get(url, query_string={name: value})
                assert_error_json(response, f"{url}?{name}")
                assert response.status_code == 400
                tried += 1
    assert tried > 60, tried


def test_nul_in_a_parameter_name_is_400(admin):
    response = admin.get("/api/v1/desk/incidents", query_string={"sta\x00tus": "reported"})
    assert_error_json(response, "desk")
    assert "NUL" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("day", OFF_CALENDAR)
def test_dates_off_the_calendar_are_4xx(admin, spec, day):
    tried = 0
    for url, params in get_operations(spec):
        for p in params:
            schema = p.get("schema", {})
            if schema.get("format") not in ("date", "date-time"):
                continue
            value = day if schema["format"] == "date" else f"{day}T00:00:00+08:00"
            response = admin.get(url, query_string={p["name"]: value})
            assert_error_json(response, f"{url}?{p['name']}={value}")
            assert "2000-01-01" in str(response.get_json()["error"].get("details")), url
            tried += 1
    assert tried >= 4, tried


def test_stats_at_the_calendar_edges_answer(admin):
    for query in ({"from": "2000-01-01", "to": "2000-01-31"},
                  {"from": "2100-12-01", "to": "2100-12-31"}):
        for fmt in ("", "csv", "xlsx"):
            response = admin.get("/api/v1/stats" + (f".{fmt}" if fmt else ""),
                                 query_string=query)
            assert response.status_code in (200, 404), (fmt, query, response.data[:200])


def test_nul_in_a_desk_note_is_422_and_writes_nothing(admin, signed_in, inside_points, db):
    from tests.console.helpers import new_incident

    sup = signed_in("supervisor", areas=["320105001"])
    reporter = signed_in("patroller", grids=["320105001001001"])
    incident_id = new_incident(reporter, inside_points["320105001001001"])
    response = sup.post(f"/api/v1/desk/incidents/{incident_id}/transition",
                        json={"to": "accepted", "base_version": 1, "note": "受理\x00了"})
    assert_error_json(response, "desk note")
    assert response.status_code == 422
    assert "note" in response.get_json()["error"]["details"]["json"]
    row = db.execute("SELECT version, data->>'status' FROM record WHERE id = %s",
                     (incident_id,)).fetchone()
    assert row == (1, "reported")
