"""The five duties, each recorded offline after a reload, then synced and checked in PostGIS."""
import time

import requests

from tests.browser.test_pwa_helpers import (
    Device,
    field_page,
    go_offline_and_reload,
    inside_points,
    outbox_count,
    set_position,
    wait_location,
    wait_pulled,
    wait_synced,
)

GRID = "320105001001004"


def test_five_duties_offline_then_synced(live_server, new_context, db, make_user):
    user = make_user("pwa_duty_user", "patroller", grids=(GRID,))
    pts = inside_points(GRID)
    here = pts[0]
    # A household in my grid, made by another device of mine, pulled before going offline.
    other = Device(live_server.url, user)
    hh_id, res = other.push("household", "create", {
        "address": "示范路1号", "building": "3", "unit": "2", "room": "501", "head_name": "王大爷",
        "phone": "13812345678", "members": 1, "tags": [],
        "location": {"type": "Point", "coordinates": [here["lon"], here["lat"]]}})
    assert res["status"] == "applied", res

    ctx = new_context(viewport={"width": 360, "height": 780})
    page = field_page(ctx, user, here)
    wait_pulled(page, "households", 1)
    wait_pulled(page, "grids", 1)
    go_offline_and_reload(ctx, page)

    # 巡: start, walk a few fixes, a finding, end.
    page.get_by_test_id("duty-patrol").click()
    page.get_by_test_id("patrol-start").click()
    # A walk of ~9 m steps, one a second (jumps faster than 30 m/s are dropped).
    walk = [{"lat": here["lat"] + i * 0.00008, "lon": here["lon"]} for i in range(4)]
    for i, p in enumerate(walk):
        set_position(ctx, p)
        page.wait_for_function(
            "n => Number(document.querySelector('[data-testid=patrol-points]').dataset.count || 0) >= n",
            arg=i + 1, timeout=15000)
        time.sleep(1.0)
    page.get_by_test_id("patrol-finding-note").fill("巡查发现：楼道堆物")
    page.get_by_test_id("patrol-finding-add").click()
    page.get_by_test_id("patrol-finding").first.wait_for()
    assert GRID in page.get_by_test_id("patrol-grids").get_attribute("data-codes")
    page.get_by_test_id("patrol-note").fill("duty-patrol-note")
    page.get_by_test_id("patrol-end").click()
    page.get_by_test_id("patrol-end-confirm").click()  # asked once
    page.get_by_test_id("duty-visit").wait_for()
    set_position(ctx, here)

    # 访: pick the pulled household.
    page.get_by_test_id("duty-visit").click()
    page.get_by_test_id("visit-search").fill("王大爷")
    page.locator(f"[data-testid=household-item][data-id='{hh_id}']").click()
    page.get_by_test_id("visit-met").fill("户主本人")
    page.get_by_test_id("visit-concerns").fill("希望加装扶手")
    page.get_by_test_id("visit-note").fill("duty-visit-note")
    wait_location(page, "visit")
    page.get_by_test_id("visit-save").click()
    page.get_by_test_id("duty-record").wait_for()

    # 记: edit the household's phone and tags.
    page.get_by_test_id("duty-record").click()
    page.locator(f"[data-testid=household-item][data-id='{hh_id}']").click()
    page.get_by_test_id("hh-phone").fill("13900001111")
    page.locator("[data-testid^=hh-tag-][data-tag='独居老人']").check()
    wait_location(page, "record")
    page.get_by_test_id("record-save").click()
    page.get_by_test_id("duty-handle").wait_for()

    # 做: handle on the spot.
    page.get_by_test_id("duty-handle").click()
    page.get_by_test_id("handle-category-parent").select_option(label="街面秩序")
    page.get_by_test_id("handle-note").fill("duty-handle-note")
    wait_location(page, "handle")
    page.get_by_test_id("handle-save").click()
    page.get_by_test_id("duty-report").wait_for()

    # 报: report an incident.
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-category-parent").select_option(label="安全隐患")
    page.get_by_test_id("report-urgent").check()
    page.get_by_test_id("report-note").fill("duty-report-note")
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()

    # patrol + visit + (household update + record) + handle + report
    assert outbox_count(page) == 6
    ctx.set_offline(False)
    wait_synced(page)

    rows = {r[0]: r for r in db.execute(
        "select data->>'kind', grid_code, data, id from record"
        " where entity = 'inspection' and created_by = (select id from app_user where username = %s)", (user,))}
    assert set(rows) == {"patrol", "visit", "record", "handle", "report"}, rows.keys()
    for kind, (_, grid_code, _data, _id) in rows.items():
        assert grid_code == GRID, (kind, grid_code)

    patrol = rows["patrol"][2]
    assert patrol["track"]["type"] == "LineString" and len(patrol["track"]["coordinates"]) >= 3
    assert patrol["started_at"] and patrol["ended_at"]
    assert "楼道堆物" in patrol["note"]
    assert rows["visit"][2]["household_id"] == hh_id and rows["visit"][2]["note"] == "duty-visit-note"
    assert rows["record"][2]["household_id"] == hh_id

    hh = db.execute("select version, data from record where id = %s", (hh_id,)).fetchone()
    assert hh[0] == 2 and hh[1]["phone"] == "13900001111" and "独居老人" in hh[1]["tags"]

    for kind, status in (("handle", "self_handled"), ("report", "reported")):
        inc_id = rows[kind][2]["incident_id"]
        inc = db.execute("select status, grid_code, data from record where entity = 'incident' and id = %s",
                         (inc_id,)).fetchone()
        assert inc is not None, kind
        assert inc[0] == status and inc[1] == GRID
    assert rows["report"][2]["urgent"] is True
    meta = requests.get(live_server.url + "/api/v1/meta", timeout=10).json()
    safety = next(c for c in meta["categories"] if c["name"] == "安全隐患")
    assert rows["report"][2]["category"] in {c["code"] for c in safety.get("children") or [safety]}
