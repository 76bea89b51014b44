"""``GET /api/v1/grids`` and ``GET /api/v1/grids/areas``: scope, bbox, simplification."""

from __future__ import annotations

import pytest
import shapely.geometry

from tests.grids.helpers import feature, write_geojson

GRIDS = "/api/v1/grids"
AREAS = "/api/v1/grids/areas"
STREET = "320105001"


def _active_codes(db, where="TRUE", params=()):
    rows = db.execute(f"SELECT g.code FROM grid g JOIN grid_layer l "
                      f"ON l.active_version_id = g.layer_version_id WHERE {where}", params)
    return {r[0] for r in rows}


def _codes(response):
    assert response.status_code == 200, response.json
    assert response.json["type"] == "FeatureCollection"
    return [f["properties"]["code"] for f in response.json["features"]]


def _a_community(db):
    return db.execute("SELECT community_code FROM grid WHERE street_code = '320105002' "
                      "ORDER BY community_code LIMIT 1").fetchone()[0]


def test_supervisor_street_scope(signed_in, db):
    dev = signed_in(role="supervisor", areas=[STREET])
    r = dev.get(GRIDS)
    codes = _codes(r)
    assert codes == sorted(codes) and len(codes) == len(set(codes))
    assert set(codes) == _active_codes(db, "g.street_code = %s", (STREET,))
    assert len(codes) > 10
    props = r.json["features"][0]["properties"]
    assert {"code", "name", "street_code", "community_code"} <= set(props)
    assert all(f["properties"]["street_code"] == STREET for f in r.json["features"])
    assert props["street_name"] and props["community_name"]  # GBK-free UTF-8 names


def test_supervisor_community_scope(signed_in, db):
    community = _a_community(db)
    dev = signed_in(role="supervisor", areas=[community])
    codes = _codes(dev.get(GRIDS))
    assert set(codes) == _active_codes(db, "g.community_code = %s", (community,))
    assert all(c.startswith(community) for c in codes) and codes


def test_supervisor_with_two_areas_sees_both(signed_in, db):
    community = _a_community(db)
    dev = signed_in(role="supervisor", areas=[STREET, community])
    codes = set(_codes(dev.get(GRIDS)))
    assert codes == _active_codes(db, "g.street_code = %s OR g.community_code = %s",
                                  (STREET, community))


def test_field_user_sees_only_their_grids(signed_in, inside_points):
    mine = sorted(inside_points)[:3]
    dev = signed_in(grids=mine)
    assert _codes(dev.get(GRIDS)) == mine
    leader = signed_in(role="grid_leader", grids=mine[:1])
    assert _codes(leader.get(GRIDS)) == mine[:1]


def test_admin_sees_every_active_grid(signed_in, db):
    codes = _codes(signed_in(role="admin").get(GRIDS))
    assert set(codes) == _active_codes(db)
    assert len(codes) >= 310


