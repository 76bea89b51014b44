"""docs/protocol.md, rules 6, 7 and 11: deletes, and the incident state machine with roles."""

from __future__ import annotations

import uuid

from tests.sync.helpers import GRID, household, incident, record, statuses


def test_edit_after_delete_is_a_conflict_and_stays_deleted(signed_in, inside_points, db):
    a = signed_in(role="grid_leader", grids=[GRID])
    b = signed_in(grids=[GRID])
    hid = str(uuid.uuid4())
    a.push(a.op("household", "create", household(inside_points[GRID]), id=hid))
    assert statuses(a.push(a.op("household", "delete", id=hid, base_version=1))) == ["applied"]
    res = b.push(b.op("household", "update", {"note": "删了还改"}, id=hid, base_version=1))[0]
    assert res["status"] == "conflict" and res["code"] == "record_deleted"
    rec = record(db, hid)
    assert rec["deleted"] and rec["data"].get("note") is None
    kept = db.execute("SELECT incoming->>'note' FROM conflict WHERE id = %s",
                      (res["conflict_id"],)).fetchone()[0]
    assert kept == "删了还改"


def test_stale_delete_is_a_conflict_and_not_applied(signed_in, inside_points, db):
    a = signed_in(role="grid_leader", grids=[GRID])
    b = signed_in(grids=[GRID])
    hid = str(uuid.uuid4())
    a.push(a.op("household", "create", household(inside_points[GRID]), id=hid))
    b.push(b.op("household", "update", {"phone": "13700000000"}, id=hid, base_version=1))
    res = a.push(a.op("household", "delete", id=hid, base_version=1))[0]
    assert res["status"] == "conflict" and res["code"] == "stale_delete"
    rec = record(db, hid)
    assert not rec["deleted"] and rec["data"]["phone"] == "13700000000"


def test_pull_carries_tombstones(signed_in, inside_points):
    a = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    a.push(a.op("household", "create", household(inside_points[GRID]), id=hid))
    _, cursor = a.pull_all()
    a.push(a.op("household", "delete", id=hid, base_version=1))
    changes, _ = a.pull_all(cursor)
    assert [(c["id"], c["deleted"], c["version"]) for c in changes] == [(hid, True, 2)]


def walk(sup, iid, steps, dept="城管"):
    """Move an incident through statuses as a supervisor; returns the last version."""
    version = 1
    for status in steps:
        data = {"status": status}
        if status == "dispatched":
            data["department"] = dept
        res = sup.push(sup.op("incident", "update", data, id=iid, base_version=version))[0]
        assert res["status"] == "applied", res
        version = res["version"]
    return version


def test_offline_handled_after_close_is_an_illegal_transition(signed_in, inside_points, db):
    worker = signed_in(grids=[GRID])
    sup = signed_in(role="supervisor", areas=["320105001"])
    iid = str(uuid.uuid4())
    worker.push(worker.op("incident", "create", incident(inside_points[GRID]), id=iid))
    v = walk(sup, iid, ["accepted", "filed", "dispatched"])
    # The worker saw it dispatched and goes offline; meanwhile the desk finishes it.
    walk_from = v
    for status in ["handled", "verified", "closed"]:
        walk_from = sup.push(sup.op("incident", "update", {"status": status}, id=iid,
                                    base_version=walk_from))[0]["version"]
    res = worker.push(worker.op("incident", "update", {"status": "handled", "note": "已处理"},
                                id=iid, base_version=v))[0]
    assert res["status"] == "conflict" and res["code"] == "illegal_transition"
    rec = record(db, iid)
    assert rec["data"]["status"] == "closed"
    row = db.execute("SELECT incoming, current FROM conflict WHERE id = %s",
                     (res["conflict_id"],)).fetchone()
    assert row[0] == {"status": "handled", "note": "已处理"} and row[1]["status"] == "closed"


def test_wrong_role_is_forbidden(signed_in, inside_points, db):
    worker = signed_in(grids=[GRID])
    iid = str(uuid.uuid4())
    worker.push(worker.op("incident", "create", incident(inside_points[GRID]), id=iid))
    res = worker.push(worker.op("incident", "update", {"status": "accepted"}, id=iid,
                                base_version=1))[0]
    assert res["status"] == "rejected" and res["code"] == "forbidden"
    assert record(db, iid)["data"]["status"] == "reported"


def test_department_handles_and_grid_worker_verifies(signed_in, inside_points, db):
    worker = signed_in(grids=[GRID])
    sup = signed_in(role="supervisor", areas=["320105001"])
    dept = signed_in(role="department", dept="市政")
    other_dept = signed_in(role="department", dept="公安")
    iid = str(uuid.uuid4())
    worker.push(worker.op("incident", "create", incident(inside_points[GRID], urgent=True),
                          id=iid))
    v = walk(sup, iid, ["accepted", "filed", "dispatched"], dept="市政")
    res = other_dept.push(other_dept.op("incident", "update", {"status": "handled"}, id=iid,
                                        base_version=v))[0]
    assert res["status"] == "rejected" and res["code"] == "forbidden"
    res = dept.push(dept.op("incident", "update", {"status": "handled"}, id=iid,
                            base_version=v))[0]
    assert res["status"] == "applied"
    res = worker.push(worker.op("incident", "update", {"status": "verified"}, id=iid,
                                base_version=res["version"]))[0]
    assert res["status"] == "applied"
    rec = record(db, iid)
    assert rec["data"]["status"] == "verified"
    due = db.execute("SELECT due_at > now() FROM record WHERE id = %s", (iid,)).fetchone()[0]
    assert due


def test_report_and_handle_inspections_create_incidents(signed_in, inside_points, db):
    worker = signed_in(grids=[GRID])
    rid, hid_ = str(uuid.uuid4()), str(uuid.uuid4())
    inc_a, inc_b = str(uuid.uuid4()), str(uuid.uuid4())
    base = {"occurred_at": "2026-11-23T08:00:00+08:00",
            "location": {"type": "Point", "coordinates": list(inside_points[GRID])}}
    res = worker.push(
        worker.op("inspection", "create", {**base, "kind": "report", "incident_id": inc_a,
                                            "category": "安全隐患", "urgent": True}, id=rid),
        worker.op("inspection", "create", {**base, "kind": "handle", "incident_id": inc_b,
                                            "note": "已劝离"}, id=hid_))
    assert statuses(res) == ["applied", "applied"]
    assert record(db, inc_a)["data"]["status"] == "reported"
    assert record(db, inc_a)["data"]["urgent"] is True
    assert record(db, inc_b)["data"]["status"] == "self_handled"
    assert record(db, inc_b)["grid_code"] == GRID
