"""A volunteer's first sign-in from a login slip: the QR code's link fills in the username,
the one-time password works once, and the app asks for their own password before
anything else; a weak one is refused in plain Chinese."""
from __future__ import annotations

import uuid

import requests

from tests.browser.test_pwa_helpers import PASSWORD

GRID = "320105001001001"


def test_first_sign_in_with_a_one_time_password(live_server, new_context, make_user):
    admin = make_user(f"fs_adm_{uuid.uuid4().hex[:5]}", "admin")
    token = requests.post(f"{live_server.url}/api/v1/auth/token", timeout=10, json={
        "username": admin, "password": PASSWORD, "device_id": f"d-{uuid.uuid4()}"}).json()["token"]
    name = f"fs_vol_{uuid.uuid4().hex[:5]}"
    r = requests.post(f"{live_server.url}/api/v1/admin/users", timeout=10,
                      headers={"Authorization": f"Bearer {token}"},
                      json={"username": name, "role": "patroller", "grids": [GRID],
                            "display_name": "李阿姨"})
    assert r.status_code == 201, r.text
    otp = r.json()["one_time_password"]

    ctx = new_context(viewport={"width": 360, "height": 740})
    page = ctx.new_page()
    page.goto(f"/?u={name}")  # what the slip's QR code opens
    assert page.get_by_test_id("login-username").input_value() == name
    page.get_by_test_id("login-password").fill(otp)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("password-form").wait_for()
    page.get_by_test_id("new-password").fill("12345678")
    page.get_by_test_id("new-password-again").fill("12345678")
    page.get_by_test_id("password-submit").click()
    page.get_by_test_id("password-error").filter(has_text="太简单").wait_for()
    page.screenshot(path="docs/screens/field-new-password-normal-360.png")
    page.get_by_test_id("new-password").fill("liayi-2026!")
    page.get_by_test_id("new-password-again").fill("liayi-2026!")
    page.get_by_test_id("password-submit").click()
    page.get_by_test_id("password-form").wait_for(state="detached")
    # her own password works from now on; the one-time one does not
    assert requests.post(f"{live_server.url}/api/v1/auth/token", timeout=10, json={
        "username": name, "password": otp, "device_id": f"d-{uuid.uuid4()}"}).status_code == 401
    r = requests.post(f"{live_server.url}/api/v1/auth/token", timeout=10, json={
        "username": name, "password": "liayi-2026!", "device_id": f"d-{uuid.uuid4()}"})
    assert r.status_code == 200 and r.json()["must_change_password"] is False
