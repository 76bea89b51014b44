"""A note containing markup renders as text everywhere, in both apps."""
from tests.browser.test_pwa_helpers import (
    inside_point,
    login,
    login_field,
    set_position,
    wait_location,
    wait_synced,
)

GRID = "320105004003002"
XSS = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>'


def test_markup_in_notes_is_text(live_server, new_context, make_user):
    user = make_user("pwa_xss_user", "patroller", grids=(GRID,))
    make_user("pwa_xss_sup", "supervisor", areas=("320105004",))
    dialogs = []
    ctx = new_context()
    page = ctx.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    set_position(ctx, inside_point(GRID))
    login_field(page, user)
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-title").fill(XSS)
    page.get_by_test_id("report-note").fill(XSS)
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    wait_synced(page)

    # Field app: outbox history and incidents list.
    page.get_by_test_id("nav-outbox").click()
    page.get_by_test_id("history-item").first.wait_for()
    assert XSS in page.get_by_test_id("outbox-history").text_content()
    page.get_by_test_id("nav-home").click()
    page.get_by_test_id("nav-incidents").click()
    page.get_by_test_id("incident-item").first.wait_for()
    assert XSS in page.get_by_test_id("incidents-list").text_content()
    assert page.locator("#app img[src=x], #app script").count() == 0

    # Console: list, detail and map popup.
    sup_ctx = new_context()
    sup = sup_ctx.new_page()
    sup.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(sup, "pwa_xss_sup", path="/console/")
    item = sup.locator("[data-testid=console-feature]", has_text="onerror").first
    item.wait_for()
    item.click()
    assert sup.get_by_test_id("popup-note").first.text_content() == XSS
    assert sup.locator("#console img[src=x], #console script").count() == 0
    assert page.evaluate("window.__xss") is None and sup.evaluate("window.__xss") is None
    assert dialogs == []
