"""The phone's 地图 shows my own work: the pulled records (巡/访/记/做 by kind, 报 by its
status), the unsent ones in the outbox drawn hollow (未上传), and today's patrol track,
with a legend; offline too (set_offline + reload)."""
import pathlib

from tests.browser.test_pwa_helpers import (
    Device,
    field_page,
    geo_point,
    go_offline_and_reload,
    inside_points,
    wait_eval,
    wait_location,
    wait_outbox,
    wait_pulled,
)

GRID = "320105001001004"
NOW = "2026-11-23T08:15:00+08:00"
SHOTS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "screens"


def test_my_records_unsent_and_track_on_the_phone_map(live_server, new_context, make_user):
    user = make_user(None, "patroller", grids=(GRID,))
    pts = inside_points(GRID)
    here, a, b = pts[0], pts[1 % len(pts)], pts[2 % len(pts)]
    dev = Device(live_server.url, user)
    visit_id, res = dev.push("inspection", "create", {
        "kind": "visit", "occurred_at": NOW, "note": "走访", "location": geo_point(a)})
    assert res["status"] == "applied", res
    inc_id, res = dev.push("incident", "create", {
        "category": "0303", "title": "占道", "description": "占道经营", "location": geo_point(b)})
    assert res["status"] == "applied", res

    ctx = new_context(viewport={"width": 360, "height": 740})
    page = field_page(ctx, user, here)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    wait_pulled(page, "grids", 1)
    wait_pulled(page, "inspections", 1)
    wait_pulled(page, "incidents", 1)
    # Today's patrol: three fixes as the tracker stores them.
    page.evaluate("""([lon, lat]) => window.gridpatrol.db.trackpoints.bulkAdd([0, 1, 2].map(i => (
        {patrol_id: 'p-today', lon: lon - i * 0.0006, lat: lat - i * 0.0003, acc: 5, t: Date.now() - (3 - i) * 60000})))""",
                  [here["lon"], here["lat"]])

    # A report made offline stays in the outbox: 未上传.
    go_offline_and_reload(ctx, page)
    page.get_by_test_id("duty-report").click()
    wait_location(page, "report")
    page.get_by_test_id("report-note").fill("离线上报")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()
    wait_outbox(page, 1)

    page.reload()  # still offline
    page.get_by_test_id("nav-map").click()
    page.wait_for_selector("[data-testid=map-status][data-state=ready]", state="attached", timeout=30000)
    page.wait_for_function("() => +document.querySelector('[data-testid=map-view]').dataset.records >= 3")
    view = page.get_by_test_id("map-view")
    assert view.get_attribute("data-unsent") == "1"
    assert view.get_attribute("data-track") == "3"

    drawn = wait_eval(page, """(ids) => {
        const m = window.gpFieldMap;
        if (!m || !m.loaded()) return null;
        const mine = m.queryRenderedFeatures({layers: ['mine']}).map(f => f.properties);
        const track = m.queryRenderedFeatures({layers: ['track']}).length;
        if (!ids.every(i => mine.some(p => p.id === i)) || !mine.some(p => p.unsent) || !track) return null;
        const by = {};
        for (const p of mine) by[p.id] = [p.kind, p.group, p.unsent];
        return by;
    }""", [visit_id, inc_id])
    assert drawn[visit_id] == ["visit", "", 0]
    assert drawn[inc_id] == ["report", "open", 0]
    unsent = [v for v in drawn.values() if v[2] == 1]
    assert unsent == [["report", "open", 1]]
    assert page.evaluate("window.gridpatrol.db.outbox.toArray().then(o => o.map(x => x.data.note))") == ["离线上报"]

    legend = page.get_by_test_id("map-legend")
    text = legend.text_content()
    for word in ("巡", "访", "记", "做", "报", "未上传", "待处理", "已办结", "轨迹"):
        assert word in text, word
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / "field-map-mine-360.png"), full_page=True)
    assert errors == []
