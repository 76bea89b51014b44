"""The walking skeleton's contract, against a real PostGIS database."""

from __future__ import annotations

import uuid

import pytest

GRID = "320105001001004"


def report(point: tuple[float, float], note: str = "井盖缺失", **extra) -> dict:
    return {"kind": "report", "occurred_at": "2026-11-23T08:15:00+08:00",
            "location": {"type": "Point", "coordinates": list(point)},
            "location_accuracy_m": 8, "note": note, **extra}


def test_push_matches_grid_and_replay_is_duplicate(signed_in, inside_points, db):
    dev = signed_in(grids=[GRID])
    op = dev.op("inspection", "create", report(inside_points[GRID]))
    first = dev.push(op)
    assert first[0]["status"] == "applied"
    assert (first[0]["grid_code"], first[0]["match"], first[0]["version"]) == (GRID, "inside", 1)
    again = dev.push(op)
    assert again[0]["status"] == "duplicate"
    assert again[0]["original_status"] == "applied" and again[0]["grid_code"] == GRID
    count = db.execute("SELECT count(*) FROM record WHERE id = %s", (op["id"],)).fetchone()[0]
    assert count == 1
    row = db.execute("SELECT grid_code, match, ST_X(geom), data->>'location_accuracy_m' "
                     "FROM record WHERE id = %s", (op["id"],)).fetchone()
    assert row[0] == GRID and row[1] == "inside"
    assert abs(row[2] - inside_points[GRID][0]) < 1e-9 and row[3] == "8"


def test_rejected_op_beside_valid_ones(signed_in, inside_points, db):
    dev = signed_in(grids=[GRID])
    good1 = dev.op("inspection", "create", report(inside_points[GRID], "一"))
    bad = dev.op("inspection", "create", {"kind": "walk", "location": {"type": "Point",
                                                                         "coordinates": [999, 0]}})
    good2 = dev.op("inspection", "create", report(inside_points[GRID], "二"))
    results = dev.push(good1, bad, good2)
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["code"] == "validation"
    assert set(results[1]["errors"]) == {"data.kind", "data.occurred_at", "data.location"}
    ids = [good1["id"], bad["id"], good2["id"]]
    stored = db.execute("SELECT count(*) FROM record WHERE id = ANY(%s::uuid[])", (ids,)).fetchone()
    assert stored[0] == 2


