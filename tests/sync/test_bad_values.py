"""PROTOCOL v1.1 "Bad values in an op": one bad op is rejected, the good ones go on."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.sync.helpers import GRID, household, point, record

OCCURRED = "2026-11-23T08:15:00+08:00"


def inspection(xy: tuple[float, float], **extra: Any) -> dict[str, Any]:
    return {"kind": "patrol", "occurred_at": OCCURRED, "location": point(xy), **extra}


def nested(depth: int) -> Any:
    """``depth`` lists, one inside the other."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def assert_nothing_of(db, op: dict[str, Any]) -> None:
    assert db.execute("SELECT count(*) FROM record WHERE id = %s",
                      (op["id"],)).fetchone()[0] == 0


def assert_good_and_bad(db, results: list[dict[str, Any]], good: dict[str, Any],
                        bad: dict[str, Any], path: str) -> None:
    by_id = {r["op_id"]: r for r in results}
    assert by_id[good["op_id"]]["status"] == "applied", by_id[good["op_id"]]
    assert record(db, good["id"])["version"] == 1
    result = by_id[bad["op_id"]]
    assert (result["status"], result["code"]) == ("rejected", "validation"), result
    assert path in result["errors"], result["errors"]
    assert_nothing_of(db, bad)


def future(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="seconds")


# (what, how the bad op's data differs from a good one, the path named in errors)
DATA_CASES = [
    ("NUL in a string", {"note": "垃圾\x00堆积"}, "data.note"),
    ("NUL in a nested string", {"extra": {"who": ["张\x00三"]}}, "data.extra.who[0]"),
    ("NUL in a key", {"no\x00te": "x"}, "data"),
    ("integer above 2^53 - 1", {"count": 2**53}, "data.count"),
    ("integer below -(2^53 - 1)", {"count": -(2**53)}, "data.count"),
    ("integer of 2^63", {"extra": {"n": 2**63}}, "data.extra.n"),
    ("33 levels inside data", {"extra": nested(33)}, "data"),
    ("subnormal longitude", {"location": point((5e-324, 32.0))}, "data.location"),
    ("subnormal latitude", {"location": point((118.7, -5e-324))}, "data.location"),
    ("longitude out of range", {"location": point((180.5, 32.0))}, "data.location"),
    ("latitude out of range", {"location": point((118.7, 90.01))}, "data.location"),
    ("altitude too low", {"location": {"type": "Point", "coordinates": [118.7, 32.0, -1001]}},
     "data.location"),
    ("altitude too high",
     {"location": {"type": "Point", "coordinates": [118.7, 32.0, 100_001]}}, "data.location"),
    ("subnormal in a track", {"track": {"type": "LineString",
                                        "coordinates": [[118.7, 32.0], [118.7, 2.5e-320]]}},
     "data.track"),
    ("negative accuracy", {"location_accuracy_m": -0.5}, "data.location_accuracy_m"),
    ("accuracy above 100 km", {"location_accuracy_m": 100_000.5}, "data.location_accuracy_m"),
    ("occurred_at not RFC 3339", {"occurred_at": "昨天下午"}, "data.occurred_at"),
    ("occurred_at without offset", {"occurred_at": "2026-11-23T08:15:00"}, "data.occurred_at"),
    ("occurred_at before 2000", {"occurred_at": "1999-12-31T23:59:59+00:00"},
     "data.occurred_at"),
    ("started_at more than a day ahead", {"started_at": future(1.1)}, "data.started_at"),
    ("ended_at ISO but not RFC 3339", {"ended_at": "20261123T081500+0800"}, "data.ended_at"),
]


@pytest.mark.parametrize(("what", "change", "path"), DATA_CASES,
                         ids=[c[0] for c in DATA_CASES])
