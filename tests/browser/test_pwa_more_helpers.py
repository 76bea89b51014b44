"""Helpers for the test_pwa_more_* browser tests: plain functions, no tests."""
from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from tests.browser.conftest import ROOT, LiveServer

DIST = ROOT / "pwa" / "dist"


@contextlib.contextmanager
def extra_server(database_url: str, base: Path, **env: str) -> Iterator[LiveServer]:
    """A second gunicorn on the same database, with extra environment (another origin)."""
    base.mkdir(parents=True, exist_ok=True)
    server = LiveServer(database_url, base / "attachments", base / "gunicorn.log")
    server.env.update(env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def copy_dist(target: Path) -> Path:
    """A private copy of the built PWA, to be changed into a 'new build'."""
    shutil.copytree(DIST, target)
    return target


def make_new_build(dist: Path, marker: str) -> None:
    """Turn a copy of dist/ into the next release: a changed index.html and a new sw.js.

    The shell gets ``<meta name="gp-build" content=marker>`` and its precache revision in
    sw.js changes, exactly what a rebuild with a changed page produces.
    """
    index = dist / "index.html"
    html = index.read_text(encoding="utf-8")
    index.write_text(html.replace("<head>", f'<head><meta name="gp-build" content="{marker}">', 1),
                     encoding="utf-8")
    sw = dist / "sw.js"
    text = sw.read_text(encoding="utf-8")
    start = text.index('"url":"index.html"')
    rev_at = text.rindex('"revision":"', 0, start) + len('"revision":"')
    rev_end = text.index('"', rev_at)
    text = text[:rev_at] + f"{marker}-{text[rev_at:rev_end]}"[:32] + text[rev_end:]
    sw.write_text(text, encoding="utf-8")


def photo_file(page, path: Path, hue: int, size=(1200, 900)) -> Path:
    """A distinct JPEG drawn by the browser, written to ``path``."""
    import base64

    b64 = page.evaluate("""([w, h, hue]) => {
        const c = document.createElement('canvas'); c.width = w; c.height = h;
        const g = c.getContext('2d');
        g.fillStyle = `hsl(${hue}, 70%, 50%)`; g.fillRect(0, 0, w, h);
        for (let i = 0; i < 300; i++) {
            g.fillStyle = `hsl(${(hue + i * 13) % 360}, 80%, ${30 + (i % 40)}%)`;
            g.fillRect((i * 97) % w, (i * 61) % h, 30 + (i % 50), 20 + (i % 40));
        }
        return c.toDataURL('image/jpeg', 0.9).split(',')[1];
    }""", [size[0], size[1], hue])
    path.write_bytes(base64.b64decode(b64))
    return path


def pick_photo(page, testid: str, path: Path) -> str:
    """Pick one photo in a photo picker; returns its sha256 once it is stored."""
    before = int(page.get_by_test_id(f"{testid}-list").get_attribute("data-count") or 0)
    with page.expect_file_chooser() as fc:
        page.get_by_test_id(testid).click()
    fc.value.set_files(str(path))
    page.wait_for_function(
        "([t, n]) => document.querySelector(`[data-testid=${t}-list]`).dataset.count === String(n)",
        arg=[testid, before + 1], timeout=30000)
    return page.locator(f"[data-testid={testid}-list] img").nth(before).get_attribute("data-sha")


def wait_attr(page, testid: str, attr: str, value: str, timeout: int = 30000) -> None:
    page.wait_for_function(
        "([t, a, v]) => { const e = document.querySelector(`[data-testid=${t}]`); return !!e && e.getAttribute(a) === v; }",
        arg=[testid, attr, value], timeout=timeout)
