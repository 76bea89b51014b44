"""The administration API: people, one-time passwords, devices, grid layers, and who
may do what (docs/protocol.md, "Administration API")."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ApiClient, unique

STREET, OTHER_STREET = "320105001", "320105002"
G1, G2 = "320105001001001", "320105001001002"
G_OTHER = "320105002001001"
DEMO = Path(__file__).resolve().parents[2] / "demo"
ADMIN_ENDPOINTS = [("get", "/api/v1/admin/users"), ("post", "/api/v1/admin/users"),
                   ("patch", "/api/v1/admin/users/x"), ("get", "/api/v1/admin/users/x"),
                   ("post", "/api/v1/admin/users/import"),
                   ("get", "/api/v1/admin/users/template.xlsx"),
                   ("get", "/api/v1/admin/devices"), ("post", "/api/v1/admin/devices/x/revoke"),
                   ("post", "/api/v1/admin/devices/x/release"), ("get", "/api/v1/admin/layers"),
                   ("post", "/api/v1/admin/layers/import"),
                   ("post", "/api/v1/admin/layers/default/versions/1/activate")]


def call(api: ApiClient, method: str, url: str, **kw):
    return getattr(api.client, method)(url, headers=api.headers, **kw)


@pytest.fixture
def admin(signed_in):
    return signed_in("admin")


@pytest.fixture
def sup(signed_in):
    return signed_in("supervisor", areas=[STREET])


@pytest.mark.parametrize("role, kw", [("patroller", {"grids": [G1]}),
                                      ("grid_leader", {"grids": [G1]}),
                                      ("department", {"dept": "城管"})])
def test_field_and_department_users_get_403_everywhere(signed_in, role, kw):
    api = signed_in(role, **kw)
    for method, url in ADMIN_ENDPOINTS:
        r = call(api, method, url, json={})
        assert r.status_code == 403, (method, url, r.status_code)
        assert r.json["error"]["code"] == "forbidden"


def test_without_a_token_is_401(client):
    for method, url in ADMIN_ENDPOINTS:
        assert getattr(client, method)(url).status_code == 401, url


def test_one_time_password_must_be_changed_at_first_sign_in(admin, client):
    name = unique("otp")
    r = admin.post("/api/v1/admin/users", json={
        "username": name, "role": "patroller", "grids": [G1], "display_name": "王五",
        "phone": "13912345678"})
    assert r.status_code == 201, r.json
    otp = r.json["one_time_password"]
    assert r.json["must_change_password"] is True and r.json["grids"] == [G1]
    signin = client.post("/api/v1/auth/token", json={"username": name, "password": otp,
                                                     "device_id": unique("dev")})
    assert signin.status_code == 200 and signin.json["must_change_password"] is True
    headers = {"Authorization": "Bearer " + signin.json["token"]}
    assert client.get("/api/v1/sync/pull", headers=headers).json["error"]["code"] == \
        "password_change_required"
    changed = client.post("/api/v1/auth/password", headers=headers,
                          json={"old": otp, "new": "my-own-secret-42"})
    assert changed.status_code in (200, 204), changed.json
    api = ApiClient(client, name, password="my-own-secret-42")
    assert api.get("/api/v1/sync/pull").status_code == 200


def test_create_refuses_bad_values_and_duplicates(admin):
    name = unique("dup")
    body = {"username": name, "role": "patroller", "grids": [G1], "password": "gridpatrol-demo"}
    assert admin.post("/api/v1/admin/users", json=body).status_code == 201
    assert admin.post("/api/v1/admin/users", json=body).status_code == 409
    for bad, field in ((dict(phone="12345"), "phone"), (dict(grids=["999"]), "grids"),
                       (dict(username="has space"), "username"), (dict(role="boss"), "role"),
                       (dict(dept="不存在的部门", role="department"), "dept")):
        r = admin.post("/api/v1/admin/users", json={**body, "username": unique("b"), **bad})
        assert r.status_code == 422, (bad, r.json)
        assert field in json.dumps(r.json["error"]["details"]), (bad, r.json)
    weak = admin.post("/api/v1/admin/users", json={**body, "username": unique("w"),
                                                    "password": "12345678"})
    assert weak.status_code == 422 and weak.json["error"]["code"] == "weak_password"


def test_supervisor_manages_grid_workers_of_their_own_area_only(sup, admin):
    mine = sup.post("/api/v1/admin/users", json={"username": unique("mine"), "role": "patroller",
                                                 "grids": [G1, G2]})
    assert mine.status_code == 201, mine.json
    for body in ({"role": "patroller", "grids": [G_OTHER]},
                 {"role": "patroller", "grids": [G1, G_OTHER]},
                 {"role": "supervisor", "areas": [STREET]},
                 {"role": "admin"}):
        r = sup.post("/api/v1/admin/users", json={"username": unique("no"), **body})
        assert r.status_code == 403, (body, r.json)
    other = admin.post("/api/v1/admin/users", json={"username": unique("other"),
                                                    "role": "patroller", "grids": [G_OTHER]})
    name = other.json["username"]
    assert sup.get(f"/api/v1/admin/users/{name}").status_code == 404
    assert call(sup, "patch", f"/api/v1/admin/users/{name}",
                json={"display_name": "x"}).status_code == 404
    # moving one of mine out of my area is refused, and nothing changes
    r = call(sup, "patch", f"/api/v1/admin/users/{mine.json['username']}",
             json={"grids": [G_OTHER]})
    assert r.status_code == 403
    assert sup.get(f"/api/v1/admin/users/{mine.json['username']}").json["grids"] == [G1, G2]
    listed = {u["username"] for u in sup.get("/api/v1/admin/users?limit=200&q=other").json["users"]}
    assert name not in listed


def test_list_filters_and_pages(admin):
    tag = unique("page")
    for i in range(5):
        admin.post("/api/v1/admin/users", json={"username": f"{tag}_{i}", "role": "patroller",
                                                "grids": [G1 if i % 2 else G_OTHER]})
    seen, cursor = [], None
    while True:
        url = f"/api/v1/admin/users?q={tag}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = admin.get(url).json
        seen += [u["username"] for u in page["users"]]
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert seen == [f"{tag}_{i}" for i in range(5)]
    in_street = admin.get(f"/api/v1/admin/users?q={tag}&street={OTHER_STREET}").json["users"]
    assert [u["username"] for u in in_street] == [f"{tag}_0", f"{tag}_2", f"{tag}_4"]
    in_grid = admin.get(f"/api/v1/admin/users?q={tag}&grid={G1}").json["users"]
    assert [u["username"] for u in in_grid] == [f"{tag}_1", f"{tag}_3"]


def test_reset_password_and_disable_cut_the_user_off(admin, client, make_user):
    name = make_user(grids=[G1])
    api = ApiClient(client, name)
    r = call(admin, "patch", f"/api/v1/admin/users/{name}", json={"password": None})
    assert r.status_code == 200 and len(r.json["one_time_password"]) == 12
    assert api.get("/api/v1/sync/pull").status_code == 401  # the old token is gone
    fresh = ApiClient(client, name, password=r.json["one_time_password"])
    r = call(admin, "patch", f"/api/v1/admin/users/{name}", json={"disabled": True})
    assert r.status_code == 200 and r.json["disabled"] is True
    assert fresh.get("/api/v1/sync/pull").status_code == 401
    again = client.post("/api/v1/auth/token", json={
        "username": name, "password": r.json.get("one_time_password", "x"), "device_id": "d"})
    assert again.status_code == 401


def test_a_revoked_phone_gets_401_on_its_next_push(sup, client, make_user):
    name = make_user(grids=[G1])
    phone = ApiClient(client, name)
    devices = sup.get(f"/api/v1/admin/devices?user={name}").json["devices"]
    assert [d["device_id"] for d in devices] == [phone.device_id]
    r = sup.post(f"/api/v1/admin/devices/{phone.device_id}/revoke")
    assert r.status_code == 200 and r.json["revoked"] is True
    r = phone.post("/api/v1/sync/push", json={"device_id": phone.device_id, "ops": []})
    assert r.status_code == 401


def test_a_device_outside_your_area_is_404(sup, client, make_user):
    phone = ApiClient(client, make_user(grids=[G_OTHER]))
    assert sup.post(f"/api/v1/admin/devices/{phone.device_id}/revoke").status_code == 404
    assert phone.get("/api/v1/sync/pull").status_code == 200


# --- roster ----------------------------------------------------------------------------

def upload(api: ApiClient, url: str, data: bytes, filename: str, **form):
    return api.client.post(url, headers=api.headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), filename), **form})


def roster_csv(lines: list[str], encoding: str = "gbk") -> bytes:
    return "\n".join(lines).encode(encoding)


def test_roster_dry_run_then_apply_then_reimport_changes_nothing(sup, client, db):
    tag = unique("r")
    data = roster_csv(["2026年 示范01街道 网格员名单", "姓名,账号,手机,角色,网格,备注",
                       f"张三,{tag}a,13812345678,网格长,{G1}、{G2},老员工",
                       f"李四,{tag}b,139 1234 5679,志愿者,{G1},",
                       ",,,,,", f"王五,{tag}c,,专职网格员,{G2},"])
    dry = upload(sup, "/api/v1/admin/users/import", data, "名单.csv")
    assert dry.status_code == 200, dry.json
    assert (dry.json["created"], dry.json["refused"], dry.json["dry_run"]) == (3, 0, True)
    assert [r["row"] for r in dry.json["rows"]] == [3, 4, 6]
    assert dry.json["ignored_columns"] == ["备注"]
    count = db.execute("SELECT count(*) FROM app_user WHERE username LIKE %s",
                       (tag + "%",)).fetchone()[0]
    assert count == 0
    applied = upload(sup, "/api/v1/admin/users/import", data, "名单.csv", dry_run="false")
    assert applied.json["created"] == 3
    otp = {r["username"]: r["one_time_password"] for r in applied.json["rows"]}
    signin = client.post("/api/v1/auth/token", json={"username": f"{tag}b",
                                                     "password": otp[f"{tag}b"],
                                                     "device_id": unique("d")})
    assert signin.json["must_change_password"] is True
    again = upload(sup, "/api/v1/admin/users/import", data, "名单.csv", dry_run="false")
    assert (again.json["unchanged"], again.json["created"], again.json["updated"]) == (3, 0, 0)
    assert all("one_time_password" not in r for r in again.json["rows"])
    user = sup.get(f"/api/v1/admin/users/{tag}b").json
    assert user["phone"] == "13912345679" and user["display_name"] == "李四"


def test_roster_with_a_dozen_defects_refuses_each_row_and_writes_nothing_else(sup, admin, db):
    tag = unique("d")
    admin.post("/api/v1/admin/users", json={"username": f"{tag}other", "role": "patroller",
                                            "grids": [G_OTHER]})
    rows = ["姓名,账号,手机,角色,网格,额外列",
            f"好人,{tag}ok,13812345678,网格员,{G1},x",          # 2 fine
            f"无名,,13812345678,网格员,{G1},",                   # 3 missing username
            f"重复,{tag}ok,13812345678,网格员,{G1},",            # 4 duplicate username
            f"未知,{tag}u1,13812345678,网格员,999999999999999,",  # 5 unknown grid
            f"越界,{tag}u2,13812345678,网格员,{G_OTHER},",        # 6 outside my area
            f"角色,{tag}u3,13812345678,队长,{G1},",              # 7 unknown role
            f"电话,{tag}u4,12345,网格员,{G1},",                  # 8 malformed phone
            f"主管,{tag}u5,13812345678,主管,,",                  # 9 a role I may not create
            f"别人,{tag}other,13812345678,网格员,{G1},",          # 10 not mine to change
            ",,,,,"]                                            # blank: skipped
    r = upload(sup, "/api/v1/admin/users/import", roster_csv(rows), "r.csv", dry_run="false")
    assert r.status_code == 200, r.json
    by_row = {x["row"]: x for x in r.json["rows"]}
    assert by_row[2]["outcome"] == "created"
    expect = {3: "username", 4: "username", 5: "grids", 6: "grids", 7: "role", 8: "phone",
              9: "role", 10: "username"}
    for row, column in expect.items():
        assert by_row[row]["outcome"] == "refused", by_row[row]
        assert column in by_row[row]["errors"], by_row[row]
    assert 11 not in by_row
    made = db.execute("SELECT username FROM app_user WHERE username LIKE %s ORDER BY 1",
                      (tag + "%",)).fetchall()
    assert [m[0] for m in made] == [f"{tag}ok", f"{tag}other"]


def test_roster_xlsx_with_merged_and_formula_cells(admin):
    openpyxl = pytest.importorskip("openpyxl")
    tag = unique("x")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["账号", "姓名", "角色", "网格", "手机"])
    sheet.append([f"{tag}1", "甲", "网格员", G1, 13812345678])
    sheet.append([f"{tag}2", "乙", None, G1, "13812345679"])
    sheet.append([f"{tag}3", "丙", "网格员", G1, "=1+1"])
    sheet.merge_cells("C2:C3")  # one role for two people, as grid centres do
    buf = io.BytesIO()
    book.save(buf)
    r = upload(admin, "/api/v1/admin/users/import", buf.getvalue(), "名单.xlsx")
    assert r.status_code == 200, r.json
    outcome = {x["username"]: x for x in r.json["rows"]}
    assert outcome[f"{tag}1"]["outcome"] == "created"
    assert outcome[f"{tag}2"]["outcome"] == "created"  # the merged role filled down
    assert outcome[f"{tag}3"]["outcome"] == "refused"
    assert "公式" in outcome[f"{tag}3"]["errors"]["phone"][0]


@pytest.mark.parametrize("data, name, status", [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "photo.png", 422),
    (b"just some words\nwith no header\n", "x.csv", 422),
    (b"PK\x03\x04 not really a zip", "x.xlsx", 422),
    (b"", "empty.csv", 422),
])
def test_roster_that_is_not_a_roster_is_a_clear_4xx(admin, data, name, status):
    r = upload(admin, "/api/v1/admin/users/import", data, name)
    assert r.status_code == status, r.json
    assert r.json["error"]["message"]


def test_roster_zip_bomb_and_huge_upload_are_refused(admin):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (250 * 1024 * 1024))
    r = upload(admin, "/api/v1/admin/users/import", buf.getvalue(), "bomb.xlsx")
    assert r.status_code == 422 and "zip bomb" in r.json["error"]["message"]
    r = upload(admin, "/api/v1/admin/users/import", b"x" * (11 * 1024 * 1024), "big.csv")
    assert r.status_code == 413


def test_roster_template_downloads(sup):
    openpyxl = pytest.importorskip("openpyxl")
    r = sup.get("/api/v1/admin/users/template.xlsx")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert [c.value for c in sheet[1]][:5] == ["姓名", "账号", "手机", "角色", "网格"]


# --- layers ----------------------------------------------------------------------------

def small_layer(code: str, x0: float = 120.0) -> bytes:
    ring = [[x0, 30.0], [x0 + 0.01, 30.0], [x0 + 0.01, 30.01], [x0, 30.01], [x0, 30.0]]
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "name": "测试网格"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}).encode()


def test_layer_upload_preview_activate_and_match(admin, sup):
    name = unique("layer")
    code = "990001001001001"
    r = upload(admin, "/api/v1/admin/layers/import", small_layer(code), "l.geojson", layer=name)
    assert r.status_code == 200, r.json
    assert r.json["dry_run"] is True and "version" not in r.json
    versions = [v for v in admin.get("/api/v1/admin/layers").json["layers"] if v["layer"] == name]
    assert versions == []
    r = upload(admin, "/api/v1/admin/layers/import", small_layer(code), "l.geojson",
               layer=name, dry_run="false")
    assert r.status_code == 200 and r.json["version"] == 1, r.json
    match = admin.post("/api/v1/grids/match", json={"points": [[120.005, 30.005]]})
    assert match.json["matches"][0]["code"] == code
    r = upload(admin, "/api/v1/admin/layers/import", small_layer(code, x0=121.0), "l.geojson",
               layer=name, dry_run="false")
    assert r.json["version"] == 2
    assert admin.post("/api/v1/grids/match",
                      json={"points": [[120.005, 30.005]]}).json["matches"][0]["code"] is None
    r = admin.post(f"/api/v1/admin/layers/{name}/versions/1/activate")
    assert r.status_code == 200
    assert admin.post("/api/v1/grids/match",
                      json={"points": [[120.005, 30.005]]}).json["matches"][0]["code"] == code
    assert admin.post(f"/api/v1/admin/layers/{name}/versions/9/activate").status_code == 404
    assert upload(sup, "/api/v1/admin/layers/import", small_layer(code), "l.geojson"
                  ).status_code == 403


@pytest.mark.parametrize("data, filename, status", [
    (small_layer("1"), "l.txt", 415),
    (b"not json at all", "l.geojson", 422),
    (b"PK\x03\x04 broken", "l.zip", 422),
])
def test_bad_layer_uploads_are_clear_4xx(admin, data, filename, status):
    r = upload(admin, "/api/v1/admin/layers/import", data, filename)
    assert r.status_code == status, r.json
    assert r.json["error"]["message"]


def test_zip_with_no_shp_is_refused(admin):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("grids.dbf", b"x")
        zf.writestr("grids.shx", b"x")
    r = upload(admin, "/api/v1/admin/layers/import", buf.getvalue(), "grids.zip")
    assert r.status_code == 422 and ".shp" in r.json["error"]["message"]


def test_demo_shapefile_zip_previews(admin):
    data = (DEMO / "jianye-grids-gbk-shp.zip").read_bytes()
    r = upload(admin, "/api/v1/admin/layers/import", data, "jianye.zip", datum="gcj02")
    assert r.status_code == 200, r.json
    assert (r.json["dry_run"] is True and r.json["summary"]["imported"] > 300) or r.json


def test_devices_show_the_app_version_and_last_push(sup, client, make_user):
    phone = ApiClient(client, make_user(grids=[G1]))
    r = phone.client.post("/api/v1/sync/push", json={"device_id": phone.device_id, "ops": []},
                          headers={**phone.headers, "X-App-Version": "0.1.0"})
    assert r.status_code == 200
    device = sup.get(f"/api/v1/admin/devices?user={phone.user['username']}").json["devices"][0]
    assert device["app_version"] == "0.1.0" and device["last_push"] is not None
