"""PROTOCOL v1.1 "Writes that stay in scope": the department, and households' grids."""

from __future__ import annotations

import uuid

import pytest

from tests.sync.helpers import GRID, OTHER_GRID, household, incident, point, record
from tests.sync.test_deletes_and_status import walk

STREET = "320105001"  # GRID's street; OTHER_GRID lies in another one


def _new_incident(worker, inside_points, **extra) -> str:
    iid = str(uuid.uuid4())
    res = worker.push(worker.op("incident", "create", incident(inside_points[GRID], **extra),
                                id=iid))[0]
    assert res["status"] == "applied", res
    return iid


def _update(who, iid, base, **data):
    return who.push(who.op("incident", "update", data, id=iid, base_version=base))[0]


def _refused(res, code="forbidden", field="data.department"):
    assert (res["status"], res["code"]) == ("rejected", code), res
    assert field in res["errors"], res


@pytest.mark.parametrize("role", ["patroller", "grid_leader", "supervisor", "admin"])
def test_a_create_with_a_department_is_forbidden(signed_in, inside_points, db, role):
    kw = {"areas": [STREET]} if role == "supervisor" else {"grids": [GRID]}
    who = signed_in(role=role, **kw)
    bad = who.op("incident", "create", incident(inside_points[GRID], department="城管"))
    good = who.op("incident", "create", incident(inside_points[GRID], department=None))
    results = who.push(bad, good)
    _refused(results[0])
    assert results[1]["status"] == "applied"
    assert db.execute("SELECT count(*) FROM record WHERE id = %s",
                      (bad["id"],)).fetchone()[0] == 0


def test_department_changes_only_by_a_dispatch(signed_in, inside_points, db):
    worker = signed_in(grids=[GRID])
    sup = signed_in(role="supervisor", areas=[STREET])
    admin = signed_in(role="admin")
    dept = signed_in(role="department", dept="城管")
    iid = _new_incident(worker, inside_points)
    # Before any dispatch: not even a supervisor may name a department by an edit.
    _refused(_update(sup, iid, 1, department="城管", title="改标题"))
    v = walk(sup, iid, ["accepted", "filed"])
    _refused(_update(sup, iid, v, status="shelved", department="城管"))
    res = _update(sup, iid, v, status="dispatched", department="城管")
    assert res["status"] == "applied"
    v = res["version"]
    # Dispatched: a supervisor's or an admin's plain edit may neither move it nor clear it.
    for who in (sup, admin):
        _refused(_update(who, iid, v, department="市政"))
        _refused(_update(who, iid, v, department=None))
    # Nor may the department or the grid's worker, while handling it.
    _refused(_update(dept, iid, v, status="handled", department="市政"))
    _refused(_update(worker, iid, v, status="handled", department=None))
    rec = record(db, iid)
    assert (rec["version"], rec["data"]["department"], rec["data"]["title"]) == (v, "城管", "暴露垃圾")
    # Sending the department as it is is no change.
    res = _update(dept, iid, v, status="handled", department="城管")
    assert res["status"] == "applied"
    v = res["version"]
    # Rework (返工) may dispatch to another department.
    res = _update(sup, iid, v, status="dispatched", department="市政")
    assert res["status"] == "applied"
    assert record(db, iid)["data"]["department"] == "市政"


def test_a_return_may_clear_the_department_and_a_redispatch_names_one(signed_in, inside_points,
                                                                     db):
    worker = signed_in(grids=[GRID])
    sup = signed_in(role="supervisor", areas=[STREET])
    iid = _new_incident(worker, inside_points)
    v = walk(sup, iid, ["accepted", "filed", "dispatched"])
    _refused(_update(sup, iid, v, status="returned", department="公安"))
    res = _update(sup, iid, v, status="returned", department=None)
    assert res["status"] == "applied"
    v = res["version"]
    assert record(db, iid)["data"].get("department") is None
    _refused(_update(sup, iid, v, status="dispatched"), "validation")
    res = _update(sup, iid, v, status="dispatched", department="公安")
    assert res["status"] == "applied"


def test_a_dispatch_to_an_unknown_department_is_a_validation_error(signed_in, inside_points,
                                                                   db):
    worker = signed_in(grids=[GRID])
    sup = signed_in(role="supervisor", areas=[STREET])
    iid = _new_incident(worker, inside_points)
    v = walk(sup, iid, ["accepted", "filed"])
    _refused(_update(sup, iid, v, status="dispatched", department="不存在的部门"), "validation")
    rec = record(db, iid)
    assert rec["version"] == v and rec["data"]["status"] == "filed"
    assert "department" not in rec["data"]
    # The desk says the same, through the same rule.
    r = sup.post(f"/api/v1/desk/incidents/{iid}/transition",
                 json={"to": "dispatched", "base_version": v, "department": "不存在的部门"})
    assert r.status_code == 422 and r.json["error"]["code"] == "validation"
    # Only a supervisor dispatches, whatever the department.
    _refused(_update(worker, iid, v, status="dispatched", department="城管"), "forbidden",
             "data.status")


def test_a_conflict_resolution_cannot_set_the_department(signed_in, inside_points, db):
    sup = signed_in(role="supervisor", areas=[STREET])
    other = signed_in(role="supervisor", areas=[STREET])
    worker = signed_in(grids=[GRID])
    iid = _new_incident(worker, inside_points)
    assert _update(other, iid, 1, title="甲")["status"] == "applied"
    res = _update(sup, iid, 1, title="乙")
    assert res["status"] == "conflict", res
    r = sup.post(f"/api/v1/conflicts/{res['conflict_id']}/resolve",
                 json={"base_version": res["version"], "data": {"title": "甲",
                                                                 "department": "城管"}})
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden", r.json
    assert "department" not in record(db, iid)["data"]


def test_a_household_moved_out_of_scope_is_forbidden(signed_in, inside_points, db):
    leader = signed_in(role="grid_leader", grids=[GRID])
    sup = signed_in(role="supervisor", areas=[STREET])
    admin = signed_in(role="admin")
    hid = str(uuid.uuid4())
    leader.push(leader.op("household", "create", household(inside_points[GRID]), id=hid))
    lon, lat = inside_points[GRID]
    for who, to in ((leader, inside_points[OTHER_GRID]), (leader, (116.39, 39.9)),
                    (sup, inside_points[OTHER_GRID])):
        bad = who.op("household", "update", {"location": point(to), "note": "搬走"}, id=hid,
                     base_version=1)
        good = who.op("household", "update", {"room": "302"}, id=hid, base_version=1)
        res = who.push(bad, good)
        assert (res[0]["status"], res[0]["code"]) == ("rejected", "forbidden"), res[0]
        assert "data.location" in res[0]["errors"]
        assert res[1]["status"] in ("applied", "merged")
    rec = record(db, hid)
    assert rec["grid_code"] == GRID and rec["data"].get("note") is None
    assert rec["data"]["location"]["coordinates"] == [lon, lat]
    # Within the scope it moves; an admin may move it anywhere.
    v = rec["version"]
    res = leader.push(leader.op("household", "update", {"location": point((lon + 1e-6, lat))},
                                id=hid, base_version=v))[0]
    assert res["status"] == "applied" and res["grid_code"] == GRID
    res = admin.push(admin.op("household", "update",
                              {"location": point(inside_points[OTHER_GRID])}, id=hid,
                              base_version=res["version"]))[0]
    assert res["status"] == "applied" and res["grid_code"] == OTHER_GRID
