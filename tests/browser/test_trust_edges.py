"""In a real browser: a photo seen in the console is not readable from the browser's cache
after sign-out, and the pages' Content-Security-Policy blocks nothing the apps need.

Unlike the other browser tests, these keep the CSP on (``bypass_csp=False``), and so wait
with wait_for_selector and page.evaluate rather than wait_for_function (see conftest.py)."""

from __future__ import annotations

import hashlib
import secrets
import uuid

import requests

from tests.browser.test_console_helpers import console_page, desk_open, desk_queue
from tests.browser.test_pwa_helpers import Device, field_page, geo_point, inside_point, wait_eval
from tests.sync.test_attachments import JPEG

GRID = "320105001003006"
STREET = "320105001"

# Every CSP violation on the page, recorded before any of the page's own scripts run.
CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""

FETCH = """async ([url, opts]) => {
  try {
    const r = await fetch(url, opts);
    const body = new Uint8Array(await r.arrayBuffer());
    return { status: r.status, size: body.length };
  } catch (e) { return { status: 0, size: 0, error: String(e) }; }
}"""


def _photo_incident(live_server, username: str) -> tuple[str, str, bytes]:
    data = JPEG + secrets.token_bytes(32)
    sha = hashlib.sha256(data).hexdigest()
    dev = Device(live_server.url, username)
    r = requests.put(f"{dev.url}/attachments/{sha}", data=data, timeout=30, headers={
        "Authorization": f"Bearer {dev.token}", "Content-Type": "image/jpeg"})
    assert r.status_code == 201, r.text
    rid, res = dev.push("incident", "create", {
        "category": "0303", "title": f"照片 {uuid.uuid4().hex[:6]}", "description": "测试",
        "urgent": False, "location": geo_point(inside_point(GRID)), "photos": [sha]})
    assert res["status"] == "applied" and "missing_attachments" not in res, res
    return rid, sha, data


def test_a_photo_is_not_served_from_cache_after_sign_out(live_server, new_context, make_user):
    tag = uuid.uuid4().hex[:6]
    pat = make_user(f"cache_pat_{tag}", "patroller", grids=(GRID,))
    sup = make_user(f"cache_sup_{tag}", "supervisor", areas=(STREET,))
    rid, sha, data = _photo_incident(live_server, pat)

    _ctx, page = console_page(new_context, sup, view="desk", bypass_csp=False)
    page.add_init_script(CSP_WATCH)
    page.reload()
    page.get_by_test_id("whoami").wait_for()
    page.get_by_test_id("console-tab-desk").click()
    desk_queue(page, "reported")
    desk_open(page, rid)
    page.wait_for_selector(f"[data-testid=detail-photo][data-sha='{sha}'][data-state=ready]")
    url = f"/api/v1/attachments/{sha}"
    token = page.evaluate("""() => { for (const s of [localStorage, sessionStorage])
      for (let i = 0; i < s.length; i++) { const v = s.getItem(s.key(i));
        const m = v && v.match(/"token":"([^"]+)"/); if (m) return m[1]; } return null; }""")
    assert token, "the console keeps its token in web storage"
    auth = {"headers": {"Authorization": f"Bearer {token}"}}
    # Signed in, the browser fetches it like the console does.
    assert page.evaluate(FETCH, [url, auth]) == {"status": 200, "size": len(data)}

    page.get_by_test_id("logout").click()
    page.get_by_test_id("login-username").wait_for()
    # Signed out: neither a plain fetch, nor one that asks for the cache at any age, nor
    # one replaying the old token gets the bytes.
    for opts in ({}, {"cache": "force-cache"}, {**auth, "cache": "force-cache"},
                 {"cache": "only-if-cached", "mode": "same-origin"},
                 {**auth, "cache": "only-if-cached", "mode": "same-origin"}):
        got = page.evaluate(FETCH, [url, opts])
        assert got["status"] != 200 and got["size"] != len(data), (opts, got)
    assert page.evaluate("window.__csp") == []
    assert page.errors == []


def test_the_apps_run_under_their_csp(live_server, new_context, make_user):
    """Both pages, the console's map (MapLibre's blob: worker) and the field app's
    service worker, without a single CSP violation."""
    tag = uuid.uuid4().hex[:6]
    sup = make_user(f"csp_sup_{tag}", "supervisor", areas=(STREET,))
    pat = make_user(f"csp_pat_{tag}", "patroller", grids=(GRID,))
    ctx = new_context(viewport={"width": 1400, "height": 900}, bypass_csp=False)
    ctx.add_init_script(CSP_WATCH)
    page = ctx.new_page()
    csp = page.goto("/console/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    ctx.close()

    ctx, page = console_page(new_context, sup, view="map", bypass_csp=False)
    page.add_init_script(CSP_WATCH)
    page.reload()
    page.get_by_test_id("console-tab-map").click()
    page.wait_for_selector("[data-testid=console-panel][data-view=map][data-ready='1']")
    wait_eval(page, "() => document.querySelector('canvas.maplibregl-canvas') !== null")
    assert page.evaluate("window.__csp") == []
    assert page.errors == []

    field = new_context(bypass_csp=False)
    field.add_init_script(CSP_WATCH)
    fpage = field_page(field, pat, inside_point(GRID))  # waits for the service worker
    assert fpage.evaluate("window.__csp") == []
