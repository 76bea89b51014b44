"""A field app a 60-year-old volunteer can use alone.

Location that guides instead of blocking (permission denied: steps, the map picker first,
"不在您的网格内，仍可上报"), names instead of codes, a big 拍照 button with thumbnails and
删除, text counters at the server's 4000-character limit, 我的事件 with a detail, a
timeline and a "有新进展" badge, and 长辈模式. Every field screen is checked with axe-core
(no serious or critical violation) and measured (text size, tap targets) in both modes,
and photographed at 360 px into docs/screens/.
"""
from __future__ import annotations

import hashlib
import uuid

import requests

from tests.browser.test_pwa_helpers import (
    ROOT,
    Device,
    field_page,
    inside_point,
    login_field,
    wait_eval,
    wait_location,
    wait_pulled,
)
from tests.browser.test_pwa_more_helpers import photo_file, pick_photo, wait_attr
from tests.browser.test_pwa_more_status import Desk

GRID = "320105001001002"
OTHER = "320105001001003"
STREET = "320105001"
AXE = ROOT / "pwa" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screens"


def grid_name(db, code):
    return db.execute("select name from grid where code = %s", (code,)).fetchone()[0]


def denied_context(browser, live_server, **kw):
    """A profile where the site never got the geolocation permission."""
    ctx = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                              bypass_csp=True, permissions=[], **kw)
    ctx.set_default_timeout(20_000)
    return ctx


def tap_map(page, lon, lat):
    """Tap the picker map at a WGS-84 point (the test server's basemap is WGS-84)."""
    page.get_by_test_id("pick-map").scroll_into_view_if_needed()
    page.evaluate("([lon, lat]) => window.gpFieldMap.jumpTo({center: [lon, lat], zoom: 17})", [lon, lat])
    wait_eval(page, "() => window.gpFieldMap.loaded()")
    xy = page.evaluate("([lon, lat]) => { const p = window.gpFieldMap.project([lon, lat]); return [p.x, p.y]; }",
                       [lon, lat])
    box = page.get_by_test_id("pick-map").bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])


def test_denied_location_guides_and_offers_the_map(browser, live_server, make_user, db):
    user = make_user(None, "patroller", grids=(GRID,))
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = denied_context(browser, live_server, viewport={"width": 360, "height": 740})
    page = ctx.new_page()
    login_field(page, user)
    wait_pulled(page, "grids", 1)
    page.get_by_test_id("duty-report").click()

    help_ = page.get_by_test_id("report-location-help")
    wait_attr(page, "report-location-help", "data-reason", "denied")
    text = help_.text_content()
    assert "定位权限已关闭" in text and "开阔处" not in text
    assert help_.locator("li").count() >= 3  # short steps for this browser
    assert help_.get_attribute("data-browser") == "chrome"
    assert page.get_by_test_id("report-location").get_attribute("data-ok") == "0"
    # The map picker is the first, primary button.
    adjust = page.get_by_test_id("report-adjust")
    assert adjust.text_content() == "在地图上点选位置"
    assert "primary" in adjust.get_attribute("class")
    first = page.locator(".loc .row button").first
    assert first.get_attribute("data-testid") == "report-adjust"
    # The guidance passes axe and the size checks in both modes.
    problems: list[str] = []
    check_screen(page, "report-denied", "normal", problems)
    page.goto("/?elder=1#/report")
    wait_attr(page, "report-location-help", "data-reason", "denied")
    check_screen(page, "report-denied", "elder", problems)
    page.goto("/?elder=0#/report")
    wait_attr(page, "report-location-help", "data-reason", "denied")
    assert not problems, "\n".join(problems)

    adjust = page.get_by_test_id("report-adjust")
    adjust.click()
    wait_attr(page, "pick-status", "data-state", "ready")
    assert page.get_by_test_id("pick-map").get_attribute("data-grids") == "1"  # my grid outlined
    # A point in someone else's grid: allowed, and said plainly.
    other = inside_point(OTHER)
    tap_map(page, other["lon"], other["lat"])
    wait_attr(page, "pick-where", "data-outside", "1")
    assert "不在您的网格内，仍可上报" in page.get_by_test_id("pick-where").text_content()
    page.screenshot(path=str(SHOTS / "field-report-pick-normal-360.png"), full_page=True)
    # A point in my grid: its name and the distance to the edge.
    mine = inside_point(GRID)
    tap_map(page, mine["lon"], mine["lat"])
    wait_attr(page, "pick-where", "data-outside", "0")
    name = grid_name(db, GRID)
    where = page.get_by_test_id("pick-where").text_content()
    assert name in where and "距网格边界" in where
    page.get_by_test_id("pick-use").click()
    wait_location(page, "report")
    page.wait_for_function(
        "t => document.querySelector('[data-testid=report-location]').textContent.includes(t)", arg="距网格边界")
    loc = page.get_by_test_id("report-location").text_content()
    assert name in loc and "经度" not in loc
    wait_attr(page, "report-grid", "data-code", GRID)
    assert page.get_by_test_id("report-grid").get_attribute("data-outside") == "0"
    assert page.get_by_test_id("report-location-help").is_hidden()
    ctx.close()


