"""The desk's incident detail names its category by its path in the tree /api/v1/meta
serves (街面秩序 › 占道经营), and shows a small location map: the incident's point over
its grid's outline, on the configured basemap."""
import uuid

import requests

from tests.browser.test_console_helpers import console_page, desk_open, desk_queue
from tests.browser.test_pwa_helpers import Device, geo_point, inside_point

GRID = "320105001003006"
STREET = "320105001"
SHOTS = "docs/screens"


def _path(tree, code):
    for node in tree:
        if node["code"] == code:
            return [node["name"]]
        below = _path(node.get("children") or [], code)
        if below:
            return [node["name"], *below]
    return []


def test_desk_detail_category_path_and_location_map(live_server, new_context, make_user):
    tag = uuid.uuid4().hex[:6]
    pat = make_user(f"dm_pat_{tag}", "patroller", grids=(GRID,))
    sup = make_user(f"dm_sup_{tag}", "supervisor", areas=(STREET,))
    p = inside_point(GRID)
    meta = requests.get(live_server.url + "/api/v1/meta", timeout=10).json()
    leaf = meta["categories"][1]["children"][0]  # the second branch's first leaf (街面秩序 › 占道经营 by default)
    want = " › ".join(_path(meta["categories"], leaf["code"]))
    assert "›" in want
    dev = Device(live_server.url, pat)
    rid, res = dev.push("incident", "create", {
        "category": leaf["code"], "title": f"占道 {tag}", "description": "<b>门口</b>摆摊", "location": geo_point(p)})
    assert res["status"] == "applied", res
    odd, res = dev.push("incident", "create", {
        "category": "<i>zz</i>", "title": f"怪类别 {tag}", "description": "x", "location": geo_point(p)})
    assert res["status"] == "applied", res

    _ctx, page = console_page(new_context, sup, view="desk", viewport={"width": 1366, "height": 768})
    desk_queue(page, "reported")
    desk_open(page, rid)
    cat = page.locator("[data-testid=desk-detail] [data-testid=detail-category]")
    cat.wait_for()
    assert cat.text_content() == want
    assert cat.get_attribute("data-code") == leaf["code"]

    locmap = page.locator("[data-testid=desk-detail] [data-testid=desk-locmap]")
    page.wait_for_selector("[data-testid=desk-detail] [data-testid=desk-locmap][data-state=ready]", timeout=30000)
    assert locmap.get_attribute("data-grid") == GRID
    assert locmap.get_attribute("data-datum") == (meta.get("basemap_datum") or "wgs84")
    lon, lat = (float(v) for v in locmap.get_attribute("data-point").split(","))
    assert abs(lon - p["lon"]) < 1e-6 and abs(lat - p["lat"]) < 1e-6
    drawn = page.wait_for_function("""() => {
        const m = window.gpDeskMap;
        if (!m || !m.loaded()) return null;
        const grid = m.queryRenderedFeatures({layers: ['grid-line']}).map(f => f.properties.code);
        const here = m.queryRenderedFeatures({layers: ['here']}).length;
        return grid.length && here ? [grid[0], here] : null;
    }""", timeout=30000).json_value()
    assert drawn == [GRID, 1]
    page.locator("[data-testid=desk-detail]").scroll_into_view_if_needed()
    page.screenshot(path=f"{SHOTS}/console-desk-detail-map-1366.png")

    # An unknown code is shown as text, marked, not hidden and not parsed as HTML.
    desk_open(page, odd)
    page.wait_for_selector(f"[data-testid=desk-detail][data-id='{odd}'] [data-testid=detail-category]")
    assert page.locator("[data-testid=desk-detail] [data-testid=detail-category]").text_content() == "未知类别（<i>zz</i>）"
    assert page.locator("[data-testid=desk-detail] i").count() == 0
    page.wait_for_selector("[data-testid=desk-detail] [data-testid=desk-locmap][data-state=ready]", timeout=30000)
    assert page.evaluate("document.querySelectorAll('[data-testid=desk-locmap]').length") == 1
    assert page.errors == []
