"""A gunicorn worker SIGKILLed in the middle of a large push: resend, and every op takes
effect exactly once, and nothing acknowledged is missing (docs/protocol.md, rule 1)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid

import pytest
import requests

from server import faults
from tests.browser.conftest import LiveServer
from tests.conftest import PASSWORD
from tests.sync.helpers import GRID


@pytest.fixture
def server(database_url, tmp_path):
    live = LiveServer(database_url, tmp_path / "attachments", tmp_path / "gunicorn.log")
    live.start()
    yield live
    live.stop()


def sign_in(server: LiveServer, username: str) -> tuple[str, dict[str, str]]:
    device = f"fault-{uuid.uuid4()}"
    r = requests.post(server.url + "/api/v1/auth/token", timeout=10,
                      json={"username": username, "password": PASSWORD, "device_id": device})
    r.raise_for_status()
    return device, {"Authorization": "Bearer " + r.json()["token"]}


def creates(n: int, start_seq: int, xy: tuple[float, float]) -> list[dict]:
    return [{"op_id": str(uuid.uuid4()), "device_seq": start_seq + i, "entity": "inspection",
             "id": str(uuid.uuid4()), "action": "create", "base_version": None,
             "data": {"kind": "patrol", "occurred_at": "2026-11-23T08:00:00+08:00",
                      "note": f"第{start_seq + i}条",
                      "location": {"type": "Point", "coordinates": [xy[0], xy[1]]}}}
            for i in range(n)]


@pytest.mark.parametrize("point", faults.POINTS)
def test_sigkill_mid_push_then_resend_is_exactly_once(server, make_user, inside_points, db,
                                                      tmp_path, point):
    username = make_user(grids=[GRID])
    device, headers = sign_in(server, username)
    batches = [creates(500, 1, inside_points[GRID]), creates(500, 501, inside_points[GRID])]
    acked: list[str] = []
    signals = tmp_path / "faults"
    signals.mkdir()
    server.stop()  # restart with the fault point armed
    server.env.update(GRIDPATROL_FAULT_POINT=point, GRIDPATROL_FAULT_DIR=str(signals))
    server.start()

    def send_all() -> None:
        for ops in batches:
            r = requests.post(server.url + "/api/v1/sync/push", headers=headers, timeout=90,
                              json={"device_id": device, "ops": ops})
            if r.status_code == 200:
                acked.extend(x["op_id"] for x in r.json()["results"])

    sender = threading.Thread(target=lambda: _swallow(send_all))
    sender.start()
    deadline = time.monotonic() + 60
    while not any(signals.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert any(signals.iterdir()), f"no worker reached {point}"
    server.kill()  # the worker waits at the point: the kill lands there, not by chance
    sender.join(30)
    assert acked == [], "nothing may be acknowledged before the kill"
    first = [op["op_id"] for op in batches[0]]
    committed = db.execute("SELECT count(*) FROM op_log WHERE op_id = ANY(%s::uuid[])",
                           (first,)).fetchone()[0]
    assert committed == (500 if point == "push.after_commit" else 0)
    for key in ("GRIDPATROL_FAULT_POINT", "GRIDPATROL_FAULT_DIR"):
        server.env.pop(key)
    server.start()
    expected = ["duplicate" if point == "push.after_commit" else "applied", "applied"]
    for ops, status in zip(batches, expected, strict=True):
        # the device resends everything it has not seen acknowledged
        r = requests.post(server.url + "/api/v1/sync/push", headers=headers, timeout=60,
                          json={"device_id": device, "ops": ops})
        assert r.status_code == 200
        assert {x["status"] for x in r.json()["results"]} == {status}
    op_ids = [op["op_id"] for ops in batches for op in ops]
    ids = [op["id"] for ops in batches for op in ops]
    logged = db.execute("SELECT count(*), count(DISTINCT op_id) FROM op_log "
                        "WHERE op_id = ANY(%s::uuid[])", (op_ids,)).fetchone()
    assert logged == (1000, 1000)
    stored = db.execute("SELECT count(*) FROM record WHERE id = ANY(%s::uuid[])",
                        (ids,)).fetchone()[0]
    assert stored == 1000
    versions = db.execute("SELECT count(*) FROM record_version WHERE record_id = ANY(%s::uuid[])",
                          (ids,)).fetchone()[0]
    assert versions == 1000
    if acked:
        kept = db.execute("SELECT count(*) FROM op_log WHERE op_id = ANY(%s::uuid[])",
                          (acked,)).fetchone()[0]
        assert kept == len(acked)


def _swallow(fn) -> None:
    # The server dies under the sender: exactly the case being tested.
    with contextlib.suppress(requests.RequestException):
        fn()
