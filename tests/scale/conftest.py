"""Scale-out tests: a real SeaweedFS for photos (and, in some tests, real gunicorn nodes
behind nginx). Every test under tests/scale/ gets an app whose ``ATTACHMENT_STORE`` is an
S3 bucket on that SeaweedFS, so the photo tests of tests/sync run here again on S3."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from server.services import storage
from tests.scale.seaweed import SeaweedFS

DOMAIN = "s3.localhost"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    # -s3.domainName lets the same server answer virtual-host requests too.
    server = SeaweedFS(tmp_path_factory.mktemp("seaweed"), domain=DOMAIN)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def s3_config(server: SeaweedFS, bucket: str = "gridpatrol-test") -> dict[str, Any]:
    """App config for a fresh prefix of ``bucket`` (created if missing) on ``server``."""
    config: dict[str, Any] = server.env(bucket, prefix=f"t{secrets.token_hex(4)}")
    store = storage.store_for(config["ATTACHMENT_STORE"], config)
    store.ensure_bucket()  # type: ignore[attr-defined]
    return config


@pytest.fixture(scope="session")
def app(database_url: str, seaweed: SeaweedFS, tmp_path_factory: pytest.TempPathFactory):
    from server import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SECRET_KEY": "test",
        # A file store that must stay empty: ATTACHMENT_STORE wins over it.
        "ATTACHMENT_DIR": str(tmp_path_factory.mktemp("unused-attachments")),
        **s3_config(seaweed),
    })