def test_one_bad_value_rejects_only_its_op(signed_in, inside_points, db, what, change, path):
    worker = signed_in(grids=[GRID])
    bad = worker.op("inspection", "create", {**inspection(inside_points[GRID]), **change})
    good = worker.op("inspection", "create", inspection(inside_points[GRID]))
    results = worker.push(bad, good)
    assert_good_and_bad(db, results, good, bad, path)
    # The rejected op used up its device_seq (rule 4): the next one is not held.
    follow = worker.op("inspection", "create", inspection(inside_points[GRID]))
    assert worker.push(follow)[0]["status"] == "applied"
    logged = db.execute("SELECT status FROM op_log WHERE op_id = %s", (bad["op_id"],)).fetchone()
    assert logged == ("rejected",)


@pytest.mark.parametrize(("key", "value", "path"), [
    ("recorded_at", "yesterday-ish", "recorded_at"),
    ("recorded_at", "2026-11-23 08:15:00+08:00", "recorded_at"),
    ("recorded_at", "1970-01-01T00:00:00Z", "recorded_at"),
    ("recorded_at", future(2), "recorded_at"),
    ("entity", "inspection\x00", "entity"),
    ("id\x00", "x", "op"),
])
def test_bad_envelope_values(signed_in, inside_points, db, key, value, path):
    worker = signed_in(grids=[GRID])
    bad = worker.op("inspection", "create", inspection(inside_points[GRID]))
    bad[key] = value
    good = worker.op("inspection", "create", inspection(inside_points[GRID]))
    results = worker.push(bad, good)
    assert_good_and_bad(db, results, good, bad, path)
    # A NUL cannot go into jsonb or text: the op is logged without it.
    payload = db.execute("SELECT payload FROM op_log WHERE op_id = %s",
                         (bad["op_id"],)).fetchone()[0]
    assert "\x00" not in json.dumps(payload)


def test_values_at_the_limits_are_kept(signed_in, inside_points, db):
    worker = signed_in(grids=[GRID])
    op = worker.op("inspection", "create", inspection(
        inside_points[GRID], extra=nested(32), count=2**53 - 1, location_accuracy_m=100_000,
        started_at="2000-01-01T00:00:00Z", ended_at=future(0.9)))
    op["data"]["location"]["coordinates"].append(-1000)
    op["recorded_at"] = future(0.9)
    assert worker.push(op)[0]["status"] == "applied"
    stored = record(db, op["id"])["data"]
    assert stored["extra"] == nested(32) and stored["count"] == 2**53 - 1


def test_device_seq_of_2_63_is_a_rejected_op_not_a_500(signed_in, inside_points, db):
    worker = signed_in(grids=[GRID])
    bad = worker.op("inspection", "create", inspection(inside_points[GRID]), seq=2**63)
    huge = worker.op("inspection", "create", inspection(inside_points[GRID]), seq=2**64)
    good = worker.op("inspection", "create", inspection(inside_points[GRID]))
    results = worker.push(bad, huge, good)
    assert_good_and_bad(db, results, good, bad, "device_seq")
    assert_good_and_bad(db, results, good, huge, "device_seq")
    next_seq = db.execute("SELECT next_seq FROM device WHERE id = %s",
                          (worker.device_id,)).fetchone()[0]
    assert next_seq == good["device_seq"] + 1


def test_base_version_of_2_63_is_rejected_and_uses_up_its_seq(signed_in, inside_points, db):
    worker = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    worker.push(worker.op("household", "create", household(inside_points[GRID]), id=hid))
    bad = worker.op("household", "update", {"note": "x"}, id=hid, base_version=2**63)
    good = worker.op("inspection", "create", inspection(inside_points[GRID]))
    results = worker.push(bad, good)
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert results[0]["code"] == "validation" and "base_version" in results[0]["errors"]
    assert record(db, hid)["version"] == 1 and record(db, hid)["data"].get("note") is None


def _raw_push(worker, ops_json: str):
    body = f'{{"device_id": {json.dumps(worker.device_id)}, "ops": [{ops_json}]}}'
    return worker.client.post("/api/v1/sync/push", data=body.encode(),
                              headers={**worker.headers, "Content-Type": "application/json"})


