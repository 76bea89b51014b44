"""Conflict review: a household clash from two devices is resolved in the console, value by value."""
import uuid

from tests.browser.test_console_helpers import console_page
from tests.browser.test_pwa_helpers import Device, geo_point, inside_point

GRID = "320105001002006"
STREET = "320105001"


def test_household_clash_resolved_per_field(live_server, new_context, db, make_user):
    tag = uuid.uuid4().hex[:6]
    a_user = make_user(f"cf_a_{tag}", "patroller", grids=(GRID,))
    b_user = make_user(f"cf_b_{tag}", "patroller", grids=(GRID,))
    sup = make_user(f"cf_sup_{tag}", "supervisor", areas=(STREET,))
    p = inside_point(GRID)
    a, b = Device(live_server.url, a_user), Device(live_server.url, b_user)
    hh, res = a.push("household", "create", {
        "address": f"原址路1号 {tag}", "head_name": "王大爷", "phone": "13800000000", "note": "原备注",
        "location": geo_point(p)})
    assert res["status"] == "applied"
    # Both edit version 1 offline; B arrives second, so B's values are stored and the clash is kept.
    _, ra = a.push("household", "update", {"address": f"甲改路2号 {tag}", "head_name": "<b>王甲</b>",
                                           "phone": "13811111111"}, id=hh, base_version=1)
    _, rb = b.push("household", "update", {"address": f"乙改路3号 {tag}", "head_name": "王乙",
                                           "phone": "13822222222"}, id=hh, base_version=1)
    assert ra["status"] == "applied" and rb["status"] == "conflict", (ra, rb)
    cid = rb["conflict_id"]
    assert db.execute("select version, conflict from record where id = %s", (hh,)).fetchone() == (3, "hard")

    _ctx, page = console_page(new_context, sup, view="conflicts")
    row = page.locator(f"[data-testid=conflict-row][data-id='{cid}']")
    row.wait_for()
    assert row.get_attribute("data-record") == hh and row.get_attribute("data-entity") == "household"
    row.click()
    page.wait_for_selector(f"[data-testid=conflict-detail][data-id='{cid}'][data-state=ready]")
    fields = {f.get_attribute("data-field") for f in page.get_by_test_id("conflict-field").all()}
    assert fields == {"address", "head_name", "phone"}

    def value(field, side):
        return page.locator(f"[data-testid=conflict-value][data-field={field}][data-side={side}]").text_content()

    def pick(field, side):
        return page.locator(f"[data-testid=conflict-pick][data-field={field}][data-side={side}]")

    assert f"原址路1号 {tag}" in value("address", "base")
    assert f"甲改路2号 {tag}" in value("address", "current")
    assert f"乙改路3号 {tag}" in value("address", "incoming")
    assert "<b>王甲</b>" in value("head_name", "current")  # markup is text
    assert page.locator("[data-testid=conflict-detail] b", has_text="王甲").count() == 0
    # The stored values (B's) are preselected; masked phones can only stay as they are.
    assert pick("address", "incoming").is_checked()
    assert "****" in value("phone", "current")
    assert pick("phone", "incoming").is_checked() and pick("phone", "current").is_disabled()

    # Meanwhile A changes another field: the first attempt gets a 409 and reloads.
    _, rn = a.push("household", "update", {"note": f"后来的备注 {tag}"}, id=hh, base_version=2)
    assert rn["status"] in ("applied", "merged"), rn
    pick("address", "current").check()
    pick("head_name", "base").check()
    page.get_by_test_id("conflict-resolve").click()
    page.wait_for_selector("[data-testid=conflict-message][data-kind=conflict]")
    assert "已重新载入" in page.get_by_test_id("conflict-message").text_content()
    page.wait_for_selector(f"[data-testid=conflict-detail][data-id='{cid}'][data-base='4'][data-state=ready]")
    assert db.execute("select status from conflict where id = %s", (cid,)).fetchone()[0] == "open"

    # Pick again on the reloaded conflict: address from A (current), head_name from the base.
    pick("address", "current").check()
    pick("head_name", "base").check()
    page.get_by_test_id("conflict-resolve").click()
    page.wait_for_selector("[data-testid=conflict-message][data-kind=ok]")
    page.wait_for_selector(f"[data-testid=conflict-row][data-id='{cid}']", state="detached")

    version, data, conflict = db.execute("select version, data, conflict from record where id = %s", (hh,)).fetchone()
    assert version == 5 and conflict is None
    assert data["address"] == f"甲改路2号 {tag}" and data["head_name"] == "王大爷"
    assert data["phone"] == "13822222222"  # the stored value, never the masked text
    assert data["note"] == f"后来的备注 {tag}"
    status, resolved_by = db.execute(
        "select c.status, u.username from conflict c join app_user u on u.id = c.resolved_by where c.id = %s",
        (cid,)).fetchone()
    assert (status, resolved_by) == ("resolved", sup)
    last = db.execute("select user_id = (select id from app_user where username = %s), changed from record_version"
                      " where record_id = %s and version = 5", (sup, hh)).fetchone()
    assert last[0] and {"address", "head_name"} <= set(last[1])

    # It is listed under 已解决.
    page.get_by_test_id("conflict-status").select_option("resolved")
    page.locator(f"[data-testid=conflict-row][data-id='{cid}']").wait_for()
    assert page.errors == []
