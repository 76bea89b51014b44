"""管理 in the console, as a street's grid centre uses it: a supervisor imports a 300-row
roster with defects, sees every refused row and why, imports the rest, prints login
slips; resets a password; revokes a lost phone, whose next push is 401."""
from __future__ import annotations

import uuid

import requests

from tests.browser.test_console_helpers import console_page, open_view

STREET = "320105001"
GRIDS = [f"320105001001{n:03d}" for n in range(1, 8)]
OTHER = "320105002001001"
SHOTS = "docs/screens"


# i % 25 -> (the column refused, how the row is spoiled)
DEFECTS = {
    1: ("username", lambda v, i, tag: {**v, "user": ""}),
    2: ("username", lambda v, i, tag: {**v, "user": f"{tag}_{i - 3:03d}"}),  # a duplicate
    3: ("grids", lambda v, i, tag: {**v, "grid": "999999999999999"}),
    4: ("grids", lambda v, i, tag: {**v, "grid": OTHER}),
    5: ("role", lambda v, i, tag: {**v, "role": "队长"}),
    6: ("phone", lambda v, i, tag: {**v, "phone": "1234"}),
}


def roster_rows(tag: str) -> tuple[list[str], dict[int, str]]:
    """300 data rows (header on row 1) and the column each defective row is refused for;
    every 25th row is followed by a blank row (skipped, not refused)."""
    lines = ["姓名,账号,手机,角色,网格,备注"]
    refused: dict[int, str] = {}
    for i in range(300):
        values = {"name": f"网格员{i}", "user": f"{tag}_{i:03d}", "phone": f"139{i:08d}",
                  "role": "志愿者", "grid": GRIDS[i % 7]}
        if i % 25 in DEFECTS and not (i % 25 == 2 and i <= 25):
            column, spoil = DEFECTS[i % 25]
            values = spoil(values, i, tag)
            refused[len(lines) + 1] = column
        lines.append(",".join((*values.values(), "备注")))
        if i % 25 == 7:
            lines.append(",,,,,")
    return lines, refused


