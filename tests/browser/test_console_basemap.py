"""The console draws the configured basemap: the demo PMTiles served by the server itself,
and the tile URLs a 天地图 or 高德 configuration makes (intercepted: never the network)."""

from __future__ import annotations

import uuid
import zipfile

import pytest

from tests.browser.test_console_helpers import console_page
from tests.browser.test_console_map import _png
from tests.browser.test_pwa_more_helpers import extra_server

STREET = "320105003"


@pytest.fixture(scope="module")
def demo_server(app, database_url, tmp_path_factory):
    base = tmp_path_factory.mktemp("basemap-live")
    out = base / "demo.pmtiles"
    result = app.test_cli_runner().invoke(args=["basemap", "build", str(out)])
    assert result.exit_code == 0, result.output
    with extra_server(database_url, base, BASEMAP=f"file:{out}") as s:
        yield s


def test_console_draws_the_demo_basemap_and_exports_gis(demo_server, new_context, make_user):
    sup = make_user(f"bm_sup_{uuid.uuid4().hex[:6]}", "supervisor", areas=(STREET,))
    _ctx, page = console_page(new_context, sup, base_url=demo_server.url)
    page.wait_for_selector("[data-testid=console-map-status][data-state=ready]", timeout=30000)
    assert page.get_by_test_id("console-map").get_attribute("data-basemap") == "file"
    # The basemap's source loaded, and its outlines are on screen under our layers.
    page.wait_for_function("""() => {
        const m = window.gpConsoleMap;
        return m && m.isSourceLoaded('basemap')
          && m.queryRenderedFeatures({layers: ['streets-outline', 'district-outline']}).length > 0;
    }""", timeout=30000)
    # The rendered outlines above came from the basemap's tiles (MapLibre fetches them in a
    # worker, before a listener here could be attached); one more, fetched by the page:
    status, kind = page.evaluate("""async () => {
        const m = window.gpConsoleMap, c = m.getCenter(), n = 2 ** 13;  // the view's tile
        const x = Math.floor((c.lng + 180) / 360 * n);
        const y = Math.floor((1 - Math.asinh(Math.tan(c.lat * Math.PI / 180)) / Math.PI) / 2 * n);
        const url = m.getStyle().sources.basemap.tiles[0]
          .replace('{z}', '13').replace('{x}', x).replace('{y}', y);
        const r = await fetch(url);
        return [r.status, r.headers.get('Content-Type')];
    }""")
    assert (status, kind) == (200, "application/vnd.mapbox-vector-tile"), (status, kind)
    ids = page.evaluate("window.gpConsoleMap.getStyle().layers.map(l => l.id)")
    assert ids.index("district-outline") < ids.index("grids-fill")  # basemap below
    labels = page.evaluate("""window.gpConsoleMap.querySourceFeatures('basemap',
        {sourceLayer: 'labels'}).map(f => f.properties.name)""")
    assert "建邺区" in labels

    # GIS export from the map view: a GeoPackage of the supervisor's grids.
    page.get_by_test_id("gis-collection").select_option("grids")
    page.get_by_test_id("gis-format").select_option("shp.zip?gbk")
    with page.expect_download() as dl:
        page.get_by_test_id("gis-export").click()
    path = dl.value.path()
    names = zipfile.ZipFile(path).namelist()
    assert "grids.cpg" in names and "grids.shp" in names
    assert not page.errors, page.errors


@pytest.mark.parametrize("kind, env, host", [
    ("tianditu", {"BASEMAP": "tianditu", "TIANDITU_KEY": "test-key-123"}, "tianditu.gov.cn"),
    ("amap", {"BASEMAP": "amap"}, "is.autonavi.com"),
])
def test_online_basemap_tile_urls(kind, env, host, database_url, tmp_path_factory,
                                  new_context, make_user):
    sup = make_user(f"bm_{kind}_{uuid.uuid4().hex[:6]}", "supervisor", areas=(STREET,))
    with extra_server(database_url, tmp_path_factory.mktemp(kind), **env) as server:
        ctx = new_context(base_url=server.url, viewport={"width": 1400, "height": 900},
                          bypass_csp=False)
        seen: list[str] = []
        png = _png((230, 230, 220), 256)

        def fake_tile(route):
            seen.append(route.request.url)
            route.fulfill(status=200, content_type="image/png", body=png)

        # Every request to the tile hosts is answered here; nothing leaves the machine.
        ctx.route(f"https://*.{host}/**", fake_tile)
        ctx.route(lambda url: not url.startswith(server.url) and host not in url,
                  lambda route: route.abort())
        _ctx, page = console_page(lambda **kw: ctx, sup)
        page.wait_for_selector("[data-testid=console-map-status][data-state=ready]",
                               timeout=30000)
        # Loaded means every tile in view was answered: by fake_tile, or never if the
        # page's CSP had refused the host (bypass_csp=False above).
        sources = ["tianditu-vec", "tianditu-cva"] if kind == "tianditu" else ["amap"]
        page.wait_for_function(
            "(ids) => window.gpConsoleMap && ids.every(id => window.gpConsoleMap.isSourceLoaded(id))",
            arg=sources, timeout=30000)
        assert seen, "no basemap tile was requested"
        if kind == "tianditu":
            assert all("tk=test-key-123" in u and "TILEMATRIXSET=w" in u for u in seen)
            assert {"vec", "cva"} <= {u.split("LAYER=")[1].split("&")[0] for u in seen}
            assert all(u.split("/")[2] in {f"t{i}.tianditu.gov.cn" for i in range(8)} for u in seen)
        else:
            assert all(u.startswith("https://webrd0") and "/appmaptile?" in u and "style=8" in u
                       for u in seen)
        z = {int(u.split("TILEMATRIX=")[1].split("&")[0]) if kind == "tianditu"
             else int(u.split("&z=")[1].split("&")[0]) for u in seen}
        assert all(8 <= v <= 18 for v in z), z
