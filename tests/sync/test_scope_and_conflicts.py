"""docs/protocol.md, rules 9–10, pull scope, personal data, and resolving conflicts."""

from __future__ import annotations

import uuid

from tests.sync.helpers import GRID, OTHER_GRID, household, record, statuses


def test_field_user_cannot_touch_households_outside_their_grids(signed_in, inside_points, db):
    mine = signed_in(role="grid_leader", grids=[GRID])
    stranger = signed_in(grids=[OTHER_GRID])
    res = stranger.push(stranger.op("household", "create", household(inside_points[GRID])))[0]
    assert res["status"] == "rejected" and res["code"] == "forbidden"
    hid = str(uuid.uuid4())
    mine.push(mine.op("household", "create", household(inside_points[GRID]), id=hid))
    res = stranger.push(stranger.op("household", "update", {"note": "x"}, id=hid,
                                    base_version=1))[0]
    assert res["status"] == "rejected" and res["code"] == "forbidden"
    assert record(db, hid)["version"] == 1


def test_reports_outside_own_grids_are_kept_and_stay_editable(signed_in, inside_points, db):
    worker = signed_in(grids=[OTHER_GRID])
    op = worker.op("inspection", "create", {
        "kind": "patrol", "occurred_at": "2026-11-23T08:00:00+08:00",
        "location": {"type": "Point", "coordinates": list(inside_points[GRID])}})
    res = worker.push(op)[0]
    assert res["status"] == "applied" and res["grid_code"] == GRID
    edit = worker.push(worker.op("inspection", "update", {"note": "补充"}, id=op["id"],
                                 base_version=1))[0]
    assert edit["status"] == "applied"
    changes, _ = worker.pull_all()
    assert op["id"] in {c["id"] for c in changes}


def test_outside_every_grid_is_stored_and_flagged(signed_in, db):
    worker = signed_in(grids=[GRID])
    op = worker.op("inspection", "create", {
        "kind": "patrol", "occurred_at": "2026-11-23T08:00:00+08:00",
        "location": {"type": "Point", "coordinates": [116.39, 39.9]}})
    res = worker.push(op)[0]
    assert res["status"] == "applied" and res["grid_code"] is None
    assert res["match"] == "outside" and res["review"] == "outside_grids"
    assert record(db, op["id"])["grid_code"] is None


def test_gcj02_location_is_converted_before_matching(signed_in, inside_points, db):
    from geo.datum import from_wgs84

    worker = signed_in(grids=[GRID])
    lon, lat = inside_points[GRID]
    glon, glat = from_wgs84(lon, lat, "gcj02")
    op = worker.op("inspection", "create", {
        "kind": "patrol", "occurred_at": "2026-11-23T08:00:00+08:00",
        "location": {"type": "Point", "coordinates": [float(glon), float(glat)]},
        "location_datum": "gcj02", "location_accuracy_m": 12.5})
    res = worker.push(op)[0]
    assert res["grid_code"] == GRID
    stored = record(db, op["id"])["data"]
    assert abs(stored["location"]["coordinates"][0] - lon) < 1e-6
    assert "location_datum" not in stored and stored["location_accuracy_m"] == 12.5


def test_pull_is_isolated_and_a_new_grid_arrives(app, signed_in, inside_points):
    owner = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    owner.push(owner.op("household", "create", household(inside_points[GRID]), id=hid))
    other = signed_in(grids=[OTHER_GRID])
    changes, cursor = other.pull_all()
    assert hid not in {c["id"] for c in changes}
    out = app.test_cli_runner().invoke(args=["users", "set-grids", other.user["username"],
                                             "--grid", OTHER_GRID, "--grid", GRID])
    assert out.exit_code == 0, out.output
    changes, _ = other.pull_all(cursor)
    assert hid in {c["id"] for c in changes}


def test_supervisor_pull_is_scoped_to_their_street(signed_in, inside_points):
    worker = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    worker.push(worker.op("household", "create", household(inside_points[GRID]), id=hid))
    own_street = signed_in(role="supervisor", areas=["320105001"])
    other_street = signed_in(role="supervisor", areas=["320105002"])
    assert hid in {c["id"] for c in own_street.pull_all()[0]}
    assert hid not in {c["id"] for c in other_street.pull_all()[0]}


