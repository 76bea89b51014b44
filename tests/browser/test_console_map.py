"""The console map: authorised vector tiles, filters and layer toggles, and a click on an
incident opening its record with the photo (blob URL) and history, all as text."""
import hashlib
import json
import struct
import uuid
import zlib

import pytest
import requests

from tests.browser.test_console_helpers import console_page
from tests.browser.test_pwa_helpers import Device, geo_point, inside_point

GRID = "320105001005004"
STREET = "320105001"
NOW = "2026-11-23T08:15:00+08:00"
XSS = '<img src=x onerror="window.__xss=1">'


def _png(rgb=(200, 30, 30), size=8):
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_map_layers_filters_and_incident_popup(live_server, new_context, db, make_user):
    tag = uuid.uuid4().hex[:6]
    pat = make_user(f"map_pat_{tag}", "patroller", grids=(GRID,))
    sup = make_user(f"map_sup_{tag}", "supervisor", areas=(STREET,))
    p = inside_point(GRID)
    dev = Device(live_server.url, pat)
    photo = _png()
    sha = hashlib.sha256(photo).hexdigest()
    r = requests.put(f"{dev.url}/attachments/{sha}", data=photo, timeout=10,
                     headers={"Authorization": f"Bearer {dev.token}", "Content-Type": "image/png"})
    assert r.status_code in (200, 201), r.text
    rid, res = dev.push("incident", "create", {
        "category": "0303", "title": f"{XSS} {tag}", "description": f"描述 {tag}", "urgent": True,
        "photos": [sha], "location": geo_point(p)})
    assert res["status"] == "applied", res
    visit_id, res = dev.push("inspection", "create", {
        "kind": "visit", "occurred_at": NOW, "note": f"走访 {tag}",
        "location": {"type": "Point", "coordinates": [p["lon"] + 0.0004, p["lat"]]}})
    assert res["status"] == "applied", res

    tiles = []
    _ctx, page = console_page(new_context, sup)
    page.on("response", lambda resp: tiles.append((resp.url, resp.status, resp.request.headers.get("authorization", "")))
            if "/api/v1/tiles/" in resp.url else None)
    page.locator(f"[data-testid=console-feature][data-id='{visit_id}']").wait_for()

    # Filters narrow the list (the no-WebGL fallback) and go into every tile URL.
    page.get_by_test_id("filter-kind").select_option("visit")
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=console-feature]')].every(e => e.dataset.kind === 'visit')")
    assert page.locator(f"[data-testid=console-feature][data-id='{visit_id}']").count() == 1
    page.get_by_test_id("filter-community").select_option(GRID[:12])
    page.get_by_test_id("filter-status").select_option("open")
    page.get_by_test_id("map-measure").select_option("overdue")
    query = json.loads(page.get_by_test_id("console-map").get_attribute("data-query"))
    assert "kind=visit" in query["inspections"] and "kind=visit" in query["heat"]
    assert "measure=overdue" in query["grids"] and f"community={GRID[:12]}" in query["grids"]
    assert "status=reported%2Caccepted" in query["incidents"]
    assert page.get_by_test_id("map-legend").get_attribute("data-measure") == "overdue"
    assert all(f.get_attribute("data-grid").startswith(GRID[:12]) for f in page.get_by_test_id("console-feature").all())

    if page.get_by_test_id("console-map-status").get_attribute("data-state") == "failed":
        pytest.skip("no WebGL here: the list above is the map's fallback")
    page.wait_for_selector("[data-testid=console-map-status][data-state=ready]", state="attached")

    # Layer toggles.
    page.get_by_test_id("layer-tracks").check()
    page.get_by_test_id("layer-heat").check()
    page.get_by_test_id("layer-inspections").uncheck()
    assert page.evaluate("() => ['tracks-line', 'heat', 'insp-points'].map(l => window.gpConsoleMap.getLayoutProperty(l, 'visibility'))") == [
        "visible", "visible", "none"]
    assert page.get_by_test_id("console-map").get_attribute("data-layers") == "grids,incidents,tracks,heat"

    # Zoom to the incident: a single red-or-green point, clicked on the canvas.
    page.evaluate("([lon, lat]) => { const m = window.gpConsoleMap; delete m.getContainer().dataset.idle;"
                  " m.jumpTo({center: [lon, lat], zoom: 17}); }", [p["lon"], p["lat"]])
    page.wait_for_function("() => { const m = window.gpConsoleMap; return m.getContainer().dataset.idle && m.areTilesLoaded(); }")
    page.wait_for_function("rid => window.gpConsoleMap.queryRenderedFeatures({layers: ['inc-points']}).some(f => f.properties.id === rid)", arg=rid)
    xy = page.evaluate("([lon, lat]) => { const m = window.gpConsoleMap; const pt = m.project([lon, lat]);"
                       " const r = m.getCanvas().getBoundingClientRect(); return [r.left + pt.x, r.top + pt.y]; }", [p["lon"], p["lat"]])
    page.mouse.click(*xy)
    popup = page.locator(".maplibregl-popup [data-testid=popup-incident]")
    popup.wait_for()
    assert popup.get_attribute("data-light") == "green"
    rec = page.locator(".maplibregl-popup [data-testid=popup-record][data-state=ready]")
    rec.wait_for()
    assert rec.get_by_test_id("detail-title").text_content() == f"{XSS} {tag}"
    shot = rec.locator(f"[data-testid=detail-photo][data-sha='{sha}'][data-state=ready] img")
    shot.wait_for()
    assert shot.get_attribute("src").startswith("blob:")
    assert shot.evaluate("img => img.complete && img.naturalWidth") == 8
    assert rec.get_by_test_id("history-entry").count() == 1
    # The same record also opens in the side panel.
    page.locator("[data-testid=console-detail] [data-testid=popup-record][data-state=ready]").wait_for()

    # Every tile went out with the token and came back 200 (or 304).
    assert tiles and all(status in (200, 304) and auth.startswith("Bearer ") for _, status, auth in tiles), tiles[:5]
    layers = {url.split("/api/v1/tiles/")[1].split("/")[0] for url, _, _ in tiles}
    assert {"grids", "incidents", "tracks", "heat"} <= layers
    assert any("measure=overdue" in url for url, _, _ in tiles if "/tiles/grids/" in url)
    assert page.locator("#console img[src=x]").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.errors == []