def test_supervisor_imports_a_roster_and_manages_people_and_devices(live_server, new_context, db,
                                                                    make_user, tmp_path):
    tag = f"ro{uuid.uuid4().hex[:5]}"
    sup = make_user(f"{tag}_sup", "supervisor", areas=(STREET,))
    lines, refused = roster_rows(tag)
    path = tmp_path / "名单.csv"
    path.write_bytes("\n".join(lines).encode("gbk"))  # GBK, no BOM, as Excel saves it

    _ctx, page = console_page(new_context, sup, view="admin", viewport={"width": 1366, "height": 768})
    page.get_by_test_id("admin-tab-roster").click()
    page.get_by_test_id("roster-file").set_input_files(str(path))
    page.get_by_test_id("roster-preview").click()
    page.wait_for_selector("[data-testid=roster-result][data-state=ready]")
    assert int(page.get_by_test_id("roster-result").get_attribute("data-refused")) == len(refused)
    written = db.execute("select count(*) from app_user where username like %s", (tag + "\\_%",)).fetchone()[0]
    assert written == 1  # the supervisor alone: a preview writes nothing
    for row, column in refused.items():
        tr = page.locator(f"[data-testid=roster-row][data-row='{row}']")
        assert tr.get_attribute("data-outcome") == "refused", row
        assert {"username": "账号", "grids": "网格", "role": "角色", "phone": "手机"}[column] in tr.text_content()
    page.screenshot(path=f"{SHOTS}/console-admin-roster-preview-1366.png")

    page.get_by_test_id("roster-apply").click()
    page.wait_for_selector("[data-testid=roster-print]")
    created = 300 - len(refused)
    assert f"新建 {created}" in page.get_by_test_id("roster-message").text_content()
    page.get_by_test_id("roster-print").click()
    slips = page.get_by_test_id("login-slip")
    assert slips.count() == created
    assert slips.first.locator("img").evaluate("i => i.naturalWidth") > 0  # the QR code drew
    page.screenshot(path=f"{SHOTS}/console-admin-slips-1366.png", full_page=False)

    # a new volunteer signs in with the slip's one-time password and must set their own
    first = page.locator("[data-testid=roster-row][data-outcome=created]").first
    username = first.locator("td").nth(1).text_content()
    otp = first.locator("td.otp").text_content()
    device = f"dev-{uuid.uuid4()}"
    r = requests.post(f"{live_server.url}/api/v1/auth/token", timeout=10,
                      json={"username": username, "password": otp, "device_id": device})
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    headers = {"Authorization": "Bearer " + r.json()["token"]}
    assert requests.post(f"{live_server.url}/api/v1/auth/password", headers=headers, timeout=10,
                         json={"old": otp, "new": "volunteer-2026!"}).status_code in (200, 204)
    assert requests.post(f"{live_server.url}/api/v1/sync/push", headers=headers, timeout=10,
                         json={"device_id": device, "ops": []}).status_code == 200

    # 人员: find them, reset the password (two presses), the one-time password shows once
    page.get_by_test_id("admin-tab-people").click()
    page.get_by_test_id("admin-user-q").fill(username)
    page.get_by_test_id("admin-user-search").click()
    row = page.locator(f"[data-testid=admin-user-row][data-username='{username}']")
    row.wait_for()
    reset = row.get_by_test_id("admin-user-reset")
    reset.click()
    assert reset.get_attribute("data-armed") == "1"
    reset.click()
    page.get_by_test_id("admin-otp-value").wait_for()
    assert len(page.get_by_test_id("admin-otp-value").text_content()) == 12
    page.screenshot(path=f"{SHOTS}/console-admin-people-1366.png")
    # the reset signed the phone out everywhere
    assert requests.post(f"{live_server.url}/api/v1/sync/push", headers=headers, timeout=10,
                         json={"device_id": device, "ops": []}).status_code == 401

    # 设备: a second phone of another volunteer is lost: revoke it, its next push is 401
    second = f"{tag}_{3 * 25:03d}"  # i = 75: kind 0, created
    assert db.execute("select 1 from app_user where username = %s", (second,)).fetchone()
    pw = "second-phone-42!"
    db.execute("update app_user set must_change_password = false, password_hash = %s where username = %s",
               (_argon(pw), second))
    phone = f"dev-{uuid.uuid4()}"
    r = requests.post(f"{live_server.url}/api/v1/auth/token", timeout=10,
                      json={"username": second, "password": pw, "device_id": phone})
    token = {"Authorization": "Bearer " + r.json()["token"]}
    page.get_by_test_id("admin-tab-devices").click()
    page.get_by_test_id("devices-user").fill(second)
    page.get_by_test_id("devices-search").click()
    device_row = page.locator(f"[data-testid=device-row][data-device='{phone}']")
    device_row.wait_for()
    device_row.get_by_test_id("device-revoke").click()
    device_row.get_by_test_id("device-revoke").click()
    page.wait_for_selector(f"[data-testid=device-row][data-device='{phone}'][data-revoked=true]")
    page.screenshot(path=f"{SHOTS}/console-admin-devices-1366.png")
    assert requests.post(f"{live_server.url}/api/v1/sync/push", headers=token, timeout=10,
                         json={"device_id": phone, "ops": []}).status_code == 401
    assert page.errors == []


def _argon(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def test_field_users_see_no_admin_tab(live_server, new_context, make_user):
    user = make_user(f"ad_pat_{uuid.uuid4().hex[:5]}", "patroller", grids=(GRIDS[0],))
    _ctx, page = console_page(new_context, user)
    assert page.get_by_test_id("console-tab-admin").count() == 0


def test_admin_sees_layers_and_supervisor_does_not(live_server, new_context, make_user):
    admin = make_user(f"ad_adm_{uuid.uuid4().hex[:5]}", "admin")
    _ctx, page = console_page(new_context, admin, view="admin")
    page.get_by_test_id("admin-tab-layers").click()
    page.wait_for_selector("[data-testid=layer-version][data-active=true]")
    sup = make_user(f"ad_sup_{uuid.uuid4().hex[:5]}", "supervisor", areas=(STREET,))
    _ctx2, page2 = console_page(new_context, sup, view="admin")
    assert page2.get_by_test_id("admin-tab-layers").count() == 0
    open_view(page2, "map")
