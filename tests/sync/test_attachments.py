"""Attachments by SHA-256 (docs/protocol.md "Attachments")."""

from __future__ import annotations

import hashlib

from tests.sync.helpers import GRID

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 4 + b"\xff\xd9"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(dev, name: str, data: bytes, ctype: str = "image/jpeg"):
    return dev.client.put(f"/api/v1/attachments/{name}", data=data,
                          headers={**dev.headers, "Content-Type": ctype})


def test_upload_head_and_idempotent_put(signed_in):
    dev = signed_in(grids=[GRID])
    h = sha(JPEG)
    assert dev.client.head(f"/api/v1/attachments/{h}", headers=dev.headers).status_code == 404
    assert put(dev, h, JPEG).status_code == 201
    assert put(dev, h, JPEG).status_code == 200
    assert dev.client.head(f"/api/v1/attachments/{h}", headers=dev.headers).status_code == 200
    got = dev.get(f"/api/v1/attachments/{h}")
    assert got.status_code == 200 and got.data == JPEG


def test_bad_uploads(signed_in, app):
    dev = signed_in()
    other = JPEG + b"x"
    assert put(dev, sha(JPEG), other).status_code == 422
    assert put(dev, sha(JPEG), JPEG, "text/plain").status_code == 415
    assert put(dev, sha(b"not an image"), b"not an image").status_code == 415
    assert put(dev, "NOT-A-HASH", JPEG).status_code == 400
    old = app.config["MAX_ATTACHMENT_BYTES"]
    app.config["MAX_ATTACHMENT_BYTES"] = 100
    try:
        r = put(dev, sha(JPEG), JPEG)
    finally:
        app.config["MAX_ATTACHMENT_BYTES"] = old
    assert r.status_code == 413 and r.json["error"]["details"]["limit"] == 100
    assert dev.client.head(f"/api/v1/attachments/{sha(JPEG)}").status_code == 401


def test_push_lists_missing_attachments_and_succeeds(signed_in, inside_points):
    dev = signed_in(grids=[GRID])
    missing = "b" * 64
    stored = sha(JPEG + b"stored")
    put(dev, stored, JPEG + b"stored")
    res = dev.push(dev.op("inspection", "create", {
        "kind": "handle", "occurred_at": "2026-11-23T08:00:00+08:00", "photos": [stored, missing],
        "location": {"type": "Point", "coordinates": list(inside_points[GRID])}}))[0]
    assert res["status"] == "applied" and res["missing_attachments"] == [missing]


def test_photos_are_visible_only_in_scope(signed_in, inside_points):
    owner = signed_in(grids=[GRID])
    data = JPEG + b"scoped"
    put(owner, sha(data), data)
    owner.push(owner.op("inspection", "create", {
        "kind": "handle", "occurred_at": "2026-11-23T08:00:00+08:00", "photos": [sha(data)],
        "location": {"type": "Point", "coordinates": list(inside_points[GRID])}}))
    assert signed_in(role="supervisor", areas=["320105001"]).get(
        f"/api/v1/attachments/{sha(data)}").status_code == 200
    assert signed_in(role="supervisor", areas=["320105002"]).get(
        f"/api/v1/attachments/{sha(data)}").status_code == 404
