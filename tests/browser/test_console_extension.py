"""延时 in the console: a department asks for more time, the supervisor approves it."""
import uuid

from tests.browser.test_console_helpers import console_page, desk_open, desk_queue
from tests.browser.test_pwa_helpers import Device, geo_point, inside_point

GRID = "320105001003006"
STREET = "320105001"


def test_department_asks_supervisor_approves_and_the_deadline_moves(live_server, new_context,
                                                                      db, make_user):
    tag = uuid.uuid4().hex[:6]
    pat = make_user(f"ext_pat_{tag}", "patroller", grids=(GRID,))
    sup = make_user(f"ext_sup_{tag}", "supervisor", areas=(STREET,))
    dept = make_user(f"ext_dept_{tag}", "department", dept="城管")
    p = inside_point(GRID)
    rid, res = Device(live_server.url, pat).push("incident", "create", {
        "title": f"延时 {tag}", "category": "0303", "urgent": False,
        "location": geo_point(p)})
    boss = Device(live_server.url, sup)
    version = res["version"]
    for status in ("accepted", "filed", "dispatched"):
        data = {"status": status, **({"department": "城管"} if status == "dispatched" else {})}
        version = boss.push("incident", "update", data, id=rid, base_version=version)[1]["version"]
    before = db.execute("select due_at from record where id = %s", (rid,)).fetchone()[0]

    _ctx, page = console_page(new_context, dept, view="desk")
    desk_queue(page, "dispatched")
    desk_open(page, rid)
    page.get_by_test_id("desk-extension-minutes").fill("90")
    page.get_by_test_id("desk-extension-reason").fill("<b>等配件</b>")
    page.get_by_test_id("desk-extension-ask").click()
    page.wait_for_selector("[data-testid=desk-extension][data-status=requested]")
    assert "<b>等配件</b>" in page.get_by_test_id("desk-extension").text_content()

    _ctx2, boss_page = console_page(new_context, sup, view="desk")
    desk_queue(boss_page, "extension")
    desk_open(boss_page, rid)
    boss_page.get_by_test_id("desk-extension-approve").click()
    boss_page.wait_for_selector("[data-testid=desk-extension][data-status=approved]")
    after, ext = db.execute("select due_at, data->'extension' from record where id = %s",
                            (rid,)).fetchone()
    assert (after - before).total_seconds() == 90 * 60
    assert ext["status"] == "approved" and ext["requested_by"] == dept
    assert page.errors == [] and boss_page.errors == []
