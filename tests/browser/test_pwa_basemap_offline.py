"""The phone keeps the basemap of its grids: after one sync on the network it shows the
basemap tiles with no network at all (service worker, Cache Storage)."""

from __future__ import annotations

import pytest

from tests.browser.test_pwa_helpers import field_page, inside_point, wait_pulled
from tests.browser.test_pwa_more_helpers import extra_server

GRID = "320105003002001"


@pytest.fixture(scope="module")
def basemap_server(app, database_url, tmp_path_factory):
    base = tmp_path_factory.mktemp("basemap-offline")
    out = base / "demo.pmtiles"
    result = app.test_cli_runner().invoke(args=["basemap", "build", str(out)])
    assert result.exit_code == 0, result.output
    with extra_server(database_url, base, BASEMAP=f"file:{out}") as s:
        yield s


def test_phone_shows_basemap_of_its_grids_offline(basemap_server, new_context, make_user):
    user = make_user(None, "patroller", grids=(GRID,))
    ctx = new_context(base_url=basemap_server.url, viewport={"width": 360, "height": 780})
    page = field_page(ctx, user, inside_point(GRID))
    wait_pulled(page, "grids", 1)
    page.wait_for_function(
        "window.gridpatrol.db.kv.get('meta').then(r => r && r.value.basemap.kind === 'file')")

    plan = page.evaluate("""window.gridpatrol.basemap().then(m => m.planBasemap())
        .then(p => ({tiles: p.tiles, zooms: p.zooms, estimate: p.estimateBytes}))""")
    assert plan["tiles"] > 0 and plan["zooms"] == [13, 16] and plan["estimate"] > 0
    progress = page.evaluate("""window.gridpatrol.basemap().then(async m => {
        const seen = [];
        const r = await m.downloadBasemap({capMB: 20, onProgress: p => seen.push(p.done)});
        return {...r, steps: seen.length};
    })""")
    assert progress["done"] is True and progress["failed"] == 0, progress
    assert progress["stored"] + progress["skipped"] > 0 and progress["bytes"] > 0
    assert progress["steps"] >= plan["tiles"]
    # A cap smaller than one tile keeps nothing new and says so.
    capped = page.evaluate("""window.gridpatrol.basemap().then(async m => {
        await caches.delete(m.BASEMAP_CACHE);
        return m.downloadBasemap({capMB: 0.000001});
    })""")
    assert capped["capped"] is True and capped["stored"] == 0
    page.evaluate("window.gridpatrol.basemap().then(m => m.downloadBasemap({capMB: 20}))")

    ctx.set_offline(True)
    tiles = []
    page.on("response", lambda r: tiles.append((r.status, r.from_service_worker))
            if "/api/v1/basemap/tiles/" in r.url else None)
    page.reload()
    page.get_by_test_id("nav-map").click()
    page.wait_for_function("document.querySelector('[data-testid=map-status]')?.dataset.state === 'ready'",
                           timeout=30000)
    page.wait_for_function("""() => {
        const m = window.gpFieldMap;
        return m && m.getSource('basemap') && m.isSourceLoaded('basemap')
          && m.queryRenderedFeatures({layers: ['grids-outline', 'communities-fill']}).length > 0;
    }""", timeout=30000)
    assert tiles and all(status == 200 and from_sw for status, from_sw in tiles), tiles
