"""A large queue (500 ops) and a server killed mid-sync: every op arrives exactly once."""
import time

from tests.browser.test_pwa_helpers import (
    go_offline_and_reload,
    inside_point,
    login_field,
    wait_outbox,
    wait_synced,
)

GRID = "320105005007003"

QUEUE_JS = """async ([n, lon, lat, tag]) => {
    const specs = [];
    for (let i = 0; i < n; i++) {
        specs.push({entity: 'inspection', id: crypto.randomUUID(), action: 'create', label: '实时报', data: {
            kind: 'report', occurred_at: new Date().toISOString().replace('Z', '+00:00'),
            location: {type: 'Point', coordinates: [lon, lat]}, location_accuracy_m: 5,
            note: `${tag}-${i}`, incident_id: crypto.randomUUID(), title: `${tag}-${i}`, urgent: false, photos: []}});
    }
    await window.gridpatrol.enqueue(...specs);
}"""


def count(db, tag):
    return db.execute("select count(*), count(distinct data->>'note') from record"
                      " where entity = 'inspection' and data->>'note' like %s", (tag + "-%",)).fetchone()


def test_500_queued_offline_arrive_exactly_once(live_server, new_context, db, make_user):
    user = make_user("pwa_queue_user", "patroller", grids=(GRID,))
    p = inside_point(GRID)
    ctx = new_context()
    page = ctx.new_page()
    login_field(page, user)
    go_offline_and_reload(ctx, page)
    page.evaluate(QUEUE_JS, [500, p["lon"], p["lat"], "q500"])
    wait_outbox(page, 500)
    seqs = page.evaluate("window.gridpatrol.db.outbox.toCollection().primaryKeys()")
    assert seqs == list(range(seqs[0], seqs[0] + 500))  # gap-free device_seq
    ctx.set_offline(False)
    wait_synced(page, timeout=120000)
    assert count(db, "q500") == (500, 500)
    assert page.get_by_test_id("outbox-count").text_content().strip() == "全部已上传"


def test_server_killed_during_sync_then_exactly_once(live_server, new_context, db, make_user):
    user = make_user("pwa_kill_user", "patroller", grids=(GRID,))
    p = inside_point(GRID)
    ctx = new_context()
    page = ctx.new_page()
    login_field(page, user)
    go_offline_and_reload(ctx, page)
    page.evaluate(QUEUE_JS, [500, p["lon"], p["lat"], "kill"])
    wait_outbox(page, 500)
    try:
        ctx.set_offline(False)
        # Kill gunicorn as soon as the push is on the wire.
        page.wait_for_function(
            "document.querySelector('[data-testid=sync-status]').dataset.state === 'syncing'", timeout=30000)
        time.sleep(0.05)
        live_server.kill()
        page.wait_for_function(
            "['offline', 'error'].includes(document.querySelector('[data-testid=sync-status]').dataset.state)"
            " || document.querySelector('[data-testid=outbox-count]').dataset.count === '0'", timeout=60000)
    finally:
        if live_server.proc.poll() is not None:
            live_server.start()
    page.get_by_test_id("sync-now").click()
    wait_synced(page, timeout=120000)
    assert count(db, "kill") == (500, 500)
