"""Console map details: three incidents at one point are all listed on a click, each
openable (and back to the list); popups with long text stay inside the map (capped size,
scrolling inside), and all data goes in as text."""
import uuid

import pytest

from tests.browser.test_console_helpers import console_page
from tests.browser.test_pwa_helpers import Device, geo_point, inside_points

GRID = "320105001005004"
STREET = "320105001"
XSS = '<img src=x onerror="window.__xss=1">'
SHOTS = "docs/screens"


def inside(inner, outer, slack=1):
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


def test_colocated_incidents_listed_and_popups_stay_inside(live_server, new_context, make_user):
    tag = uuid.uuid4().hex[:6]
    pat = make_user(f"md_pat_{tag}", "patroller", grids=(GRID,))
    sup = make_user(f"md_sup_{tag}", "supervisor", areas=(STREET,))
    # A point of its own (other tests put records at the grid's first point).
    p = [q for q in inside_points(GRID) if q["edge_m"] > 40][-1]
    dev = Device(live_server.url, pat)
    long_word = "很长的描述" * 60 + "x" * 300  # 300 chars with no break, then 600 CJK
    ids = []
    for i in range(3):
        rid, res = dev.push("incident", "create", {
            "category": "0303", "title": f"{XSS} 同一地点 {i} {'长标题' * 30 if i == 0 else ''}", "description": long_word,
            "location": geo_point(p)})
        assert res["status"] == "applied", res
        ids.append(rid)

    _ctx, page = console_page(new_context, sup, viewport={"width": 1366, "height": 768})
    page.wait_for_selector("[data-testid=console-map-status][data-state]", state="attached")
    if page.get_by_test_id("console-map-status").get_attribute("data-state") == "failed":
        pytest.skip("no WebGL here")
    page.wait_for_selector("[data-testid=console-map-status][data-state=ready]", state="attached", timeout=30000)
    page.evaluate("([lon, lat]) => { const m = window.gpConsoleMap; delete m.getContainer().dataset.idle;"
                  " m.jumpTo({center: [lon, lat], zoom: 17}); }", [p["lon"], p["lat"]])
    page.wait_for_function("() => { const m = window.gpConsoleMap; return m.getContainer().dataset.idle && m.areTilesLoaded(); }")
    page.wait_for_function("ids => { const got = new Set(window.gpConsoleMap.queryRenderedFeatures({layers: ['inc-points']}).map(f => f.properties.id));"
                           " return ids.every(i => got.has(i)); }", arg=ids)
    page.get_by_test_id("console-map").scroll_into_view_if_needed()
    xy = page.evaluate("([lon, lat]) => { const m = window.gpConsoleMap; const pt = m.project([lon, lat]);"
                       " const r = m.getCanvas().getBoundingClientRect(); return [r.left + pt.x, r.top + pt.y]; }", [p["lon"], p["lat"]])
    page.mouse.click(*xy)

    listing = page.locator(".maplibregl-popup [data-testid=popup-colocated]")
    listing.wait_for()
    assert listing.get_attribute("data-count") == "3"
    items = listing.get_by_test_id("colocated-item")
    assert sorted(items.evaluate_all("els => els.map(e => e.dataset.id)")) == sorted(ids)
    assert all(XSS in t for t in items.all_text_contents())
    map_box = page.get_by_test_id("console-map").bounding_box()
    popup = page.locator(".maplibregl-popup-content")
    assert inside(popup.bounding_box(), map_box)
    page.screenshot(path=f"{SHOTS}/console-map-colocated-1366.png")

    # Each opens; the popup holds the long record but stays inside the map and scrolls.
    for rid in ids:
        page.locator(f".maplibregl-popup [data-testid=colocated-item][data-id='{rid}']").click()
        rec = page.locator(f".maplibregl-popup [data-testid=popup-record][data-state=ready] [data-id='{rid}']")
        rec.wait_for()
        assert rec.get_by_test_id("detail-text").text_content() == long_word
        assert XSS in rec.get_by_test_id("detail-title").text_content()
        page.locator(f"[data-testid=console-detail] [data-testid=popup-record][data-state=ready] [data-id='{rid}']").wait_for()
        box = popup.bounding_box()
        assert inside(box, map_box), (box, map_box)
        scroll = page.locator(".maplibregl-popup [data-testid=popup-scroll]").evaluate("e => [e.scrollHeight > e.clientHeight, e.scrollWidth <= e.clientWidth + 1, getComputedStyle(e).overflowY]")
        assert scroll == [True, True, "auto"], scroll
        if rid == ids[0]:
            page.screenshot(path=f"{SHOTS}/console-map-popup-long-1366.png")
        page.locator(".maplibregl-popup [data-testid=popup-back]").click()
        listing.wait_for()

    assert page.locator("#console img[src=x]").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.errors == []
