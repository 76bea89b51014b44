"""App update: a new build's service worker never discards unsent work or drafts, and says so.

The app is served from a private copy of dist/ by a second server. After work is queued
offline and a report form is left half filled, the copy becomes the next build (a changed
shell and sw.js). Reloading online finds the new service worker waiting: the update banner
shows; accepting it reloads into the new build with the outbox and the draft intact, and
the queued work then syncs.
"""
import pytest

from tests.browser.test_pwa_helpers import (
    field_page,
    inside_point,
    outbox_count,
    wait_eval,
    wait_location,
    wait_outbox,
    wait_synced,
)
from tests.browser.test_pwa_more_helpers import copy_dist, extra_server, make_new_build

GRID = "320105002002008"
BUILD = "gp-build-2"
SW_STATE = """navigator.serviceWorker.getRegistration().then(r => ({
    installing: r && r.installing && r.installing.state, waiting: r && r.waiting && r.waiting.state,
    active: r && r.active && r.active.state, controlled: !!navigator.serviceWorker.controller,
    banners: document.querySelectorAll('[data-testid=update-ready]').length, url: location.href}))"""


@pytest.fixture(scope="module")
def own_dist(tmp_path_factory):
    return copy_dist(tmp_path_factory.mktemp("update") / "dist")


@pytest.fixture(scope="module")
def update_server(database_url, tmp_path_factory, own_dist):
    with extra_server(database_url, tmp_path_factory.mktemp("update-srv"), PWA_DIST=str(own_dist)) as s:
        yield s


def report(page, note):
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-note").fill(note)
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()


def test_update_keeps_outbox_and_draft(update_server, own_dist, new_context, db, make_user):
    user = make_user(None, "patroller", grids=(GRID,))
    here = inside_point(GRID)
    ctx = new_context(base_url=update_server.url)
    page = field_page(ctx, user, here)
    assert page.evaluate("document.querySelector('meta[name=gp-build]')") is None

    # Offline: two reports queued and a third left half filled.
    ctx.set_offline(True)
    page.reload()
    page.get_by_test_id("duty-report").wait_for()
    report(page, "update-1")
    report(page, "update-2")
    assert outbox_count(page) == 2
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-category-parent").select_option(label="安全隐患")
    page.get_by_test_id("report-title").fill("半截的上报")
    page.get_by_test_id("report-note").fill("update-draft: 还没写完")
    wait_eval(page, "window.gridpatrol.db.drafts.get('form:report').then(d => d && d.data.note === 'update-draft: 还没写完')")
    page.get_by_test_id("nav-home").click()
    page.get_by_test_id("duty-report").wait_for()

    # The next build is deployed. Back online, but the pushes fail, so the work stays unsent.
    make_new_build(own_dist, BUILD)
    ctx.route("**/api/v1/sync/push", lambda route: route.abort())
    ctx.set_offline(False)
    page.reload()
    page.get_by_test_id("update-ready").wait_for(timeout=30000)
    assert "未上传的记录和草稿不会丢失" in page.get_by_test_id("update-ready").text_content()
    wait_eval(page, "navigator.serviceWorker.getRegistration().then(r => !!(r && r.waiting))")
    # Still the old build until the user says so, with the work still there.
    assert page.evaluate("document.querySelector('meta[name=gp-build]')") is None
    wait_outbox(page, 2)

    page.get_by_test_id("update-apply").click()
    # The page reloads itself into the new build (waiting survives the navigation).
    try:
        page.wait_for_function(f"document.querySelector('meta[name=gp-build]')?.content === '{BUILD}'", timeout=30000)
    except Exception as e:
        raise AssertionError(f"no reload into the new build: {page.evaluate(SW_STATE)}") from e
    page.get_by_test_id("duty-report").wait_for()
    wait_eval(page, "navigator.serviceWorker.getRegistration().then(r => !!r && !r.waiting && !!r.active)")
    assert page.get_by_test_id("update-ready").count() == 0
    wait_outbox(page, 2)
    ops = page.evaluate("window.gridpatrol.db.outbox.toArray().then(r => r.map(o => o.data.note))")
    assert sorted(ops) == ["update-1", "update-2"]

    # The draft is back in the form.
    page.get_by_test_id("duty-report").click()
    page.wait_for_selector('[data-testid=report-form][data-restored="1"]')
    assert page.get_by_test_id("report-note").input_value() == "update-draft: 还没写完"
    assert page.get_by_test_id("report-title").input_value() == "半截的上报"
    assert page.locator("[data-testid=report-category-parent] option:checked").text_content() == "安全隐患"

    # The new build still syncs: the queued work, then the finished draft.
    ctx.unroute("**/api/v1/sync/push")
    page.get_by_test_id("sync-now").click()
    wait_synced(page)
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()
    wait_synced(page)
    rows = db.execute(
        "select data->>'note', grid_code from record where entity = 'inspection'"
        " and created_by = (select id from app_user where username = %s) order by 1", (user,)).fetchall()
    assert rows == [("update-1", GRID), ("update-2", GRID), ("update-draft: 还没写完", GRID)]
