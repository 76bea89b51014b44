"""Helpers shared by the console browser tests: plain functions, no tests (named test_console_* to stay in the console-owned files)."""
from __future__ import annotations

from tests.browser.test_pwa_helpers import login

CONSOLE = "/console/"


def console_page(new_context, username, view=None, **kw):
    """A fresh profile signed in to the console, optionally on one view (map, desk, conflicts, stats)."""
    kw.setdefault("viewport", {"width": 1400, "height": 900})
    ctx = new_context(**kw)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    page.errors = errors
    login(page, username, path=CONSOLE)
    page.get_by_test_id("whoami").wait_for()
    if view:
        open_view(page, view)
    return ctx, page


def open_view(page, view):
    page.get_by_test_id(f"console-tab-{view}").click()
    page.wait_for_selector(f"[data-testid=console-panel][data-view={view}][data-ready='1']")


def desk_queue(page, status):
    """Show one desk queue and wait until its list has loaded."""
    page.locator(f"[data-testid=desk-queue][data-status={status}]").click()
    page.wait_for_selector(f"[data-testid=desk-list][data-queue={status}][data-state=ready]")


def desk_row(page, rid):
    return page.locator(f"[data-testid=desk-row][data-id='{rid}']")


def desk_open(page, rid):
    desk_row(page, rid).click()
    page.wait_for_selector(f"[data-testid=desk-detail][data-id='{rid}'][data-state=ready]")


def desk_act(page, rid, to, note=None, department=None):
    """Press the action button for `to` in the open incident and wait for the new status."""
    detail = page.get_by_test_id("desk-detail")
    if department:
        detail.get_by_test_id("desk-department").select_option(department)
    if note:
        detail.get_by_test_id("desk-note").fill(note)
    detail.locator(f"[data-testid=desk-action][data-to={to}]").click()
    page.wait_for_selector(f"[data-testid=desk-detail][data-id='{rid}'][data-status={to}][data-state=ready]")
    assert page.get_by_test_id("desk-message").get_attribute("data-kind") == "ok"


def status_history(db, rid):
    """(status, username) of every version of the record that changed its status, in order."""
    return db.execute(
        "select rv.data->>'status', u.username from record_version rv join app_user u on u.id = rv.user_id"
        " where rv.record_id = %s and 'status' = any(rv.changed) order by rv.version", (rid,)).fetchall()


def record_row(db, rid):
    return db.execute("select status, version, data, grid_code from record where id = %s", (rid,)).fetchone()
