"""docs/protocol.md, rules 1–4 and 8: exactly once, per-device order, held ops, impossible bases."""

from __future__ import annotations

import threading
import uuid

from tests.sync.helpers import GRID, household, record, statuses


def test_replayed_push_is_all_duplicate(signed_in, inside_points, db):
    dev = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    ops = [dev.op("household", "create", household(inside_points[GRID]), id=hid),
           dev.op("household", "update", {"note": "改"}, id=hid, base_version=1),
           dev.op("household", "update", {"room": "1"}, id=str(uuid.uuid4()), base_version=1)]
    first = dev.push(*ops)
    assert statuses(first) == ["applied", "applied", "rejected"]
    again = dev.push(*ops)
    assert statuses(again) == ["duplicate"] * 3
    assert [r["original_status"] for r in again] == ["applied", "applied", "rejected"]
    assert again[1]["version"] == 2
    assert record(db, hid)["version"] == 2


def test_op_id_reused_with_different_content_is_rejected(signed_in, inside_points, db):
    dev = signed_in(role="grid_leader", grids=[GRID])
    op = dev.op("household", "create", household(inside_points[GRID]))
    dev.push(op)
    changed = {**op, "data": {**op["data"], "note": "不同的内容"}}
    res = dev.push(changed)[0]
    assert res["status"] == "rejected" and res["code"] == "op_id_reused"
    assert record(db, op["id"])["data"].get("note") is None


def test_seq_reused_by_another_op_is_rejected(signed_in, inside_points):
    dev = signed_in(role="grid_leader", grids=[GRID])
    dev.push(dev.op("household", "create", household(inside_points[GRID]), seq=1))
    res = dev.push(dev.op("household", "create", household(inside_points[GRID]), seq=1))[0]
    assert res["status"] == "rejected" and res["code"] == "seq_reused"


def test_same_push_sent_concurrently_takes_effect_once(app, signed_in, inside_points, db):
    dev = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    ops = [dev.op("household", "create", household(inside_points[GRID]), id=hid)]
    ops += [dev.op("household", "update", {"members": n}, id=hid, base_version=1)
            for n in range(2, 40)]
    body = {"device_id": dev.device_id, "ops": ops}
    outcomes: list[list[str]] = []

    def send() -> None:
        with app.test_client() as c:
            r = c.post("/api/v1/sync/push", json=body, headers=dev.headers)
            outcomes.append([x["status"] for x in r.json["results"]])

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 3
    fresh = [o for o in outcomes if o[0] == "applied"]
    assert len(fresh) == 1 and all(set(o) == {"duplicate"} for o in outcomes if o not in fresh)
    rec = record(db, hid)
    assert rec["version"] == 39 and rec["data"]["members"] == 39
    versions = db.execute("SELECT count(*) FROM record_version WHERE record_id = %s",
                          (hid,)).fetchone()[0]
    assert versions == 39


def test_gap_is_held_then_applied_in_order(signed_in, inside_points, db):
    dev = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    create = dev.op("household", "create", household(inside_points[GRID]), id=hid)
    update = dev.op("household", "update", {"note": "后到的第二步"}, id=hid, base_version=1)
    third = dev.op("household", "update", {"room": "999"}, id=hid, base_version=2)
    held = dev.push(third, update)
    assert statuses(held) == ["held", "held"]
    assert db.execute("SELECT count(*) FROM record WHERE id = %s", (hid,)).fetchone()[0] == 0
    res = dev.push(create)
    assert statuses(res) == ["applied"]
    rec = record(db, hid)
    assert rec["version"] == 3 and rec["data"]["note"] == "后到的第二步"
    assert rec["data"]["room"] == "999"
    again = dev.push(update, third)
    assert statuses(again) == ["duplicate", "duplicate"]
    assert [r["original_status"] for r in again] == ["applied", "applied"]


