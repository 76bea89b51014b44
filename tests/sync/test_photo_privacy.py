"""Photos are private to those who may see them (PROTOCOL v1.1)."""

from __future__ import annotations

import secrets

from tests.sync.helpers import GRID, OTHER_GRID, point
from tests.sync.test_attachments import JPEG, put, sha


def photo() -> bytes:
    return JPEG + secrets.token_bytes(16)


def inspection(xy, *hashes: str) -> dict:
    return {"kind": "record", "occurred_at": "2026-11-23T08:00:00+08:00",
            "photos": list(hashes), "location": point(xy)}


def head(dev, h: str):
    return dev.client.head(f"/api/v1/attachments/{h}", headers=dev.headers)


def test_naming_a_hash_opens_nothing_until_the_namer_uploads(signed_in, inside_points, db):
    a = signed_in(grids=[GRID])
    b = signed_in(grids=[OTHER_GRID])
    data = photo()
    h = sha(data)
    assert put(a, h, data).status_code == 201
    res = b.push(b.op("inspection", "create", inspection(inside_points[OTHER_GRID], h)))[0]
    assert res["status"] == "applied"
    # The server has the bytes, but not from B: B's record does not own them yet.
    assert res["missing_attachments"] == [h]
    assert b.get(f"/api/v1/attachments/{h}").status_code == 404
    assert head(b, h).status_code == 404
    # B's grid peer sees B's record, and still not the photo.
    peer = signed_in(grids=[OTHER_GRID])
    assert peer.get(f"/api/v1/attachments/{h}").status_code == 404
    # Once B has sent the bytes (200: already stored), B and those who see B's record may.
    assert put(b, h, data).status_code == 200
    assert b.get(f"/api/v1/attachments/{h}").data == data
    assert head(b, h).status_code == 200
    assert peer.get(f"/api/v1/attachments/{h}").status_code == 200
    uploaders = {r[0] for r in db.execute(
        "SELECT u.username FROM attachment_upload x JOIN app_user u ON u.id = x.user_id "
        "WHERE x.sha256 = %s", (h,))}
    assert uploaders == {a.user["username"], b.user["username"]}


def test_a_records_photo_is_seen_in_its_scope_only(signed_in, inside_points, db):
    a = signed_in(grids=[GRID])
    data = photo()
    h = sha(data)
    put(a, h, data)
    op = a.op("inspection", "create", {**inspection(inside_points[GRID], h), "kind": "handle"})
    res = a.push(op)[0]
    assert res["status"] == "applied" and "missing_attachments" not in res
    # The handle inspection made an incident carrying the photo: both records own it.
    named = {(str(r[0]), r[1]) for r in db.execute(
        "SELECT p.record_id, u.username FROM record_photo p "
        "JOIN app_user u ON u.id = p.named_by WHERE p.sha256 = %s", (h,))}
    me = a.user["username"]
    assert named == {(op["id"], me), (res["incident_id"], me)}
    peer = signed_in(grids=[GRID])
    got = peer.get(f"/api/v1/attachments/{h}")
    assert got.status_code == 200 and got.data == data
    assert head(peer, h).status_code == 200
    assert signed_in(role="supervisor", areas=["320105001"]).get(
        f"/api/v1/attachments/{h}").status_code == 200
    assert signed_in(grids=[OTHER_GRID]).get(f"/api/v1/attachments/{h}").status_code == 404
    assert head(signed_in(role="supervisor", areas=["320105002"]), h).status_code == 404
    assert signed_in(role="admin").get(f"/api/v1/attachments/{h}").status_code == 200


def test_a_photo_named_by_someone_who_never_uploaded_it_stays_closed(signed_in, inside_points):
    """A names C's hash in A's record; C uploaded it, A did not: A's peers see nothing."""
    c = signed_in(grids=[OTHER_GRID])
    a = signed_in(grids=[GRID])
    data = photo()
    h = sha(data)
    put(c, h, data)
    op = a.op("inspection", "create", inspection(inside_points[GRID], h))
    res = a.push(op)[0]
    assert res["missing_attachments"] == [h]
    assert signed_in(grids=[GRID]).get(f"/api/v1/attachments/{h}").status_code == 404
    assert c.get(f"/api/v1/attachments/{h}").status_code == 200  # the uploader, always
    # The console shows it as not uploaded yet, rather than as a photo that fails to load.
    sup = signed_in(role="supervisor", areas=["320105001"])
    assert sup.get(f"/api/v1/desk/records/{op['id']}").json["photos"][0]["stored"] is False
    assert put(a, h, data).status_code == 200
    assert sup.get(f"/api/v1/desk/records/{op['id']}").json["photos"][0]["stored"] is True
    assert sup.get(f"/api/v1/attachments/{h}").status_code == 200


def test_head_is_no_oracle(signed_in):
    a = signed_in(grids=[GRID])
    b = signed_in(grids=[GRID])
    data = photo()
    put(a, sha(data), data)
    theirs, unknown = head(b, sha(data)), head(b, sha(photo()))
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.data == unknown.data
    drop = {"Date"}
    assert ({k: v for k, v in theirs.headers.items() if k not in drop}
            == {k: v for k, v in unknown.headers.items() if k not in drop})
    got, missing = b.get(f"/api/v1/attachments/{sha(data)}"), b.get(
        f"/api/v1/attachments/{sha(photo())}")
    assert got.status_code == missing.status_code == 404 and got.json == missing.json


def test_photo_is_never_stored_and_has_a_validator(signed_in):
    a = signed_in(grids=[GRID])
    data = photo()
    h = sha(data)
    put(a, h, data)
    got = a.get(f"/api/v1/attachments/{h}")
    assert got.headers["ETag"] == f'"{h}"'
    assert got.headers["Cache-Control"] == "no-store"
    again = a.client.get(f"/api/v1/attachments/{h}",
                         headers={**a.headers, "If-None-Match": f'"{h}"'})
    assert again.status_code == 304 and again.data == b""
    # A validator is no way around the rule: someone else's If-None-Match gets the 404.
    other = signed_in(grids=[OTHER_GRID])
    assert other.client.get(f"/api/v1/attachments/{h}", headers={
        **other.headers, "If-None-Match": f'"{h}"'}).status_code == 404
