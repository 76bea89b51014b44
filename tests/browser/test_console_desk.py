"""The work-order desk: traffic lights from the deadlines in PostGIS, and a stale click (409) reloads."""
import uuid

import requests

from tests.browser.test_console_helpers import (
    console_page,
    desk_open,
    desk_queue,
    desk_row,
    record_row,
)
from tests.browser.test_pwa_helpers import Device, geo_point, inside_point

GRID = "320105001003006"
STREET = "320105001"


def _incident(dev, title, p):
    rid, res = dev.push("incident", "create", {
        "category": "0303", "title": title, "description": "测试", "urgent": False,
        "location": geo_point(p)})
    assert res["status"] == "applied", res
    return rid


def test_lights_green_yellow_red_after_deadlines_move(live_server, new_context, db, make_user):
    tag = uuid.uuid4().hex[:6]
    pat = make_user(f"light_pat_{tag}", "patroller", grids=(GRID,))
    sup = make_user(f"light_sup_{tag}", "supervisor", areas=(STREET,))
    p = inside_point(GRID)
    dev = Device(live_server.url, pat)
    green, yellow, red = (_incident(dev, f"{name} {tag}", p) for name in ("绿灯", "黄灯", "红灯"))

    _ctx, page = console_page(new_context, sup, view="desk")
    desk_queue(page, "reported")
    for rid in (green, yellow, red):
        assert desk_row(page, rid).get_attribute("data-light") == "green"

    # Past its deadline: red. Four fifths of the way through its stage: yellow.
    db.execute("update record set due_at = now() - interval '5 minutes' where id = %s", (red,))
    db.execute("update record_version set created_at = now() - interval '60 minutes'"
               " where record_id = %s and version = 1", (yellow,))
    db.execute("update record set due_at = now() + interval '5 minutes' where id = %s", (yellow,))
    page.get_by_test_id("console-refresh").click()
    page.wait_for_selector(f"[data-testid=desk-row][data-id='{red}'][data-light=red]")
    assert desk_row(page, yellow).get_attribute("data-light") == "yellow"
    assert desk_row(page, green).get_attribute("data-light") == "green"
    assert "超期" in desk_row(page, red).get_by_test_id("desk-row-due").text_content()
    desk_open(page, red)
    assert page.get_by_test_id("desk-detail").get_attribute("data-light") == "red"
    assert page.locator("[data-testid=desk-detail] [data-testid=light]").first.get_attribute("data-light") == "red"

    # 只看超期 keeps the red one only.
    page.get_by_test_id("desk-overdue").check()
    page.wait_for_selector("[data-testid=desk-list][data-state=ready]")
    page.wait_for_function("rid => !document.querySelector(`[data-testid=desk-row][data-id='${rid}']`)", arg=green)
    assert desk_row(page, red).count() == 1 and desk_row(page, yellow).count() == 0
    assert {r.get_attribute("data-light") for r in page.get_by_test_id("desk-row").all()} == {"red"}
    assert page.errors == []


def test_stale_action_gets_409_message_and_reloads(live_server, new_context, db, make_user):
    tag = uuid.uuid4().hex[:6]
    pat = make_user(f"stale_pat_{tag}", "patroller", grids=(GRID,))
    sup = make_user(f"stale_sup_{tag}", "supervisor", areas=(STREET,))
    sup2 = make_user(f"stale_sup2_{tag}", "supervisor", areas=(STREET,))
    rid = _incident(Device(live_server.url, pat), f"并发 <i>{tag}</i>", inside_point(GRID))

    _ctx, page = console_page(new_context, sup, view="desk")
    desk_queue(page, "reported")
    desk_open(page, rid)
    assert page.get_by_test_id("desk-detail").get_attribute("data-version") == "1"
    # Meanwhile a colleague accepts it.
    other = Device(live_server.url, sup2)
    r = requests.post(f"{other.url}/desk/incidents/{rid}/transition", json={"to": "accepted", "base_version": 1},
                      headers={"Authorization": f"Bearer {other.token}"}, timeout=10)
    assert r.status_code == 200, r.text
    page.locator("[data-testid=desk-action][data-to=rejected]").click()
    page.locator("[data-testid=desk-action][data-to=rejected][data-confirm='1']").click()  # 再点一次 to confirm
    page.wait_for_selector(f"[data-testid=desk-detail][data-id='{rid}'][data-status=accepted][data-state=ready]")
    msg = page.get_by_test_id("desk-message")
    assert msg.get_attribute("data-kind") == "conflict" and "已重新载入" in msg.text_content()
    assert page.get_by_test_id("desk-detail").get_attribute("data-version") == "2"
    assert page.get_by_test_id("desk-actions").get_attribute("data-actions") == "filed,void"
    assert record_row(db, rid)[:2] == ("accepted", 2)  # the stale 不予受理 changed nothing
    assert db.execute("select count(*) from conflict where record_id = %s", (rid,)).fetchone()[0] == 0
    # The title is text, never markup.
    assert page.locator("[data-testid=desk-detail] [data-testid=detail-title]").text_content() == f"并发 <i>{tag}</i>"
    assert page.locator("[data-testid=desk-detail] i").count() == 0
    # Dispatch needs a department: the button says so instead of sending.
    page.locator("[data-testid=desk-action][data-to=filed]").click()
    page.wait_for_selector("[data-testid=desk-detail][data-status=filed][data-state=ready]")
    page.locator("[data-testid=desk-action][data-to=dispatched]").click()
    assert page.get_by_test_id("desk-message").get_attribute("data-kind") == "error"
    assert record_row(db, rid)[0] == "filed"
    assert page.errors == []
