"""Fixtures shared by every test: one uniquely named PostGIS database per test run.

The database is created at the start of the session, migrated with Alembic, given the
Jianye demo grids, and dropped at the end, whatever happens in between. Tests make their
own users and devices with unique names, so they never depend on each other's data and
may commit for real (concurrency and crash tests need that).
"""

from __future__ import annotations

import itertools
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scripts import dbtool

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
PASSWORD = "pw-123456-test"
_counter = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: real headless Chromium tests")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = os.environ.get("TEST_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
    url = f"{server}/gridpatrol_test_{os.getpid()}_{secrets.token_hex(4)}"
    dbtool.create(url)
    try:
        from server import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        runner = app.test_cli_runner()
        for args in (["db", "upgrade"], ["grids", "import", str(DEMO / "jianye-grids-gcj02.geojson"),
                                         "--datum", "gcj02", "--layer", "jianye"]):
            result = runner.invoke(args=args)
            assert result.exit_code == 0, result.output
        with app.app_context():
            from server.extensions import db

            db.engine.dispose()
        yield url
    finally:
        dbtool.drop(url)


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory):
    from server import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
        "ATTACHMENT_DIR": str(tmp_path_factory.mktemp("attachments")),
        "SECRET_KEY": "test",
    })


@pytest.fixture
def client(app):
    """A test client with a client address of its own: failed sign-ins are counted per
    address across the whole session's database (50 lock it for 15 minutes), so one
    test's failures must not lock another test out."""
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = "127." + ".".join(
        str(secrets.randbelow(254) + 1) for _ in range(3))
    return c


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """A plain psycopg connection for assertions on what really is in PostGIS."""
    conn = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"),
                           autocommit=True)
    yield conn
    conn.close()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}_{secrets.token_hex(3)}"


@pytest.fixture
def make_user(app) -> Callable[..., str]:
    """Create a user through the real CLI; returns the (unique) username."""
    def make(username: str | None = None, role: str = "patroller", password: str = PASSWORD,
             grids: tuple[str, ...] | list[str] = (), areas: tuple[str, ...] | list[str] = (),
             dept: str | None = None) -> str:
        name = username or unique(role)
        args = ["users", "create", name, "--role", role]
        args += [x for g in grids for x in ("--grid", g)]
        args += [x for a in areas for x in ("--area", a)]
        if dept:
            args += ["--dept", dept]
        result = app.test_cli_runner().invoke(args=args, input=password + "\n")
        assert result.exit_code == 0, result.output
        return name
    return make


class ApiClient:
    """A signed-in device talking to the API through Flask's test client."""

    def __init__(self, client: Any, username: str, password: str = PASSWORD,
                 device_id: str | None = None) -> None:
        self.client = client
        self.device_id = device_id or unique("dev-")
        self.seq = 0
        r = client.post("/api/v1/auth/token", json={
            "username": username, "password": password, "device_id": self.device_id})
        assert r.status_code == 200, r.json
        self.token = r.json["token"]
        self.user = r.json["user"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **kw: Any):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw: Any):
        return self.client.post(url, headers=self.headers, **kw)

    def op(self, entity: str, action: str, data: dict | None = None, *, id: str | None = None,
           base_version: int | None = None, seq: int | None = None) -> dict[str, Any]:
        """Build an op with the next device_seq (or the one given)."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        return {"op_id": str(uuid.uuid4()), "device_seq": seq, "entity": entity,
                "id": id or str(uuid.uuid4()), "action": action, "base_version": base_version,
                "data": data or {}, "recorded_at": "2026-11-23T08:15:00+08:00"}

    def push(self, *ops: dict[str, Any], expect: int = 200) -> list[dict[str, Any]]:
        r = self.post("/api/v1/sync/push", json={"device_id": self.device_id, "ops": list(ops)})
        assert r.status_code == expect, r.json
        return r.json["results"] if expect == 200 else r.json

    def pull_all(self, cursor: str | None = None) -> tuple[list[dict[str, Any]], str]:
        changes: list[dict[str, Any]] = []
        while True:
            url = "/api/v1/sync/pull?limit=200" + (f"&cursor={cursor}" if cursor else "")
            r = self.get(url)
            assert r.status_code == 200, r.json
            changes += r.json["changes"]
            cursor = r.json["cursor"]
            if not r.json["more"]:
                return changes, cursor


@pytest.fixture
def signed_in(client, make_user) -> Callable[..., ApiClient]:
    """``signed_in(role=…, grids=…)`` makes a user and signs a new device in."""
    def sign_in(role: str = "patroller", **kw: Any) -> ApiClient:
        return ApiClient(client, make_user(role=role, **kw))
    return sign_in


@pytest.fixture(scope="session")
def truth() -> dict[str, Any]:
    import json

    return json.loads((DEMO / "jianye-points-truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def inside_points(truth) -> dict[str, tuple[float, float]]:
    """One WGS-84 point well inside each grid, by grid code."""
    out: dict[str, tuple[float, float]] = {}
    for p in sorted(truth["points"], key=lambda p: -p.get("edge_m", 0)):
        if p["class"] == "inside" and p["expect"] not in out:
            out[p["expect"]] = (p["lon"], p["lat"])
    return out