def test_names_capture_and_counters(live_server, new_context, make_user, db, tmp_path):
    user = make_user(None, "patroller", grids=(GRID,))
    here = inside_point(GRID)
    ctx = new_context(viewport={"width": 360, "height": 740})
    page = field_page(ctx, user, here)
    wait_pulled(page, "grids", 1)
    page.get_by_test_id("duty-report").click()
    wait_location(page, "report")
    name = grid_name(db, GRID)
    page.wait_for_function(
        "t => document.querySelector('[data-testid=report-location]').textContent.includes(t)", arg="距网格边界")
    loc = page.get_by_test_id("report-location").text_content()
    assert name in loc and "经度" not in loc, loc
    assert page.get_by_test_id("report-grid").text_content() == "在您的网格内"

    # 拍照: a big labelled button, not a bare file input; thumbnails with 删除.
    btn = page.locator("label.cap-btn").first
    assert "拍照" in btn.text_content()
    assert btn.bounding_box()["height"] >= 60
    shas = [pick_photo(page, "report-photo", photo_file(page, tmp_path / f"p{i}.jpg", 40 * i)) for i in range(2)]
    assert page.get_by_test_id("report-photo-remove").count() == 2
    page.locator(f"[data-testid=report-photo-remove][data-sha='{shas[0]}']").click()
    wait_attr(page, "report-photo-list", "data-count", "1")
    assert page.locator("[data-testid=report-photo-list] img").get_attribute("data-sha") == shas[1]

    # Long text: a counter, and typing stops at the server's 4000 characters.
    note = page.get_by_test_id("report-note")
    assert note.get_attribute("maxlength") == "4000"
    note.fill("路" * 3990)
    assert "还可写 10 字" in page.get_by_test_id("report-note-counter").text_content()
    note.press("End")
    page.keyboard.type("灯不亮了啊啊啊啊啊啊啊啊啊啊啊")
    assert len(note.input_value()) == 4000
    assert "4000 字上限" in page.get_by_test_id("report-note-counter").text_content()


def report_incident(device, point, title, photos_after=None):
    """A report (or, with photos_after, a 随手做) from another device of the user."""
    iid = str(uuid.uuid4())
    data = {"kind": "handle" if photos_after else "report", "occurred_at": "2026-11-23T08:15:00+08:00",
            "location": {"type": "Point", "coordinates": [point["lon"], point["lat"]]},
            "note": f"{title}：情况说明", "incident_id": iid, "category": "shirong.garbage", "title": title,
            "urgent": False, "photos": photos_after or []}
    if photos_after:
        data.update(photos_before=[], photos_after=photos_after, description=f"{title}：已清理")
    _, res = device.push("inspection", "create", data)
    assert res["status"] == "applied", res
    return iid


def upload(device, path):
    body = path.read_bytes()
    sha = hashlib.sha256(body).hexdigest()
    r = requests.put(f"{device.url}/attachments/{sha}", data=body, timeout=30,
                     headers={"Authorization": f"Bearer {device.token}", "Content-Type": "image/jpeg"})
    assert r.status_code in (200, 201, 204), r.text
    return sha


def card(page, iid):
    return page.locator(f"[data-testid=incident-item][data-id='{iid}']")


