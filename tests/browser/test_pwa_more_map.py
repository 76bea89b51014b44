"""The 地图 screen and the map point picker.

1. My grids draw (MapLibre, no basemap configured), my position is drawn, and "您在 …" names
   the grid I stand in; offline too. Without WebGL the screen says so and still names it.
2. With BASEMAP_DATUM=gcj02 (a second server), the picker draws the GPS fix shifted onto the
   GCJ-02 basemap; a tapped point is sent with ``location_datum: "gcj02"`` and lands in the
   right grid in PostGIS; a start point left untouched stays the WGS-84 fix.
"""
import pytest
import requests

from geo.datum import from_wgs84, to_wgs84
from tests.browser.test_pwa_helpers import (
    POINTS,
    Device,
    field_page,
    inside_point,
    wait_eval,
    wait_location,
    wait_pulled,
    wait_synced,
)
from tests.browser.test_pwa_more_helpers import extra_server, wait_attr

GRID = "320105001001004"
OTHER = "320105001004009"
NO_WEBGL = """(() => {
    const orig = HTMLCanvasElement.prototype.getContext;
    HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
        return /webgl/.test(kind) ? null : orig.call(this, kind, ...rest);
    };
})()"""


def grid_name(db, code):
    return db.execute("select name from grid where code = %s", (code,)).fetchone()[0]


def wait_map_settled(page, testid):
    page.wait_for_function(
        "t => ['ready', 'failed'].includes(document.querySelector(`[data-testid=${t}]`)?.dataset.state)",
        arg=testid, timeout=30000)
    return page.get_by_test_id(testid).get_attribute("data-state")


def me_on_map(page, testid):
    lon, lat = page.get_by_test_id(testid).get_attribute("data-me").split(",")
    return float(lon), float(lat)


def test_map_screen_grids_position_and_grid_name(live_server, new_context, db, make_user):
    user = make_user(None, "patroller", grids=(GRID, OTHER))
    here = inside_point(GRID)
    name = grid_name(db, GRID)
    ctx = new_context(viewport={"width": 360, "height": 780})
    page = field_page(ctx, user, here)
    wait_pulled(page, "grids", 2)

    for offline in (False, True):
        if offline:  # no server, no basemap: the grids still draw from the device
            ctx.set_offline(True)
            page.reload()
        else:
            page.get_by_test_id("nav-map").click()
        page.wait_for_function("document.querySelector('[data-testid=map-grid]')?.dataset.code !== undefined")
        wait_attr(page, "map-grid", "data-code", GRID)
        assert page.get_by_test_id("map-grid").text_content() == f"您在 {name}"
        pos = page.get_by_test_id("map-position")
        assert abs(float(pos.get_attribute("data-lon")) - here["lon"]) < 1e-9
        assert abs(float(pos.get_attribute("data-lat")) - here["lat"]) < 1e-9

        assert wait_map_settled(page, "map-status") == "ready"  # headless Chromium has WebGL (SwiftShader)
        view = page.get_by_test_id("map-view")
        assert view.get_attribute("data-grids") == "2" and view.get_attribute("data-datum") == "wgs84"
        # The position is drawn, even though the fix came before the map had loaded.
        page.wait_for_function("document.querySelector('[data-testid=map-view]').dataset.me !== undefined")
        lon, lat = me_on_map(page, "map-view")
        assert abs(lon - here["lon"]) < 1e-6 and abs(lat - here["lat"]) < 1e-6
        # Both grids and the position are really on screen.
        drawn = wait_eval(page, """() => {
            const m = window.gpFieldMap;
            if (!m || !m.loaded()) return null;
            const codes = new Set(m.queryRenderedFeatures({layers: ['grids-fill']}).map(f => f.properties.code));
            const me = m.queryRenderedFeatures({layers: ['me']}).length;
            return codes.size === 2 && me === 1 ? [...codes].sort() : null;
        }""")
        assert drawn == sorted([GRID, OTHER])


def test_map_screen_without_webgl_falls_back(live_server, new_context, db, make_user):
    user = make_user(None, "patroller", grids=(GRID,))
    here = inside_point(GRID)
    ctx = new_context()
    ctx.add_init_script(NO_WEBGL)
    page = field_page(ctx, user, here)
    wait_pulled(page, "grids", 1)
    page.get_by_test_id("nav-map").click()
    assert wait_map_settled(page, "map-status") == "failed"
    assert "不支持 WebGL" in page.get_by_test_id("map-status").text_content()
    wait_attr(page, "map-grid", "data-code", GRID)
    assert page.get_by_test_id("map-grid").text_content() == f"您在 {grid_name(db, GRID)}"
    assert "误差约" in page.get_by_test_id("map-position").text_content()
    assert abs(float(page.get_by_test_id("map-position").get_attribute("data-lon")) - here["lon"]) < 1e-9


# --- GCJ-02 basemap -------------------------------------------------------------------

@pytest.fixture(scope="module")
def gcj_server(database_url, tmp_path_factory):
    with extra_server(database_url, tmp_path_factory.mktemp("gcj"), BASEMAP_DATUM="gcj02") as s:
        yield s


def match(base_url, token, lon, lat, datum):
    r = requests.post(base_url + "/api/v1/grids/match", json={"points": [[lon, lat]], "datum": datum},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)
    r.raise_for_status()
    return r.json()["matches"][0].get("code")


