"""The whole work-order loop across the field app and the console, checked in PostGIS.

A patroller reports offline and syncs; the supervisor sees it on the map and in the desk,
accepts, files and dispatches it to 城管; the department marks it handled in the console;
the patroller verifies it (核查) offline in the field app and syncs; the supervisor closes
it. A supervisor of another street sees none of it.
"""
import uuid

from tests.browser.test_console_helpers import (
    console_page,
    desk_act,
    desk_open,
    desk_queue,
    desk_row,
    open_view,
    record_row,
    status_history,
)
from tests.browser.test_pwa_helpers import (
    field_page,
    go_offline_and_reload,
    inside_point,
    wait_eval,
    wait_location,
    wait_outbox,
    wait_pulled,
    wait_synced,
)

GRID = "320105001003004"
STREET = "320105001"
OTHER_STREET = "320105002"


def test_whole_loop_report_dispatch_handle_verify_close(live_server, new_context, db, make_user):
    tag = uuid.uuid4().hex[:6]
    pat = make_user(f"loop_pat_{tag}", "patroller", grids=(GRID,))
    sup = make_user(f"loop_sup_{tag}", "supervisor", areas=(STREET,))
    dept = make_user(f"loop_dept_{tag}", "department", dept="城管")
    other = make_user(f"loop_other_{tag}", "supervisor", areas=(OTHER_STREET,))
    title = f"消防通道堵塞 {tag}"
    note = f"楼道堆满杂物 <b>{tag}</b>"

    # 1. The patroller reports offline, then syncs.
    p = inside_point(GRID)
    fctx = new_context(viewport={"width": 360, "height": 780})
    field = field_page(fctx, pat, p)
    wait_pulled(field, "grids", 1)
    go_offline_and_reload(fctx, field)
    field.get_by_test_id("duty-report").click()
    field.get_by_test_id("report-category-parent").select_option(label="安全隐患")
    field.get_by_test_id("report-title").fill(title)
    field.get_by_test_id("report-note").fill(note)
    wait_location(field, "report")
    field.get_by_test_id("report-save").click()
    field.get_by_test_id("duty-report").wait_for()
    wait_outbox(field, 1)
    fctx.set_offline(False)
    wait_synced(field)
    insp = db.execute("select id, data->>'incident_id', grid_code from record where entity = 'inspection'"
                      " and data->>'note' = %s", (note,)).fetchall()
    assert len(insp) == 1 and insp[0][2] == GRID
    insp_id, rid = str(insp[0][0]), insp[0][1]
    status, version, data, grid_code = record_row(db, rid)
    assert (status, version, grid_code, data["title"]) == ("reported", 1, GRID, title)

    # 2. The supervisor sees it in the list and on the map (vector tiles, when WebGL works).
    _sctx, s = console_page(new_context, sup)
    item = s.locator(f"[data-testid=console-feature][data-id='{insp_id}']")
    item.wait_for()
    assert item.get_attribute("data-grid") == GRID and item.get_attribute("data-kind") == "report"
    assert item.get_by_test_id("console-feature-note").text_content() == note
    item.click()
    assert s.get_by_test_id("popup-note").first.text_content() == note
    s.wait_for_selector("[data-testid=console-detail] [data-testid=popup-record][data-state=ready]")
    assert s.locator("[data-testid=console-detail] [data-testid=history-entry]").count() == 1
    if s.get_by_test_id("console-map-status").get_attribute("data-state") != "failed":
        s.wait_for_selector("[data-testid=console-map-status][data-state=ready]", state="attached")
        # The list click zooms to 15: incidents come as single points with their light.
        wait_eval(s, """rid => {
            const m = window.gpConsoleMap;
            return m && m.querySourceFeatures('t-incidents', {sourceLayer: 'incidents'})
                .some(f => f.properties.id === rid && f.properties.light === 'green');
        }""", rid)
        wait_eval(s, """id => window.gpConsoleMap.querySourceFeatures('t-inspections', {sourceLayer: 'inspections'})
            .some(f => f.properties.id === id && f.properties.kind === 'report')""", insp_id)

    # 3. The desk: reported → accepted → filed → dispatched (城管).
    open_view(s, "desk")
    desk_queue(s, "reported")
    row = desk_row(s, rid)
    row.wait_for()
    assert row.get_attribute("data-light") == "green"
    assert row.get_by_test_id("desk-row-title").text_content() == title
    assert GRID in row.get_by_test_id("desk-row-grid").text_content()
    assert pat in row.get_by_test_id("desk-row-reporter").text_content()
    desk_open(s, rid)
    assert s.get_by_test_id("desk-actions").get_attribute("data-actions") == "accepted,rejected"
    assert s.locator("[data-testid=desk-detail] [data-testid=detail-text]").text_content() == note
    desk_act(s, rid, "accepted")
    assert record_row(db, rid)[:2] == ("accepted", 2)
    desk_act(s, rid, "filed", note=f"立案 {tag}")
    assert record_row(db, rid)[:2] == ("filed", 3)
    desk_act(s, rid, "dispatched", department="城管")
    status, version, data, _ = record_row(db, rid)
    assert (status, version, data["department"]) == ("dispatched", 4, "城管")
    assert f"立案 {tag}" in [n["text"] for n in data["notes"]]
    # The history in the detail pane shows every move.
    moves = s.locator("[data-testid=desk-detail] [data-testid=history-entry]")
    assert [moves.nth(i).get_attribute("data-to") for i in range(moves.count())] == [
        "reported", "accepted", "filed", "dispatched"]
    # It left the reported queue and sits in the dispatched one.
    desk_queue(s, "reported")
    assert desk_row(s, rid).count() == 0
    desk_queue(s, "dispatched")
    desk_row(s, rid).wait_for()

    # 4. The department (城管) sees it dispatched to them and marks it handled.
    _dctx, d = console_page(new_context, dept)
    d.wait_for_selector("[data-testid=console-panel][data-view=desk][data-ready='1']")
    assert d.get_by_test_id("console-tab-conflicts").count() == 0
    d.wait_for_selector("[data-testid=desk-list][data-queue=dispatched][data-state=ready]")
    desk_open(d, rid)
    assert d.get_by_test_id("desk-actions").get_attribute("data-actions") == "handled"
    desk_act(d, rid, "handled", note=f"已清理 {tag}")
    assert record_row(db, rid)[:2] == ("handled", 5)

    # 5. Back to the patroller's PWA for 核查, verified offline, then synced.
    field.get_by_test_id("sync-now").click()
    wait_eval(field, "id => window.gridpatrol.db.incidents.get(id).then(r => !!r && r.status === 'handled')", rid)
    go_offline_and_reload(fctx, field)
    field.get_by_test_id("nav-incidents").click()
    card = field.locator(f"[data-testid=incidents-verify] [data-testid=incident-item][data-id='{rid}']")
    card.wait_for()
    card.get_by_test_id("incident-verify-note").fill(f"现场已畅通 {tag}")
    card.get_by_test_id("incident-verify").click()
    wait_outbox(field, 1)
    assert record_row(db, rid)[0] == "handled"  # nothing left the phone yet
    fctx.set_offline(False)
    wait_synced(field)
    status, version, data, _ = record_row(db, rid)
    assert (status, version) == ("verified", 6)
    assert any(f"现场已畅通 {tag}" in n["text"] for n in data["notes"])

    # 6. The supervisor closes it.
    s.get_by_test_id("console-refresh").click()
    desk_queue(s, "verified")
    desk_open(s, rid)
    assert s.get_by_test_id("desk-actions").get_attribute("data-actions") == "closed"
    desk_act(s, rid, "closed")
    assert s.get_by_test_id("desk-no-actions").is_visible()
    status, version, data, _ = record_row(db, rid)
    assert (status, version) == ("closed", 7)
    assert status_history(db, rid) == [
        ("reported", pat), ("accepted", sup), ("filed", sup), ("dispatched", sup),
        ("handled", dept), ("verified", pat), ("closed", sup)]
    assert db.execute("select count(*) from conflict where record_id = %s", (rid,)).fetchone()[0] == 0
    desk_queue(s, "closed")
    assert desk_row(s, rid).get_attribute("data-light") == ""  # a closed incident has no clock

    # 7. A supervisor of another street sees none of it: not in the list, the map or the desk.
    _octx, o = console_page(new_context, other)
    o.wait_for_selector("[data-testid=console-count][data-count]")
    assert o.locator(f"[data-testid=console-feature][data-id='{insp_id}']").count() == 0
    assert note not in o.get_by_test_id("console-list").text_content()
    open_view(o, "desk")
    for queue in ("reported", "dispatched", "handled", "verified", "closed"):
        desk_queue(o, queue)
        assert desk_row(o, rid).count() == 0, queue
    o.goto(f"/console/#/desk/{rid}")
    o.wait_for_selector(f"[data-testid=desk-detail][data-id='{rid}'][data-state=failed]")
    assert "不在您的范围内" in o.get_by_test_id("desk-message").text_content()
    open_view(o, "map")
    if o.get_by_test_id("console-map-status").get_attribute("data-state") != "failed":
        o.wait_for_selector("[data-testid=console-map-status][data-state=ready]", state="attached")
        o.evaluate("([lon, lat]) => { const m = window.gpConsoleMap; delete m.getContainer().dataset.idle;"
                   " m.jumpTo({center: [lon, lat], zoom: 16}); }", [p["lon"], p["lat"]])
        o.wait_for_function("() => { const m = window.gpConsoleMap; return m.getContainer().dataset.idle && m.areTilesLoaded(); }")
        assert o.evaluate("rid => window.gpConsoleMap.querySourceFeatures('t-incidents', {sourceLayer: 'incidents'})"
                          ".filter(f => f.properties.id === rid).length", rid) == 0
    for page in (s, d, o):
        assert page.errors == [], page.errors
