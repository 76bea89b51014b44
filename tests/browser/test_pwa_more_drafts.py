"""Drafts: a half-filled report survives an offline reload and a renderer crash.

Every field of the report form (category, title, description, urgent, photo) is filled
offline and left unsaved. After a reload the form comes back as it was; more is typed,
then the tab's renderer is crashed (chrome://crash: no unload, no chance to save) and a
new tab opens the form again with the later text. Saved and synced, PostGIS holds it.
"""
import contextlib

from playwright.sync_api import Error as PlaywrightError

from tests.browser.test_pwa_helpers import (
    field_page,
    go_offline_and_reload,
    inside_point,
    wait_eval,
    wait_location,
    wait_synced,
)
from tests.browser.test_pwa_more_helpers import photo_file, pick_photo

GRID = "320105001001004"
DRAFT = "window.gridpatrol.db.drafts.get('form:report').then(d => d && d.data)"


def form_values(page):
    return {
        "parent": page.locator("[data-testid=report-category-parent] option:checked").text_content(),
        "category": page.get_by_test_id("report-category").input_value(),
        "title": page.get_by_test_id("report-title").input_value(),
        "note": page.get_by_test_id("report-note").input_value(),
        "urgent": page.get_by_test_id("report-urgent").is_checked(),
        "photos": [i.get_attribute("data-sha") for i in page.locator("[data-testid=report-photo-list] img").all()],
    }


def test_report_draft_survives_reload_and_crash(live_server, new_context, db, make_user, tmp_path):
    user = make_user(None, "patroller", grids=(GRID,))
    here = inside_point(GRID)
    ctx = new_context()
    page = field_page(ctx, user, here)
    photo = photo_file(page, tmp_path / "draft.jpg", hue=120)
    go_offline_and_reload(ctx, page)

    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-category-parent").select_option(label="矛盾纠纷")
    sub = page.locator("[data-testid=report-category] option").nth(1).get_attribute("value")
    page.get_by_test_id("report-category").select_option(sub)
    page.get_by_test_id("report-title").fill("邻里噪音")
    page.get_by_test_id("report-note").fill("drafts: 楼上夜间装修")
    page.get_by_test_id("report-urgent").check()
    sha = pick_photo(page, "report-photo", photo)
    wait_location(page, "report")
    filled = form_values(page)
    assert filled["photos"] == [sha] and filled["urgent"] and filled["category"] == sub
    # Autosave is debounced: wait until the last change is on disk.
    wait_eval(page, f"{DRAFT}.then(d => !!d && d.note === 'drafts: 楼上夜间装修' && d.urgent && d.photos.length === 1 && !!d.location)")
    assert page.evaluate("window.gridpatrol.db.outbox.count()") == 0  # a draft is not a report

    # 1. Reload (offline): the form comes back as it was.
    page.reload()
    page.wait_for_selector('[data-testid=report-form][data-restored="1"]')
    page.wait_for_function("document.querySelector('[data-testid=report-photo-list]').dataset.count === '1'")
    assert form_values(page) == filled
    wait_location(page, "report")

    # 2. More typing, then the renderer crashes.
    page.get_by_test_id("report-note").fill("drafts: 楼上夜间装修，已劝说无效")
    wait_eval(page, f"{DRAFT}.then(d => !!d && d.note.endsWith('已劝说无效'))")
    with page.expect_event("crash"), contextlib.suppress(PlaywrightError):
        page.goto("chrome://crash", timeout=10000)
    page.close()  # the dead tab

    page = ctx.new_page()
    page.goto("/#/report")  # still offline: the service worker opens the app
    page.wait_for_selector('[data-testid=report-form][data-restored="1"]')
    page.wait_for_function("document.querySelector('[data-testid=report-photo-list]').dataset.count === '1'")
    assert form_values(page) == {**filled, "note": "drafts: 楼上夜间装修，已劝说无效"}

    # Saved, the draft is gone; synced, the report is in PostGIS as it was typed.
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()
    assert page.evaluate(DRAFT) is None
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-form").wait_for()
    assert page.get_by_test_id("report-form").get_attribute("data-restored") is None
    assert page.get_by_test_id("report-note").input_value() == ""
    page.get_by_test_id("nav-home").click()
    ctx.set_offline(False)
    wait_synced(page)
    row = db.execute(
        "select data, grid_code from record where entity = 'inspection' and kind = 'report'"
        " and created_by = (select id from app_user where username = %s)", (user,)).fetchone()
    data, grid = row
    assert grid == GRID
    assert data["note"] == "drafts: 楼上夜间装修，已劝说无效" and data["title"] == "邻里噪音"
    assert data["category"] == sub and data["urgent"] is True and data["photos"] == [sha]
