"""Walking skeleton, end to end in headless Chromium.

A patroller logs in, goes offline for real and reloads (the service worker
serves the app shell), records two reports at two known points inside two
different Jianye grids, goes online, and the outbox drains. The rows are
checked in PostGIS (matched through the GCJ-02 conversion), then a supervisor
sees both on the console map, with the note rendered as text.
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
POINTS = json.loads((ROOT / "demo" / "jianye-points-truth.json").read_text(encoding="utf-8"))["points"]
GRID_A = "320105001001004"
GRID_B = "320105001004009"
XSS = "<img src=x onerror=alert(1)>"


def inside_point(code):
    return next(p for p in POINTS if p["class"] == "inside" and p["expect"] == code)


def login(page, username, password="pw-123456-test", path="/"):
    page.goto(path)
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def wait_sw_ready(page):
    page.wait_for_function("document.body.dataset.sw === 'ready'", timeout=30000)


def outbox_count(page):
    return int(page.get_by_test_id("outbox-count").get_attribute("data-count"))


def record_report(context, page, point, note):
    context.set_geolocation({"latitude": point["lat"], "longitude": point["lon"], "accuracy": 8})
    page.get_by_test_id("duty-report").click()
    page.wait_for_selector('[data-testid=report-location][data-ok="1"]')
    loc = page.get_by_test_id("report-location")
    assert abs(float(loc.get_attribute("data-lon")) - point["lon"]) < 1e-6
    page.get_by_test_id("report-note").fill(note)
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()


def test_offline_reports_reach_postgis_and_console_map(live_server, new_context, db, make_user):
    make_user("pwa_patroller", "patroller", grids=(GRID_A, GRID_B))
    make_user("pwa_supervisor", "supervisor", areas=("320105001",))
    a, b = inside_point(GRID_A), inside_point(GRID_B)

    ctx = new_context(viewport={"width": 360, "height": 740})
    dialogs = []
    page = ctx.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, "pwa_patroller")
    page.get_by_test_id("duty-report").wait_for()
    wait_sw_ready(page)

    # Offline for real, then reload: the app shell comes from the service worker.
    ctx.set_offline(True)
    page.reload()
    page.get_by_test_id("duty-report").wait_for()
    assert outbox_count(page) == 0

    note_a = f"第一条：消防通道堵塞 {XSS}"
    note_b = "第二条：井盖缺失"
    record_report(ctx, page, a, note_a)
    record_report(ctx, page, b, note_b)
    assert outbox_count(page) == 2
    assert "2 条未上传" in page.get_by_test_id("outbox-count").text_content()

    # Still offline: nothing may have left the device.
    rows = db.execute("select count(*) from record where entity = 'inspection' and data->>'note' in (%s, %s)", (note_a, note_b)).fetchone()
    assert rows[0] == 0

    ctx.set_offline(False)
    page.wait_for_function(
        "document.querySelector('[data-testid=outbox-count]').dataset.count === '0'", timeout=60000)

    rows = db.execute(
        "select data->>'note', grid_code, data->>'kind' from record"
        " where entity = 'inspection' and data->>'note' in (%s, %s) order by data->>'note'",
        (note_a, note_b)).fetchall()
    got = {r[0]: (r[1], r[2]) for r in rows}
    assert got == {note_a: (GRID_A, "report"), note_b: (GRID_B, "report")}
    # Each report created its incident.
    n_inc = db.execute(
        "select count(*) from record i join record r on r.entity = 'inspection' and i.id::text = r.data->>'incident_id'"
        " where i.entity = 'incident' and r.data->>'note' in (%s, %s)", (note_a, note_b)).fetchone()[0]
    assert n_inc == 2

    # The supervisor sees both on the map.
    sup_ctx = new_context()
    sup = sup_ctx.new_page()
    sup.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(sup, "pwa_supervisor", path="/console/")
    sup.wait_for_selector("[data-testid=console-feature]", timeout=30000)
    notes = [n.text_content() for n in sup.get_by_test_id("console-feature-note").all()]
    assert note_a in notes and note_b in notes
    grids = {f.get_attribute("data-grid") for f in sup.get_by_test_id("console-feature").all()}
    assert {GRID_A, GRID_B} <= grids

    map_state = sup.get_by_test_id("console-map-status").get_attribute("data-state")
    if map_state != "failed":  # without WebGL the list above is the map's fallback
        sup.wait_for_function("document.querySelector('[data-testid=console-map-status]').dataset.state === 'ready'")
        sup.wait_for_function(
            """([a, b]) => {
                const notes = window.gpConsoleMap.querySourceFeatures('inspections').map(f => f.properties.note);
                return notes.includes(a) && notes.includes(b);
            }""", arg=[note_a, note_b], timeout=30000)

    # Escaping: the note is text in the popup, never markup.
    sup.locator("[data-testid=console-feature]", has_text="第一条").first.click()
    popup = sup.get_by_test_id("popup-note").first
    assert popup.text_content() == note_a
    assert sup.locator("[data-testid=console] img").count() == 0
    assert dialogs == []
