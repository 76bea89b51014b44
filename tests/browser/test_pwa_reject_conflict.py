"""A rejected op shows its reason and can be fixed and resent; a household conflict shows on both devices."""
from tests.browser.test_pwa_helpers import (
    Device,
    geo_point,
    go_offline_and_reload,
    inside_point,
    login_field,
    wait_eval,
    wait_outbox,
    wait_pulled,
    wait_synced,
)

GRID = "320105005002012"

BAD_OP_JS = """([lon, lat]) => window.gridpatrol.enqueue({entity: 'inspection', id: crypto.randomUUID(),
    action: 'create', label: '实时报', data: {kind: 'report', occurred_at: '昨天下午',
    location: {type: 'Point', coordinates: [lon, lat]}, note: 'reject-me', photos: [],
    incident_id: crypto.randomUUID(), title: 'reject-me'}})"""


def test_rejected_op_is_shown_fixed_and_resent(live_server, new_context, db, make_user):
    user = make_user("pwa_reject_user", "patroller", grids=(GRID,))
    p = inside_point(GRID)
    ctx = new_context()
    page = ctx.new_page()
    login_field(page, user)
    # An op with an invalid time (as an older app version might have queued).
    page.evaluate(BAD_OP_JS, [p["lon"], p["lat"]])
    page.get_by_test_id("sync-now").click()
    page.wait_for_function("document.querySelector('[data-testid=outbox-count]').dataset.rejected === '1'")
    wait_outbox(page, 1)  # a rejected op is still unsent

    page.get_by_test_id("nav-outbox").click()
    item = page.locator("[data-testid=outbox-item][data-status=rejected]")
    item.wait_for()
    assert "内容不合格" in item.get_by_test_id("outbox-reason").text_content()
    assert "occurred_at" in item.get_by_test_id("outbox-errors").text_content()
    item.get_by_test_id("outbox-fix").click()
    page.get_by_test_id("fix-occurred_at").fill("2026-11-23T15:00:00+08:00")
    page.get_by_test_id("outbox-resend").click()
    wait_synced(page)
    rows = db.execute("select data->>'occurred_at' from record where entity = 'inspection' and data->>'note' = 'reject-me'").fetchall()
    assert len(rows) == 1
    assert page.locator("[data-testid=history-item][data-status=replaced]").count() == 1


def edit_phone(page, hh_id, phone):
    page.get_by_test_id("nav-home").click()
    page.get_by_test_id("duty-record").click()
    page.locator(f"[data-testid=household-item][data-id='{hh_id}']").click()
    page.get_by_test_id("hh-phone").fill(phone)
    page.get_by_test_id("record-save").click()
    page.get_by_test_id("duty-record").wait_for()


def test_household_conflict_shows_on_both_devices(live_server, new_context, db, make_user):
    a_user = make_user("pwa_conf_a", "patroller", grids=(GRID,))
    b_user = make_user("pwa_conf_b", "patroller", grids=(GRID,))
    p = inside_point(GRID)
    hh_id, res = Device(live_server.url, a_user).push("household", "create", {
        "address": "冲突路8号", "head_name": "李阿姨", "phone": "13700000000",
        "location": geo_point(p)})
    assert res["status"] == "applied"

    pages = []
    for user in (a_user, b_user):
        ctx = new_context()
        page = ctx.new_page()
        login_field(page, user)
        wait_pulled(page, "households", 1)
        go_offline_and_reload(ctx, page)
        pages.append((ctx, page))
    (ctx_a, a), (ctx_b, b) = pages
    edit_phone(a, hh_id, "13711111111")
    edit_phone(b, hh_id, "13722222222")

    ctx_a.set_offline(False)
    wait_synced(a)
    ctx_b.set_offline(False)
    wait_synced(b)
    assert db.execute("select count(*) from conflict where record_id = %s", (hh_id,)).fetchone()[0] >= 1

    # B is told at once; after a pull both see the household flagged.
    b.get_by_test_id("nav-outbox").click()
    b.get_by_test_id("history-conflict").first.wait_for()
    for page in (a, b):
        page.get_by_test_id("nav-home").click()
        page.get_by_test_id("sync-now").click()
        wait_eval(page, "id => window.gridpatrol.db.households.get(id).then(h => !!(h && h.conflict))", hh_id)
        page.get_by_test_id("duty-record").click()
        page.locator(f"[data-testid=household-item][data-id='{hh_id}'] [data-testid=household-conflict]").wait_for()
