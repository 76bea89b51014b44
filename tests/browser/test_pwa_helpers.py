"""Helpers shared by the PWA browser tests: plain functions, no tests (named test_pwa_* to stay in the PWA-owned files)."""
from __future__ import annotations

import json
import pathlib
import time
import uuid

import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
POINTS = json.loads((ROOT / "demo" / "jianye-points-truth.json").read_text(encoding="utf-8"))["points"]
PASSWORD = "pw-123456-test"


def inside_points(code):
    return [p for p in POINTS if p["class"] == "inside" and p["expect"] == code]


def inside_point(code):
    return inside_points(code)[0]


def login(page, username, password=PASSWORD, path="/"):
    page.goto(path)
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def login_field(page, username):
    login(page, username)
    page.get_by_test_id("duty-report").wait_for()
    page.wait_for_function("document.body.dataset.sw === 'ready'", timeout=30000)


def field_page(ctx, username, point=None):
    """A new page of ``ctx`` with the field app signed in as ``username``, the device
    standing at ``point`` (from the truth file) if one is given."""
    page = ctx.new_page()
    if point is not None:
        set_position(ctx, point)
    login_field(page, username)
    return page


def geo_point(point):
    """A truth-file point as a GeoJSON Point."""
    return {"type": "Point", "coordinates": [point["lon"], point["lat"]]}


def go_offline_and_reload(ctx, page):
    ctx.set_offline(True)
    page.reload()
    page.get_by_test_id("duty-report").wait_for()


def set_position(ctx, point, accuracy=8):
    ctx.set_geolocation({"latitude": point["lat"], "longitude": point["lon"], "accuracy": accuracy})


def outbox_count(page):
    return int(page.get_by_test_id("outbox-count").get_attribute("data-count"))


def wait_outbox(page, n, timeout=60000):
    page.wait_for_function(
        "n => document.querySelector('[data-testid=outbox-count]').dataset.count === String(n)",
        arg=n, timeout=timeout)


def wait_synced(page, timeout=60000):
    wait_outbox(page, 0, timeout)


def wait_location(page, prefix):
    page.wait_for_selector(f'[data-testid={prefix}-location][data-ok="1"]')


def wait_pulled(page, table, n=1, timeout=30000):
    """Wait until the device holds at least n rows of a pulled table."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        got = page.evaluate("t => window.gridpatrol.db[t].count()", table)
        if got >= n:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"only {got} rows in {table} after {timeout} ms")
        time.sleep(0.25)


class Device:
    """A second device talking to the live server over HTTP."""

    def __init__(self, base_url, username, password=PASSWORD):
        self.url = base_url + "/api/v1"
        self.device_id = f"d-{uuid.uuid4()}"
        self.seq = 0
        r = requests.post(self.url + "/auth/token", json={
            "username": username, "password": password, "device_id": self.device_id}, timeout=10)
        r.raise_for_status()
        self.token = r.json()["token"]

    def push(self, entity, action, data, id=None, base_version=None):
        self.seq += 1
        op = {"op_id": str(uuid.uuid4()), "device_seq": self.seq, "entity": entity,
              "id": id or str(uuid.uuid4()), "action": action, "base_version": base_version,
              "data": data, "recorded_at": "2026-11-23T08:15:00+08:00"}
        r = requests.post(self.url + "/sync/push", json={"device_id": self.device_id, "ops": [op]},
                          headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        r.raise_for_status()
        return op["id"], r.json()["results"][0]


def wait_eval(page, js, arg=None, timeout=30000):
    """Poll page.evaluate(js, arg) (which may return a promise) until it is truthy."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        got = page.evaluate(js, arg)
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} ms: {js}")
        time.sleep(0.25)
