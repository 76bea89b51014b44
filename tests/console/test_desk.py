"""The work-order desk: queues, transitions through the sync rules, history, errors."""

from __future__ import annotations

from tests.console.helpers import inspection, new_incident

STREET = "320105003"
GRID = "320105003005001"
OTHER_STREET = "320105004"


def _go(sup, rid, to, base, **extra):
    return sup.post(f"/api/v1/desk/incidents/{rid}/transition",
                    json={"to": to, "base_version": base, **extra})


def _detail(who, rid):
    r = who.get(f"/api/v1/desk/incidents/{rid}")
    assert r.status_code == 200, r.json
    return r.json


def test_whole_loop_with_department_rework_and_field_verification(signed_in, inside_points, db):
    p = inside_points[GRID]
    patroller = signed_in(grids=[GRID])
    op = patroller.op("inspection", "create", inspection("report", p, title="井盖缺失"))
    res = patroller.push(op)[0]
    rid = res["incident_id"]
    sup = signed_in(role="supervisor", areas=[STREET])
    dept = signed_in(role="department", dept="城管")
    other_dept = signed_in(role="department", dept="市政")

    page = sup.get(f"/api/v1/desk/incidents?status=reported&street={STREET}&limit=200").json
    item = next(i for i in page["incidents"] if i["id"] == rid)
    assert item["light"] == "green" and item["grid_code"] == GRID and item["due_at"]
    assert item["reporter"] == patroller.user["username"] and item["urgent"] is False
    assert item["title"] == "井盖缺失" and item["actions"] == ["accepted", "rejected"]
    assert page["counts"]["reported"] >= 1
    # The department sees nothing before dispatch.
    assert rid not in {i["id"] for i in dept.get("/api/v1/desk/incidents").json["incidents"]}

    version = 1
    for to, extra in (("accepted", {}), ("filed", {"note": "立案"}),
                      ("dispatched", {"department": "城管"})):
        r = _go(sup, rid, to, version, **extra)
        assert r.status_code == 200, r.json
        assert r.json["result"]["status"] == "applied"
        version = r.json["result"]["version"]
        assert r.json["incident"]["record"]["status"] == to
    assert _detail(sup, rid)["record"]["department"] == "城管"

    listed = dept.get("/api/v1/desk/incidents?status=dispatched").json["incidents"]
    mine = next(i for i in listed if i["id"] == rid)
    assert mine["actions"] == ["handled"]
    assert rid not in {i["id"] for i in other_dept.get("/api/v1/desk/incidents").json["incidents"]}
    assert other_dept.get(f"/api/v1/desk/incidents/{rid}").status_code == 404
    # A department may not return it (wrong role) ...
    r = _go(dept, rid, "returned", version)
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    # ... but marks it handled.
    r = _go(dept, rid, "handled", version, note="已处置")
    assert r.status_code == 200, r.json
    version = r.json["result"]["version"]
    # 核查 failed: rework (返工) back to the department.
    r = _go(sup, rid, "dispatched", version)
    assert r.status_code == 200, r.json
    version = r.json["result"]["version"]
    r = _go(dept, rid, "handled", version)
    version = r.json["result"]["version"]
    # The patroller verifies on site, through sync.
    changes, _ = patroller.pull_all()
    pulled = next(c for c in changes if c["id"] == rid)
    assert pulled["data"]["status"] == "handled"
    v = patroller.push(patroller.op("incident", "update", {"status": "verified"}, id=rid,
                                    base_version=pulled["version"]))[0]
    assert v["status"] == "applied", v
    r = _go(sup, rid, "closed", v["version"])
    assert r.status_code == 200, r.json

    detail = _detail(sup, rid)
    moves = [(h["from_status"], h["to_status"]) for h in detail["history"] if h["to_status"]]
    assert moves == [(None, "reported"), ("reported", "accepted"), ("accepted", "filed"),
                     ("filed", "dispatched"), ("dispatched", "handled"),
                     ("handled", "dispatched"), ("dispatched", "handled"),
                     ("handled", "verified"), ("verified", "closed")]
    by = {h["to_status"]: h["by"] for h in detail["history"] if h["to_status"]}
    assert by["verified"] == patroller.user["username"] and by["closed"] == sup.user["username"]
    assert detail["record"]["status"] == "closed" and detail["light"] is None
    assert detail["actions"] == [] and detail["grid"]["code"] == GRID
    assert {n["text"] for n in detail["record"]["notes"]} >= {"立案", "已处置"}
    assert db.execute("SELECT count(*) FROM conflict WHERE record_id = %s",
                      (rid,)).fetchone()[0] == 0


