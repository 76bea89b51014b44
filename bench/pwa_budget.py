"""PWA budget: first-load bytes over the wire (gzipped) and offline open time, in Chromium.

Serves pwa/dist with gzip (as a production front proxy would) on loopback, opens `/`
in a fresh headless Chromium profile, waits for the service worker to finish
precaching, and sums the encoded (on-the-wire) bytes of every response, page and
service worker alike; then the same for `/console/` in its own profile, so the field
app's and the console's first loads are printed separately. Then it goes offline and times reloads served by the service
worker. Budget (issue 5): first load <= 500 KB gzipped; offline open < 1 s.

    .venv/bin/python bench/pwa_budget.py
"""
from __future__ import annotations

import gzip
import http.server
import json
import pathlib
import statistics
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DIST = ROOT / "pwa" / "dist"
CHROMIUM = "/usr/bin/chromium"
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html; charset=utf-8",
         ".json": "application/json", ".webmanifest": "application/manifest+json",
         ".svg": "image/svg+xml", ".png": "image/png"}
META = json.dumps({"categories": [], "basemap_style": None, "max_attachment_bytes": 10485760,
                   "sync_max_ops": 500}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/api/"):
            # The app's only unauthenticated call; everything else answers 401 like the server.
            body, status = (META, 200) if path == "/api/v1/meta" else (b'{"error":{"code":"unauthorized","message":"no token"}}', 401)
            self.send(status, body, "application/json", compress=False)
            return
        if path in ("/", ""):
            path = "/index.html"
        elif path.rstrip("/") == "/console":
            path = "/console.html"
        f = (DIST / path.lstrip("/")).resolve()
        if not f.is_file() or DIST not in f.parents:
            self.send(404, b"not found", "text/plain", compress=False)
            return
        self.send(200, f.read_bytes(), TYPES.get(f.suffix, "application/octet-stream"),
                  compress=f.suffix not in (".png",))

    def send(self, status, body, ctype, compress):
        if compress and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body, 6)
            enc = "gzip"
        else:
            enc = None
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.path.startswith("/assets/"):
            # Vite's hashed assets never change: cacheable, so the service worker's
            # precache can reuse what the page already downloaded.
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        if enc:
            self.send_header("Content-Encoding", enc)
        self.end_headers()
        self.wfile.write(body)
        self.sent_bytes = len(body)


def first_load(browser, base: str, path: str, *, sw: bool) -> dict:
    """Open ``path`` in a fresh context; bytes served (page and, with ``sw``, the precache), then offline reloads."""
    ctx = browser.new_context(base_url=base)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    wire: dict[str, int] = {}
    cdp.on("Network.loadingFinished", lambda e: wire.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    # The service worker's precache fetches go over the wire too: count them from the server side.
    served: list[tuple[str, int]] = []
    orig_send = Handler.send

    def counting_send(self, status, body, ctype, compress):
        orig_send(self, status, body, ctype, compress)
        served.append((self.path, self.sent_bytes))
        if "-v" in sys.argv:
            print(path, self.path, self.sent_bytes)
    Handler.send = counting_send
    try:
        t0 = time.perf_counter()
        page.goto(path)
        page.wait_for_selector("[data-testid=login-username]")
        t_login = time.perf_counter() - t0
        if sw:
            page.wait_for_function("document.body.dataset.sw === 'ready'", timeout=60000)
        time.sleep(1.0)
    finally:
        Handler.send = orig_send
    # Console-only code is named after its entry and modules (console, admin, desk, conflicts, stats, detail).
    console = sum(n for p, n in served if p.startswith("/console") or
                  any(p.startswith(f"/assets/{k}-") for k in ("console", "admin", "desk", "conflicts", "stats", "detail")))
    out = {"served": sum(n for _, n in served), "responses": len(served), "page": sum(wire.values()),
           "login": t_login, "biggest": sorted(served, key=lambda x: -x[1])[:5], "console": console, "offline": []}
    if sw:
        ctx.set_offline(True)
        for _ in range(5):
            t = time.perf_counter()
            page.reload()
            page.wait_for_selector("[data-testid=login-username]")
            out["offline"].append(time.perf_counter() - t)
    ctx.close()
    return out


def main() -> int:
    from playwright.sync_api import sync_playwright

    if not (DIST / "index.html").is_file():
        print("pwa/dist is missing: run `make pwa` first", file=sys.stderr)
        return 2
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        # Each app in its own fresh profile: a phone opens only "/", a desk only "/console/".
        field = first_load(browser, base, "/", sw=True)
        desk = first_load(browser, base, "/console/", sw=False)
        browser.close()
    srv.shutdown()
    kb = field["served"] / 1024
    print(f"field app (/) first load, all bytes served over the wire (page + service worker precache, gzip): {kb:.1f} KB"
          f" ({field['served']} bytes, {field['responses']} responses); budget 500 KB: {'OK' if kb <= 500 else 'OVER'}")
    print(f"  of which the page itself fetched: {field['page'] / 1024:.1f} KB; first paint of the login form: {field['login'] * 1000:.0f} ms")
    print("  largest: " + ", ".join(f"{p} {n / 1024:.1f} KB" for p, n in field["biggest"]))
    print(f"  console code in it: {field['console'] / 1024:.1f} KB (none expected: a phone never opens the console)")
    print(f"console (/console/) first load: {desk['served'] / 1024:.1f} KB ({desk['served']} bytes, {desk['responses']} responses);"
          f" first paint of the login form: {desk['login'] * 1000:.0f} ms")
    print("  largest: " + ", ".join(f"{p} {n / 1024:.1f} KB" for p, n in desk["biggest"]))
    times = field["offline"]
    med = statistics.median(times)
    print(f"offline open from the service worker: median {med * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
          f" over {len(times)} reloads; budget 1000 ms: {'OK' if max(times) < 1 else 'OVER'}")
    return 0 if kb <= 500 and max(times) < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
