"""Two people on one phone (one browser context): signing out leaves nothing behind,
unsent work blocks it, each user has their own device id, and unsent work left by a
user whose session ran out stays hidden from the next user and syncs when its owner
returns."""
import json
import os
import pathlib

from tests.browser.test_pwa_helpers import (
    PASSWORD,
    Device,
    field_page,
    go_offline_and_reload,
    inside_point,
    login_field,
    set_position,
    wait_eval,
    wait_location,
    wait_pulled,
    wait_synced,
)

GRID_A = "320105002005001"
GRID_B = "320105002003002"

# Everything the page stores, as text: every IndexedDB database and Cache Storage entry.
DUMP_JS = """async () => {
  const out = {};
  for (const info of await indexedDB.databases()) {
    const d = await new Promise((ok, ko) => { const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
    const stores = {};
    for (const s of d.objectStoreNames) {
      stores[s] = await new Promise((ok) => { const r = d.transaction(s).objectStore(s).getAll(); r.onsuccess = () => ok(r.result); });
    }
    d.close();
    out['idb:' + info.name] = JSON.stringify(stores);
  }
  for (const name of await caches.keys()) {
    const c = await caches.open(name);
    for (const req of await c.keys()) {
      if (req.url.includes('/assets/') || req.url.endsWith('.html') || req.url.endsWith('.png')) continue;
      out['cache:' + name + ':' + req.url] = await (await c.match(req)).text();
    }
  }
  return out;
}"""


def dump(page):
    return page.evaluate(DUMP_JS)


def holding(page, marker):
    """Names of the databases and cache entries whose text holds ``marker``."""
    return sorted(k for k, v in dump(page).items() if marker in v)


def device_id(page):
    page.get_by_test_id("nav-home").click()
    page.get_by_test_id("nav-settings").click()
    text = page.get_by_test_id("device-id").inner_text()
    page.get_by_test_id("nav-home").click()
    return text.split("：", 1)[1].strip()


def logout(page):
    page.get_by_test_id("nav-home").click()
    page.get_by_test_id("nav-settings").click()
    page.get_by_test_id("logout").click()


def household_with_phone(live_server, user, point, phone, head):
    hh_id, res = Device(live_server.url, user).push("household", "create", {
        "address": "共享路9号", "head_name": head, "phone": phone, "members": 2, "tags": [],
        "location": {"type": "Point", "coordinates": [point["lon"], point["lat"]]}})
    assert res["status"] == "applied", res
    return hh_id


def test_signed_out_user_leaves_nothing_for_the_next(live_server, new_context, make_user):
    a = make_user(role="patroller", grids=(GRID_A,))
    b = make_user(role="patroller", grids=(GRID_B,))
    here = inside_point(GRID_A)
    phone, head = "13912345678", "甲户主共享"
    household_with_phone(live_server, a, here, phone, head)

    ctx = new_context(viewport={"width": 360, "height": 740})
    page = field_page(ctx, a, here)
    wait_pulled(page, "households", 1)
    wait_synced(page)
    a_dev = device_id(page)
    # The phone as the device holds it (masked or not), and the head in the picker.
    phone = page.evaluate("async () => (await window.gridpatrol.db.households.toArray())[0].data.phone")
    assert phone and holding(page, phone)
    page.get_by_test_id("duty-visit").click()
    page.get_by_test_id("household-item").first.wait_for()
    assert head in page.get_by_test_id("visit-households").inner_text()
    # An API answer in Cache Storage (as a runtime cache would keep it).
    page.evaluate("""p => caches.open('gp-runtime').then((c) => c.put('/api/v1/sync/pull?limit=500',
        new Response(JSON.stringify({changes: [{data: {phone: p}}]}))))""", phone)

    logout(page)
    page.get_by_test_id("login-username").wait_for()
    assert page.get_by_test_id("login-username").input_value() == ""
    assert holding(page, phone) == []
    assert holding(page, head) == []
    assert holding(page, a) == []  # not even the username is left

    # B signs in on the same phone: none of A's data, in the UI or in storage.
    login_field(page, b)
    wait_synced(page)
    page.wait_for_selector("[data-testid=sync-status][data-state=ok]")
    page.get_by_test_id("duty-visit").click()
    page.get_by_test_id("visit-no-households").wait_for()
    assert head not in page.content()
    assert holding(page, phone) == [] and holding(page, head) == []
    b_dev = device_id(page)
    assert b_dev != a_dev

    # Offline after a reload: still B's (empty) view.
    go_offline_and_reload(ctx, page)
    page.get_by_test_id("duty-visit").click()
    page.get_by_test_id("visit-no-households").wait_for()
    assert holding(page, phone) == []


