"""Phones and ID numbers inside a household's ``members`` are masked like the top-level
``phone`` (PROTOCOL v1.1, "Writes that stay in scope"), on every path that returns them."""

from __future__ import annotations

import uuid

from tests.sync.helpers import GRID, household
from tests.sync.test_scope_and_conflicts import find_conflict

MEMBERS = [{"name": "王芳", "phone": "13912345678", "id_number": "320105199001011234"},
           {"name": "李雷", "relation": "子", "contacts": [{"phone": "13700001111"}]}]
MASKED = [{"name": "王芳", "phone": "139****5678", "id_number": "320***********1234"},
          {"name": "李雷", "relation": "子", "contacts": [{"phone": "137****1111"}]}]


def _audited(db, username: str, record_id: str) -> int:
    return db.execute(
        "SELECT count(*) FROM audit_log a JOIN app_user u ON u.id = a.user_id "
        "WHERE u.username = %s AND %s = ANY(a.record_ids)", (username, record_id)).fetchone()[0]


def test_members_are_masked_in_pull_for_all_but_the_grid_leader(signed_in, inside_points, db):
    leader = signed_in(role="grid_leader", grids=[GRID])
    patroller = signed_in(grids=[GRID])
    supervisor = signed_in(role="supervisor", areas=["320105001"])
    hid = str(uuid.uuid4())
    res = leader.push(leader.op("household", "create",
                                household(inside_points[GRID], members=MEMBERS), id=hid))
    assert res[0]["status"] == "applied", res
    for who in (patroller, supervisor):
        seen = {c["id"]: c for c in who.pull_all()[0]}
        assert seen[hid]["data"]["members"] == MASKED
        assert seen[hid]["data"]["phone"] == "138****5678"
    seen = {c["id"]: c for c in leader.pull_all()[0]}
    assert seen[hid]["data"]["members"] == MEMBERS
    assert _audited(db, leader.user["username"], hid) >= 1
    assert _audited(db, patroller.user["username"], hid) == 0


def test_a_household_with_only_members_phones_is_audited_when_read_unmasked(
        signed_in, inside_points, db):
    leader = signed_in(role="grid_leader", grids=[GRID])
    hid = str(uuid.uuid4())
    data = {k: v for k, v in household(inside_points[GRID], members=MEMBERS).items()
            if k != "phone"}
    leader.push(leader.op("household", "create", data, id=hid))
    leader.pull_all()
    assert _audited(db, leader.user["username"], hid) >= 1


def test_a_phone_stored_as_a_number_is_masked(signed_in, inside_points, db):
    """Records stored before validation (or by an old client) may hold numbers."""
    leader = signed_in(role="grid_leader", grids=[GRID])
    patroller = signed_in(grids=[GRID])
    hid = str(uuid.uuid4())
    leader.push(leader.op("household", "create", household(inside_points[GRID]), id=hid))
    db.execute("""UPDATE record SET data = data || '{"phone": 13812345678,
                      "members": [{"id_number": 320105199001011234}]}'::jsonb,
                      change_seq = nextval('change_seq') WHERE id = %s""", (hid,))
    seen = {c["id"]: c for c in patroller.pull_all()[0]}
    assert seen[hid]["data"]["phone"] == "138****5678"
    assert seen[hid]["data"]["members"] == [{"id_number": "320***********1234"}]


def test_conflicts_mask_members_on_every_side_and_refuse_masked_members(signed_in,
                                                                        inside_points):
    a = signed_in(role="grid_leader", grids=[GRID])
    b = signed_in(grids=[GRID])
    hid = str(uuid.uuid4())
    a.push(a.op("household", "create", household(inside_points[GRID], members=MEMBERS),
                id=hid))
    other = [{"name": "王芳", "phone": "13600002222"}]
    b.push(b.op("household", "update", {"members": other}, id=hid, base_version=1))
    mine = [{"name": "王芳", "id_number": "110105199001011234"}]
    cid = a.push(a.op("household", "update", {"members": mine}, id=hid,
                      base_version=1))[0]["conflict_id"]
    sup = signed_in(role="supervisor", areas=["320105001"])
    conflict = find_conflict(sup, cid)
    assert conflict["base"]["members"] == MASKED
    assert conflict["current"]["members"] == [{"name": "王芳", "phone": "136****2222"}]
    assert conflict["incoming"]["members"] == [{"name": "王芳",
                                                "id_number": "110***********1234"}]
    assert find_conflict(a, cid)["incoming"]["members"] == mine  # the grid leader needs it
    r = sup.post(f"/api/v1/conflicts/{cid}/resolve",
                 json={"base_version": conflict["record_version"],
                       "data": {"members": conflict["current"]["members"]}})
    assert r.status_code == 422 and r.json["error"]["code"] == "masked_value", r.json
    assert "members" in r.json["error"]["details"]
    r = sup.post(f"/api/v1/conflicts/{cid}/resolve",
                 json={"base_version": conflict["record_version"], "data": {"room": "909"}})
    assert r.status_code == 200, r.json
    # The record holds the grid leader's members; the supervisor sees them masked.
    assert r.json["record"]["members"] == [{"name": "王芳", "id_number": "110***********1234"}]
