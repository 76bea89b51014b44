"""Authorization matrix: every role × every operation of the served spec × data in the
caller's own grid, another grid of the same street, and another street.

Reads: nothing out of scope comes back (record ids, grid codes, photo bytes, tile
features), and what is in scope does (so the check is not vacuous). Writes (push
updates and creates, desk transitions and extensions, conflict resolution): zero are
accepted out of scope (docs/protocol.md, rules 10 and 11), and in scope they are accepted for the
roles that may make them. The operations come from the spec itself: an operation with
no entry in :data:`MATRIX` fails :func:`test_every_operation_has_a_matrix_entry`.

The world is made once per module by an admin ("owner") with records in the three places;
the callers are one user per role: field users own grid A, the supervisor's area is the
street of A and B, the department is 城管 (incidents in A and B are dispatched to 城管,
the one in C to 市政).
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import PASSWORD, ApiClient, unique
from tests.console.helpers import incident, inspection, tile_of, tile_url
from tests.console.mvt import decode
from tests.sync.helpers import household

ROLES = ("patroller", "grid_leader", "supervisor", "department", "admin")
PLACES = ("own", "street", "other")  # grid A, grid B of A's street, grid C of another street
STREET, COMMUNITY_A, COMMUNITY_B = "320105002", "320105002004", "320105002005"
OTHER_STREET = "320105004"
DEPT, OTHER_DEPT = "城管", "市政"
API = "/api/v1"
CHECKS: dict[str, int] = {}


# --- who may see and do what ---------------------------------------------------------------

def sees_grid(role: str, place: str) -> bool:
    return {"patroller": place == "own", "grid_leader": place == "own",
            "supervisor": place in ("own", "street")}.get(role, True)


def sees(role: str, kind: str, place: str) -> bool:
    """May ``role`` see the owner's record of ``kind`` in ``place``?"""
    if role == "admin":
        return True
    if role == "department":  # only what was dispatched to 城管 (in A and B)
        return kind == "dispatched" and place in ("own", "street")
    return sees_grid(role, place)


def covers(role: str, place: str) -> bool:
    """Is ``place`` within the role's grids or area (rule 10)?"""
    return role != "department" and sees_grid(role, place)


# --- the world ------------------------------------------------------------------------------

@dataclass
class World:
    client: Any
    app: Any
    points: dict[str, tuple[float, float]]
    grids: dict[str, str]
    owner: ApiClient
    owner2: ApiClient
    callers: dict[str, ApiClient]
    records: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, place) -> id
    photos: dict[str, str] = field(default_factory=dict)  # place -> sha256
    conflicts: dict[str, str] = field(default_factory=dict)  # place -> conflict id

    def version(self, record_id: str) -> int:
        r = self.owner.get(f"{API}/desk/records/{record_id}")
        if r.status_code == 404:  # households are not shown there: read through pull
            return self.owner_record(record_id)["version"]
        assert r.status_code == 200, r.json
        return r.json["record"]["version"]

    def owner_record(self, record_id: str) -> dict[str, Any]:
        changes, _ = self.owner.pull_all()
        return next(c for c in changes if c["id"] == record_id)

    def new_incident(self, place: str, dispatch_to: str | None = None) -> str:
        op = self.owner.op("incident", "create", incident(self.points[place], title="矩阵"))
        assert self.owner.push(op)[0]["status"] == "applied"
        if dispatch_to:
            version = 1
            for to in ("accepted", "filed", "dispatched"):
                body = {"to": to, "base_version": version}
                if to == "dispatched":
                    body["department"] = dispatch_to
                r = self.owner.post(f"{API}/desk/incidents/{op['id']}/transition", json=body)
                assert r.status_code == 200, r.json
                version = r.json["incident"]["record"]["version"]
        return op["id"]

    def new_conflict(self, place: str) -> tuple[str, str]:
        """An open same-field conflict on a new incident in ``place``: (conflict, record)."""
        rid = self.new_incident(place)
        a = self.owner.op("incident", "update", {"title": "甲"}, id=rid, base_version=1)
        assert self.owner.push(a)[0]["status"] == "applied"
        b = self.owner2.op("incident", "update", {"title": "乙"}, id=rid, base_version=1)
        result = self.owner2.push(b)[0]
        assert result["status"] == "conflict", result
        return result["conflict_id"], rid