def test_old_versions_are_not_listed(grids_cli, signed_in, patch, layer, tmp_path):
    v1 = write_geojson(tmp_path / "v1.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature(patch.polygon(1, 0), code=patch.code(2))])
    v2 = write_geojson(tmp_path / "v2.geojson", [feature(patch.polygon(0, 0, 2),
                                                         code=patch.code(1))])
    assert grids_cli("import", v1, "--layer", layer).exit_code == 0
    assert grids_cli("import", v2, "--layer", layer).exit_code == 0
    admin = signed_in(role="admin")
    bbox = f"{patch.lon0 - 0.01},{patch.lat0 - 0.01},{patch.lon0 + 0.01},{patch.lat0 + 0.01}"
    r = admin.get(f"{GRIDS}?bbox={bbox}")
    assert _codes(r) == [patch.code(1)]
    assert r.json["features"][0]["properties"]["layer"] == layer
    geom = shapely.geometry.shape(r.json["features"][0]["geometry"])
    assert geom.area == pytest.approx(4e-6, rel=1e-6)  # the 2 x 2 cell version


def test_bbox_filter(signed_in, inside_points, db):
    admin = signed_in(role="admin")
    code, (lon, lat) = sorted(inside_points.items())[5]
    bbox = (lon - 0.0005, lat - 0.0005, lon + 0.0005, lat + 0.0005)
    r = admin.get(f"{GRIDS}?bbox={','.join(map(str, bbox))}")
    codes = _codes(r)
    assert code in codes and len(codes) < 15
    window = shapely.geometry.box(*bbox)
    for f in r.json["features"]:
        assert shapely.geometry.shape(f["geometry"]).envelope.intersects(window)
    # bbox and scope together
    dev = signed_in(grids=[code])
    assert _codes(dev.get(f"{GRIDS}?bbox={','.join(map(str, bbox))}")) == [code]
    far = dev.get(f"{GRIDS}?bbox=100,20,100.1,20.1")
    assert _codes(far) == []


def test_simplify_in_metres(grids_cli, signed_in, patch, layer, tmp_path):
    centre = shapely.geometry.Point(*patch.centre(0, 0, size=2))
    circle = centre.buffer(0.0008, quad_segs=128)  # ~80 m radius, 513 vertices
    square = shapely.segmentize(shapely.geometry.box(*patch.ring(3, 0)[0], *patch.ring(3, 0)[2]),
                                0.00001)  # a vertex every metre
    path = write_geojson(tmp_path / "dense.geojson", [
        feature(shapely.geometry.mapping(circle), code=patch.code(1)),
        feature(shapely.geometry.mapping(square), code=patch.code(2))])
    assert grids_cli("import", path, "--layer", layer).exit_code == 0
    admin = signed_in(role="admin")
    bbox = f"bbox={patch.lon0 - 0.01},{patch.lat0 - 0.01},{patch.lon0 + 0.01},{patch.lat0 + 0.01}"

    def shapes(query):
        r = admin.get(f"{GRIDS}?{bbox}&{query}")
        assert _codes(r) == [patch.code(1), patch.code(2)]
        return [shapely.geometry.shape(f["geometry"]) for f in r.json["features"]]

    full, simple, coarse = shapes("simplify=0"), shapes("simplify=2"), shapes("simplify=20")
    counts = [[len(shapely.get_coordinates(g)) for g in gs] for gs in (full, simple, coarse)]
    assert counts[0][0] > 500 and counts[0][1] > 400
    assert counts[1][0] < counts[0][0] / 4 and counts[1][1] == 5  # the square: 4 corners
    assert counts[2][0] < counts[1][0]
    for a, b in zip(full, simple, strict=True):
        assert b.is_valid and b.geom_type == "MultiPolygon"
        assert abs(b.area - a.area) < 0.05 * a.area
    assert shapes("")[0].equals(full[0])


@pytest.mark.parametrize("query", [
    "bbox=1,2,3", "bbox=a,b,c,d", "bbox=119,32,118,33", "bbox=0,0,200,10", "bbox=1,2,3,nan",
    "bbox=,,,",
])
def test_bad_bbox_is_400_json(signed_in, query):
    r = signed_in(role="admin").get(f"{GRIDS}?{query}")
    assert r.status_code == 400
    assert r.json["error"]["code"] == "bad_request" and "bbox" in r.json["error"]["message"]


@pytest.mark.parametrize("query", ["simplify=-1", "simplify=abc", "simplify=5000"])
def test_bad_simplify_is_422_json(signed_in, query):
    r = signed_in(role="admin").get(f"{GRIDS}?{query}")
    assert r.status_code == 422 and "simplify" in str(r.json["error"])


def test_grids_need_a_token(client):
    assert client.get(GRIDS).status_code == 401
    assert client.get(AREAS).status_code == 401


def _district(body, code="320105"):
    [district] = [d for d in body["districts"] if d["code"] == code]
    return district


def test_areas_for_admin(signed_in, db):
    body = signed_in(role="admin").get(AREAS).json
    jianye = _district(body)
    assert jianye["grids"] == 310
    assert [s["code"] for s in jianye["streets"]] == [f"320105{n:03d}" for n in range(1, 7)]
    for street in jianye["streets"]:
        assert street["name"] and street["name"].endswith("街道")
        assert street["grids"] == sum(c["grids"] for c in street["communities"])
        assert all(c["code"].startswith(street["code"]) and c["name"]
                   for c in street["communities"])
        in_db = db.execute("SELECT count(*) FROM grid g JOIN grid_layer l "
                           "ON l.active_version_id = g.layer_version_id "
                           "WHERE g.street_code = %s", (street["code"],)).fetchone()[0]
        assert street["grids"] == in_db
    communities = sum(len(s["communities"]) for s in jianye["streets"])
    assert 30 <= communities <= 40


def test_areas_are_scoped(signed_in, db, inside_points):
    street = signed_in(role="supervisor", areas=[STREET]).get(AREAS).json
    [only] = _district(street)["streets"]
    assert only["code"] == STREET
    community = _a_community(db)
    comm = signed_in(role="supervisor", areas=[community]).get(AREAS).json
    [s] = _district(comm)["streets"]
    assert [c["code"] for c in s["communities"]] == [community]
    assert s["grids"] == len(_active_codes(db, "g.community_code = %s", (community,)))
    code = sorted(inside_points)[0]
    mine = signed_in(grids=[code]).get(AREAS).json
    assert _district(mine)["grids"] == 1
    assert mine["districts"][0]["streets"][0]["communities"][0]["code"] == code[:12]
