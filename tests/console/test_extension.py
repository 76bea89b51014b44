"""延时: asking for more time on a dispatched incident, and a supervisor's decision."""

from __future__ import annotations

from tests.console.helpers import inspection

STREET = "320105003"
GRID = "320105003005001"


def _dispatched(signed_in, inside_points):
    patroller = signed_in(grids=[GRID])
    rid = patroller.push(patroller.op("inspection", "create",
                                      inspection("report", inside_points[GRID])))[0]["incident_id"]
    sup = signed_in(role="supervisor", areas=[STREET])
    version = 1
    for to, extra in (("accepted", {}), ("filed", {}), ("dispatched", {"department": "城管"})):
        r = sup.post(f"/api/v1/desk/incidents/{rid}/transition",
                     json={"to": to, "base_version": version, **extra})
        assert r.status_code == 200, r.json
        version = r.json["result"]["version"]
    return patroller, sup, rid, version


def _due(db, rid):
    return db.execute("SELECT due_at FROM record WHERE id = %s", (rid,)).fetchone()[0]


def test_request_then_approval_moves_the_deadline(signed_in, inside_points, db):
    _, sup, rid, version = _dispatched(signed_in, inside_points)
    dept = signed_in(role="department", dept="城管")
    before = _due(db, rid)
    r = dept.post(f"/api/v1/desk/incidents/{rid}/extension",
                  json={"base_version": version, "minutes": 120, "reason": "等待配件"})
    assert r.status_code == 200, r.json
    version = r.json["result"]["version"]
    ext = r.json["incident"]["record"]["extension"]
    assert ext["status"] == "requested" and ext["requested_by"] == dept.user["username"]
    assert _due(db, rid) == before
    queue = sup.get("/api/v1/desk/incidents?extension=requested&limit=200").json["incidents"]
    assert rid in {i["id"] for i in queue}
    r = dept.post(f"/api/v1/desk/incidents/{rid}/extension",
                  json={"base_version": version, "decision": "approve"})
    assert r.status_code == 403
    r = sup.post(f"/api/v1/desk/incidents/{rid}/extension",
                 json={"base_version": version, "decision": "approve"})
    assert r.status_code == 200, r.json
    ext = r.json["incident"]["record"]["extension"]
    assert ext["status"] == "approved" and ext["minutes"] == 120
    assert ext["decided_by"] == sup.user["username"]
    assert (_due(db, rid) - before).total_seconds() == 120 * 60


def test_field_worker_asks_by_sync_and_bad_requests_are_refused(signed_in, inside_points, db):
    patroller, sup, rid, version = _dispatched(signed_in, inside_points)
    res = patroller.push(patroller.op("incident", "update", {
        "extension": {"status": "requested", "minutes": 60, "reason": "住户不在家"}},
        id=rid, base_version=version))[0]
    assert res["status"] == "applied", res
    # A worker cannot approve their own request.
    res = patroller.push(patroller.op("incident", "update", {
        "extension": {"status": "approved", "minutes": 60}}, id=rid,
        base_version=res["version"]))[0]
    assert res["status"] == "rejected" and res["code"] == "forbidden"
    r = sup.post(f"/api/v1/desk/incidents/{rid}/extension",
                 json={"base_version": version + 1, "decision": "refuse"})
    assert r.status_code == 200 and r.json["incident"]["record"]["extension"]["status"] == "refused"
    v = r.json["result"]["version"]
    assert sup.post(f"/api/v1/desk/incidents/{rid}/extension",
                    json={"base_version": v}).status_code == 422
    assert sup.post(f"/api/v1/desk/incidents/{rid}/extension",
                    json={"base_version": v, "minutes": 0}).status_code == 422
    assert sup.post(f"/api/v1/desk/incidents/{rid}/extension",
                    json={"base_version": 1, "minutes": 30}).status_code == 409
    r = sup.post(f"/api/v1/desk/incidents/{rid}/extension",
                 json={"base_version": v, "decision": "approve"})
    assert r.status_code == 422 and r.json["error"]["code"] == "validation"


def test_no_extension_before_dispatch(signed_in, inside_points):
    patroller = signed_in(grids=[GRID])
    rid = patroller.push(patroller.op("inspection", "create",
                                      inspection("report", inside_points[GRID])))[0]["incident_id"]
    sup = signed_in(role="supervisor", areas=[STREET])
    r = sup.post(f"/api/v1/desk/incidents/{rid}/extension",
                 json={"base_version": 1, "minutes": 30})
    assert r.status_code == 422
