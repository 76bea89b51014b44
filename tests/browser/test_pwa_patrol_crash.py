"""A crash mid-patrol: the page is closed while recording offline; reopened, the track is intact."""
import time

from tests.browser.test_pwa_helpers import (
    field_page,
    go_offline_and_reload,
    inside_point,
    set_position,
    wait_synced,
)

GRID = "320105006001007"


def points_shown(page):
    return int(page.get_by_test_id("patrol-points").get_attribute("data-count") or 0)


def walk_to(ctx, page, point, n):
    set_position(ctx, point)
    page.wait_for_function(
        "n => Number(document.querySelector('[data-testid=patrol-points]').dataset.count || 0) >= n",
        arg=n, timeout=15000)


def test_track_survives_closing_the_page(live_server, new_context, db, make_user):
    user = make_user("pwa_patrol_crash", "patroller", grids=(GRID,))
    here = inside_point(GRID)
    walk = [{"lat": here["lat"] + i * 0.00008, "lon": here["lon"] + i * 0.00003} for i in range(5)]
    ctx = new_context()
    page = field_page(ctx, user, walk[0])
    go_offline_and_reload(ctx, page)

    page.get_by_test_id("duty-patrol").click()
    page.get_by_test_id("patrol-start").click()
    for i, p in enumerate(walk[:3]):
        walk_to(ctx, page, p, i + 1)
        time.sleep(1.0)
    before = page.evaluate("window.gridpatrol.db.trackpoints.toArray()")
    assert len(before) == 3

    # The tab dies without any chance to save (no end, no unload handler relied on).
    page.close(run_before_unload=False)

    page = ctx.new_page()
    page.goto("/#/patrol")  # still offline: the service worker opens the app
    page.get_by_test_id("patrol-state").wait_for()
    assert page.get_by_test_id("patrol-state").get_attribute("data-state") == "running"
    page.wait_for_function("document.querySelector('[data-testid=patrol-points]').dataset.count === '3'")
    after = page.evaluate("window.gridpatrol.db.trackpoints.toArray()")
    assert [(p["lon"], p["lat"]) for p in after] == [(p["lon"], p["lat"]) for p in before]

    # Recording goes on after the restart.
    for i, p in enumerate(walk[3:], start=4):
        time.sleep(1.0)
        walk_to(ctx, page, p, i)
    page.get_by_test_id("patrol-end").click()
    page.get_by_test_id("patrol-end-confirm").click()  # asked once
    page.get_by_test_id("duty-patrol").wait_for()
    ctx.set_offline(False)
    wait_synced(page)

    row = db.execute(
        "select data, grid_code from record where entity = 'inspection' and kind = 'patrol'"
        " and created_by = (select id from app_user where username = %s)", (user,)).fetchone()
    track = row[0]["track"]["coordinates"]
    assert len(track) == 5
    for got, want in zip(track, walk, strict=True):
        assert abs(got[0] - want["lon"]) < 1e-7 and abs(got[1] - want["lat"]) < 1e-7
    assert row[1] == GRID