def pick_case(base_url, token):
    """A point P deep inside a grid whose GCJ-02 coordinates, read as WGS-84, fall in another grid."""
    for p in POINTS:
        if p["class"] != "inside" or p["edge_m"] < 60:
            continue
        g = [float(v) for v in from_wgs84(p["lon"], p["lat"], "gcj02")]
        wrong = match(base_url, token, g[0], g[1], "wgs84")
        if wrong and wrong != p["expect"]:
            return p, g
    raise AssertionError("no suitable point")


def click_map_at(page, lon, lat):
    """Tap the picker map at a point given in the map's datum."""
    page.get_by_test_id("pick-map").scroll_into_view_if_needed()
    page.evaluate("([lon, lat]) => window.gpFieldMap.jumpTo({center: [lon, lat], zoom: 17})", [lon, lat])
    wait_eval(page, "() => window.gpFieldMap.loaded()")
    xy = page.evaluate("([lon, lat]) => { const p = window.gpFieldMap.project([lon, lat]); return [p.x, p.y]; }", [lon, lat])
    box = page.get_by_test_id("pick-map").bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])


def test_picker_on_gcj02_basemap(gcj_server, new_context, db, make_user):
    probe = make_user(None, "patroller")
    token = Device(gcj_server.url, probe).token
    target, g = pick_case(gcj_server.url, token)
    here = inside_point(GRID) if target["expect"] != GRID else inside_point(OTHER)
    here_grid = here["expect"]
    user = make_user(None, "patroller", grids=tuple({target["expect"], here_grid}))

    ctx = new_context(base_url=gcj_server.url, viewport={"width": 360, "height": 780})
    pushed = []
    ctx.on("request", lambda r: pushed.extend(r.post_data_json["ops"])
           if r.method == "POST" and r.url.endswith("/sync/push") else None)
    page = field_page(ctx, user, here)
    wait_pulled(page, "grids", len({target["expect"], here_grid}))
    wait_eval(page, "window.gridpatrol.db.kv.get('meta').then(r => r && r.value.basemap_datum === 'gcj02')")

    # 1. Tap the target on the GCJ-02 map.
    page.get_by_test_id("duty-report").click()
    wait_location(page, "report")
    wait_attr(page, "report-grid", "data-code", here_grid)
    page.get_by_test_id("report-adjust").click()
    assert wait_map_settled(page, "pick-status") == "ready"
    pick = page.get_by_test_id("pick-map")
    assert pick.get_attribute("data-datum") == "gcj02"
    # The GPS fix is drawn where it is on a GCJ-02 basemap, not ~500 m off.
    lon, lat = me_on_map(page, "pick-map")
    glon, glat = (float(v) for v in from_wgs84(here["lon"], here["lat"], "gcj02"))
    assert abs(lon - glon) < 1e-6 and abs(lat - glat) < 1e-6
    click_map_at(page, *g)
    page.wait_for_function(
        "([x, y]) => { const m = document.querySelector('[data-testid=pick-map]').dataset.me.split(',').map(Number);"
        " return Math.abs(m[0] - x) < 2e-5 && Math.abs(m[1] - y) < 2e-5; }", arg=g)
    page.get_by_test_id("pick-use").click()
    assert page.get_by_test_id("report-location").get_attribute("data-datum") == "gcj02"
    wait_attr(page, "report-grid", "data-code", target["expect"])
    picked = [float(page.get_by_test_id("report-location").get_attribute(a)) for a in ("data-lon", "data-lat")]
    page.get_by_test_id("report-note").fill("gcj-tap")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()
    wait_synced(page)

    # 2. Open the picker and keep the GPS fix as it is.
    page.get_by_test_id("duty-report").click()
    wait_location(page, "report")
    page.get_by_test_id("report-adjust").click()
    assert wait_map_settled(page, "pick-status") == "ready"
    page.get_by_test_id("pick-use").click()
    wait_attr(page, "report-grid", "data-code", here_grid)
    page.get_by_test_id("report-note").fill("gcj-untouched")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()
    wait_synced(page)

    sent = {op["data"]["note"]: op["data"] for op in pushed}
    assert sent["gcj-tap"]["location_datum"] == "gcj02"
    assert sent["gcj-tap"]["location"]["coordinates"] == picked
    assert "location_datum" not in sent["gcj-untouched"]
    assert sent["gcj-untouched"]["location"]["coordinates"] == [here["lon"], here["lat"]]

    rows = {r[0]: r[1:] for r in db.execute(
        "select data->>'note', grid_code, st_x(geom), st_y(geom) from record where entity = 'inspection'"
        " and created_by = (select id from app_user where username = %s)", (user,)).fetchall()}
    wlon, wlat = (float(v) for v in to_wgs84(picked[0], picked[1], "gcj02"))
    grid_tap, x, y = rows["gcj-tap"]
    assert grid_tap == target["expect"]
    assert abs(x - wlon) < 1e-6 and abs(y - wlat) < 1e-6
    assert abs(x - target["lon"]) < 5e-5 and abs(y - target["lat"]) < 5e-5  # within a few metres of P
    grid_kept, x, y = rows["gcj-untouched"]
    assert grid_kept == here_grid
    assert abs(x - here["lon"]) < 1e-7 and abs(y - here["lat"]) < 1e-7