def test_incident_detail_timeline_and_new_badge(live_server, new_context, make_user, db, tmp_path):
    user = make_user(None, "patroller", grids=(GRID,))
    sup = make_user(None, "supervisor", areas=(STREET,))
    here = inside_point(GRID)
    other = Device(live_server.url, user)
    rid = report_incident(other, here, "垃圾满溢")

    ctx = new_context(viewport={"width": 360, "height": 740})
    page = field_page(ctx, user, here)
    after = upload(other, photo_file(page, tmp_path / "after.jpg", 120))
    hid = report_incident(other, here, "楼道堆物", photos_after=[after])
    page.get_by_test_id("sync-now").click()
    wait_pulled(page, "incidents", 2)
    page.get_by_test_id("nav-incidents").click()
    card(page, rid).wait_for()
    # Still as reported: nothing new to tell.
    assert card(page, rid).get_attribute("data-changed") == "0"

    desk = Desk(live_server.url, sup)
    desk.move(db, rid, "accepted", note="已安排保洁公司")
    page.get_by_test_id("sync-now").click()
    page.wait_for_function(
        "rid => document.querySelector(`[data-testid=incident-item][data-id='${rid}']`)?.dataset.status === 'accepted'",
        arg=rid)
    assert card(page, rid).get_attribute("data-changed") == "1"
    assert card(page, rid).get_by_test_id("incident-new").text_content() == "有新进展"
    assert page.get_by_test_id("incidents-news").get_attribute("data-count") == "1"
    assert card(page, rid).get_attribute("data-grid") == GRID
    assert grid_name(db, GRID) in card(page, rid).text_content()

    card(page, rid).get_by_test_id("incident-open").click()
    detail = page.get_by_test_id("incident-detail")
    detail.wait_for()
    assert detail.get_attribute("data-status") == "accepted"
    entries = page.get_by_test_id("timeline-entry")
    texts = [entries.nth(i).text_content() for i in range(entries.count())]
    assert any("您上报了这件事" in t for t in texts), texts
    assert any("已受理" in t for t in texts), texts
    assert any("已安排保洁公司" in t for t in texts), texts  # the desk's note
    page.get_by_test_id("incident-back").click()
    card(page, rid).wait_for()
    assert card(page, rid).get_attribute("data-changed") == "0"  # seen: the badge is gone
    assert page.get_by_test_id("incidents-news").get_attribute("data-count") == "0"

    # Seen versions survive a reload (IndexedDB).
    page.reload()
    card(page, rid).wait_for()
    assert card(page, rid).get_attribute("data-changed") == "0"

    # Handled in my grid: a 核查 waits, with its badge; the detail shows after-photos.
    for to, extra in (("filed", {}), ("dispatched", {"department": "城管"}), ("handled", {"note": "已清运"})):
        desk.move(db, rid, to, **extra)
    page.get_by_test_id("sync-now").click()
    page.wait_for_function(
        "rid => document.querySelector(`[data-testid=incidents-verify] [data-testid=incident-item][data-id='${rid}']`)",
        arg=rid)
    assert card(page, rid).get_attribute("data-changed") == "1"
    card(page, hid).get_by_test_id("incident-open").click()
    photo = page.locator("[data-testid=incident-after-photos] img").first
    photo.wait_for()
    assert photo.get_attribute("data-sha") == after
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=incident-after-photos] img'); return i && i.complete && i.naturalWidth > 0; }")


# ---- 长辈模式, axe-core, sizes, screenshots -------------------------------------------

MEASURE = """([minText, minTap, elder]) => {
  const bad = [];
  const visible = (e) => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && !e.closest('[hidden]'); };
  const name = (e) => `${e.tagName.toLowerCase()}[${e.dataset.testid || e.className || ''}] "${(e.textContent || '').trim().slice(0, 20)}"`;
  // The map's own canvas controls and attribution belong to MapLibre, not to these screens.
  const skip = (e) => e.closest('.maplibregl-map') || e.closest('#toast');
  for (const el of document.querySelectorAll('#app *')) {
    if (skip(el) || !visible(el)) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const s = getComputedStyle(el);
    const fs = parseFloat(s.fontSize);
    if (fs < minText - 0.01) bad.push(`text ${fs}px: ${name(el)}`);
    if (elder && s.lineHeight !== 'normal' && parseFloat(s.lineHeight) / fs < 1.3 - 0.01) bad.push(`line-height ${s.lineHeight}: ${name(el)}`);
  }
  for (const el of document.querySelectorAll('#app button, #app a[href], #app select, #app input, #app textarea')) {
    if (skip(el) || !visible(el)) continue;
    let t = el;
    if (el.tagName === 'INPUT' && ['checkbox', 'radio', 'file'].includes(el.type)) t = el.closest('label') || el;
    const r = t.getBoundingClientRect();
    if (r.width < minTap - 0.5 || r.height < minTap - 0.5) bad.push(`target ${Math.round(r.width)}x${Math.round(r.height)}: ${name(t)}`);
  }
  return bad;
}"""

