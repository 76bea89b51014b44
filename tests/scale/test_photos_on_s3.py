"""The photo tests of tests/sync, again with photos on S3 (SeaweedFS), and what only S3
has: the bytes really are objects in the bucket, and virtual-host addressing works."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import pytest

from server.services import storage
from tests.scale.conftest import DOMAIN, s3_config
from tests.sync.helpers import GRID
from tests.sync.test_attachments import *  # noqa: F403 (collected again, on S3)
from tests.sync.test_attachments import JPEG, put, sha
from tests.sync.test_photo_privacy import *  # noqa: F403

# That one uploads the module's fixed JPEG and expects a 201: in a session that also runs
# tests/sync (one database) the bytes are already recorded. Same test, fresh bytes:
del test_upload_head_and_idempotent_put  # noqa: F821


def test_upload_head_and_idempotent_put_on_s3(signed_in):
    dev = signed_in(grids=[GRID])
    data = JPEG + secrets.token_bytes(16)
    h = sha(data)
    assert dev.client.head(f"/api/v1/attachments/{h}", headers=dev.headers).status_code == 404
    assert put(dev, h, data).status_code == 201
    assert put(dev, h, data).status_code == 200
    assert dev.client.head(f"/api/v1/attachments/{h}", headers=dev.headers).status_code == 200
    got = dev.get(f"/api/v1/attachments/{h}")
    assert got.status_code == 200 and got.data == data


def test_bytes_are_objects_in_the_bucket_not_files(signed_in, app):
    dev = signed_in(grids=[GRID])
    data = JPEG + b"on-s3"
    assert put(dev, sha(data), data).status_code == 201
    store = storage.from_app(app)
    assert store.describe().startswith("s3://")
    key = store.key(sha(data))  # type: ignore[attr-defined]
    got = store.client.get_object(Bucket=store.bucket, Key=key)  # type: ignore[attr-defined]
    assert got["Body"].read() == data
    assert not any(Path(app.config["ATTACHMENT_DIR"]).rglob("*"))
    r = dev.get(f"/api/v1/attachments/{sha(data)}")
    assert r.status_code == 200 and r.data == data and r.headers["Content-Length"] == str(len(data))


def test_recorded_but_missing_from_the_store_is_404_not_500(signed_in, app):
    dev = signed_in(grids=[GRID])
    data = JPEG + b"lost"
    assert put(dev, sha(data), data).status_code == 201
    store = storage.from_app(app)
    store.client.delete_object(Bucket=store.bucket, Key=store.key(sha(data)))  # type: ignore[attr-defined]
    r = dev.get(f"/api/v1/attachments/{sha(data)}")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_virtual_host_addressing(seaweed, monkeypatch):
    """Aliyun OSS takes only virtual-host requests (``BUCKET.ENDPOINT``). No DNS here
    resolves ``*.localhost``, so the test process resolves it to 127.0.0.1 itself; the
    request still goes to SeaweedFS as ``Host: BUCKET.s3.localhost:PORT``."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith("." + DOMAIN):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    config = s3_config(seaweed)
    config.update(S3_ADDRESSING_STYLE="virtual",
                  S3_ENDPOINT_URL=f"http://{DOMAIN}:{seaweed.s3_port}")
    store = storage.store_for(config["ATTACHMENT_STORE"], config)
    hosts: list[str] = []
    store.client.meta.events.register(  # type: ignore[attr-defined]
        "before-send.s3", lambda request, **_: hosts.append(request.url))
    name = sha(JPEG + b"virtual")
    assert not store.exists(name)
    store.put(name, JPEG + b"virtual")
    assert store.exists(name) and b"".join(store.stream(name)) == JPEG + b"virtual"
    bucket = config["ATTACHMENT_STORE"][5:].split("/")[0]
    assert hosts and all(u.startswith(f"http://{bucket}.{DOMAIN}:{seaweed.s3_port}/")
                         for u in hosts), hosts


@pytest.mark.parametrize("location", ["ftp://x", "s3://", "file:"])
def test_bad_store_setting_is_refused(location):
    with pytest.raises(ValueError):
        storage.store_for(location)
