"""``POST /api/v1/grids/match`` against the imported Jianye layers and the truth points."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from geo.datum import from_wgs84
from tests.conftest import DEMO, unique

MATCH = "/api/v1/grids/match"


@contextmanager
def only_active(db, name):
    """Make ``name`` the only active layer for a while, then restore every layer."""
    saved = db.execute("SELECT id, active_version_id FROM grid_layer").fetchall()
    try:
        db.execute("UPDATE grid_layer SET active_version_id = NULL WHERE name <> %s", (name,))
        yield
    finally:
        for layer_id, version_id in saved:
            db.execute("UPDATE grid_layer SET active_version_id = %s WHERE id = %s",
                       (version_id, layer_id))


def _match(dev, points, datum=None):
    body = {"points": points} if datum is None else {"points": points, "datum": datum}
    r = dev.post(MATCH, json=body)
    assert r.status_code == 200, r.json
    return r.json["matches"]


def _check_truth(matches, truth_points):
    assert len(matches) == len(truth_points)
    hits = {"inside": [0, 0], "edge": [0, 0], "outside": [0, 0]}
    for m, p in zip(matches, truth_points, strict=True):
        assert m["match"] in ("inside", "edge", "nearest", "outside")
        assert (m["code"] is None) == (m["match"] == "outside")
        good = (m["code"] is None or m["match"] == "nearest") if p["class"] == "outside" \
            else m["code"] == p["expect"]
        hits[p["class"]][0] += good
        hits[p["class"]][1] += 1
    inside, edge, outside = (hits[k] for k in ("inside", "edge", "outside"))
    assert inside[0] == inside[1] > 1000, hits
    assert edge[0] >= 0.99 * edge[1] and edge[1] >= 100, hits
    assert outside[0] == outside[1] > 0, hits


def _points(truth):
    return [[p["lon"], p["lat"]] for p in truth["points"]]


def test_geojson_layer_matches_truth(signed_in, truth, db):
    dev = signed_in()
    with only_active(db, "jianye"):
        _check_truth(_match(dev, _points(truth)), truth["points"])


def test_gbk_shapefile_layer_matches_truth(app, signed_in, truth, db):
    name = unique("jianye_shp_")
    result = app.test_cli_runner().invoke(args=[
        "grids", "import", str(DEMO / "jianye-grids-gbk-shp.zip"), "--datum", "gcj02",
        "--layer", name])
    try:
        assert result.exit_code == 0, result.output
        assert "encoding: gbk (from jianye-grids-gbk.cpg)" in result.stdout
        assert any(ln.startswith("warning: .prj says WGS84") for ln in result.stdout.splitlines())
        assert result.stdout.splitlines()[-1] == "imported=310 repaired=0 refused=0 total=310"
        # the Shapefile's grids are the GeoJSON's grids, names decoded from GBK
        same = db.execute("""
            SELECT count(*), count(*) FILTER (WHERE a.name = b.name
                   AND a.street_name = b.street_name AND a.community_name = b.community_name
                   AND ST_HausdorffDistance(a.geom::geography::geometry, b.geom) < 1e-6)
            FROM grid a JOIN grid_layer la ON la.active_version_id = a.layer_version_id
            JOIN grid b ON b.code = a.code
            JOIN grid_layer lb ON lb.active_version_id = b.layer_version_id
            WHERE la.name = %s AND lb.name = 'jianye'
        """, (name,)).fetchone()
        assert same == (310, 310)
        dev = signed_in()
        with only_active(db, name):
            _check_truth(_match(dev, _points(truth)), truth["points"])
    finally:
        db.execute("UPDATE grid_layer SET active_version_id = NULL WHERE name = %s", (name,))


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_datum_parameter_gives_the_same_codes(signed_in, truth, db, datum):
    dev = signed_in()
    wgs = _points(truth)
    lon, lat = from_wgs84([p[0] for p in wgs], [p[1] for p in wgs], datum)
    shifted = [[x, y] for x, y in zip(lon.tolist(), lat.tolist(), strict=True)]
    assert abs(shifted[0][0] - wgs[0][0]) > 0.003  # hundreds of metres apart
    with only_active(db, "jianye"):
        expected = _match(dev, wgs)
        got = _match(dev, shifted, datum)
        unconverted = _match(dev, shifted)
    assert got == expected
    wrong = sum(a["code"] != b["code"] for a, b in zip(unconverted, expected, strict=True))
    assert wrong > len(expected) / 2  # without the datum most points land elsewhere


def test_datum_defaults_to_wgs84_and_cgcs2000_is_wgs84(signed_in, inside_points):
    dev = signed_in()
    code, point = sorted(inside_points.items())[0]
    assert _match(dev, [list(point)]) == [{"code": code, "match": "inside"}]
    assert _match(dev, [list(point)], "cgcs2000") == [{"code": code, "match": "inside"}]
    assert _match(dev, [list(point)], "wgs84") == [{"code": code, "match": "inside"}]


def test_results_in_input_order_and_empty_request(signed_in, inside_points):
    dev = signed_in()
    items = sorted(inside_points.items())[:50][::-1]
    got = _match(dev, [list(p) for _, p in items] + [[0.0, 0.0]])
    assert [m["code"] for m in got] == [c for c, _ in items] + [None]
    assert got[-1]["match"] == "outside"
    assert _match(dev, []) == []


def test_three_coordinate_points_accepted(signed_in, inside_points):
    dev = signed_in()
    code, (lon, lat) = sorted(inside_points.items())[0]
    assert _match(dev, [[lon, lat, 12.5]])[0]["code"] == code


def test_too_many_points_is_413_json(signed_in, app):
    dev = signed_in()
    limit = app.config["MATCH_MAX_POINTS"]
    assert limit == 10_000
    assert len(_match(dev, [[118.7, 32.0]] * limit)) == limit
    r = dev.post(MATCH, json={"points": [[118.7, 32.0]] * (limit + 1)})
    assert r.status_code == 413
    assert r.json["error"]["code"] == "too_many_points"
    assert r.json["error"]["details"] == {"limit": limit, "got": limit + 1}


@pytest.mark.parametrize("point", [
    [118.7], [118.7, 32.0, 1.0, 2.0], ["118.7", "32.0"], [200.0, 32.0], [118.7, -91],
    [True, False], [None, 32.0], "118.7,32.0", {"lon": 118.7, "lat": 32.0},
])
def test_bad_point_is_422(signed_in, point):
    dev = signed_in()
    r = dev.post(MATCH, json={"points": [[118.7, 32.0], point]})
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] in ("validation", "unprocessable_entity")


def test_non_finite_point_is_422(signed_in):
    dev = signed_in()
    r = dev.post(MATCH, data='{"points": [[NaN, 32.0]]}', content_type="application/json")
    assert r.status_code in (400, 422) and "error" in r.json


@pytest.mark.parametrize("body", [{"points": [[118.7, 32.0]], "datum": "wgs-84"},
                                  {"points": [[118.7, 32.0]], "datum": "epsg:3857"},
                                  {"points": [[118.7, 32.0]], "datum": None}])
def test_bad_datum_is_422(signed_in, body):
    dev = signed_in()
    r = dev.post(MATCH, json=body)
    assert r.status_code == 422
    assert "datum" in str(r.json["error"])


@pytest.mark.parametrize("body", [{}, {"points": "all"}, {"points": [[118.7, 32.0]], "datum": 4}])
def test_bad_body_is_422(signed_in, body):
    r = signed_in().post(MATCH, json=body)
    assert r.status_code == 422 and "error" in r.json


def test_malformed_json_is_400(signed_in):
    r = signed_in().post(MATCH, data="{points", content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"


def test_no_token_is_401(client):
    r = client.post(MATCH, json={"points": [[118.7, 32.0]]})
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    r = client.post(MATCH, json={"points": [[118.7, 32.0]]},
                    headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and "error" in r.json


@pytest.mark.parametrize("role", ["patroller", "grid_leader", "supervisor", "department", "admin"])
def test_any_signed_in_role_may_match(signed_in, inside_points, role):
    code, point = sorted(inside_points.items())[-1]
    kw = {"areas": ["320105002"]} if role == "supervisor" else {}
    kw = {"dept": "城管"} if role == "department" else kw
    dev = signed_in(role=role, **kw)
    assert _match(dev, [list(point)])[0]["code"] == code


def test_huge_integer_coordinate_is_400_not_500(signed_in):
    """A number no double can hold is refused by the parser, and the message says so."""
    r = signed_in().post(MATCH, data='{"points": [[1' + "0" * 400 + ', 32]]}',
                         content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"
    assert "infinity" in r.json["error"]["message"]


def test_out_of_range_integer_coordinate_is_422(signed_in):
    r = signed_in().post(MATCH, data='{"points": [[1' + "0" * 30 + ', 32]]}',
                         content_type="application/json")
    assert r.status_code == 422 and r.json["error"]["details"]["points"] == {
        "0": ["must be [lon, lat]"]}


def test_mixed_two_and_three_coordinate_points(signed_in, inside_points):
    dev = signed_in()
    (c1, p1), (c2, p2) = sorted(inside_points.items())[:2]
    got = _match(dev, [list(p1), [*p2, 3.0], [int(p1[0]), int(p1[1])]])
    assert [m["code"] for m in got[:2]] == [c1, c2]
    assert got[2]["match"] in ("outside", "nearest", "inside", "edge")


def test_bad_point_details_name_the_points(signed_in):
    points = [[118.7, 32.0]] * 5 + [[118.7, True], "x", [118.7, 32.0, "z"]]
    r = signed_in().post(MATCH, json={"points": points})
    assert r.status_code == 422
    assert set(r.json["error"]["details"]["points"]) == {"5", "6", "7"}


def test_large_answers_are_gzipped_for_clients_that_accept_it(signed_in, inside_points):
    import gzip
    import json

    dev = signed_in()
    points = [list(p) for _, p in sorted(inside_points.items())] * 10
    plain = dev.post(MATCH, json={"points": points})
    zipped = dev.client.post(MATCH, json={"points": points},
                             headers={**dev.headers, "Accept-Encoding": "gzip"})
    assert plain.headers.get("Content-Encoding") is None
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.data) < len(plain.data) / 4
    assert json.loads(gzip.decompress(zipped.data)) == plain.json


def test_sync_and_match_endpoint_agree(signed_in, truth, db):
    """Pushed records are placed by the same matcher, datum conversion included."""
    admin = signed_in(role="admin")
    picked = [p for p in truth["points"] if p["class"] == "edge"][:15] + \
        [p for p in truth["points"] if p["class"] == "outside"][:5] + \
        [p for p in truth["points"] if p["class"] == "inside"][:5]
    with only_active(db, "jianye"):
        expected = _match(admin, [[p["lon"], p["lat"]] for p in picked])
        ops = []
        for i, p in enumerate(picked):
            datum = ("wgs84", "gcj02", "bd09")[i % 3]
            lon, lat = from_wgs84(p["lon"], p["lat"], datum)
            data = {"kind": "report", "occurred_at": "2026-11-23T08:15:00+08:00",
                    "location": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                    "location_accuracy_m": 5, "note": f"点{i}"}
            if datum != "wgs84":
                data["location_datum"] = datum
            ops.append(admin.op("inspection", "create", data))
        results = admin.push(*ops)
    assert [r["status"] for r in results] == ["applied"] * len(picked)
    got = [{"code": r["grid_code"], "match": r["match"]} for r in results]
    assert got == expected
    stored = db.execute("SELECT ST_X(geom), ST_Y(geom) FROM record WHERE id = %s",
                        (ops[1]["id"],)).fetchone()
    assert abs(stored[0] - picked[1]["lon"]) < 1e-7 and abs(stored[1] - picked[1]["lat"]) < 1e-7


def test_openapi_documents_the_grid_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/grids", "/api/v1/grids/areas", "/api/v1/grids/match"):
        assert path in spec["paths"], path
    body = spec["paths"]["/api/v1/grids/match"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    ref = schema.get("$ref", "").rsplit("/", 1)[-1]
    props = spec["components"]["schemas"][ref]["properties"] if ref else schema["properties"]
    assert props["points"]["maxItems"] == 10_000
    assert set(props["datum"]["enum"]) == {"wgs84", "cgcs2000", "gcj02", "bd09"}