def test_phone_is_masked_except_for_the_grid_leader_and_audited(signed_in, inside_points, db):
    leader = signed_in(role="grid_leader", grids=[GRID])
    patroller = signed_in(grids=[GRID])
    hid = str(uuid.uuid4())
    leader.push(leader.op("household", "create", household(inside_points[GRID]), id=hid))
    seen = {c["id"]: c for c in patroller.pull_all()[0]}
    assert seen[hid]["data"]["phone"] == "138****5678"
    seen = {c["id"]: c for c in leader.pull_all()[0]}
    assert seen[hid]["data"]["phone"] == "13812345678"
    audited = db.execute(
        "SELECT count(*) FROM audit_log a JOIN app_user u ON u.id = a.user_id "
        "WHERE u.username = %s AND %s = ANY(a.record_ids)", (leader.user["username"], hid)
    ).fetchone()[0]
    assert audited >= 1


def find_conflict(client, cid: str, status: str = "open") -> dict:
    """Page through the caller's conflicts (oldest first) until ``cid`` turns up."""
    cursor = ""
    while True:
        page = client.get(f"/api/v1/conflicts?status={status}&limit=500&cursor={cursor}").json
        for conflict in page["conflicts"]:
            if conflict["id"] == cid:
                return conflict
        assert page["more"], f"conflict {cid} not listed"
        cursor = page["cursor"]


def _clash(signed_in, inside_points):
    a = signed_in(role="grid_leader", grids=[GRID])
    b = signed_in(grids=[GRID])
    hid = str(uuid.uuid4())
    a.push(a.op("household", "create", household(inside_points[GRID]), id=hid))
    b.push(b.op("household", "update", {"head_name": "张三"}, id=hid, base_version=1))
    res = a.push(a.op("household", "update", {"head_name": "李四"}, id=hid, base_version=1))[0]
    assert res["status"] == "conflict"
    return a, hid, res["conflict_id"]


def test_resolve_with_stale_base_is_409(signed_in, inside_points):
    leader, _, cid = _clash(signed_in, inside_points)
    r = leader.post(f"/api/v1/conflicts/{cid}/resolve",
                    json={"base_version": 2, "data": {"head_name": "张三"}})
    assert r.status_code == 409 and r.json["error"]["code"] == "stale_base"


def test_resolve_with_current_base_writes_a_version(signed_in, inside_points, db):
    leader, hid, cid = _clash(signed_in, inside_points)
    r = leader.post(f"/api/v1/conflicts/{cid}/resolve",
                    json={"base_version": 3, "data": {"head_name": "张三"}})
    assert r.status_code == 200, r.json
    rec = record(db, hid)
    assert rec["version"] == 4 and rec["data"]["head_name"] == "张三" and rec["conflict"] is None
    status = db.execute("SELECT status FROM conflict WHERE id = %s", (cid,)).fetchone()[0]
    assert status == "resolved"
    again = leader.post(f"/api/v1/conflicts/{cid}/resolve",
                        json={"base_version": 4, "data": {}})
    assert again.status_code == 409
    resolved = find_conflict(leader, cid, "resolved")
    assert resolved["resolved_by"] == leader.user["username"]


def test_clean_update_never_clears_a_hard_conflict(signed_in, inside_points, db):
    leader, hid, _ = _clash(signed_in, inside_points)
    leader.push(leader.op("household", "update", {"room": "808"}, id=hid, base_version=3))
    assert record(db, hid)["conflict"] == "hard"


def test_resolve_bad_input(signed_in, inside_points):
    leader, _, cid = _clash(signed_in, inside_points)
    r = leader.post(f"/api/v1/conflicts/{cid}/resolve", json={"data": {}})
    assert r.status_code == 422
    r = leader.post(f"/api/v1/conflicts/{cid}/resolve",
                    json={"base_version": 3, "data": {"members": "lots"}})
    assert r.status_code == 422 and "members" in r.json["error"]["details"]
    r = leader.post("/api/v1/conflicts/not-a-uuid/resolve", json={"base_version": 1, "data": {}})
    assert r.status_code == 404
    patroller = signed_in(grids=[GRID])
    r = patroller.post(f"/api/v1/conflicts/{cid}/resolve", json={"base_version": 3, "data": {}})
    assert r.status_code == 403
    assert statuses([]) == []


def test_conflict_values_are_masked_for_supervisors(signed_in, inside_points):
    a = signed_in(role="grid_leader", grids=[GRID])
    b = signed_in(grids=[GRID])
    hid = str(uuid.uuid4())
    a.push(a.op("household", "create", household(inside_points[GRID]), id=hid))
    b.push(b.op("household", "update", {"phone": "13911112222"}, id=hid, base_version=1))
    cid = a.push(a.op("household", "update", {"phone": "13733334444"}, id=hid,
                      base_version=1))[0]["conflict_id"]
    sup = signed_in(role="supervisor", areas=["320105001"])
    conflict = find_conflict(sup, cid)
    assert (conflict["base"]["phone"], conflict["current"]["phone"],
            conflict["incoming"]["phone"]) == ("138****5678", "139****2222", "137****4444")
    leader_view = find_conflict(a, cid)
    assert leader_view["incoming"]["phone"] == "13733334444"  # the grid leader needs it


