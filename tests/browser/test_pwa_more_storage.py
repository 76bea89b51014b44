"""Storage: the result of navigator.storage.persist() is shown, and a nearly full quota warns.

navigator.storage is replaced before the app loads (context.add_init_script): estimate()
reports the quota, persisted() says no, and persist() grants only once the test allows it
(a flag in localStorage), so the refusal and the retry are both seen.
"""
from tests.browser.test_pwa_helpers import login_field
from tests.browser.test_pwa_more_helpers import wait_attr

GRID = "320105001001004"
MB = 1024 * 1024

FAKE_STORAGE = """([usage, quota]) => {
    StorageManager.prototype.estimate = async () => ({usage, quota});
    StorageManager.prototype.persisted = async () => localStorage.getItem('test.persist') === '1';
    StorageManager.prototype.persist = async () => localStorage.getItem('test.persist') === '1';
}"""


def fake_storage(ctx, usage, quota):
    ctx.add_init_script(f"({FAKE_STORAGE})([{usage}, {quota}])")


def test_low_quota_warns_and_persist_result_is_shown(new_context, make_user):
    user = make_user(None, "patroller", grids=(GRID,))
    ctx = new_context()
    fake_storage(ctx, 990 * MB, 1000 * MB)
    page = ctx.new_page()
    login_field(page, user)

    # Home: the real warning (space running out), but no permanent line about persistence.
    wait_attr(page, "storage-low", "data-low", "1")
    assert page.get_by_test_id("storage-persist").count() == 0
    low = page.get_by_test_id("storage-low")
    assert low.is_visible()
    assert "存储空间不足" in low.text_content() and "10.0 MB" in low.text_content()

    # 备份与设置: usage, the warning, and a second request that is granted.
    page.get_by_test_id("nav-settings").click()
    page.get_by_test_id("storage-usage").wait_for()
    assert page.get_by_test_id("storage-usage").text_content() == "已用 990.0 MB，可用上限 1000.0 MB"
    assert page.get_by_test_id("storage-low").is_visible()
    assert page.get_by_test_id("storage-persist").get_attribute("data-persisted") == "false"
    assert "同步后就安全了" in page.get_by_test_id("storage-persist").text_content()
    assert page.get_by_test_id("storage-backup").is_visible()  # one-tap backup where it matters
    page.evaluate("localStorage.setItem('test.persist', '1')")
    page.get_by_test_id("storage-persist-retry").click()
    wait_attr(page, "storage-persist", "data-persisted", "true")
    assert "持久保存" in page.get_by_test_id("storage-persist").text_content()
    assert page.get_by_test_id("storage-persist-retry").count() == 0
    assert page.get_by_test_id("storage-backup").count() == 0

    # The answer is remembered: 设置 shows it after a reload too.
    page.reload()
    wait_attr(page, "storage-persist", "data-persisted", "true")
    assert "浏览器不会自动清除" in page.get_by_test_id("storage-persist").text_content()


def test_plenty_of_space_does_not_warn(new_context, make_user):
    user = make_user(None, "patroller", grids=(GRID,))
    ctx = new_context()
    fake_storage(ctx, 20 * MB, 2000 * MB)
    page = ctx.new_page()
    page.add_init_script("try { localStorage.setItem('test.persist', '1'); } catch { /* about:blank */ }")
    login_field(page, user)
    wait_attr(page, "storage-low", "data-low", "0")
    assert page.get_by_test_id("storage-low").text_content() == ""
    page.get_by_test_id("nav-settings").click()
    page.get_by_test_id("storage-usage").wait_for()
    wait_attr(page, "storage-persist", "data-persisted", "true")
    assert page.get_by_test_id("storage-low").count() == 0
