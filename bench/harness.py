"""Shared set-up for benchmarks: a scratch PostGIS database and a real gunicorn.

Benchmarks print figures; they never assert on time.
"""

from __future__ import annotations

import http.client
import os
import platform
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import dbtool  # noqa: E402

SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
VENV_BIN = Path(sys.executable).parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def flask(url: str, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run([str(VENV_BIN / "flask"), "--app", "server", *args], cwd=ROOT,
                         env={**os.environ, "DATABASE_URL": url}, input=stdin, text=True,
                         capture_output=True, check=True)
    return out.stdout


@contextmanager
def scratch_database(with_demo: bool = True) -> Iterator[str]:
    url = f"{SERVER}/gridpatrol_bench_{secrets.token_hex(4)}"
    dbtool.create(url)
    try:
        flask(url, "db", "upgrade")
        if with_demo:
            flask(url, "grids", "import", str(ROOT / "demo" / "jianye-grids-gcj02.geojson"),
                  "--datum", "gcj02", "--layer", "jianye")
        yield url
    finally:
        dbtool.drop(url)


def make_user(url: str, name: str, role: str, *scope: str) -> None:
    flask(url, "users", "create", name, "--role", role, *scope, stdin="bench-password\n")


@contextmanager
def gunicorn(url: str, workers: int = 2) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench",
           "ATTACHMENT_DIR": f"/tmp/gp-bench-{port}"}
    proc = subprocess.Popen([str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                             "--workers", str(workers), "--threads", "2", "server:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(base + "/api/v1/meta", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def sign_in(base: str, username: str, device: str) -> requests.Session:
    session = requests.Session()
    r = session.post(base + "/api/v1/auth/token", json={
        "username": username, "password": "bench-password", "device_id": device})
    r.raise_for_status()
    session.headers["Authorization"] = "Bearer " + r.json()["token"]
    return session


class KeepAlive:
    """GET over one persistent HTTP/1.1 connection, the body left as sent (gzip).

    What a benchmark of an endpoint should time: ``requests`` adds 1–2 ms of its own
    Python per call, more than a light map tile costs the server, and decompressing is
    the client's work too.
    """

    def __init__(self, base: str, token: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
        self.conn = http.client.HTTPConnection(self.host, self.port)

    def get(self, path: str, params: dict | None = None) -> tuple[int, bytes]:
        target = path + ("?" + urlencode(params) if params else "")
        for attempt in (1, 2):
            try:
                self.conn.request("GET", target, headers=self.headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionError):
                # gunicorn closes a connection idle for its keep-alive timeout (2 s).
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