AXE_RUN = """async () => {
  const r = await axe.run({ exclude: [['.maplibregl-canvas-container'], ['.maplibregl-control-container']] },
                          { resultTypes: ['violations'] });
  return r.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
    .map((v) => `${v.id}: ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')}`);
}"""

SCREENS = [
    # (name, route, element to wait for)
    ("home", "", "duty-report"),
    ("report", "report", "report-form"),
    ("handle", "handle", "handle-form"),
    ("visit", "visit", "visit-search"),
    ("record", "record", "record-search"),
    ("incidents", "incidents", "incidents-list"),
    ("map", "map", "map-view"),
    ("outbox", "outbox", "outbox-list"),
    ("settings", "settings", "device-id"),
    ("patrol", "patrol", "patrol-start"),
]


def check_screen(page, screen, mode, problems):
    elder = mode == "elder"
    page.screenshot(path=str(SHOTS / f"field-{screen}-{mode}-360.png"), full_page=True)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    for v in page.evaluate(AXE_RUN):
        problems.append(f"{mode}/{screen} axe {v}")
    limits = [18, 60, True] if elder else [16, 44, False]
    for b in page.evaluate(MEASURE, limits):
        problems.append(f"{mode}/{screen} {b}")


def test_every_screen_in_both_modes(live_server, new_context, make_user, db):
    SHOTS.mkdir(parents=True, exist_ok=True)
    user = make_user(None, "patroller", grids=(GRID,))
    sup = make_user(None, "supervisor", areas=(STREET,))
    here = inside_point(GRID)
    other = Device(live_server.url, user)
    other.push("household", "create", {"address": "示范路8号", "building": "2", "unit": "1", "room": "302",
                                       "head_name": "李阿姨", "phone": "13900001111", "members": 1,
                                       "tags": ["独居老人"], "location": {"type": "Point",
                                                                       "coordinates": [here["lon"], here["lat"]]}})
    rid = report_incident(other, here, "井盖松动")
    desk = Desk(live_server.url, sup)
    for to, extra in (("accepted", {"note": "已通知市政"}), ("filed", {}), ("dispatched", {"department": "市政"}),
                      ("handled", {"note": "井盖已更换"})):
        desk.move(db, rid, to, **extra)
    report_incident(other, here, "路灯不亮")

    ctx = new_context(viewport={"width": 360, "height": 740})
    page = field_page(ctx, user, here)
    wait_pulled(page, "incidents", 2)
    wait_pulled(page, "households", 1)
    wait_pulled(page, "grids", 1)
    problems: list[str] = []
    for mode in ("normal", "elder"):
        page.goto(f"/?elder={'1' if mode == 'elder' else '0'}#/")
        page.get_by_test_id("duty-report").wait_for()
        assert page.evaluate("document.documentElement.dataset.elder") == ("1" if mode == "elder" else "0")
        for screen, route, ready in SCREENS:
            page.evaluate("r => window.gridpatrol.go(r)", route)
            page.get_by_test_id(ready).first.wait_for()
            if screen in ("report", "handle"):
                wait_location(page, screen)
                page.wait_for_function(
                    "p => document.querySelector(`[data-testid=${p}-grid]`).dataset.code", arg=screen)
            if screen == "map":
                page.wait_for_function(
                    "() => ['ready', 'failed'].includes(document.querySelector('[data-testid=map-status]').dataset.state)")
            check_screen(page, screen, mode, problems)
            if screen == "visit":
                page.get_by_test_id("household-item").first.click()
                page.get_by_test_id("visit-form").wait_for()
                check_screen(page, "visit-form", mode, problems)
            if screen == "record":
                page.get_by_test_id("household-item").first.click()
                page.get_by_test_id("record-form").wait_for()
                check_screen(page, "record-form", mode, problems)
            if screen == "incidents":
                page.locator(f"[data-testid=incident-item][data-id='{rid}'] [data-testid=incident-open]").click()
                page.get_by_test_id("incident-detail").wait_for()
                check_screen(page, "incident-detail", mode, problems)
        # The elder mode is kept across a reload without the URL flag.
        page.goto("/")
        page.get_by_test_id("duty-report").wait_for()
        assert page.evaluate("document.documentElement.dataset.elder") == ("1" if mode == "elder" else "0")
    assert not problems, "\n".join(problems)
    # In elder mode the main function buttons are 30 px.
    page.goto("/?elder=1#/")
    page.get_by_test_id("duty-report").wait_for()
    assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('[data-testid=duty-report]')).fontSize)") >= 30
    page.goto("/?elder=0#/")
    page.get_by_test_id("duty-report").wait_for()
