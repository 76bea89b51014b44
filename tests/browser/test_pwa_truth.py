"""A field app that tells the truth: it syncs at sign-in (not on its next timer), says
"全部已上传" only when records AND photos are on the server, its 发件箱 never contradicts
itself, and a patrol without location says so."""
import os
import pathlib

from tests.browser.test_pwa_helpers import (
    PASSWORD,
    Device,
    field_page,
    inside_point,
    set_position,
    wait_location,
    wait_pulled,
    wait_synced,
)
from tests.browser.test_pwa_more_helpers import photo_file, pick_photo, wait_attr

GRID = "320105002002002"

# Every text the sync status shows, as it changes.
WATCH_STATUS = """() => {
  window.__statusTexts = [];
  new MutationObserver(() => {
    const el = document.querySelector('[data-testid=sync-status]');
    if (el) window.__statusTexts.push(el.textContent);
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


def test_sync_starts_at_sign_in_not_on_the_timer(live_server, new_context, make_user):
    user = make_user(role="patroller", grids=(GRID,))
    here = inside_point(GRID)
    hh_id, res = Device(live_server.url, user).push("household", "create", {
        "address": "真话路1号", "head_name": "登录即同步", "tags": [],
        "location": {"type": "Point", "coordinates": [here["lon"], here["lat"]]}})
    assert res["status"] == "applied", res

    ctx = new_context()
    page = ctx.new_page()
    page.clock.install()
    page.goto("/")
    page.get_by_test_id("login-username").wait_for()
    page.wait_for_function("document.body.dataset.sw === 'ready'", timeout=30000)
    # From here on no timer fires: only the sign-in itself can start a sync.
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 2)  # seconds
    page.evaluate(WATCH_STATUS)
    page.get_by_test_id("login-username").fill(user)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("duty-report").wait_for()
    wait_pulled(page, "households", 1)
    wait_attr(page, "sync-status", "data-state", "ok")
    texts = page.evaluate("window.__statusTexts")
    assert any("正在下载数据" in t or "正在同步" in t for t in texts), texts
    # Home says the phone holds the user's data for offline work.
    wait_attr(page, "home-ready", "data-households", "1")
    assert "可离线工作" in page.get_by_test_id("home-ready").inner_text()
    page.get_by_test_id("duty-visit").click()
    page.locator(f"[data-testid=household-item][data-id='{hh_id}']").wait_for()


def test_all_uploaded_only_when_photos_are_too(live_server, new_context, make_user, tmp_path):
    user = make_user(role="patroller", grids=(GRID,))
    here = inside_point(GRID)
    ctx = new_context(viewport={"width": 360, "height": 740})
    page = field_page(ctx, user, here)
    wait_synced(page)
    picture = photo_file(page, tmp_path / "p.jpg", hue=120)

    # The records go through; every photo upload is cut off (the context's route also
    # catches the service worker's background sync).
    ctx.route("**/api/v1/attachments/**", lambda route: route.abort())
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-note").fill("truth: photo still on the phone")
    sha = pick_photo(page, "report-photo", picture)
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()
    wait_synced(page)  # no op left...
    count = page.get_by_test_id("outbox-count")
    wait_attr(page, "outbox-count", "data-photos", "1")
    # ...but a photo is: never "全部已上传".
    assert count.get_attribute("data-all") == "0"
    assert "全部已上传" not in count.inner_text()
    assert "1 张照片未上传" in count.inner_text()

    # 发件箱 agrees with itself: the sent record lacks the photo, and the photo is unsent.
    page.get_by_test_id("nav-outbox").click()
    photos = page.get_by_test_id("outbox-photos")
    wait_attr(page, "outbox-photos", "data-unsent", "1")
    assert "照片已全部上传" not in photos.inner_text()
    page.get_by_test_id("history-missing-photos").wait_for()
    assert page.get_by_test_id("history-missing-photos").get_attribute("data-count") == "1"
    shots = pathlib.Path(os.environ.get("GP_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "outbox-photo-unsent-360.png"))

    # The photo goes up: now everything is, and every line says so.
    ctx.unroute("**/api/v1/attachments/**")
    page.get_by_test_id("outbox-sync").click()
    wait_attr(page, "outbox-count", "data-all", "1")
    assert count.inner_text() == "全部已上传"
    wait_attr(page, "outbox-photos", "data-unsent", "0")
    wait_attr(page, "sync-status", "data-state", "ok")
    assert photos.inner_text() == "照片已全部上传"
    assert page.get_by_test_id("history-missing-photos").count() == 0
    assert page.evaluate("s => window.gridpatrol.db.photos.get(s).then(p => p.uploaded)", sha) == 1


def test_patrol_without_location_permission_says_so(live_server, new_context, make_user, tmp_path):
    user = make_user(role="patroller", grids=(GRID,))
    ctx = new_context(viewport={"width": 360, "height": 740})
    page = field_page(ctx, user)
    ctx.clear_permissions()  # nothing granted: geolocation is denied
    page.get_by_test_id("duty-patrol").click()
    page.get_by_test_id("patrol-start").click()
    wait_attr(page, "patrol-gps", "data-state", "denied")
    assert page.get_by_test_id("patrol-state").get_attribute("data-state") == "running"
    state = page.get_by_test_id("patrol-state").inner_text()
    assert "正在记录轨迹" not in state and "没有定位权限" in state
    help_text = page.get_by_test_id("patrol-gps").inner_text()
    assert "没有定位权限" in help_text and "允许" in help_text
    page.get_by_test_id("patrol-gps-retry").wait_for()
    shots = pathlib.Path(os.environ.get("GP_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "patrol-denied-360.png"))

    # Allowed now: 重新定位 starts recording, with the fix count and accuracy shown.
    ctx.grant_permissions(["geolocation"])
    set_position(ctx, inside_point(GRID), accuracy=12)
    page.get_by_test_id("patrol-gps-retry").click()
    wait_attr(page, "patrol-gps", "data-state", "ok")
    assert page.get_by_test_id("patrol-gps").get_attribute("data-accuracy") == "12"
    assert int(page.get_by_test_id("patrol-gps").get_attribute("data-fixes")) >= 1
    assert "±12 米" in page.get_by_test_id("patrol-gps").inner_text()
    assert page.get_by_test_id("patrol-state").inner_text() == "巡查中，正在记录轨迹"


def test_patrol_warns_after_a_minute_without_a_fix(live_server, new_context, make_user):
    user = make_user(role="patroller", grids=(GRID,))
    ctx = new_context()
    page = ctx.new_page()
    page.clock.install()
    # Permission granted but no position set: no fix ever arrives.
    page.goto("/")
    page.get_by_test_id("login-username").fill(user)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("duty-patrol").click()
    page.get_by_test_id("patrol-start").click()
    wait_attr(page, "patrol-gps", "data-state", "waiting")
    assert page.get_by_test_id("patrol-points").get_attribute("data-count") == "0"
    assert "正在记录轨迹" not in page.get_by_test_id("patrol-state").inner_text()
    page.clock.fast_forward("01:01")
    wait_attr(page, "patrol-gps", "data-state", "nofix")
    assert "已超过 1 分钟没有定位" in page.get_by_test_id("patrol-gps").inner_text()
