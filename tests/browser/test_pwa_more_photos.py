"""做 with before and after photos: both stored on the device, both uploaded, both on the record.

Offline, the before photo is taken, the app is reloaded (the draft keeps it on its side),
the after photo is taken and the handling saved. Online, the first upload of the after
photo fails; the next sync resumes it. PostGIS then holds the self_handled incident and
its inspection with both hashes, and the attachments the hashes name.
"""
import hashlib

import requests

from tests.browser.test_pwa_helpers import (
    field_page,
    go_offline_and_reload,
    inside_point,
    wait_eval,
    wait_location,
    wait_synced,
)
from tests.browser.test_pwa_more_helpers import photo_file, pick_photo

GRID = "320105002002008"


def test_handle_before_and_after_photos(live_server, new_context, db, make_user, tmp_path):
    user = make_user(None, "patroller", grids=(GRID,))
    here = inside_point(GRID)
    ctx = new_context()
    page = field_page(ctx, user, here)
    before_file = photo_file(page, tmp_path / "before.jpg", hue=10)
    after_file = photo_file(page, tmp_path / "after.jpg", hue=200)

    go_offline_and_reload(ctx, page)
    page.get_by_test_id("duty-handle").click()
    page.get_by_test_id("handle-category-parent").select_option(label="市容环境")
    page.get_by_test_id("handle-note").fill("photos-handle: 清理了小广告")
    before = pick_photo(page, "handle-photo-before", before_file)
    wait_eval(page, "sha => window.gridpatrol.db.drafts.get('form:handle').then(d => d && d.data.before[0] === sha)", before)

    # A reload in the middle: the before photo stays on its side, the after side stays empty.
    page.reload()
    page.wait_for_selector('[data-testid=handle-form][data-restored="1"]')
    page.wait_for_function("document.querySelector('[data-testid=handle-photo-before-list]').dataset.count === '1'")
    assert page.locator("[data-testid=handle-photo-before-list] img").get_attribute("data-sha") == before
    assert (page.get_by_test_id("handle-photo-after-list").get_attribute("data-count") or "0") == "0"

    after = pick_photo(page, "handle-photo-after", after_file)
    assert after != before
    wait_location(page, "handle")
    page.get_by_test_id("handle-save").click()
    page.get_by_test_id("duty-handle").wait_for()

    op = page.evaluate("window.gridpatrol.db.outbox.toArray().then(r => r[0].data)")
    assert op["kind"] == "handle"
    assert op["photos"] == [before, after]
    assert op["photos_before"] == [before] and op["photos_after"] == [after]
    stored = page.evaluate("window.gridpatrol.db.photos.toArray().then(r => r.map(p => [p.sha, p.uploaded, p.blob.size]))")
    assert {s for s, up, size in stored if up == 0 and size > 0} == {before, after}

    # Online; the after photo's first upload is cut off, and a later sync resumes it.
    puts = []

    def cut_first(route):
        if route.request.method == "PUT":
            puts.append(route.request.url)
            if len(puts) == 1:
                route.abort()
                return
        route.continue_()

    ctx.route(f"**/api/v1/attachments/{after}", cut_first)
    ctx.set_offline(False)
    wait_synced(page)
    page.wait_for_function("document.querySelector('[data-testid=sync-status]').dataset.state !== 'syncing'")
    page.get_by_test_id("sync-now").click()
    wait_eval(page, "s => Promise.all(s.map(x => window.gridpatrol.db.photos.get(x))).then(r => r.every(p => p.uploaded === 1))",
              [before, after], timeout=60000)
    assert len(puts) >= 2, puts

    got = {r[0]: r[1] for r in db.execute(
        "select sha256, size from attachment where sha256 = any(%s)", ([before, after],)).fetchall()}
    assert set(got) == {before, after}
    token = page.evaluate("window.gridpatrol.db.kv.get('token').then(r => r.value)")
    for sha in (before, after):
        r = requests.get(f"{live_server.url}/api/v1/attachments/{sha}",
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == sha

    insp = db.execute(
        "select data, grid_code from record where entity = 'inspection' and kind = 'handle'"
        " and created_by = (select id from app_user where username = %s)", (user,)).fetchone()
    data, grid = insp
    assert grid == GRID
    assert data["photos"] == [before, after]
    inc = db.execute("select status, data, grid_code from record where entity = 'incident' and id = %s",
                     (data["incident_id"],)).fetchone()
    assert inc[0] == "self_handled" and inc[2] == GRID
    assert inc[1]["photos"] == [before, after]
