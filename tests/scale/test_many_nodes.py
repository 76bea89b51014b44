"""Two gunicorn nodes on one database and one S3 bucket, behind nginx (PROTOCOL v1.1
"Any number of app nodes may serve one database"): what one node did, the other sees."""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.browser.conftest import ROOT, LiveServer
from tests.conftest import PASSWORD
from tests.scale.conftest import s3_config
from tests.scale.nodes import Nginx
from tests.sync.helpers import GRID
from tests.sync.test_attachments import JPEG, sha
from tests.sync.test_fault import creates


@pytest.fixture
def armed() -> bool:
    """Whether node A stops dead right after committing a push (until SIGKILLed)."""
    return False


@pytest.fixture
def cluster(database_url, seaweed, tmp_path, armed) -> Iterator[tuple[LiveServer, LiveServer, Nginx]]:
    config = s3_config(seaweed)
    nodes = []
    for name in ("a", "b"):
        node = LiveServer(database_url, tmp_path / name / "unused", tmp_path / f"{name}.log")
        node.env.update(config)
        nodes.append(node)
    signals = tmp_path / "faults"
    signals.mkdir()
    if armed:
        nodes[0].env.update(GRIDPATROL_FAULT_POINT="push.after_commit",
                            GRIDPATROL_FAULT_DIR=str(signals))
    for node in nodes:
        node.start()
    proxy = Nginx(tmp_path / "nginx", nodes)
    try:
        proxy.start()
        yield nodes[0], nodes[1], proxy
    finally:
        proxy.stop()
        for node in nodes:
            node.stop()


def sign_in(base: str, username: str) -> tuple[str, dict[str, str]]:
    device = f"scale-{uuid.uuid4()}"
    r = requests.post(base + "/api/v1/auth/token", timeout=30,
                      json={"username": username, "password": PASSWORD, "device_id": device})
    assert r.status_code == 200, r.text
    return device, {"Authorization": "Bearer " + r.json()["token"]}


def test_two_nodes_share_everything(cluster, make_user, inside_points, database_url, tmp_path):
    a, b, proxy = cluster
    username = make_user(grids=[GRID])
    device, headers = sign_in(proxy.url, username)  # a token made on either node works on both

    # A photo uploaded on A is read on B (the bytes are in S3, not on A's disk).
    data = JPEG + secrets.token_bytes(8)
    r = requests.put(f"{a.url}/api/v1/attachments/{sha(data)}", data=data, timeout=30,
                     headers={**headers, "Content-Type": "image/jpeg"})
    assert r.status_code == 201, r.text
    got = requests.get(f"{b.url}/api/v1/attachments/{sha(data)}", headers=headers, timeout=30)
    assert got.status_code == 200 and got.content == data

    # A grid layer imported through the CLI (as on A's machine) is matched on B, which had
    # the old grids in memory: the index is keyed by the database's epoch.
    square = [[80.0, 40.0], [80.01, 40.0], [80.01, 40.01], [80.0, 40.01], [80.0, 40.0]]
    code = "6500" + str(secrets.randbelow(10**11)).zfill(11)
    point = [80.005, 40.005]
    match = lambda: requests.post(f"{b.url}/api/v1/grids/match", headers=headers,  # noqa: E731
                                  json={"points": [point]}, timeout=30).json()
    before = match()
    layer = tmp_path / "far.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"code": code, "name": "远方网格", "kind": "rural"},
        "geometry": {"type": "Polygon", "coordinates": [square]}}]}))
    imported = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "server", "grids", "import", str(layer),
         "--layer", f"far{secrets.token_hex(3)}"], cwd=ROOT, env=a.env, capture_output=True,
        text=True, timeout=300)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    after = match()
    assert code not in json.dumps(before) and code in json.dumps(after), (before, after)

    # Push through A, pull through B.
    ops = creates(3, 1, inside_points[GRID])
    r = requests.post(f"{a.url}/api/v1/sync/push", headers=headers, timeout=60,
                      json={"device_id": device, "ops": ops})
    assert r.status_code == 200 and {x["status"] for x in r.json()["results"]} == {"applied"}
    pulled = requests.get(f"{b.url}/api/v1/sync/pull?limit=500", headers=headers, timeout=30)
    assert {op["id"] for op in ops} <= {c["id"] for c in pulled.json()["changes"]}


@pytest.mark.parametrize("armed", [True])
def test_node_killed_mid_push_retry_lands_on_the_other_once(cluster, make_user, inside_points,
                                                          db, tmp_path, armed):
    a, b, proxy = cluster
    username = make_user(grids=[GRID])
    device, headers = sign_in(proxy.url, username)
    ops = creates(200, 1, inside_points[GRID])
    answers: list[int] = []

    def first_try() -> None:
        # The phone's first attempt reached node A (A stops there after committing).
        with contextlib.suppress(requests.RequestException):
            answers.append(requests.post(f"{a.url}/api/v1/sync/push", headers=headers,
                                         timeout=120,
                                         json={"device_id": device, "ops": ops}).status_code)

    sender = threading.Thread(target=first_try)
    sender.start()
    signals = tmp_path / "faults"
    deadline = time.monotonic() + 90
    while not any(signals.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(signals.iterdir()), "node A never reached the commit"
    a.kill()  # SIGKILL, master and workers: the answer never leaves A
    sender.join(30)
    assert answers == [], "the phone saw no answer"
    # The retry goes through nginx, which finds A dead and passes it to B. Like the
    # phone's outbox, retry on a 5xx: a POST that nginx had already written into a kept-
    # alive connection to A when A died is answered 502 (nginx never resends a POST).
    for _ in range(5):
        r = requests.post(f"{proxy.url}/api/v1/sync/push", headers=headers, timeout=120,
                          json={"device_id": device, "ops": ops})
        if r.status_code < 500:
            break
    assert r.status_code == 200, r.text
    assert {x["status"] for x in r.json()["results"]} == {"duplicate"}
    pushes: list[str] = []
    deadline = time.monotonic() + 10  # nginx writes its log line just after answering
    while not pushes and time.monotonic() < deadline:
        pushes = [x for x in proxy.log() if x.startswith("POST /api/v1/sync/push")]
        time.sleep(0.05)
    retry = pushes[-1]
    assert retry.endswith(f"127.0.0.1:{b.port}"), retry  # A refused (if tried), B answered
    op_ids = [op["op_id"] for op in ops]
    assert db.execute("SELECT count(*), count(DISTINCT op_id) FROM op_log "
                      "WHERE op_id = ANY(%s::uuid[])", (op_ids,)).fetchone() == (200, 200)
    assert db.execute("SELECT count(*) FROM record WHERE id = ANY(%s::uuid[])",
                      ([op["id"] for op in ops],)).fetchone()[0] == 200
    # And a push never seen before, through nginx, is applied by B.
    more = creates(2, 201, inside_points[GRID])
    r = requests.post(f"{proxy.url}/api/v1/sync/push", headers=headers, timeout=60,
                      json={"device_id": device, "ops": more})
    assert {x["status"] for x in r.json()["results"]} == {"applied"}
