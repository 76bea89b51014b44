"""The reporter sees their incident's status change as the supervisors act.

A report made offline is synced; a supervisor then moves the incident through the desk
API (受理, 立案, 派遣). After each move the field app's 同步 button pulls, and 我的事件,
left open, shows the new status.
"""
import requests

from tests.browser.test_pwa_helpers import (
    PASSWORD,
    field_page,
    go_offline_and_reload,
    inside_point,
    wait_location,
    wait_pulled,
    wait_synced,
)
from tests.browser.test_pwa_more_helpers import wait_attr

GRID = "320105001002001"
STREET = "320105001"


class Desk:
    """A supervisor acting on incidents through the desk API, as the console does."""

    def __init__(self, base_url, username):
        self.url = base_url + "/api/v1"
        r = requests.post(self.url + "/auth/token", json={
            "username": username, "password": PASSWORD, "device_id": f"desk-{username}"}, timeout=10)
        r.raise_for_status()
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}

    def move(self, db, rid, to, **extra):
        version = db.execute("select version from record where id = %s", (rid,)).fetchone()[0]
        r = requests.post(f"{self.url}/desk/incidents/{rid}/transition", headers=self.headers,
                          json={"to": to, "base_version": version, **extra}, timeout=10)
        assert r.status_code == 200, r.text
        assert db.execute("select status from record where id = %s", (rid,)).fetchone()[0] == to


def item(page, rid):
    return page.locator(f"[data-testid=incident-item][data-id='{rid}']")


def test_reporter_sees_status_as_supervisors_act(live_server, new_context, db, make_user):
    pat = make_user(None, "patroller", grids=(GRID,))
    sup = make_user(None, "supervisor", areas=(STREET,))
    here = inside_point(GRID)
    ctx = new_context(viewport={"width": 360, "height": 780})
    page = field_page(ctx, pat, here)
    wait_pulled(page, "grids", 1)

    go_offline_and_reload(ctx, page)
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-title").fill("路灯不亮")
    page.get_by_test_id("report-note").fill("status-report: 小区北门路灯坏了")
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()
    rid = page.evaluate("window.gridpatrol.db.incidents.toArray().then(r => r[0].id)")

    # Offline, the list already shows it, marked unsent.
    page.get_by_test_id("nav-incidents").click()
    wait_attr(page, "incident-item", "data-status", "reported")
    assert "已上报" in item(page, rid).get_by_test_id("incident-status").text_content()
    assert "未上传" in item(page, rid).text_content()

    ctx.set_offline(False)
    wait_synced(page)
    row = db.execute("select status, grid_code, data->>'title' from record where id = %s", (rid,)).fetchone()
    assert row == ("reported", GRID, "路灯不亮")
    # After the pull the list holds the server's copy: no longer "unsent", with its grid.
    page.get_by_test_id("sync-now").click()
    page.wait_for_function(
        "rid => { const e = document.querySelector(`[data-testid=incident-item][data-id='${rid}']`);"
        " return !!e && !e.textContent.includes('未上传') && e.textContent.includes('网格'); }",
        arg=rid)
    assert item(page, rid).get_attribute("data-grid") == GRID

    desk = Desk(live_server.url, sup)
    for to, text, extra in (("accepted", "已受理", {}),
                            ("filed", "已立案", {"note": "立案：交城管处理"}),
                            ("dispatched", "已派遣", {"department": "城管"})):
        desk.move(db, rid, to, **extra)
        page.get_by_test_id("sync-now").click()
        page.wait_for_function(
            "([rid, to]) => { const e = document.querySelector(`[data-testid=incident-item][data-id='${rid}']`);"
            " return !!e && e.dataset.status === to; }", arg=[rid, to], timeout=30000)
        assert item(page, rid).get_by_test_id("incident-status").text_content() == text
        assert item(page, rid).count() == 1  # one card per incident, never a stale copy

    # The status is kept on the device: offline, after a reload, it is still 已派遣.
    ctx.set_offline(True)
    page.reload()
    wait_attr(page, "incident-item", "data-status", "dispatched")
    assert page.get_by_test_id("incident-status").text_content() == "已派遣"