def test_illegal_stale_and_unknown(signed_in, inside_points, db):
    p = inside_points[GRID]
    dev = signed_in(grids=[GRID])
    rid = new_incident(dev, p)
    sup = signed_in(role="supervisor", areas=[STREET])
    r = _go(sup, rid, "closed", 1)
    assert r.status_code == 409 and r.json["error"]["code"] == "illegal_transition"
    r = _go(sup, rid, "reported", 1)
    assert r.status_code == 409 and r.json["error"]["code"] == "illegal_transition"
    # No conflict record and no new version are left behind by a refused desk change.
    assert db.execute("SELECT count(*) FROM conflict WHERE record_id = %s",
                      (rid,)).fetchone()[0] == 0
    assert db.execute("SELECT version FROM record WHERE id = %s", (rid,)).fetchone()[0] == 1
    assert _go(sup, rid, "accepted", 1).status_code == 200
    r = _go(sup, rid, "filed", 1)
    assert r.status_code == 409 and r.json["error"]["code"] == "stale_version"
    assert r.json["error"]["details"]["current_version"] == 2
    r = _go(sup, rid, "dispatched", 2)
    assert r.status_code == 409  # accepted -> dispatched skips filing
    assert _go(sup, rid, "filed", 2).status_code == 200
    r = _go(sup, rid, "dispatched", 3)
    assert r.status_code == 422 and "department" in str(r.json["error"]["details"])
    r = _go(sup, rid, "dispatched", 3, department="不存在的部门")
    assert r.status_code == 422
    other = signed_in(role="supervisor", areas=[OTHER_STREET])
    assert _go(other, rid, "dispatched", 3, department="城管").status_code == 404
    assert other.get(f"/api/v1/desk/incidents/{rid}").status_code == 404
    assert rid not in {i["id"] for i in other.get("/api/v1/desk/incidents").json["incidents"]}
    for bad in ("not-a-uuid", "6f1c3c8e-3c55-4d3e-9d2b-4b7f0f5d9e21"):
        assert sup.get(f"/api/v1/desk/incidents/{bad}").status_code == 404
        assert _go(sup, bad, "accepted", 1).status_code == 404


def test_field_users_get_403_and_bad_input_is_json(signed_in, inside_points):
    p = inside_points[GRID]
    dev = signed_in(grids=[GRID])
    rid = new_incident(dev, p)
    for path in ("/api/v1/desk/incidents", f"/api/v1/desk/incidents/{rid}"):
        r = dev.get(path)
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    r = _go(dev, rid, "accepted", 1)
    assert r.status_code == 403
    sup = signed_in(role="supervisor", areas=[STREET])
    for body in ({"base_version": 1}, {"to": "accepted"}, {"to": "done", "base_version": 1},
                 {"to": "accepted", "base_version": "1"}, {"to": "accepted", "base_version": 0}):
        r = sup.post(f"/api/v1/desk/incidents/{rid}/transition", json=body)
        assert r.status_code == 422 and r.json["error"]["code"] == "validation", body
    r = sup.post(f"/api/v1/desk/incidents/{rid}/transition", data="{oops",
                 content_type="application/json")
    assert r.status_code == 400
    for query in ("status=bogus", "limit=0", "overdue=maybe", "light=blue"):
        r = sup.get(f"/api/v1/desk/incidents?{query}")
        assert r.status_code == 422 and "error" in r.json, query
    r = sup.get("/api/v1/desk/incidents?cursor=garbage")
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_cursor"


def test_overdue_red_queue_and_paging(signed_in, inside_points, db):
    grid = "320105003005002"
    p = inside_points[grid]
    dev = signed_in(grids=[grid])
    ids = [new_incident(dev, p, title=f"事件{i}", urgent=i == 0) for i in range(3)]
    db.execute("UPDATE record SET due_at = now() - interval '2 minutes' WHERE id = %s",
               (ids[2],))
    sup = signed_in(role="supervisor", areas=[grid])
    red = sup.get("/api/v1/desk/incidents?overdue=true").json["incidents"]
    assert [i["id"] for i in red] == [ids[2]] and red[0]["light"] == "red"
    assert ids[2] in {i["id"] for i in
                      sup.get("/api/v1/desk/incidents?light=red").json["incidents"]}
    assert ids[2] not in {i["id"] for i in
                          sup.get("/api/v1/desk/incidents?overdue=false").json["incidents"]}
    urgent = sup.get("/api/v1/desk/incidents?urgent=true").json["incidents"]
    assert [i["id"] for i in urgent] == [ids[0]]
    seen, cursor = [], None
    while True:
        r = sup.get("/api/v1/desk/incidents?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200
        seen += [i["id"] for i in r.json["incidents"]]
        cursor = r.json["cursor"]
        if not r.json["more"]:
            break
    assert sorted(seen) == sorted(ids) and seen[0] == ids[2]  # soonest deadline first


def test_departments_and_record_popup(signed_in, inside_points):
    sup = signed_in(role="supervisor", areas=[STREET])
    assert sup.get("/api/v1/desk/departments").json["departments"] == [
        "城管", "市政", "公安", "消防", "环保", "住建"]
    p = inside_points[GRID]
    dev = signed_in(grids=[GRID])
    op = dev.op("inspection", "create", inspection("visit", p, photos=["a" * 64]))
    dev.push(op)
    r = sup.get(f"/api/v1/desk/records/{op['id']}")
    assert r.status_code == 200
    body = r.json
    assert body["entity"] == "inspection" and body["record"]["created_by"] == dev.user["username"]
    assert body["photos"] == [{"sha256": "a" * 64, "url": f"/api/v1/attachments/{'a' * 64}",
                               "stored": False}]
    assert body["history"][0]["version"] == 1
    assert dev.get(f"/api/v1/desk/records/{op['id']}").status_code == 200  # its author
    other = signed_in(role="supervisor", areas=[OTHER_STREET])
    assert other.get(f"/api/v1/desk/records/{op['id']}").status_code == 404
