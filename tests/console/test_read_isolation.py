"""One stored record can never make a read fail (PROTOCOL v1.1, "Bad values in an op").

Records with the worst values we could think of are written straight into ``record``,
bypassing push (as rows stored before push validated them, or anything validation still
lets through would be). Then the rollups are refreshed, both incrementally and in full,
and every read is requested as every role: every tile layer at zooms 10, 13 and 16 over
the points, ``/stats`` as JSON, CSV and XLSX at every level, the desk list and each
record's detail, the conflicts list, ``/map/inspections``, ``/grids?bbox`` and pull. Each
answers 200 (or the 403 its documentation names for the role), never a 5xx, and every
JSON body is strict JSON (no ``NaN`` or ``Infinity``, which browsers cannot parse).
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import pytest

from tests.conftest import PASSWORD, ApiClient, unique
from tests.console.helpers import NOW, tile_url

GRID = "320105001001004"
STREET = "320105001"
DEPT = "市政"
LEVELS = ("grid", "community", "street")
ZOOMS = (10, 13, 16)
LAYERS = ("grids", "inspections", "incidents", "tracks", "heat")
ROLES = ("patroller", "grid_leader", "supervisor", "admin", "department")
# Documented refusals by role: statistics are not for departments, the desk is not for
# field users.
DENIED = {"stats": {"department"}, "desk": {"patroller", "grid_leader"}}

# Placeholders for JSON numbers Python cannot write (PostgreSQL's jsonb can hold them).
RAW = {"@@huge@@": "1e400", "@@negative-huge@@": "-1e400", "@@tiny@@": "1e-400",
       "@@long-int@@": "9" * 5000,
       # Deeper than Python's json module recurses (and than orjson accepts).
       "@@deep@@": '{"a": ' * 3000 + '"bottom"' + "}" * 3000,
       # Within what orjson reads (1,024) but beyond what json.dumps writes back out.
       "@@deep1000@@": '[' * 1000 + "]" * 1000}

SUBNORMAL = 5e-324
POINTS: list[tuple[Any, Any]] = [
    (SUBNORMAL, SUBNORMAL), (-SUBNORMAL, SUBNORMAL), (180.0, 90.0), (-180.0, -90.0),
    (180.0, -90.0), (-180.0, 90.0), (179.9999999, 0.0000001), (0.0, 85.0511287798066),
    ("NaN", "NaN"), ("Infinity", "-Infinity"), ("NaN", 32.0), (118.7, "Infinity"),
]


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"a": value}
    return value


def _json_text(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False)
    for mark, literal in RAW.items():
        text = text.replace(f'"{mark}"', literal)
    return text


def _strict(body: bytes) -> Any:
    """Parse as a browser would: NaN and Infinity are not JSON."""
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in a JSON response")
    return json.loads(body, parse_constant=refuse)


def _tile(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2 ** z
    lat = max(-85.05, min(85.05, lat))
    x = min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, x, min(n - 1, max(0, y))


def _worst_inspections(p: tuple[float, float]) -> list[tuple[dict[str, Any], Any]]:
    """(data, geom point or None) of inspections with bad values."""
    lon, lat = p
    base = {"kind": "visit", "occurred_at": NOW, "note": "x"}
    loc = {"type": "Point", "coordinates": [lon, lat]}
    out: list[tuple[dict[str, Any], Any]] = []
    for x, y in POINTS:
        out.append(({**base, "location": {"type": "Point", "coordinates": [x, y]}}, (x, y)))
        out.append(({**base, "kind": "patrol", "location": {"type": "Point",
                                                             "coordinates": [x, y]}}, (x, y)))
    for acc in (1e308, SUBNORMAL, -1e308, "@@huge@@", "@@negative-huge@@", "@@tiny@@",
                "@@long-int@@", "NaN", "Infinity", "-inf", "", None, [], {}):
        out.append(({**base, "location": loc, "location_accuracy_m": acc}, p))
    for bad_location in ({"type": "Polygon", "coordinates": [[[lon, lat], [lon + 1, lat],
                                                              [lon, lat + 1], [lon, lat]]]},
                         "here", 5, None, {}, {"type": "Point"},
                         {"type": "Point", "coordinates": ["NaN", "Infinity"]},
                         {"type": "Point", "coordinates": [lon]}, [lon, lat]):
        out.append(({**base, "location": bad_location}, None))
    out.append(({**base, "location": {"type": "Point", "coordinates": []}}, "EMPTY"))
    walk = [[lon + i * 1e-6, lat + (i % 7) * 1e-6] for i in range(10_000)]
    for track in ({"type": "LineString", "coordinates": [[lon, lat]]},
                  {"type": "LineString", "coordinates": walk},
                  {"type": "LineString", "coordinates": [[lon, lat]] * 50},
                  {"type": "LineString", "coordinates": [[SUBNORMAL, SUBNORMAL], [0, 1e-310]]},
                  {"type": "LineString", "coordinates": [[179.9999999, 89.9], [180, 90]]},
                  {"type": "LineString", "coordinates": [[-180, -90], [180, 90]]},
                  {"type": "LineString", "coordinates": [["NaN", 1], [2, "Infinity"]]},
                  {"type": "LineString", "coordinates": [[1e308, 1e308], [lon, lat]]},
                  {"type": "LineString", "coordinates": [[lon, 1000], [lon, lat]]},
                  {"type": "LineString", "coordinates": [[lon, lat, 1e308], [lon, lat]]},
                  {"type": "LineString", "coordinates": "notalist"},
                  {"type": "Polygon", "coordinates": []}, "track", 7):
        out.append(({**base, "kind": "patrol", "location": loc, "track": track,
                     "started_at": "garbage", "ended_at": "9999-12-31T23:59:59Z"}, p))
    for when in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "garbage", 5, None,
                 "@@huge@@"):
        out.append(({**base, "location": loc, "occurred_at": when}, p))
    out += [
        ({**base, "location": loc, "note": "长" * 34_000}, p),  # ~100 KB
        ({**base, "location": loc, "deep": _nested(32)}, p),
        ({**base, "location": loc, "deep": "@@deep@@"}, p),
        ({**base, "location": loc, "deep": "@@deep1000@@"}, p),
        ({**base, "location": loc, "note": "🚧🧯👩🏽‍🚒 \u202eRTL טקסט عربي\u202c \u0301\u0308 x\u200d"}, p),
        ({**base, "location": loc, "kind": "teleport"}, p),
        ({**base, "location": loc, "kind": "report", "urgent": "yes", "photos": "notalist",
          "members": 5, "title": {"nested": True}, "category": 7}, p),
        ({**base, "location": loc, "photos": [None, 5, "x" * 64, {"a": 1}]}, p),
        ({**base, "location": loc, "notes": "notalist", "household_id": "garbage"}, p),
        ("data that is not an object", p), ([base], p), (None, p), (5, p),
    ]
    return out


def _worst_incidents(p: tuple[float, float]) -> list[tuple[dict[str, Any], Any]]:
    base = {"category": "市容环境", "title": "t", "department": DEPT,
            "location": {"type": "Point", "coordinates": list(p)}}
    out: list[tuple[dict[str, Any], Any]] = [
        ({**base, "status": "teleported"}, p),
        ({**base, "status": "dispatched", "urgent": "yes"}, p),
        ({**base, "photos": "notalist", "notes": "notalist", "extension": "x"}, p),
        ({**base, "photos": [None, 7], "notes": [None, 5, {"text": {"a": 1}}],
          "extension": {"status": 5, "minutes": "@@huge@@"}}, p),
        ({**base, "title": "🚧 \u202eRTL\u202c \u0301", "description": "长" * 34_000}, p),
        ({**base, "members": 5, "urgent": None, "deep": _nested(32)}, p),
        ({**base, "deep": "@@deep1000@@"}, p),
        ({**base, "department": {"not": "a string"}, "category": ["x"]}, p),
        ({**base, "title": 5, "location": "here"}, None),
        ({**base, "location": {"type": "Point", "coordinates": []}}, "EMPTY"),
        ("data that is not an object", p), ([base], p), (None, p),
    ]
    for x, y in POINTS:
        out.append(({**base, "status": "reported",
                     "location": {"type": "Point", "coordinates": [x, y]}}, (x, y)))
    return out


def _worst_households(p: tuple[float, float]) -> list[tuple[dict[str, Any], Any]]:
    base = {"address": "江东中路 1 号", "location": {"type": "Point", "coordinates": list(p)}}
    return [
        ({**base, "members": 5, "phone": 13812345678}, p),
        ({**base, "members": "notalist", "phone": ["13812345678"], "id_number": {"x": 1}}, p),
        ({**base, "members": [None, 5, "x", {"phone": None}, {"phone": {"deep": "1"}},
                              {"id_number": "@@long-int@@"}], "tags": "notalist"}, p),
        ({**base, "members": [{"phone": "13912345678"}], "deep": "@@deep@@"}, p),
        ({**base, "location": {"type": "Point", "coordinates": [SUBNORMAL, SUBNORMAL]}},
         (SUBNORMAL, SUBNORMAL)),
        ("data that is not an object", p), ([base], p),
    ]


def _insert(db, entity: str, data: Any, geom: Any, grid_id: int, user_id: int,
            due: str | None = None) -> str:
    rid = str(uuid.uuid4())
    text = _json_text(data)
    empty = geom == "EMPTY"
    x, y = geom if geom is not None and not empty else (None, None)
    db.execute("""
        INSERT INTO record (id, entity, version, data, geom, grid_id, grid_code, match,
                            created_by, created_device, due_at, change_seq)
        VALUES (%s, %s, 1, CAST(%s AS jsonb),
                CASE WHEN %s THEN ST_GeomFromText('POINT EMPTY', 4326)
                     WHEN %s::text IS NOT NULL
                     THEN ST_SetSRID(ST_MakePoint(%s::text::float8, %s::text::float8), 4326)
                END, %s, %s, 'inside', %s, 'legacy', CAST(%s AS timestamptz),
                nextval('change_seq'))
    """, (rid, entity, text, empty, None if x is None else str(x),
          None if x is None else str(x), None if y is None else str(y), grid_id, GRID,
          user_id, due))
    db.execute("""
        INSERT INTO record_version (record_id, version, data, changed, user_id, device_id)
        SELECT %s, 1, d, CASE WHEN jsonb_typeof(d) = 'object'
                             THEN ARRAY(SELECT jsonb_object_keys(d)) ELSE '{}' END,
               %s, 'legacy'
        FROM CAST(%s AS jsonb) AS d
    """, (rid, user_id, text))
    return rid


@pytest.fixture(scope="module")
def world(app, inside_points, database_url):
    import psycopg

    client = app.test_client()

    def user(role: str, **kw: Any) -> ApiClient:
        name = unique(role)
        args = ["users", "create", name, "--role", role]
        for g in kw.get("grids", ()):
            args += ["--grid", g]
        for a in kw.get("areas", ()):
            args += ["--area", a]
        if kw.get("dept"):
            args += ["--dept", kw["dept"]]
        result = app.test_cli_runner().invoke(args=args, input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
        return ApiClient(client, name)

    users = {"patroller": user("patroller", grids=[GRID]),
             "grid_leader": user("grid_leader", grids=[GRID]),
             "supervisor": user("supervisor", areas=[STREET]),
             "admin": user("admin"),
             "department": user("department", dept=DEPT)}
    p = inside_points[GRID]
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as db:
        grid_id = db.execute("SELECT g.id FROM grid g JOIN grid_layer l "
                             "ON l.active_version_id = g.layer_version_id WHERE g.code = %s",
                             (GRID,)).fetchone()[0]
        uid_ = db.execute("SELECT id FROM app_user WHERE username = %s",
                          (users["patroller"].user["username"],)).fetchone()[0]
        ids: dict[str, list[str]] = {"inspection": [], "incident": [], "household": []}
        points: list[tuple[float, float]] = [p]
        for entity, rows in (("inspection", _worst_inspections(p)),
                             ("incident", _worst_incidents(p)),
                             ("household", _worst_households(p))):
            for i, (data, geom) in enumerate(rows):
                due = (None, "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                       "2000-01-01T00:00:00Z")[i % 4] if entity == "incident" else None
                ids[entity].append(_insert(db, entity, data, geom, grid_id, uid_, due))
                if geom is not None and all(isinstance(v, float) for v in geom):
                    points.append(geom)
        household = ids["household"][0]
        for base, current, incoming in (
                ('"a string"', '{"members": 5, "phone": 13812345678}',
                 _json_text({"members": [{"phone": "13912345678"}], "deep": "@@deep@@"})),
                ("null", "[]", "5"),
                (_json_text({"n": "@@huge@@"}), '{"phone": {"x": "13812345678"}}', "{}")):
            db.execute("""
                INSERT INTO conflict (id, entity, record_id, grid_code, code, fields, base,
                                      current, incoming, base_version, current_version,
                                      incoming_user_id, current_user_id)
                VALUES (gen_random_uuid(), 'household', %s, %s, 'hard', ARRAY['members', 'phone'],
                        CAST(%s AS jsonb), CAST(%s AS jsonb), CAST(%s AS jsonb), 1, 1, %s, %s)
            """, (household, GRID, base, current, incoming, uid_, uid_))
    yield {"users": users, "ids": ids, "points": sorted(set(points), key=str)}
    # Other modules pull, and compare the rollups with raw SQL over every record: leave
    # them a world of ordinary records. A delete, stamped and folded into the rollups,
    # then the rows themselves.
    from server.services import rollups

    gone = [i for v in ids.values() for i in v]
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("UPDATE record SET deleted = true, change_seq = nextval('change_seq') "
                   "WHERE id = ANY(%s::uuid[])", (gone,))
        with app.app_context():
            rollups.refresh()
        for table, column in (("conflict", "record_id"), ("record_version", "record_id"),
                              ("rollup_member", "record_id"), ("record", "id")):
            db.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s::uuid[])", (gone,))


def _ok(r, what: str, role: str, area: str | None = None) -> None:
    if area and role in DENIED.get(area, ()):
        assert r.status_code == 403, (what, role, r.status_code, r.get_data()[:300])
        _strict(r.get_data())
        return
    assert r.status_code == 200, (what, role, r.status_code, r.get_data()[:300])


def test_rollups_refresh_over_the_worst_records(app, world):
    """Incremental first (the records are pending), then a full rebuild."""
    from server.services import rollups

    with app.app_context():
        assert rollups.refresh()["mode"] in ("incremental", "full")
        assert rollups.refresh(full=True)["mode"] == "full"


def test_every_tile_layer_answers(world):
    tiles = sorted({_tile(lon, lat, z) for lon, lat in world["points"] for z in ZOOMS})
    for role, dev in world["users"].items():
        for layer in LAYERS:
            for z, x, y in tiles:
                for query in ("", "from=2000-01-01&to=2100-12-31"):
                    r = dev.get(tile_url(layer, z, x, y, query))
                    _ok(r, f"{layer}/{z}/{x}/{y}?{query}", role)


def test_statistics_and_exports_answer(world):
    for role, dev in world["users"].items():
        for level in LEVELS:
            for ext in ("", ".csv", ".xlsx"):
                r = dev.get(f"/api/v1/stats{ext}?level={level}")
                _ok(r, f"stats{ext} {level}", role, "stats")
                if r.status_code == 200 and not ext:
                    _strict(r.get_data())


def test_desk_lists_and_details_answer(world):
    for role, dev in world["users"].items():
        # Every page: other tests' incidents share this database.
        listed: set[str] = set()
        cursor = ""
        while True:
            r = dev.get(f"/api/v1/desk/incidents?limit=200{cursor}")
            _ok(r, "desk list", role, "desk")
            body = _strict(r.get_data())
            listed |= {i["id"] for i in body.get("incidents", ())}
            if r.status_code != 200 or not body.get("more"):
                break
            cursor = f"&cursor={body['cursor']}"
        if r.status_code == 200 and role != "department":
            assert set(world["ids"]["incident"]) <= listed, role
        for rid in world["ids"]["incident"]:
            r = dev.get(f"/api/v1/desk/incidents/{rid}")
            if role == "department" and rid not in listed:  # another department's
                assert r.status_code == 404, (rid, r.get_data()[:300])
            else:
                _ok(r, f"desk detail {rid}", role, "desk")
            _strict(r.get_data())
        if role == "admin":  # photos: "notalist" names no photo
            detail = dev.get(f"/api/v1/desk/incidents/{world['ids']['incident'][2]}").json
            assert detail["photos"] == [], detail["photos"]
        for rid in world["ids"]["incident"] + world["ids"]["inspection"]:
            r = dev.get(f"/api/v1/desk/records/{rid}")
            assert r.status_code in (200, 404), (rid, role, r.get_data()[:300])
            if role != "department":
                assert r.status_code == 200, (rid, role, r.get_data()[:300])
            _strict(r.get_data())


def test_conflicts_map_grids_and_pull_answer(world):
    for role, dev in world["users"].items():
        for status in ("open", "resolved"):
            r = dev.get(f"/api/v1/conflicts?status={status}&limit=500")
            _ok(r, "conflicts", role)
            _strict(r.get_data())
        for query in ("", "?bbox=-180,-90,180,90", "?bbox=118,31,119,33", "?kind=patrol"):
            r = dev.get(f"/api/v1/map/inspections{query}")
            _ok(r, f"map {query}", role)
            _strict(r.get_data())
        for bbox in ("-180,-90,180,90", "118,31,119,33", "0,0,0,0"):
            r = dev.get(f"/api/v1/grids?bbox={bbox}")
            _ok(r, f"grids {bbox}", role)
            _strict(r.get_data())
        cursor = ""
        for _ in range(100):
            r = dev.get(f"/api/v1/sync/pull?limit=50&cursor={cursor}")
            _ok(r, "pull", role)
            body = _strict(r.get_data())
            cursor = body["cursor"]
            if not body["more"]:
                break
        else:
            raise AssertionError("pull never ended")


def test_pull_masks_the_worst_households(world):
    changes, _ = world["users"]["patroller"].pull_all()
    seen = {c["id"]: c["data"] for c in changes}
    first, second, third = (seen[i] for i in world["ids"]["household"][:3])
    assert first["phone"] == "138****5678"
    assert second["phone"] == "****" and second["id_number"] == "****"
    assert third["members"][4] == {"phone": "****"}
    assert "9999" not in json.dumps(third["members"][5])


def test_a_failing_refresh_leaves_tiles_and_statistics_answering(app, world, database_url,
                                                                  inside_points):
    """Whatever makes a refresh fail, reads go on with the rollups as they are."""
    import psycopg

    from server.services import rollups
    from tests.console.helpers import inspection

    p = inside_points[GRID]
    sup, patroller = world["users"]["supervisor"], world["users"]["patroller"]
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE FUNCTION gp_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'a fault nobody foresaw'; END $$")
        db.execute("CREATE TRIGGER gp_test_refuse BEFORE INSERT ON grid_day_activity "
                   "FOR EACH ROW EXECUTE FUNCTION gp_test_refuse()")
        try:
            res = patroller.push(patroller.op("inspection", "create", inspection("visit", p)))
            assert res[0]["status"] == "applied", res
            for ext in ("", ".csv", ".xlsx"):
                r = sup.get(f"/api/v1/stats{ext}")
                assert r.status_code == 200, r.get_data()[:300]
            for layer in ("inspections", "grids", "heat", "incidents"):
                r = sup.get(tile_url(layer, *_tile(*p, 12)))
                assert r.status_code == 200, (layer, r.get_data()[:300])
        finally:
            db.execute("DROP TRIGGER gp_test_refuse ON grid_day_activity")
            db.execute("DROP FUNCTION gp_test_refuse()")
    with app.app_context():
        assert rollups.refresh()["mode"] != "none"
    assert sup.get("/api/v1/stats").status_code == 200


def test_desk_actions_on_the_worst_incidents_are_never_a_500(world):
    """Moving, noting and extending an incident stored with bad values answers 200 or a
    documented 4xx: the desk is where someone will try to clean such a record up."""
    sup = world["users"]["supervisor"]
    for rid in world["ids"]["incident"]:
        detail = sup.get(f"/api/v1/desk/incidents/{rid}")
        assert detail.status_code == 200, detail.get_data()[:300]
        version = detail.json["record"]["version"]
        for body in ({"to": "accepted", "base_version": version, "note": "清理旧记录"},
                     {"to": "void", "base_version": version},
                     {"to": "dispatched", "base_version": version, "department": DEPT}):
            r = sup.post(f"/api/v1/desk/incidents/{rid}/transition", json=body)
            assert r.status_code in (200, 403, 404, 409, 422), (rid, body, r.get_data()[:300])
            _strict(r.get_data())
            if r.status_code == 200:
                version = r.json["result"]["version"]
        r = sup.post(f"/api/v1/desk/incidents/{rid}/extension",
                     json={"base_version": version, "decision": "approve"})
        assert r.status_code in (200, 403, 404, 409, 422), (rid, r.get_data()[:300])
        _strict(r.get_data())
