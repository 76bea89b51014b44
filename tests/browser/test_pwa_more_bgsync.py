"""Background Sync: work queued offline registers the ``gp-sync`` tag, and the service worker
alone (no tab of the app open) pushes it when the sync event comes.

Headless Chromium has ``registration.sync``, but Playwright's contexts deny the
``background-sync`` permission that installed Chrome grants by default, so the first test
grants it. The sync event is then dispatched through the DevTools protocol
(``ServiceWorker.dispatchSyncEvent``, what Chrome does when connectivity returns), after the
app's tab is closed. The second test keeps Playwright's default (denied): registering fails
quietly and the open tab's own scheduler is the fallback that syncs on reconnect.
"""
import time

from tests.browser.test_pwa_helpers import (
    go_offline_and_reload,
    inside_point,
    login_field,
    outbox_count,
    set_position,
    wait_eval,
    wait_location,
    wait_synced,
)
from tests.browser.test_pwa_more_helpers import wait_attr

GRID = "320105001001004"
TAGS = "navigator.serviceWorker.ready.then(r => r.sync.getTags())"


def report(page, note):
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-note").fill(note)
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()


def rows(db, note):
    return db.execute("select count(*) from record where entity = 'inspection' and data->>'note' = %s",
                      (note,)).fetchone()[0]


def test_sync_tag_registered_offline_and_service_worker_pushes_alone(live_server, new_context, db, make_user):
    user = make_user(None, "patroller", grids=(GRID,))
    ctx = new_context()
    ctx.grant_permissions(["background-sync"])
    page = ctx.new_page()
    set_position(ctx, inside_point(GRID))
    login_field(page, user)
    assert page.evaluate("navigator.serviceWorker.ready.then(r => 'sync' in r)") is True
    assert page.evaluate(TAGS) == []

    go_offline_and_reload(ctx, page)
    report(page, "bgsync-1")
    assert outbox_count(page) == 1
    wait_eval(page, f"{TAGS}.then(t => t.length === 1 && t[0] === 'gp-sync')")
    assert rows(db, "bgsync-1") == 0

    # Every tab of the app is closed; only the service worker is left.
    blank = ctx.new_page()  # about:blank, not the app: a handle for the DevTools session
    page.close()
    cdp = ctx.new_cdp_session(blank)
    regs = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: regs.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not [r for r in regs if r["scopeURL"].startswith(live_server.url) and not r["isDeleted"]]:
        assert time.monotonic() < deadline, regs
        blank.wait_for_timeout(50)
    reg_id = next(r for r in regs if r["scopeURL"].startswith(live_server.url) and not r["isDeleted"])["registrationId"]

    ctx.set_offline(False)
    cdp.send("ServiceWorker.dispatchSyncEvent", {
        "origin": live_server.url, "registrationId": reg_id, "tag": "gp-sync", "lastChance": False})
    deadline = time.monotonic() + 30
    while rows(db, "bgsync-1") == 0:
        assert time.monotonic() < deadline, "the service worker never pushed"
        blank.wait_for_timeout(100)
    assert rows(db, "bgsync-1") == 1

    # Reopened, the app finds its outbox acknowledged by the service worker's sync.
    page = ctx.new_page()
    page.goto("/")
    page.get_by_test_id("duty-report").wait_for()
    wait_synced(page)
    hist = page.evaluate("window.gridpatrol.db.history.toArray().then(r => r.map(h => [h.note, h.status]))")
    assert hist == [["bgsync-1", "applied"]]
    assert page.evaluate(TAGS) == []


def test_without_background_sync_the_tab_syncs_on_reconnect(live_server, new_context, db, make_user):
    user = make_user(None, "patroller", grids=(GRID,))
    ctx = new_context()  # Playwright's default: background-sync denied
    page = ctx.new_page()
    set_position(ctx, inside_point(GRID))
    login_field(page, user)
    assert page.evaluate("navigator.permissions.query({name: 'background-sync'}).then(p => p.state)") == "denied"
    go_offline_and_reload(ctx, page)
    report(page, "bgsync-fallback")
    assert outbox_count(page) == 1
    assert page.evaluate(TAGS) == []  # the registration was refused, quietly
    wait_attr(page, "sync-status", "data-state", "offline")
    ctx.set_offline(False)  # no button pressed: the tab's scheduler notices the connection
    wait_synced(page)
    assert rows(db, "bgsync-fallback") == 1