def test_a_revoked_device_stays_revoked(app, signed_in, client):
    from tests.conftest import PASSWORD

    dev = signed_in()
    app.test_cli_runner().invoke(args=["devices", "revoke", dev.device_id])
    r = client.post("/api/v1/auth/token", json={"username": dev.user["username"],
                                                "password": PASSWORD, "device_id": dev.device_id})
    assert r.status_code == 403 and r.json["error"]["code"] == "device_revoked"


def test_resolve_lists_record_version_and_refuses_masked_or_illegal_values(signed_in,
                                                                           inside_points):
    from tests.sync.helpers import incident

    _, _, cid = _clash(signed_in, inside_points)
    sup = signed_in(role="supervisor", areas=["320105001"])
    conflict = find_conflict(sup, cid)
    assert conflict["record_version"] == 3
    r = sup.post(f"/api/v1/conflicts/{cid}/resolve",
                 json={"base_version": 3, "data": {"phone": "138****5678"}})
    assert r.status_code == 422 and r.json["error"]["code"] == "masked_value"
    # An incident clash resolved with a status the state machine forbids.
    a = signed_in(grids=["320105001001004"])
    b = signed_in(grids=["320105001001004"])
    iid = str(uuid.uuid4())
    a.push(a.op("incident", "create", incident(inside_points["320105001001004"]), id=iid))
    b.push(b.op("incident", "update", {"title": "乙"}, id=iid, base_version=1))
    icid = a.push(a.op("incident", "update", {"title": "甲"}, id=iid,
                       base_version=1))[0]["conflict_id"]
    r = sup.post(f"/api/v1/conflicts/{icid}/resolve",
                 json={"base_version": 3, "data": {"status": "closed"}})
    assert r.status_code == 409 and r.json["error"]["code"] == "illegal_transition"


def test_resolving_a_status_follows_every_rule_of_sync(signed_in, inside_points, db):
    """A resolution is a write like any other (sync.apply): a status it changes gets that
    stage's deadline, a dispatch needs a configured department, and notes are stamped."""
    from tests.sync.helpers import incident

    grid = "320105001001004"
    a, b = signed_in(grids=[grid]), signed_in(grids=[grid])
    sup = signed_in(role="supervisor", areas=["320105001"])
    iid = str(uuid.uuid4())
    a.push(a.op("incident", "create", incident(inside_points[grid]), id=iid))

    def clash(base: int) -> str:
        b.push(b.op("incident", "update", {"title": f"乙{base}"}, id=iid, base_version=base))
        return a.push(a.op("incident", "update", {"title": f"甲{base}"}, id=iid,
                           base_version=base))[0]["conflict_id"]

    def state():
        return db.execute("SELECT version, due_at, data->>'status', data->>'department', "
                          "conflict FROM record WHERE id = %s", (iid,)).fetchone()

    cid = clash(1)
    version, due_reported, *_ = state()
    r = sup.post(f"/api/v1/conflicts/{cid}/resolve", json={
        "base_version": version, "data": {"title": "定", "status": "accepted",
                                          "notes": [{"id": str(uuid.uuid4()), "text": "核实"}]}})
    assert r.status_code == 200, r.json
    version, due_accepted, status, _, flag = state()
    assert status == "accepted" and flag is None
    assert due_accepted != due_reported  # the accepted stage's own clock, not the old one
    by = db.execute("SELECT data->'notes'->0->>'by' FROM record WHERE id = %s",
                    (iid,)).fetchone()[0]
    assert by == sup.user["username"]  # stamped as any note is
    r = sup.post(f"/api/v1/desk/incidents/{iid}/transition",
                 json={"to": "filed", "base_version": version})
    assert r.status_code == 200, r.json
    cid = clash(r.json["result"]["version"])
    before = state()
    r = sup.post(f"/api/v1/conflicts/{cid}/resolve",
                 json={"base_version": before[0], "data": {"status": "dispatched"}})
    assert r.status_code == 422 and r.json["error"]["code"] == "validation", r.json
    assert state() == before  # nothing written; the conflict stays open
    r = sup.post(f"/api/v1/conflicts/{cid}/resolve", json={
        "base_version": before[0], "data": {"status": "dispatched", "department": "城管"}})
    assert r.status_code == 200, r.json
    _, due_dispatched, status, dept, flag = state()
    assert (status, dept, flag) == ("dispatched", "城管", None)
    assert due_dispatched != before[1]
