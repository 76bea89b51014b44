"""The photo store down or slow (PROTOCOL v1.1 "Storage and scale"): uploads and reads
answer 503 ``storage_unavailable`` with ``Retry-After`` within the store's short
timeouts, nothing is half-recorded, and a push that names photos never waits on S3."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from tests.conftest import ApiClient
from tests.scale.conftest import s3_config
from tests.scale.seaweed import SeaweedFS
from tests.sync.helpers import GRID, point
from tests.sync.test_attachments import JPEG, sha


@pytest.fixture
def own_seaweed(tmp_path) -> Iterator[SeaweedFS]:
    """A SeaweedFS of this test's own, which it may stop."""
    server = SeaweedFS(tmp_path / "seaweed")
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None:
            os.killpg(server.proc.pid, signal.SIGCONT)
        server.stop()


@pytest.fixture
def device(database_url, own_seaweed, make_user):
    from server import create_app

    node = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SECRET_KEY": "test",
        "ATTACHMENT_DIR": "/nonexistent", **s3_config(own_seaweed)})
    return ApiClient(node.test_client(), make_user(grids=[GRID]))


def impatient(dev: ApiClient) -> None:
    """Short timeouts from now on, so that a frozen store is given up on quickly (the
    first write into a fresh SeaweedFS may itself take a second on a busy machine)."""
    app = dev.client.application
    app.config.update(S3_CONNECT_TIMEOUT="1", S3_READ_TIMEOUT="1", S3_MAX_ATTEMPTS="1")
    app.extensions.pop("attachment_store", None)


def put(dev: ApiClient, data: bytes):
    return dev.client.put(f"/api/v1/attachments/{sha(data)}", data=data,
                          headers={**dev.headers, "Content-Type": "image/jpeg"})


def assert_unavailable(r) -> None:
    assert r.status_code == 503, (r.status_code, r.data[:300])
    assert r.json["error"]["code"] == "storage_unavailable"
    assert int(r.headers["Retry-After"]) > 0


def test_store_down_answers_503_and_push_still_succeeds(device, own_seaweed, inside_points):
    kept, fresh = JPEG + b"kept", JPEG + b"fresh"
    assert put(device, kept).status_code == 201
    own_seaweed.stop()

    assert_unavailable(put(device, fresh))
    assert_unavailable(device.get(f"/api/v1/attachments/{sha(kept)}"))
    # Not recorded: HEAD (database only) still knows the stored photo, not the failed one.
    assert device.client.head(f"/api/v1/attachments/{sha(kept)}",
                              headers=device.headers).status_code == 200
    assert device.client.head(f"/api/v1/attachments/{sha(fresh)}",
                              headers=device.headers).status_code == 404
    # The push checks uploads in the database only: applied, the unsent photo listed.
    res = device.push(device.op("inspection", "create", {
        "kind": "handle", "occurred_at": "2026-11-23T08:00:00+08:00",
        "photos": [sha(kept), sha(fresh)], "location": point(inside_points[GRID])}))[0]
    assert res["status"] == "applied" and res["missing_attachments"] == [sha(fresh)]

    own_seaweed.start()
    assert put(device, fresh).status_code == 201
    assert device.get(f"/api/v1/attachments/{sha(fresh)}").data == fresh


def test_store_frozen_answers_503_within_its_timeouts(device, own_seaweed):
    """SIGSTOP: the store accepts connections (the kernel does) but never answers."""
    kept = JPEG + b"frozen"
    assert put(device, kept).status_code == 201
    assert own_seaweed.proc is not None
    impatient(device)
    os.killpg(own_seaweed.proc.pid, signal.SIGSTOP)
    try:
        assert_unavailable(put(device, JPEG + b"while-frozen"))
        assert_unavailable(device.get(f"/api/v1/attachments/{sha(kept)}"))
    finally:
        os.killpg(own_seaweed.proc.pid, signal.SIGCONT)
    assert device.get(f"/api/v1/attachments/{sha(kept)}").data == kept
