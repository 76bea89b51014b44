"""Real-browser fixtures: gunicorn serving the built PWA, and Debian's headless Chromium.

Never a downloaded browser: Playwright drives /usr/bin/chromium.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """gunicorn in its own process group, so a test can SIGKILL it mid-request."""

    def __init__(self, database_url: str, attachments: Path, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "browser-tests",
                    "ATTACHMENT_DIR": str(attachments), "SYNC_HOLD_SECONDS": "86400"}
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.proc = subprocess.Popen(
            [gunicorn, "-c", "server/gunicorn_conf.py", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--threads", "4", "--timeout", "60", "server:create_app()"],
            cwd=ROOT, env=self.env, start_new_session=True,
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/api/v1/meta", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within 30 s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the master and its workers at once: no graceful shutdown."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not (ROOT / "pwa" / "dist" / "index.html").is_file():
        pytest.fail("the PWA is not built: run `make pwa` (make test does it)")
    base = tmp_path_factory.mktemp("live")
    server = LiveServer(database_url, base / "attachments", base / "gunicorn.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install chromium (make test does it)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_context(browser, live_server) -> Iterator[Callable[..., Any]]:
    """``new_context(**kwargs)``: a fresh browser profile with geolocation allowed."""
    contexts: list[Any] = []

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("base_url", live_server.url)
        kwargs.setdefault("locale", "zh-CN")
        kwargs.setdefault("timezone_id", "Asia/Shanghai")
        # Playwright's wait_for_function evaluates its predicate with eval() inside the
        # page, which the pages' Content-Security-Policy (script-src 'self') forbids.
        # Tests that check the apps under their real CSP pass bypass_csp=False
        # (tests/browser/test_trust_edges.py).
        kwargs.setdefault("bypass_csp", True)
        ctx = browser.new_context(permissions=["geolocation"], **kwargs)
        ctx.set_default_timeout(20_000)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        # A context whose page crashed is already gone; closing it again must not fail.
        with contextlib.suppress(Exception):
            ctx.close()