def test_unsent_work_blocks_logout_and_survives_another_user(live_server, new_context, db, make_user,
                                                          tmp_path):
    a = make_user(role="patroller", grids=(GRID_A,))
    b = make_user(role="patroller", grids=(GRID_B,))
    here = inside_point(GRID_A)
    phone, head = "13687654321", "乙户主共享"
    household_with_phone(live_server, a, here, phone, head)
    note = "shared-phone-unsent-note"

    ctx = new_context(viewport={"width": 360, "height": 740}, accept_downloads=True)
    page = field_page(ctx, a, here)
    wait_pulled(page, "households", 1)
    wait_synced(page)
    a_dev = device_id(page)

    go_offline_and_reload(ctx, page)
    set_position(ctx, here)
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-note").fill(note)
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-report").wait_for()

    # Logging out is refused, the backup is offered, and A is still signed in.
    logout(page)
    refused = page.get_by_test_id("logout-refused")
    refused.wait_for()
    assert refused.get_attribute("data-ops") == "1"
    assert "还不能退出" in refused.inner_text()
    page.get_by_test_id("logout-backup").wait_for()
    # For a look by eye: GP_SCREENSHOTS=DIR keeps it.
    shots = pathlib.Path(os.environ.get("GP_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.get_by_test_id("toast").wait_for(state="hidden")
    page.screenshot(path=str(shots / "logout-refused-360.png"))
    with page.expect_download() as dl:
        page.get_by_test_id("logout-backup").click()
    backup = json.loads(pathlib.Path(dl.value.path()).read_text(encoding="utf-8"))
    assert [o["data"]["note"] for o in backup["ops"]] == [note]
    page.get_by_test_id("logout-force").wait_for()  # offered only after the export
    assert page.get_by_test_id("whoami").get_attribute("data-username") == a

    # A's session ends on the server (expired, revoked): nobody signs out.
    db.execute("update token set revoked_at = now() where user_id = (select id from app_user where username = %s)", (a,))
    ctx.set_offline(False)
    page.evaluate("window.gridpatrol.notify('outbox')")  # the scheduler syncs the pending op: 401
    page.get_by_test_id("login-username").wait_for()

    # B signs in: A's unsent report stays, unseen by B; A's pulled data is gone.
    page.get_by_test_id("login-username").fill(b)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("duty-report").wait_for()
    wait_synced(page)
    assert page.get_by_test_id("outbox-count").get_attribute("data-count") == "0"
    page.get_by_test_id("nav-incidents").click()
    page.get_by_test_id("incidents-list").wait_for()
    assert note not in page.content()
    assert holding(page, phone) == [] and holding(page, head) == []
    kept = holding(page, note)
    assert len(kept) == 1 and kept[0].startswith("idb:"), kept
    assert page.evaluate("window.gridpatrol.db.name") not in kept[0]
    b_dev = device_id(page)
    assert b_dev != a_dev

    # B signs out (nothing unsent), A signs in again: A's report syncs under A's device.
    logout(page)
    page.get_by_test_id("login-username").wait_for()
    login_field(page, a)
    wait_synced(page)
    assert device_id(page) == a_dev
    assert db.execute("select count(*) from record where entity = 'inspection' and data->>'note' = %s",
                      (note,)).fetchone()[0] == 1
    assert db.execute("select count(*) from op_log where device_id = %s", (a_dev,)).fetchone()[0] >= 1


def test_device_in_use_gets_a_fresh_id_once(live_server, new_context, make_user):
    a = make_user(role="patroller", grids=(GRID_A,))
    ctx = new_context()
    page = ctx.new_page()
    sent = []

    def answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        sent.append(json.loads(route.request.post_data)["device_id"])
        if len(sent) == 1:
            route.fulfill(status=403, content_type="application/json", body=json.dumps(
                {"error": {"code": "device_in_use", "message": "device belongs to another user"}}))
        else:
            route.continue_()

    page.route("**/api/v1/auth/token", answer)
    login_field(page, a)
    assert len(sent) == 2 and sent[0] != sent[1]
    assert device_id(page) == sent[1]


# The database the app kept before each user had their own, as an old version left it.
LEGACY_JS = """([user, token, deviceId, op]) => new Promise((ok, ko) => {
  const r = indexedDB.open('gridpatrol', 10);
  r.onupgradeneeded = () => {
    const d = r.result;
    d.createObjectStore('kv', { keyPath: 'key' });
    const o = d.createObjectStore('outbox', { keyPath: 'device_seq' });
    o.createIndex('op_id', 'op_id', { unique: true });
    for (const i of ['status', 'entity', 'id']) o.createIndex(i, i);
  };
  r.onerror = () => ko(r.error);
  r.onsuccess = () => {
    const d = r.result;
    const t = d.transaction(['kv', 'outbox'], 'readwrite');
    const kv = t.objectStore('kv');
    for (const [key, value] of [['user', user], ['token', token], ['device_id', deviceId],
      ['device_seq_last', 1], ['pull_user', user.username], ['last_username', user.username]]) kv.put({ key, value });
    t.objectStore('outbox').put(op);
    t.oncomplete = () => { d.close(); localStorage.setItem('gp.device_id', deviceId); ok(true); };
    t.onerror = () => ko(t.error);
  };
})"""


def test_old_shared_database_is_adopted_by_its_user(live_server, new_context, db, make_user):
    """After the upgrade, the old `gridpatrol` database belongs to the user it names: their
    unsent op syncs under their old device id; the next user's sign-in then removes it."""
    import uuid

    import requests

    a = make_user(role="patroller", grids=(GRID_A,))
    b = make_user(role="patroller", grids=(GRID_B,))
    here = inside_point(GRID_A)
    old_device = f"d-{uuid.uuid4()}"
    r = requests.post(live_server.url + "/api/v1/auth/token", json={
        "username": a, "password": PASSWORD, "device_id": old_device}, timeout=10)
    r.raise_for_status()
    hh = str(uuid.uuid4())
    op = {"device_seq": 1, "op_id": str(uuid.uuid4()), "entity": "household", "id": hh,
          "action": "create", "base_version": None, "status": "pending", "label": "新增住户",
          "recorded_at": "2026-11-30T09:00:00+08:00", "created_at": 0, "tries": 0,
          "data": {"address": "旧版本路1号", "head_name": "旧库户主", "tags": [],
                   "location": {"type": "Point", "coordinates": [here["lon"], here["lat"]]}}}

    ctx = new_context()
    page = ctx.new_page()
    page.goto("/api/v1/meta")  # same origin, before the app ever runs
    page.evaluate(LEGACY_JS, [r.json()["user"], r.json()["token"], old_device, op])
    page.goto("/")
    page.get_by_test_id("duty-report").wait_for()
    wait_synced(page)
    assert page.get_by_test_id("whoami").get_attribute("data-username") == a
    assert device_id(page) == old_device
    assert db.execute("select device_id from op_log where op_id = %s", (op["op_id"],)).fetchone()[0] == old_device
    assert db.execute("select count(*) from record where id = %s", (hh,)).fetchone()[0] == 1
    assert page.evaluate("localStorage.getItem('gp.device_id')") is None

    # A's token runs out; B signs in: A had nothing unsent, so the old database goes.
    db.execute("update token set revoked_at = now() where device_id = %s", (old_device,))
    page.get_by_test_id("sync-now").click()
    page.get_by_test_id("login-username").wait_for()
    page.get_by_test_id("login-username").fill(b)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("duty-report").wait_for()
    names = page.evaluate("indexedDB.databases().then(l => l.map(d => d.name))")
    assert "gridpatrol" not in names, names
    assert holding(page, "旧库户主") == []


def test_sign_out_anyway_only_after_a_backup(live_server, new_context, make_user):
    """Offline with a draft and an unsent report: 丢弃草稿 is offered, 仍然退出 only after the
    export; that wipes the phone, and the next sign-in gets a fresh device id (the exported
    ops keep the old id's sequence numbers)."""
    a = make_user(role="patroller", grids=(GRID_A,))
    here = inside_point(GRID_A)
    note, draft = "shared-phone-forced-note", "shared-phone-draft-text"
    ctx = new_context(accept_downloads=True)
    page = field_page(ctx, a, here)
    wait_synced(page)
    a_dev = device_id(page)
    go_offline_and_reload(ctx, page)
    set_position(ctx, here)
    page.get_by_test_id("duty-report").click()
    page.get_by_test_id("report-note").fill(note)
    wait_location(page, "report")
    page.get_by_test_id("report-save").click()
    page.get_by_test_id("duty-visit").click()
    page.get_by_test_id("visit-new-household").click()
    page.get_by_test_id("visit-note").fill(draft)
    wait_eval(page, "t => window.gridpatrol.db.drafts.toArray().then(r => JSON.stringify(r).includes(t))", draft)

    logout(page)
    refused = page.get_by_test_id("logout-refused")
    refused.wait_for()
    assert refused.get_attribute("data-ops") == "1" and refused.get_attribute("data-drafts") == "1"
    assert page.get_by_test_id("logout-force").count() == 0
    page.get_by_test_id("logout-drop-drafts").click()  # the report still holds it back
    page.wait_for_selector("[data-testid=logout-refused][data-drafts='0'][data-ops='1']")
    with page.expect_download():
        page.get_by_test_id("logout-backup").click()
    page.get_by_test_id("logout-force").click()
    page.get_by_test_id("login-username").wait_for()
    assert holding(page, note) == [] and holding(page, draft) == []

    ctx.set_offline(False)
    login_field(page, a)
    wait_synced(page)
    assert device_id(page) != a_dev
