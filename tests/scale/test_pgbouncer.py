"""The app through PgBouncer in transaction mode (Debian 12: PgBouncer 1.18, which keeps
no prepared statements across server connections): with ``DB_PREPARE_THRESHOLD=none``
requests that repeat the same statements many times keep working. The whole integration
suite runs this way with ``python -m tests.scale.pgbouncer`` (``make test-pgbouncer``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ApiClient
from tests.scale.pgbouncer import PgBouncer
from tests.sync.helpers import GRID, point


@pytest.fixture
def bouncer(database_url) -> Iterator[PgBouncer]:
    # Not under tmp_path: pgbouncer runs as postgres, which cannot enter pytest's
    # root-only temp directories.
    tmp = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    pgb = PgBouncer(database_url.rsplit("/", 1)[0], tmp)
    pgb.start()
    try:
        yield pgb
    finally:
        pgb.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_requests_through_pgbouncer_transaction_mode(bouncer, database_url, make_user,
                                                     inside_points, monkeypatch):
    from server import create_app

    monkeypatch.setenv("DB_PREPARE_THRESHOLD", "none")
    monkeypatch.setenv("PG_OPTIONS", "")  # PgBouncer refuses the options startup parameter
    name = database_url.rsplit("/", 1)[1]
    node = create_app({"SQLALCHEMY_DATABASE_URI": f"{bouncer.url}/{name}", "TESTING": True,
                       "SECRET_KEY": "test", "ATTACHMENT_DIR": "/nonexistent"})
    # psycopg would prepare each of these statements on their fifth run; PgBouncer hands
    # the next transaction another server connection (and DEALLOCATEs on release).
    dev = ApiClient(node.test_client(), make_user(grids=[GRID]))
    for i in range(12):
        res = dev.push(dev.op("inspection", "create", {
            "kind": "patrol", "occurred_at": "2026-11-23T08:00:00+08:00", "note": str(i),
            "location": point(inside_points[GRID])}))
        assert res[0]["status"] == "applied"
        assert dev.get("/api/v1/sync/pull?limit=1").status_code == 200
    changes, _ = dev.pull_all()
    assert len(changes) >= 12