def test_malformed_bodies_are_400_json(signed_in):
    dev = signed_in()
    r = dev.post("/api/v1/sync/push", data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"
    r = dev.post("/api/v1/sync/push", json=["a", "list"])
    assert r.status_code == 400 and "error" in r.json
    r = dev.post("/api/v1/sync/push", json={"device_id": dev.device_id, "ops": "nope"})
    assert r.status_code == 422 and "ops" in r.json["error"]["details"]["json"]
    r = dev.post("/api/v1/sync/push", json={"device_id": dev.device_id, "ops": [42, None]})
    assert r.status_code == 200
    assert [x["status"] for x in r.json["results"]] == ["rejected", "rejected"]


@pytest.mark.parametrize(("body", "says"), [
    (b'{"device_id": "d", "ops": [', "unexpected end of data"),
    (b'{"device_id": "d", "ops": [NaN]}', "unexpected character"),
    (b'{"device_id": "d", "ops": [1e999]}', "infinity"),
    (b'{"device_id": "\\ud800", "ops": []}', "surrogate"),
    (b'{"device_id": "\xff\xfe", "ops": []}', "UTF-8"),
    (b"[" * 5000 + b"]" * 5000, "depth limit"),
    (b"   ", "empty"),
])
def test_json_syntax_errors_are_400_and_say_what(signed_in, db, body, says):
    """Bodies are parsed strictly (orjson): what is wrong, and where, is in the message;
    nothing is written."""
    dev = signed_in()
    before = db.execute("SELECT count(*) FROM op_log").fetchone()[0]
    r = dev.post("/api/v1/sync/push", data=body, content_type="application/json")
    assert r.status_code == 400, r.json
    assert r.json["error"]["code"] == "bad_request"
    assert says.lower() in r.json["error"]["message"].lower(), r.json["error"]["message"]
    assert db.execute("SELECT count(*) FROM op_log").fetchone()[0] == before


def test_missing_or_invalid_token_is_401(client):
    r = client.post("/api/v1/sync/push", json={"device_id": "x", "ops": []})
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    r = client.get("/api/v1/sync/pull", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"
    r = client.get("/api/v1/grids", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_wrong_password_and_bad_login_bodies(client, make_user):
    name = make_user()
    r = client.post("/api/v1/auth/token", json={"username": name, "password": "wrong-pass",
                                                "device_id": "d"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_credentials"
    r = client.post("/api/v1/auth/token", json={"username": name})
    assert r.status_code == 422 and set(r.json["error"]["details"]["json"]) == {"password",
                                                                                 "device_id"}


def test_pull_with_cursor_returns_only_new_changes(signed_in, inside_points):
    dev = signed_in(grids=[GRID])
    dev.push(dev.op("inspection", "create", report(inside_points[GRID], "a")))
    changes, cursor = dev.pull_all()
    mine = [c for c in changes if c["entity"] == "inspection"]
    assert any(c["data"].get("note") == "a" for c in mine)
    assert dev.pull_all(cursor)[0] == []
    op = dev.op("inspection", "create", report(inside_points[GRID], "b"))
    dev.push(op)
    new, cursor2 = dev.pull_all(cursor)
    assert [c["id"] for c in new if c["entity"] == "inspection"] == [op["id"]]
    assert new[0]["data"]["created_by"] == dev.user["username"]
    assert dev.pull_all(cursor2)[0] == []


def test_device_mismatch_and_logout(signed_in, client):
    dev = signed_in()
    r = dev.post("/api/v1/sync/push", json={"device_id": "someone-else", "ops": []})
    assert r.status_code == 403 and r.json["error"]["code"] == "device_mismatch"
    r = client.delete("/api/v1/auth/token", headers=dev.headers)
    assert r.status_code == 204
    assert dev.get("/api/v1/me").status_code == 401


def test_devices_revoke_cli(app, signed_in):
    dev = signed_in()
    assert dev.get("/api/v1/me").status_code == 200
    result = app.test_cli_runner().invoke(args=["devices", "revoke", dev.device_id])
    assert result.exit_code == 0, result.output
    assert dev.get("/api/v1/me").status_code == 401
    bad = app.test_cli_runner().invoke(args=["devices", "revoke", "no-such-device"])
    assert bad.exit_code != 0 and "no device" in bad.output


def test_openapi_is_public_and_lists_the_contract(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/auth/token", "/api/v1/sync/push", "/api/v1/sync/pull",
                 "/api/v1/grids", "/api/v1/grids/match", "/api/v1/conflicts",
                 "/api/v1/attachments/{sha256}"):
        assert path in spec["paths"]


def test_passwords_are_hashed_with_argon2(make_user, db):
    name = make_user(password="a-secret-1")
    stored = db.execute("SELECT password_hash FROM app_user WHERE username = %s",
                        (name,)).fetchone()[0]
    assert stored.startswith("$argon2id$") and "a-secret-1" not in stored


def test_tokens_are_stored_hashed(signed_in, db):
    dev = signed_in()
    rows = db.execute("SELECT token_hash FROM token WHERE device_id = %s", (dev.device_id,)).fetchall()
    assert rows and all(r[0] != dev.token for r in rows)


def test_unknown_ids_do_not_500(signed_in):
    dev = signed_in()
    r = dev.post(f"/api/v1/conflicts/{uuid.uuid4()}/resolve", json={"base_version": 1, "data": {}})
    assert r.status_code in (403, 404)
    assert dev.get("/api/v1/nothing-here").status_code == 404
