"""The database going away or getting busy: requests recover or fail with a clear 503.

Pooled connections are not pinged before every use (``server.dbconn.watch_pool``), so
these tests kill them for real with ``pg_terminate_backend`` and check that the next
requests, reads and writes, still succeed on fresh connections.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.console.helpers import inspection, tile_of, tile_url

GRID = "320105003001005"
STREET = "320105003"


def _other_backends(db) -> set[int]:
    """The other connections to the test database: the app's pool."""
    return {r[0] for r in db.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()")}


def _terminate_others(db) -> set[int]:
    """Kill every other connection to the test database and wait until they are gone."""
    pids = _other_backends(db)
    db.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid",
               (list(pids),))
    for _ in range(100):
        if not pids & _other_backends(db):
            return pids
        time.sleep(0.05)
    raise AssertionError("backends did not terminate")


def test_requests_after_the_pool_is_killed_get_fresh_connections(signed_in, inside_points, db):
    p = inside_points[GRID]
    dev = signed_in(grids=[GRID])
    sup = signed_in(role="supervisor", areas=[STREET])
    assert dev.push(dev.op("inspection", "create", inspection("visit", p)))[0]["status"] \
        == "applied"
    url = tile_url("inspections", *tile_of(*p, 16))
    assert sup.get(url).status_code == 200 and sup.get("/api/v1/stats").status_code == 200

    killed = _terminate_others(db)
    assert killed, "the app should have pooled connections to kill"

    # Read-only views (autocommit), then a write, each on a replaced connection.
    assert sup.get(url).status_code == 200
    assert sup.get("/api/v1/stats").status_code == 200
    op = dev.op("inspection", "create", inspection("record", p))
    assert dev.push(op)[0]["status"] == "applied"
    assert db.execute("SELECT grid_code FROM record WHERE id = %s",
                      (op["id"],)).fetchone()[0] == GRID
    now = _other_backends(db)
    assert now and not now & killed


def test_unreachable_database_is_a_503_that_says_so():
    from server import create_app

    # Port 1 refuses at once: a database that is down, not one that is slow.
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/x",
                      "TESTING": True, "SECRET_KEY": "test"})
    client = app.test_client()
    r = client.post("/api/v1/auth/token", json={
        "username": "a", "password": "b", "device_id": "d"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.json["error"]["code"] == "database_unavailable"
    assert "cannot be reached" in r.json["error"]["message"]
    r = client.get("/api/v1/tiles/grids/12/3425/1655.mvt",
                   headers={"Authorization": "Bearer nope"})
    assert r.status_code == 503 and r.json["error"]["code"] == "database_unavailable"


@pytest.fixture
def impatient_app(database_url, tmp_path):
    from server import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SECRET_KEY": "test",
        "ATTACHMENT_DIR": str(tmp_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": "-c lock_timeout=200"}},
    })
    yield app
    with app.app_context():
        from server.extensions import db as sa_db

        sa_db.engine.dispose()


def test_a_locked_table_is_a_503_and_the_next_try_succeeds(impatient_app, make_user,
                                                           database_url):
    from tests.conftest import ApiClient

    client = impatient_app.test_client()
    sup = ApiClient(client, make_user(role="supervisor", areas=[STREET]))
    url = tile_url("grids", 13, 6850, 3310)
    assert sup.get(url).status_code == 200
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as locker:
        locker.execute("LOCK TABLE rollup_state IN ACCESS EXCLUSIVE MODE")
        r = sup.get(url)
        assert r.status_code == 503, r.get_data()[:300]
        assert r.json["error"]["code"] == "database_unavailable"
        assert "locked" in r.json["error"]["message"] and r.headers["Retry-After"]
        locker.rollback()
    assert sup.get(url).status_code == 200


def test_custom_plan_statements_are_never_prepared(app):
    """psycopg prepares a statement on its fifth run; CUSTOM_PLAN ones must stay unprepared
    so PostgreSQL plans them with their values (a bbox's row count varies 10,000-fold)."""
    from sqlalchemy import text

    from server.dbconn import CUSTOM_PLAN
    from server.extensions import db as sa_db

    planned = "SELECT count(*) FROM grid WHERE code > :c"
    prepared = "SELECT count(*) FROM grid WHERE code < :c"
    with app.app_context():
        conn = sa_db.engine.connect()
        try:
            for _ in range(8):
                conn.execute(text(planned), {"c": "3"}, execution_options=CUSTOM_PLAN).one()
                conn.execute(text(prepared), {"c": "3"}).one()
            statements = conn.execute(text(
                "SELECT statement FROM pg_prepared_statements")).scalars().all()
        finally:
            conn.close()
    assert any("code <" in s for s in statements), statements
    assert not any("code >" in s for s in statements), statements