def _user(app, role: str, grids=(), areas=(), dept: str | None = None) -> str:
    name = unique(f"mx_{role}_")
    args = ["users", "create", name, "--role", role]
    args += [x for g in grids for x in ("--grid", g)] + [x for a in areas for x in ("--area", a)]
    args += ["--dept", dept] if dept else []
    result = app.test_cli_runner().invoke(args=args, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    return name


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(64)


@pytest.fixture(scope="module")
def world(app, inside_points) -> World:
    client = app.test_client()
    pick = {
        "own": next(c for c in sorted(inside_points) if c.startswith(COMMUNITY_A)),
        "street": next(c for c in sorted(inside_points) if c.startswith(COMMUNITY_B)),
        "other": next(c for c in sorted(inside_points) if c.startswith(OTHER_STREET)),
    }
    points = {place: inside_points[code] for place, code in pick.items()}
    owner = ApiClient(client, _user(app, "admin"))
    owner2 = ApiClient(client, _user(app, "admin"))
    callers = {
        "patroller": ApiClient(client, _user(app, "patroller", grids=[pick["own"]])),
        "grid_leader": ApiClient(client, _user(app, "grid_leader", grids=[pick["own"]])),
        "supervisor": ApiClient(client, _user(app, "supervisor", areas=[STREET])),
        "department": ApiClient(client, _user(app, "department", dept=DEPT)),
        "admin": ApiClient(client, _user(app, "admin")),
    }
    w = World(client, app, points, pick, owner, owner2, callers)
    for place in PLACES:
        photo = _png()
        sha = hashlib.sha256(photo).hexdigest()
        r = client.put(f"{API}/attachments/{sha}", data=photo, content_type="image/png",
                       headers=owner.headers)
        assert r.status_code == 201, r.json
        w.photos[place] = sha
        ops = {
            "inspection": owner.op("inspection", "create",
                                   inspection("report", points[place], photos=[sha])),
            "incident": owner.op("incident", "create", incident(points[place])),
            "household": owner.op("household", "create",
                                  household(points[place], phone="13812345678")),
        }
        results = owner.push(*ops.values())
        assert [x["status"] for x in results] == ["applied"] * 3, results
        assert [x["grid_code"] for x in results] == [pick[place]] * 3
        for kind, op in ops.items():
            w.records[(kind, place)] = op["id"]
        dept = DEPT if place != "other" else OTHER_DEPT
        w.records[("dispatched", place)] = w.new_incident(place, dispatch_to=dept)
        w.conflicts[place], w.records[("conflicted", place)] = w.new_conflict(place)
    return w


def count(op: str, n: int = 1) -> None:
    CHECKS[op] = CHECKS.get(op, 0) + n


# --- reads ----------------------------------------------------------------------------------

def check_pull(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        ids = {c["id"] for c in caller.pull_all()[0]}
        for (kind, place), rid in w.records.items():
            expected = sees(role, "incident" if kind == "conflicted" else kind, place)
            assert (rid in ids) == expected, (role, kind, place)
            count(op)


def check_map_inspections(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        r = caller.get(f"{API}/map/inspections?limit=20000")
        assert r.status_code == 200, r.json
        ids = {f["properties"]["id"] for f in r.json["features"]}
        for place in PLACES:
            assert (w.records[("inspection", place)] in ids) == sees(role, "inspection", place)
            count(op)


def check_tiles(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        for place in PLACES:
            z, x, y = tile_of(*w.points[place], 16)
            for layer, kinds in (("inspections", ("inspection",)),
                                 ("incidents", ("incident", "dispatched", "conflicted"))):
                r = caller.get(tile_url(layer, z, x, y))
                assert r.status_code == 200, (role, layer, r.get_data()[:200])
                data = r.get_data()
                features = decode(data).get(layer, {"features": []})["features"] if data else []
                ids = {f["properties"].get("id") for f in features}
                for kind in kinds:
                    expected = sees(role, "incident" if kind == "conflicted" else kind, place)
                    assert (w.records[(kind, place)] in ids) == expected, (role, layer, place)
                    count(op)
            r = caller.get(tile_url("grids", z, x, y))
            assert r.status_code == 200
            data = r.get_data()
            features = decode(data).get("grids", {"features": []})["features"] if data else []
            codes = {f["properties"].get("code") for f in features}
            assert (w.grids[place] in codes) == sees_grid(role, place), (role, place, codes)
            count(op)
            for layer in ("tracks", "heat"):  # no ids to check; scope as the others
                assert caller.get(tile_url(layer, z, x, y)).status_code == 200
                count(op)


def check_grids(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        r = caller.get(f"{API}/grids")
        assert r.status_code == 200
        codes = {f["properties"]["code"] for f in r.json["features"]}
        for place in PLACES:
            assert (w.grids[place] in codes) == sees_grid(role, place), (role, place)
            count(op)
        if role in ("patroller", "grid_leader"):
            assert codes == {w.grids["own"]}
            count(op)
        if role == "supervisor":
            assert all(c.startswith(STREET) for c in codes)
            count(op)


def check_areas(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        r = caller.get(f"{API}/grids/areas")
        assert r.status_code == 200
        streets = {s["code"] for d in r.json["districts"] for s in d["streets"]}
        communities = {c["code"] for d in r.json["districts"] for s in d["streets"]
                       for c in s["communities"]}
        assert (OTHER_STREET in streets) == sees_grid(role, "other"), role
        assert (COMMUNITY_B in communities) == sees_grid(role, "street"), role
        count(op, 2)


def _desk_ids(caller: ApiClient, street: str) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        url = f"{API}/desk/incidents?limit=200&street={street}" + (
            f"&cursor={cursor}" if cursor else "")
        r = caller.get(url)
        assert r.status_code == 200, r.json
        ids |= {i["id"] for i in r.json["incidents"]}
        cursor = r.json["cursor"]
        if not r.json["more"]:
            return ids


def check_desk_list(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        if role in ("patroller", "grid_leader"):
            assert caller.get(f"{API}/desk/incidents").status_code == 403
            count(op)
            continue
        ids = _desk_ids(caller, STREET) | _desk_ids(caller, OTHER_STREET)
        for place in PLACES:
            for kind in ("incident", "dispatched", "conflicted"):
                expected = sees(role, "incident" if kind == "conflicted" else kind, place)
                assert (w.records[(kind, place)] in ids) == expected, (role, kind, place)
                count(op)


def check_desk_incident(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        for place in PLACES:
            for kind in ("incident", "dispatched", "inspection"):
                r = caller.get(f"{API}/desk/incidents/{w.records[(kind, place)]}")
                if role in ("patroller", "grid_leader"):
                    expected = 403
                else:
                    expected = 200 if kind != "inspection" and sees(role, kind, place) else 404
                assert r.status_code == expected, (role, kind, place, r.json)
                count(op)


def check_desk_record(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        for place in PLACES:
            for kind in ("inspection", "incident", "dispatched", "household"):
                r = caller.get(f"{API}/desk/records/{w.records[(kind, place)]}")
                ok = kind != "household" and sees(role, kind, place)
                assert r.status_code == (200 if ok else 404), (role, kind, place)
                if ok:
                    assert r.json["id"] == w.records[(kind, place)]
                count(op)


def check_conflict_list(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        for place in PLACES:
            r = caller.get(f"{API}/conflicts?status=open&grid={w.grids[place]}&limit=500")
            assert r.status_code == 200, r.json
            ids = {c["id"] for c in r.json["conflicts"]}
            assert (w.conflicts[place] in ids) == sees(role, "incident", place), (role, place)
            assert all(c["grid_code"] == w.grids[place] for c in r.json["conflicts"])
            count(op, 2)


def _stats_units(caller: ApiClient, url: str) -> set[str] | None:
    r = caller.get(url)
    if r.status_code == 403:
        return None
    assert r.status_code == 200, r.get_data()[:300]
    if url.endswith(".json") or "stats?" in url:
        return {row["unit"] for row in r.json["rows"]}
    data = r.get_data()
    if ".xlsx" in url:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            data = b"".join(z.read(n) for n in z.namelist() if n.endswith(".xml"))
    return set(re.findall(r"3201050\d{8}", data.decode("utf-8-sig", "replace")))


def _check_stats(w: World, op: str, path: str) -> None:
    for role, caller in w.callers.items():
        units = _stats_units(caller, f"{API}/{path}?level=grid")
        if role == "department":
            assert units is None, "department users get 403 on statistics"
            count(op)
            continue
        assert units is not None
        for place in PLACES:
            assert (w.grids[place] in units) == sees_grid(role, place), (role, place, path)
            count(op)


def check_stats(w: World, op: str) -> None:
    _check_stats(w, op, "stats")


def check_stats_csv(w: World, op: str) -> None:
    _check_stats(w, op, "stats.csv")


def check_stats_xlsx(w: World, op: str) -> None:
    _check_stats(w, op, "stats.xlsx")


def _check_photo(w: World, op: str, method: str) -> None:
    for role, caller in w.callers.items():
        for place in PLACES:
            url = f"{API}/attachments/{w.photos[place]}"
            r = getattr(w.client, method)(url, headers=caller.headers)
            expected = 200 if sees(role, "inspection", place) else 404
            assert r.status_code == expected, (role, place, method)
            if method == "get" and expected == 200:
                assert hashlib.sha256(r.get_data()).hexdigest() == w.photos[place]
            count(op)


def check_photo_get(w: World, op: str) -> None:
    _check_photo(w, op, "get")


def check_photo_head(w: World, op: str) -> None:
    _check_photo(w, op, "head")


def check_unscoped(path: str, method: str = "get", expected: int = 200,
                   body: Any = None) -> Callable[[World, str], None]:
    """An operation that shows no scoped data: every role gets the same answer."""
    def check(w: World, op: str) -> None:
        for caller in w.callers.values():
            kw = {"json": body} if body is not None else {}
            r = getattr(w.client, method)(API + path, headers=caller.headers, **kw)
            assert r.status_code == expected, (op, r.json)
            count(op)
    return check


# --- writes ---------------------------------------------------------------------------------

def check_push(w: World, op: str) -> None:
    """Rule 10: updates of others' records and household creates only within the caller's
    grids or area (department: only what was dispatched to it); inspection and incident
    creates anywhere. Out of scope: rejected ``forbidden``, nothing written."""
    for role, caller in w.callers.items():
        for place in PLACES:
            target = w.new_incident(place)
            before = w.version(target)
            upd = caller.op("incident", "update", {"title": f"{role} 改"}, id=target,
                            base_version=before)
            house = caller.op("household", "create", household(w.points[place]))
            insp = caller.op("inspection", "create", inspection("report", w.points[place]))
            results = caller.push(upd, house, insp)
            may = covers(role, place) or role == "admin"
            for result, allowed in ((results[0], may), (results[1], may),
                                    (results[2], True)):
                if allowed:
                    assert result["status"] in ("applied", "merged"), (role, place, result)
                else:
                    assert (result["status"], result.get("code")) == ("rejected", "forbidden"), \
                        (role, place, result)
            assert (w.version(target) == before + 1) == may, (role, place)
            if not may:
                ids = {c["id"] for c in w.owner.pull_all()[0]}
                assert house["id"] not in ids
            count(op, 4)


def check_transition(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        for place in PLACES:
            rid = w.new_incident(place)
            r = caller.post(f"{API}/desk/incidents/{rid}/transition",
                            json={"to": "accepted", "base_version": 1})
            if role in ("patroller", "grid_leader"):
                expected = 403
            elif role == "department":
                expected = 404  # a reported incident is never the department's
            else:
                expected = 200 if covers(role, place) or role == "admin" else 404
            assert r.status_code == expected, (role, place, r.json)
            assert (w.version(rid) == 2) == (expected == 200)
            count(op, 2)


def check_extension(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        for place in PLACES:
            rid = w.new_incident(place, dispatch_to=DEPT if place != "other" else OTHER_DEPT)
            before = w.version(rid)
            r = caller.post(f"{API}/desk/incidents/{rid}/extension",
                            json={"base_version": before, "minutes": 60, "reason": "矩阵"})
            if role in ("patroller", "grid_leader"):
                expected = 403  # the desk is not theirs; they ask through sync
            else:  # those handling it (its department, the area's supervisor, admins)
                expected = 200 if sees(role, "dispatched", place) else 404
            assert r.status_code == expected, (role, place, r.json)
            assert (w.version(rid) == before + 1) == (expected == 200), (role, place)
            count(op, 2)


def check_resolve(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        for place in PLACES:
            cid, rid = w.new_conflict(place)
            version = w.version(rid)
            r = caller.post(f"{API}/conflicts/{cid}/resolve",
                            json={"base_version": version, "data": {"title": "定"}})
            if role in ("patroller", "department"):
                expected = 403
            else:
                expected = 200 if covers(role, place) or role == "admin" else 404
            assert r.status_code == expected, (role, place, r.json)
            assert (w.version(rid) == version + 1) == (expected == 200)
            count(op, 2)


def check_upload(w: World, op: str) -> None:
    """Anyone signed in may upload bytes; an upload reveals nothing (see GET)."""
    for caller in w.callers.values():
        photo = _png()
        r = caller.client.put(f"{API}/attachments/{hashlib.sha256(photo).hexdigest()}",
                              data=photo, content_type="image/png", headers=caller.headers)
        assert r.status_code == 201
        count(op)


def check_sign_in_and_out(w: World, op: str) -> None:
    """Signing a device out revokes that device's token only."""
    for role, caller in w.callers.items():
        extra = ApiClient(w.client, caller.user["username"])
        assert extra.client.delete(f"{API}/auth/token", headers=extra.headers).status_code == 204
        assert extra.get(f"{API}/me").status_code == 401
        assert caller.get(f"{API}/me").status_code == 200, role
        count(op, 3)


def check_sign_in(w: World, op: str) -> None:
    for caller in w.callers.values():
        r = w.client.post(f"{API}/auth/token", json={
            "username": caller.user["username"], "password": "wrong-password-1",
            "device_id": str(uuid.uuid4())})
        assert r.status_code == 401
        count(op)


def check_match(w: World, op: str) -> None:
    """Any signed-in user matches against every active grid (PROTOCOL: not scoped)."""
    for caller in w.callers.values():
        r = caller.post(f"{API}/grids/match", json={"points": [list(w.points["other"])]})
        assert r.status_code == 200
        assert r.json["matches"][0]["code"] == w.grids["other"]
        count(op)


# --- administration (docs/protocol.md, "Administration API") ----------------------------
# An admin manages everyone; a supervisor the grid workers of their own area (places own
# and street); field and department users get 403 everywhere.

STEWARDS = ("supervisor", "admin")


def manages(role: str, place: str) -> bool:
    return role == "admin" or (role == "supervisor" and place in ("own", "street"))


def admin_expect(role: str, place: str, ok: int = 200) -> int:
    if role not in STEWARDS:
        return 403
    return ok if manages(role, place) else 404


def _worker(w: World, place: str) -> str:
    return _user(w.app, "patroller", grids=[w.grids[place]])


def check_admin_user_list(w: World, op: str) -> None:
    names = {place: _worker(w, place) for place in PLACES}
    for role, caller in w.callers.items():
        r = caller.get(f"{API}/admin/users?limit=200&q=mx_patroller_")
        if role not in STEWARDS:
            assert r.status_code == 403, (role, r.json)
            count(op)
            continue
        listed = {u["username"]: u for u in r.json["users"]}
        while r.json["more"]:
            r = caller.get(f"{API}/admin/users?limit=200&q=mx_patroller_"
                           f"&cursor={r.json['cursor']}")
            listed.update({u["username"]: u for u in r.json["users"]})
        for place, name in names.items():
            assert (name in listed) == manages(role, place), (role, place)
            count(op)
        if role == "supervisor":  # nothing out of the area, whatever the filter
            assert all(g.startswith(STREET) for u in listed.values() for g in u["grids"])


def check_admin_user_get(w: World, op: str) -> None:
    for place in PLACES:
        name = _worker(w, place)
        for role, caller in w.callers.items():
            r = caller.get(f"{API}/admin/users/{name}")
            assert r.status_code == admin_expect(role, place), (role, place, r.json)
            count(op)


def check_admin_user_patch(w: World, op: str) -> None:
    for place in PLACES:
        name = _worker(w, place)
        for role, caller in w.callers.items():
            label = f"{role}-{place}"
            r = w.client.patch(f"{API}/admin/users/{name}", headers=caller.headers,
                               json={"display_name": label})
            assert r.status_code == admin_expect(role, place), (role, place, r.json)
            shown = w.owner.get(f"{API}/admin/users/{name}").json["display_name"]
            assert (shown == label) == (r.status_code == 200), (role, place)
            count(op, 2)


def check_admin_user_create(w: World, op: str) -> None:
    for place in PLACES:
        for role, caller in w.callers.items():
            name = unique("mx_new_")
            r = caller.post(f"{API}/admin/users", json={
                "username": name, "role": "patroller", "grids": [w.grids[place]]})
            expected = 403 if role not in STEWARDS or not manages(role, place) else 201
            assert r.status_code == expected, (role, place, r.json)
            made = w.owner.get(f"{API}/admin/users/{name}").status_code == 200
            assert made == (expected == 201), (role, place)
            count(op, 2)


def check_admin_import(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        names = {place: unique("mx_imp_") for place in PLACES}
        rows = ["账号,角色,网格"] + [f"{names[p]},网格员,{w.grids[p]}" for p in PLACES]
        r = w.client.post(f"{API}/admin/users/import", headers=caller.headers,
                          content_type="multipart/form-data",
                          data={"file": (io.BytesIO("\n".join(rows).encode()), "r.csv"),
                                "dry_run": "false"})
        if role not in STEWARDS:
            assert r.status_code == 403, (role, r.json)
            count(op)
            continue
        outcome = {x["username"]: x["outcome"] for x in r.json["rows"]}
        for place, name in names.items():
            assert (outcome[name] == "created") == manages(role, place), (role, place)
            made = w.owner.get(f"{API}/admin/users/{name}").status_code == 200
            assert made == manages(role, place), (role, place)
            count(op, 2)


def check_admin_template(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        r = caller.get(f"{API}/admin/users/template.xlsx")
        assert r.status_code == (200 if role in STEWARDS else 403), role
        count(op)


def _phone(w: World, place: str) -> ApiClient:
    return ApiClient(w.client, _worker(w, place))


def check_admin_devices(w: World, op: str) -> None:
    phones = {place: _phone(w, place) for place in PLACES}
    for role, caller in w.callers.items():
        r = caller.get(f"{API}/admin/devices")
        if role not in STEWARDS:
            assert r.status_code == 403
            count(op)
            continue
        ids = {d["device_id"] for d in r.json["devices"]}
        for place, phone in phones.items():
            if role == "admin" and len(r.json["devices"]) >= 1000:
                break  # the admin's list is capped; the supervisor's is what is scoped
            assert (phone.device_id in ids) == manages(role, place), (role, place)
            count(op)


def _device_action(action: str) -> Callable[[World, str], None]:
    def check(w: World, op: str) -> None:
        for place in PLACES:
            for role, caller in w.callers.items():
                phone = _phone(w, place)
                r = caller.post(f"{API}/admin/devices/{phone.device_id}/{action}")
                assert r.status_code == admin_expect(role, place), (role, place, r.json)
                alive = phone.get(f"{API}/me").status_code == 200
                assert alive == (r.status_code != 200), (role, place)
                count(op, 2)
    return check


def _layer_file() -> bytes:
    ring = [[120.0, 30.0], [120.01, 30.0], [120.01, 30.01], [120.0, 30.01], [120.0, 30.0]]
    return ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            '{"code": "990001001001001"}, "geometry": {"type": "Polygon", "coordinates": '
            f'[{ring}]}}}}]}}').encode()


def check_admin_layers(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        r = caller.get(f"{API}/admin/layers")
        assert r.status_code == (200 if role == "admin" else 403), role
        count(op)


def check_admin_layer_import(w: World, op: str) -> None:
    for role, caller in w.callers.items():
        r = w.client.post(f"{API}/admin/layers/import", headers=caller.headers,
                          content_type="multipart/form-data",
                          data={"file": (io.BytesIO(_layer_file()), "l.geojson"),
                                "layer": unique("mx_layer_"), "dry_run": "true"})
        assert r.status_code == (200 if role == "admin" else 403), (role, r.json)
        count(op)


def check_admin_layer_activate(w: World, op: str) -> None:
    """Only admins switch layers: others are refused before the (missing) version is
    looked for; nothing is switched."""
    for role, caller in w.callers.items():
        r = caller.post(f"{API}/admin/layers/jianye/versions/99999/activate")
        assert r.status_code == (404 if role == "admin" else 403), (role, r.json)
        count(op)


def check_audit(w: World, op: str) -> None:
    """Admins read every entry; a supervisor the entries of their area's field users."""
    phones = {place: _phone(w, place) for place in PLACES}  # each sign-in is an entry
    for role, caller in w.callers.items():
        seen = set()
        for place, phone in phones.items():
            r = caller.get(f"{API}/audit?user={phone.user['username']}")
            if role not in STEWARDS:
                assert r.status_code == 403
                count(op)
                continue
            if r.json["entries"]:
                seen.add(place)
            count(op)
        if role in STEWARDS:
            assert seen == {p for p in PLACES if manages(role, p)}, (role, seen)


def check_password_change(w: World, op: str) -> None:
    """Everyone changes their own password, and only their own (no user in the body)."""
    for role, caller in w.callers.items():
        new = f"mx-{secrets.token_hex(4)}-pw"
        r = caller.post(f"{API}/auth/password", json={"old": PASSWORD, "new": new})
        assert r.status_code in (200, 204), (role, r.json)
        r = caller.post(f"{API}/auth/password", json={"old": new, "new": PASSWORD})
        assert r.status_code in (200, 204), (role, r.json)
        count(op, 2)


# --- maps: OGC API Features, GIS export, the basemap ------------------------------------

def _ogc_ids(caller: ApiClient, collection: str) -> set[str]:
    r = caller.get(f"{API}/ogc/collections/{collection}/items?limit=10000")
    assert r.status_code == 200, r.json
    return {str(f["id"]) for f in r.get_json()["features"]}


def check_ogc_items(w: World, op: str) -> None:
    """The same scope as pull: nothing out of it, everything in it."""
    for role, caller in w.callers.items():
        inspections, incidents = _ogc_ids(caller, "inspections"), _ogc_ids(caller, "incidents")
        for place in PLACES:
            assert (w.records[("inspection", place)] in inspections) == sees(
                role, "inspection", place), (role, place)
            for kind in ("incident", "dispatched"):
                assert (w.records[(kind, place)] in incidents) == sees(role, kind, place), (
                    role, kind, place)
            count(op, 3)
        r = caller.get(f"{API}/ogc/collections/grids/items?limit=10000")
        codes = {f["properties"].get("code") for f in r.get_json()["features"]}
        for place in PLACES:
            assert (w.grids[place] in codes) == sees_grid(role, place), (role, place)
            count(op)


def check_ogc_collection(w: World, op: str) -> None:
    for collection in ("grids", "inspections", "incidents", "tracks"):
        for caller in w.callers.values():
            assert caller.get(f"{API}/ogc/collections/{collection}").status_code == 200
            count(op)


def check_gis_export(w: World, op: str) -> None:
    """A GeoPackage of inspections holds exactly what the caller may see."""
    import pyogrio.raw

    for role, caller in w.callers.items():
        r = caller.get(f"{API}/export/inspections.gpkg")
        assert r.status_code == 200, (role, r.data[:200])
        meta, _, _, columns = pyogrio.raw.read(io.BytesIO(r.data))
        ids = set(map(str, columns[list(meta["fields"]).index("id")]))
        for place in PLACES:
            assert (w.records[("inspection", place)] in ids) == sees(role, "inspection", place)
            count(op)


def check_same_for_all(path: str) -> Callable[[World, str], None]:
    """A public operation with nothing scoped: every role, and no token, the same answer."""
    def check(w: World, op: str) -> None:
        statuses = {w.client.get(API + path).status_code}
        for caller in w.callers.values():
            statuses.add(caller.get(API + path).status_code)
            count(op)
        assert len(statuses) == 1 and statuses <= {200, 204, 404}, (op, statuses)
    return check


# Every operation of the spec: its check. Known gaps being fixed on another branch are
# marked, explicitly, for the lead to unmark after merging.
MATRIX: dict[str, Any] = {
    "GET /api/v1/openapi.json": check_unscoped("/openapi.json"),
    "POST /api/v1/auth/token": check_sign_in,
    "DELETE /api/v1/auth/token": check_sign_in_and_out,
    "GET /api/v1/me": check_unscoped("/me"),
    "GET /api/v1/meta": check_unscoped("/meta"),
    "GET /api/v1/grids": check_grids,
    "GET /api/v1/grids/areas": check_areas,
    "POST /api/v1/grids/match": check_match,
    "POST /api/v1/sync/push": check_push,
    "GET /api/v1/sync/pull": check_pull,
    "GET /api/v1/conflicts": check_conflict_list,
    "POST /api/v1/conflicts/{conflict_id}/resolve": check_resolve,
    "PUT /api/v1/attachments/{sha256}": check_upload,
    "HEAD /api/v1/attachments/{sha256}": check_photo_head,
    "GET /api/v1/attachments/{sha256}": check_photo_get,
    "GET /api/v1/map/inspections": check_map_inspections,
    "GET /api/v1/tiles/{layer}/{z}/{x}/{y}.mvt": check_tiles,
    "GET /api/v1/desk/departments": check_unscoped("/desk/departments"),
    "GET /api/v1/desk/incidents": check_desk_list,
    "GET /api/v1/desk/incidents/{record_id}": check_desk_incident,
    "POST /api/v1/desk/incidents/{record_id}/transition": check_transition,
    "POST /api/v1/desk/incidents/{record_id}/extension": check_extension,
    "GET /api/v1/desk/records/{record_id}": check_desk_record,
    "GET /api/v1/stats": check_stats,
    "GET /api/v1/stats.csv": check_stats_csv,
    "GET /api/v1/stats.xlsx": check_stats_xlsx,
    "POST /api/v1/auth/password": check_password_change,
    "GET /api/v1/audit": check_audit,
    "GET /api/v1/admin/users": check_admin_user_list,
    "POST /api/v1/admin/users": check_admin_user_create,
    "GET /api/v1/admin/users/{username}": check_admin_user_get,
    "PATCH /api/v1/admin/users/{username}": check_admin_user_patch,
    "POST /api/v1/admin/users/import": check_admin_import,
    "GET /api/v1/admin/users/template.xlsx": check_admin_template,
    "GET /api/v1/admin/devices": check_admin_devices,
    "POST /api/v1/admin/devices/{device_id}/revoke": _device_action("revoke"),
    "POST /api/v1/admin/devices/{device_id}/release": _device_action("release"),
    "GET /api/v1/admin/layers": check_admin_layers,
    "POST /api/v1/admin/layers/import": check_admin_layer_import,
    "POST /api/v1/admin/layers/{name}/versions/{version}/activate": check_admin_layer_activate,
    "GET /api/v1/ogc/": check_unscoped("/ogc/"),
    "GET /api/v1/ogc/conformance": check_unscoped("/ogc/conformance"),
    "GET /api/v1/ogc/collections": check_unscoped("/ogc/collections"),
    "GET /api/v1/ogc/collections/{collection_id}": check_ogc_collection,
    "GET /api/v1/ogc/collections/{collection_id}/items": check_ogc_items,
    "GET /api/v1/export/{name}": check_gis_export,
    "GET /api/v1/basemap/style.json": check_same_for_all("/basemap/style.json"),
    "GET /api/v1/basemap/tiles/{z}/{x}/{y}": check_same_for_all("/basemap/tiles/13/6847/3307"),
    "GET /api/v1/basemap/fonts/{fontstack}/{range_}.pbf": check_same_for_all(
        "/basemap/fonts/Noto%20Sans/0-255.pbf"),
}


def _spec_operations(app) -> set[str]:
    spec = app.test_client().get(f"{API}/openapi.json").json
    return {f"{method.upper()} {path}" for path, item in spec["paths"].items()
            for method in item if method in ("get", "put", "post", "delete", "patch", "head")}


def test_every_operation_has_a_matrix_entry(app):
    missing = _spec_operations(app) - set(MATRIX)
    assert not missing, f"operations without an authorization matrix entry: {sorted(missing)}"
    stale = set(MATRIX) - _spec_operations(app)
    assert not stale, f"matrix entries for operations not in the spec: {sorted(stale)}"


@pytest.mark.parametrize("check", list(MATRIX.values()), ids=list(MATRIX))
def test_matrix(world, request, check):
    op = request.node.callspec.id
    check(world, op)
    assert CHECKS.get(op, 0) >= len(ROLES), f"{op}: only {CHECKS.get(op, 0)} checks"
    print(f"{op}: {CHECKS[op]} checks")


def test_matrix_counts(world, capsys):
    """How many checks were made (runs after test_matrix), shown even when output is
    captured; ``-s`` shows each operation's count too."""
    total = f"authorization matrix: {sum(CHECKS.values())} checks over {len(CHECKS)} operations"
    with capsys.disabled():
        print(f"\n{total}")
    if len(CHECKS) >= len(MATRIX) - 1:  # the whole matrix ran (an xfail may count none)
        assert sum(CHECKS.values()) >= 600