def test_data_nested_1000_deep_is_refused_per_op(signed_in, inside_points, db):
    worker = signed_in(grids=[GRID])
    bad = worker.op("inspection", "create", inspection(inside_points[GRID], extra="DEEP"))
    good = worker.op("inspection", "create", inspection(inside_points[GRID]))
    # Built as text: json.dumps itself cannot write a value nested this deep.
    bad_json = json.dumps(bad).replace('"DEEP"', "[" * 1000 + "]" * 1000)
    r = _raw_push(worker, bad_json + ", " + json.dumps(good))
    assert r.status_code == 200, r.json
    assert_good_and_bad(db, r.json["results"], good, bad, "data")
    # A resend is recognised as the same op.
    again = _raw_push(worker, bad_json)
    assert again.json["results"][0]["status"] == "duplicate"


def test_beyond_the_parser_depth_and_1e999_are_a_4xx(signed_in, inside_points, db):
    worker = signed_in(grids=[GRID])
    bad = worker.op("inspection", "create", inspection(inside_points[GRID], extra="X"))
    for value in ("[" * 5000 + "]" * 5000, "1e999", "-1e999"):
        r = _raw_push(worker, json.dumps(bad).replace('"X"', value))
        assert 400 <= r.status_code < 500 and r.json["error"]["code"], r.data[:200]
    assert_nothing_of(db, bad)


def test_a_value_postgresql_refuses_costs_only_its_op(signed_in, inside_points, db):
    """Whatever slips past validation and makes PostgreSQL raise fails only that op."""
    db.execute("""
        CREATE FUNCTION test_refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.data->>'note' = 'boom' THEN
                RAISE EXCEPTION 'refused' USING ERRCODE = 'data_exception';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_refuse_boom BEFORE INSERT OR UPDATE ON record
            FOR EACH ROW EXECUTE FUNCTION test_refuse_boom();
    """)
    try:
        worker = signed_in(grids=[GRID])
        first = worker.op("inspection", "create", inspection(inside_points[GRID]))
        bad = worker.op("inspection", "create", inspection(inside_points[GRID], note="boom"))
        good = worker.op("inspection", "create", inspection(inside_points[GRID]))
        chained = worker.op("inspection", "update", {"note": "补充"}, id=first["id"],
                            base_version=1)
        results = worker.push(first, bad, good, chained)
    finally:
        db.execute("DROP TRIGGER test_refuse_boom ON record; DROP FUNCTION test_refuse_boom()")
    assert [r["status"] for r in results] == ["applied", "rejected", "applied", "applied"]
    assert results[1]["code"] == "validation"
    assert_nothing_of(db, bad)
    assert record(db, first["id"])["version"] == 2 and record(db, good["id"])["version"] == 1
    assert db.execute("SELECT status FROM op_log WHERE op_id = %s",
                      (bad["op_id"],)).fetchone() == ("rejected",)


def test_a_held_op_that_is_no_longer_valid_is_rejected_when_its_turn_comes(
        signed_in, inside_points, db):
    worker = signed_in(grids=[GRID])
    first = worker.op("inspection", "create", inspection(inside_points[GRID]))
    later = worker.op("inspection", "create", inspection(inside_points[GRID]))
    assert worker.push(later)[0]["status"] == "held"
    # As if it had been held before "yesterday-ish" was refused.
    db.execute("UPDATE op_log SET payload = jsonb_set(payload, '{recorded_at}', "
               "'\"yesterday-ish\"') WHERE op_id = %s", (later["op_id"],))
    assert worker.push(first)[0]["status"] == "applied"
    row = db.execute("SELECT status, result->>'code' FROM op_log WHERE op_id = %s",
                     (later["op_id"],)).fetchone()
    assert row == ("rejected", "validation")
    assert_nothing_of(db, later)
    follow = worker.op("inspection", "create", inspection(inside_points[GRID]))
    assert worker.push(follow)[0]["status"] == "applied"
