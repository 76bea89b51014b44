"""docs/protocol.md, rule 5: field-level three-way merge, on real PostGIS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.sync.helpers import GRID, household, record, statuses


def two_devices(signed_in):
    return signed_in(role="grid_leader", grids=[GRID]), signed_in(grids=[GRID])


def test_disjoint_fields_merge(signed_in, inside_points, db):
    a, b = two_devices(signed_in)
    hid = str(uuid.uuid4())
    assert statuses(a.push(a.op("household", "create", household(inside_points[GRID]), id=hid))) \
        == ["applied"]
    assert b.push(b.op("household", "update", {"phone": "13900000000"}, id=hid,
                       base_version=1))[0]["version"] == 2
    res = a.push(a.op("household", "update", {"address": "新地址 8 号"}, id=hid, base_version=1))
    assert res[0]["status"] == "merged" and res[0]["version"] == 3
    rec = record(db, hid)
    assert rec["data"]["phone"] == "13900000000" and rec["data"]["address"] == "新地址 8 号"
    assert rec["conflict"] == "soft"


def test_same_field_different_values_is_a_conflict_with_three_values(signed_in, inside_points,
                                                                     db, client):
    a, b = two_devices(signed_in)
    hid = str(uuid.uuid4())
    a.push(a.op("household", "create", household(inside_points[GRID], note="原"), id=hid))
    b.push(b.op("household", "update", {"note": "B 改"}, id=hid, base_version=1))
    res = a.push(a.op("household", "update", {"note": "A 改", "room": "302"}, id=hid,
                      base_version=1))[0]
    assert res["status"] == "conflict" and res["code"] == "concurrent_edit"
    assert res["version"] == 3 and res["conflict_id"]
    rec = record(db, hid)
    assert rec["data"]["note"] == "A 改" and rec["data"]["room"] == "302"  # later arrival wins
    assert rec["conflict"] == "hard"
    sup = a  # the grid leader reviews conflicts in their grid
    from tests.sync.test_scope_and_conflicts import find_conflict

    conflict = find_conflict(sup, res["conflict_id"])
    assert conflict["fields"] == ["note"]
    assert (conflict["base"]["note"], conflict["current"]["note"], conflict["incoming"]["note"]) \
        == ("原", "B 改", "A 改")
    assert conflict["base_version"] == 1 and conflict["current_version"] == 2
    assert conflict["incoming_by"]["device_id"] == a.device_id
    assert conflict["current_by"]["device_id"] == b.device_id


def test_same_field_same_value_is_no_conflict(signed_in, inside_points, db):
    a, b = two_devices(signed_in)
    hid = str(uuid.uuid4())
    a.push(a.op("household", "create", household(inside_points[GRID]), id=hid))
    b.push(b.op("household", "update", {"tags": ["独居老人"], "members": 1}, id=hid,
                base_version=1))
    res = a.push(a.op("household", "update", {"members": 1}, id=hid, base_version=1))[0]
    assert res["status"] in ("applied", "merged") and "conflict_id" not in res
    assert record(db, hid)["conflict"] in (None, "soft")


def test_own_chained_edits_are_never_concurrent(signed_in, inside_points, db):
    a, _ = two_devices(signed_in)
    hid = str(uuid.uuid4())
    results = a.push(
        a.op("household", "create", household(inside_points[GRID]), id=hid),
        a.op("household", "update", {"note": "一"}, id=hid, base_version=1),
        a.op("household", "update", {"note": "二"}, id=hid, base_version=1),
    )
    assert statuses(results) == ["applied", "applied", "applied"]
    rec = record(db, hid)
    assert rec["data"]["note"] == "二" and rec["version"] == 3 and rec["conflict"] is None


def test_concurrent_note_appends_form_a_union(signed_in, inside_points, db):
    from tests.sync.helpers import incident

    a, b = two_devices(signed_in)
    iid = str(uuid.uuid4())
    a.push(a.op("incident", "create", incident(inside_points[GRID]), id=iid))
    na = {"id": str(uuid.uuid4()), "text": "A 的备注", "at": "2026-11-23T09:00:00+08:00"}
    nb = {"id": str(uuid.uuid4()), "text": "B 的备注", "at": "2026-11-23T09:01:00+08:00"}
    photo = "a" * 64
    b.push(b.op("incident", "update", {"notes": [nb], "photos": [photo]}, id=iid, base_version=1))
    res = a.push(a.op("incident", "update", {"notes": [na]}, id=iid, base_version=1))[0]
    assert res["status"] == "merged"
    rec = record(db, iid)
    assert [n["text"] for n in rec["data"]["notes"]] == ["B 的备注", "A 的备注"]
    assert {n["by"] for n in rec["data"]["notes"]} == {a.user["username"], b.user["username"]}
    assert rec["data"]["photos"] == [photo]
    # A device sending its whole (older) list never removes elements.
    a.push(a.op("incident", "update", {"notes": [na], "photos": []}, id=iid, base_version=2))
    rec = record(db, iid)
    assert len(rec["data"]["notes"]) == 2 and rec["data"]["photos"] == [photo]


def test_skewed_device_clock_changes_nothing(signed_in, inside_points, db):
    a, b = two_devices(signed_in)
    hid = str(uuid.uuid4())
    a.push(a.op("household", "create", household(inside_points[GRID]), id=hid))
    late = b.op("household", "update", {"head_name": "B"}, id=hid, base_version=1)
    # A phone almost a day ahead, then one decades behind: the furthest v1.1 lets in
    # ("Bad values in an op" refuses more than a day ahead, or before 2000).
    late["recorded_at"] = (datetime.now(UTC) + timedelta(hours=23)).isoformat(timespec="seconds")
    b.push(late)
    early = a.op("household", "update", {"head_name": "A"}, id=hid, base_version=1)
    early["recorded_at"] = "2000-01-01T00:00:00+00:00"
    res = a.push(early)[0]
    # Server arrival decides: A's edit arrived last and wins; the clash is recorded.
    assert res["status"] == "conflict"
    assert record(db, hid)["data"]["head_name"] == "A"