def test_hold_timeout_applies_with_a_flag(app, signed_in, inside_points, db):
    dev = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    dev.push(dev.op("household", "create", household(inside_points[GRID]), id=hid, seq=1))
    lost = dev.op("household", "update", {"note": "丢了的那步"}, id=hid, base_version=1, seq=2)
    after_gap = dev.op("household", "update", {"room": "8"}, id=hid, base_version=1, seq=3)
    assert statuses(dev.push(after_gap)) == ["held"]
    old = app.config["SYNC_HOLD_SECONDS"]
    app.config["SYNC_HOLD_SECONDS"] = 0
    try:
        out = app.test_cli_runner().invoke(args=["sync", "release-held"])
    finally:
        app.config["SYNC_HOLD_SECONDS"] = old
    assert out.exit_code == 0 and "released=" in out.output
    rec = record(db, hid)
    assert rec["data"]["room"] == "8" and rec["version"] == 2
    assert rec["conflict"] == "soft"  # applied without its predecessor: flagged
    replay = dev.push(after_gap)[0]
    assert replay["status"] == "duplicate" and replay["original_status"] == "applied"
    assert replay.get("gap") is True
    # The lost op turns up at last: it still takes effect, after the others.
    late = dev.push(lost)[0]
    assert late["status"] in ("applied", "merged") and record(db, hid)["data"]["note"] == "丢了的那步"


def test_update_before_create_from_another_device_is_rejected(signed_in, inside_points):
    a = signed_in(role="grid_leader", grids=[GRID])
    res = a.push(a.op("household", "update", {"note": "x"}, id=str(uuid.uuid4()),
                      base_version=1))[0]
    assert res["status"] == "rejected" and res["code"] == "unknown_record"


def test_update_before_create_on_one_device_waits_for_the_create(signed_in, inside_points, db):
    dev = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    create = dev.op("household", "create", household(inside_points[GRID]), id=hid)
    update = dev.op("household", "update", {"note": "先到"}, id=hid, base_version=1)
    assert statuses(dev.push(update)) == ["held"]
    assert statuses(dev.push(create)) == ["applied"]
    assert record(db, hid)["data"]["note"] == "先到"


def test_impossible_base_is_rejected(signed_in, inside_points, db):
    dev = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    dev.push(dev.op("household", "create", household(inside_points[GRID]), id=hid))
    res = dev.push(dev.op("household", "update", {"note": "x"}, id=hid, base_version=7))[0]
    assert res["status"] == "rejected" and res["code"] == "base_ahead"
    assert record(db, hid)["version"] == 1


def test_partial_batch_keeps_good_ops(signed_in, inside_points, db):
    dev = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    results = dev.push(
        dev.op("household", "create", household(inside_points[GRID]), id=hid),
        dev.op("household", "update", {"members": "many"}, id=hid, base_version=1),
        dev.op("household", "update", {"members": 5}, id=hid, base_version=1),
        {"op_id": "garbage"},
        dev.op("household", "delete", id=str(uuid.uuid4()), base_version=1),
    )
    assert statuses(results) == ["applied", "rejected", "applied", "rejected", "rejected"]
    assert results[1]["errors"] == {"data.members": ["must be a count or a list of people"]}
    assert record(db, hid)["data"]["members"] == 5


def test_more_than_500_ops_is_413(signed_in):
    dev = signed_in()
    ops = [dev.op("inspection", "create", {"kind": "patrol"}) for _ in range(501)]
    body = dev.push(*ops, expect=413)
    assert body["error"]["code"] == "too_many_ops" and body["error"]["details"]["limit"] == 500


def test_a_rejected_op_after_a_gap_still_uses_up_its_seq(signed_in, inside_points, db):
    dev = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    create = dev.op("household", "create", household(inside_points[GRID]), id=hid)
    invalid = dev.op("household", "update", {"members": "?"}, id=hid, base_version=1)
    valid = dev.op("household", "update", {"note": "第三步"}, id=hid, base_version=1)
    assert statuses(dev.push(invalid, valid)) == ["rejected", "held"]
    assert statuses(dev.push(create)) == ["applied"]
    assert record(db, hid)["data"]["note"] == "第三步"
    nxt = dev.op("household", "update", {"room": "5"}, id=hid, base_version=2)
    assert statuses(dev.push(nxt)) == ["applied"]


def test_backup_restored_on_another_phone_is_duplicate_and_leaves_no_gap(
        signed_in, inside_points, client, db):
    from tests.conftest import ApiClient

    first = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    op = first.op("household", "create", household(inside_points[GRID]), id=hid)
    first.push(op)
    second = ApiClient(client, first.user["username"])  # the same worker's new phone
    restored = {**op, "device_seq": 1}
    res = second.push(restored)[0]
    assert res["status"] == "duplicate" and res["original_status"] == "applied"
    second.seq = 1
    nxt = second.op("household", "update", {"note": "新手机"}, id=hid, base_version=1)
    assert statuses(second.push(nxt)) == ["applied"]  # not held behind a phantom gap
    assert record(db, hid)["data"]["note"] == "新手机"
