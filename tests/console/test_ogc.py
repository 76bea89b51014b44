"""OGC API Features at /api/v1/ogc/ against the real database."""

from __future__ import annotations

import pytest

from tests.console.helpers import incident, inspection

STREET = "320105003"
GRID = "320105003002001"
CGCS = "http://www.opengis.net/def/crs/EPSG/0/4490"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def test_landing_conformance_collections_and_401(client, signed_in):
    assert client.get("/api/v1/ogc/").status_code == 401
    assert client.get("/api/v1/ogc/collections/grids/items").status_code == 401
    sup = signed_in(role="supervisor", areas=[STREET])
    land = sup.get("/api/v1/ogc/").json
    rels = {link["rel"] for link in land["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= rels
    conf = sup.get("/api/v1/ogc/conformance").json["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    colls = sup.get("/api/v1/ogc/collections").json["collections"]
    assert [c["id"] for c in colls] == ["grids", "inspections", "incidents", "tracks"]
    for c in colls:
        assert c["crs"] == [CRS84, CGCS] and c["storageCrs"] == CRS84
        assert any(link["rel"] == "items" for link in c["links"])
    one = sup.get("/api/v1/ogc/collections/tracks").json
    assert one["id"] == "tracks"
    lon0, lat0, lon1, lat1 = one["extent"]["spatial"]["bbox"][0]
    assert 118 < lon0 < lon1 < 119 and 31 < lat0 < lat1 < 33


def test_grids_scoped_paged_with_next_links(signed_in, db):
    sup = signed_in(role="supervisor", areas=[STREET])
    expected = {r[0] for r in db.execute(
        "SELECT g.code FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id "
        "WHERE g.street_code = %s", (STREET,))}
    assert len(expected) > 5
    url, seen, pages = "/api/v1/ogc/collections/grids/items?limit=4", [], 0
    while url:
        r = sup.get(url)
        assert r.status_code == 200 and r.mimetype == "application/geo+json"
        assert r.headers["Content-Crs"] == f"<{CRS84}>"
        body = r.json
        assert body["numberReturned"] == len(body["features"]) <= 4
        seen += [f["properties"]["code"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if nxt:
            assert r.headers["Link"].startswith(f"<{nxt[0]}>") and 'rel="next"' in r.headers["Link"]
            url = nxt[0].split("localhost", 1)[1]
        else:
            assert "Link" not in r.headers
            url = None
        pages += 1
    assert len(seen) == len(set(seen)) and set(seen) == expected
    assert pages == -(-len(expected) // 4) or pages == len(expected) // 4 + 1
    # A field user sees only their own grid.
    field = signed_in(grids=[GRID])
    codes = [f["id"] for f in field.get("/api/v1/ogc/collections/grids/items").json["features"]]
    assert codes == [GRID]


def test_crs_4490_is_latitude_first_and_bbox_filters(signed_in):
    sup = signed_in(role="supervisor", areas=[STREET])
    plain = sup.get("/api/v1/ogc/collections/grids/items?limit=1").json["features"][0]
    r = sup.get(f"/api/v1/ogc/collections/grids/items?limit=1&crs={CGCS}")
    assert r.status_code == 200 and r.headers["Content-Crs"] == f"<{CGCS}>"
    flipped = r.json["features"][0]
    lon, lat = plain["geometry"]["coordinates"][0][0][0]
    assert flipped["geometry"]["coordinates"][0][0][0] == [lat, lon]
    assert 118 < lon < 119 and 31 < lat < 33
    # bbox around that vertex: the grid is in it; a bbox far away has nothing.
    box = f"{lon - 0.0005},{lat - 0.0005},{lon + 0.0005},{lat + 0.0005}"
    ids = {f["id"] for f in sup.get(f"/api/v1/ogc/collections/grids/items?bbox={box}").json["features"]}
    assert plain["id"] in ids and len(ids) < 10
    box_latfirst = f"{lat - 0.0005},{lon - 0.0005},{lat + 0.0005},{lon + 0.0005}"
    same = sup.get(f"/api/v1/ogc/collections/grids/items?bbox={box_latfirst}&bbox-crs={CGCS}")
    assert {f["id"] for f in same.json["features"]} == ids
    far = sup.get("/api/v1/ogc/collections/grids/items?bbox=100,20,100.1,20.1").json
    assert far["features"] == [] and far["numberReturned"] == 0


def test_records_tracks_scope_and_datetime(signed_in, inside_points, db):
    p = inside_points[GRID]
    dev = signed_in(grids=[GRID])
    visit = dev.op("inspection", "create", inspection("visit", p))
    patrol = dev.op("inspection", "create", inspection("patrol", p))
    inc = dev.op("incident", "create", incident(p))
    dev.push(visit, patrol, inc)
    db.execute("UPDATE record SET created_at = '2026-06-01T10:00:00+08' WHERE id = %s",
               (visit["id"],))
    sup = signed_in(role="supervisor", areas=[GRID])

    def ids(coll: str, query: str = "") -> set[str]:
        r = sup.get(f"/api/v1/ogc/collections/{coll}/items?limit=10000{query}")
        assert r.status_code == 200, r.json
        return {f["id"] for f in r.json["features"]}

    assert {visit["id"], patrol["id"]} <= ids("inspections")
    assert inc["id"] in ids("incidents") and inc["id"] not in ids("inspections")
    tracks = sup.get("/api/v1/ogc/collections/tracks/items?limit=10000").json["features"]
    mine = [f for f in tracks if f["id"] == patrol["id"]]
    assert mine and mine[0]["geometry"]["type"] == "LineString"
    assert len(mine[0]["geometry"]["coordinates"]) == 3 and mine[0]["properties"]["length_m"] > 0
    assert visit["id"] not in {f["id"] for f in tracks}
    # datetime: a day, an interval with open ends, an instant.
    assert visit["id"] in ids("inspections", "&datetime=2026-06-01")
    assert patrol["id"] not in ids("inspections", "&datetime=2026-06-01")
    assert visit["id"] in ids("inspections", "&datetime=../2026-06-02T00:00:00Z")
    assert visit["id"] not in ids("inspections", "&datetime=2026-06-02T00:00:00Z/..")
    assert patrol["id"] in ids("inspections", "&datetime=2026-06-02T00:00:00Z/..")
    assert visit["id"] in ids("inspections", "&datetime=2026-06-01T02:00:00Z")
    # Others' data stays out of scope.
    other = signed_in(role="supervisor", areas=["320105001"])
    for coll in ("inspections", "incidents", "tracks"):
        r = other.get(f"/api/v1/ogc/collections/{coll}/items?limit=10000")
        assert not {visit["id"], patrol["id"], inc["id"]} & {f["id"] for f in r.json["features"]}
    # Whitelisted properties only: nothing of a household, no raw data.
    props = next(f for f in sup.get("/api/v1/ogc/collections/incidents/items?limit=10000")
                 .json["features"] if f["id"] == inc["id"])["properties"]
    assert props["title"] == "占道经营" and "description" not in props and "phone" not in props


@pytest.mark.parametrize("url, status, field", [
    ("/api/v1/ogc/collections/households", 404, None),
    ("/api/v1/ogc/collections/households/items", 404, None),
    ("/api/v1/ogc/collections/grids/items?bbox=1,2,3", 400, "bbox"),
    ("/api/v1/ogc/collections/grids/items?bbox=119,32,118,31", 400, "bbox"),
    ("/api/v1/ogc/collections/grids/items?limit=0", 400, "limit"),
    ("/api/v1/ogc/collections/grids/items?limit=10001", 400, "limit"),
    ("/api/v1/ogc/collections/grids/items?limit=abc", 400, "limit"),
    ("/api/v1/ogc/collections/inspections/items?datetime=yesterday", 400, "datetime"),
    ("/api/v1/ogc/collections/inspections/items?datetime=../..", 400, "datetime"),
    ("/api/v1/ogc/collections/inspections/items?datetime=2026-11-23T08:00:00", 400, "datetime"),
    ("/api/v1/ogc/collections/inspections/items?datetime=2026-11-24/2026-11-23", 400, "datetime"),
    ("/api/v1/ogc/collections/grids/items?crs=EPSG:3857", 400, "crs"),
    ("/api/v1/ogc/collections/grids/items?bbox-crs=foo&bbox=1,2,3,4", 400, "bbox-crs"),
    ("/api/v1/ogc/collections/grids/items?offset=-1", 400, "offset"),
])
def test_errors_are_json(signed_in, url, status, field):
    r = signed_in(role="admin").get(url)
    assert r.status_code == status, r.get_data(as_text=True)
    err = r.json["error"]
    assert err["code"] in ("bad_request", "not_found") and err["message"]
    if field:
        assert field in err["details"]
