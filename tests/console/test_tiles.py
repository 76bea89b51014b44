"""Vector tiles: layers, scope, low-zoom aggregation, caching and bad requests."""

from __future__ import annotations

from tests.console.helpers import inspection, new_incident, tile_of, tile_url
from tests.console.mvt import decode

STREET = "320105003"
GRID = "320105003001005"
OTHER_STREET = "320105004"


def _features(resp, layer):
    assert resp.status_code == 200, resp.get_data()[:300]
    assert resp.mimetype == "application/vnd.mapbox-vector-tile"
    data = resp.get_data()
    return decode(data).get(layer, {"features": []})["features"] if data else []


def test_inspections_raw_points_at_high_zoom_match_st_asmvtgeom(signed_in, inside_points, db):
    p = inside_points[GRID]
    dev = signed_in(grids=[GRID])
    ops = [dev.op("inspection", "create", inspection(k, p)) for k in ("patrol", "visit", "record")]
    assert [r["status"] for r in dev.push(*ops)] == ["applied"] * 3
    sup = signed_in(role="supervisor", areas=[STREET])
    z, x, y = tile_of(*p, 16)
    feats = _features(sup.get(tile_url("inspections", z, x, y)), "inspections")
    mine = {f["properties"]["id"]: f for f in feats if f["properties"]["id"] in
            {o["id"] for o in ops}}
    assert len(mine) == 3
    f = mine[ops[1]["id"]]
    assert f["type"] == "Point" and f["properties"]["kind"] == "visit"
    assert f["properties"]["grid_code"] == GRID and f["properties"]["cluster"] is False
    expect = db.execute(
        "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_AsMVTGeom(ST_Transform(geom, 3857), "
        "ST_TileEnvelope(%s, %s, %s), 4096, 64, true) AS g FROM record WHERE id = %s) s",
        (z, x, y, ops[1]["id"])).fetchone()
    got = f["geometry"][0][0]
    assert abs(got[0] - expect[0]) <= 1 and abs(got[1] - expect[1]) <= 1
    # kind filter
    only = _features(sup.get(tile_url("inspections", z, x, y, "kind=visit,record")), "inspections")
    kinds = {g["properties"]["kind"] for g in only}
    assert kinds <= {"visit", "record"} and ops[1]["id"] in {g["properties"]["id"] for g in only}


def test_scope_other_street_and_other_grid_see_nothing(signed_in, inside_points):
    p = inside_points[GRID]
    dev = signed_in(grids=[GRID])
    op = dev.op("inspection", "create", inspection("visit", p))
    dev.push(op)
    inc = new_incident(dev, p)
    z, x, y = tile_of(*p, 16)
    other = signed_in(role="supervisor", areas=[OTHER_STREET])
    stranger = signed_in(grids=["320105004001001"])
    for who in (other, stranger):
        for layer in ("inspections", "incidents", "heat"):
            r = who.get(tile_url(layer, z, x, y))
            ids = {f["properties"].get("id") for f in _features(r, layer)}
            assert op["id"] not in ids and inc not in ids
            assert sum(f["properties"].get("count", 0) for f in _features(r, layer)) == 0
        assert _features(who.get(tile_url("grids", z, x, y)), "grids") == [] or all(
            not f["properties"]["code"].startswith(STREET)
            for f in _features(who.get(tile_url("grids", z, x, y)), "grids"))
    own = signed_in(role="supervisor", areas=[STREET])
    ids = {f["properties"]["id"] for f in _features(own.get(tile_url("incidents", z, x, y)),
                                                     "incidents")}
    assert inc in ids


def test_low_zoom_tiles_are_clusters_with_counts(signed_in, inside_points):
    grid = "320105003002003"
    p = inside_points[grid]
    dev = signed_in(grids=[grid])
    ops = [dev.op("inspection", "create", inspection("visit" if i % 3 else "patrol", p))
           for i in range(30)]
    dev.push(*ops)
    sup = signed_in(role="supervisor", areas=[grid])
    for z in (12, 13):
        feats = _features(sup.get(tile_url("inspections", *tile_of(*p, z))), "inspections")
        assert feats and all(f["properties"]["cluster"] is True for f in feats)
        assert all("id" not in f["properties"] for f in feats)
        total = sum(f["properties"]["count"] for f in feats)
        assert total >= 30
        assert sum(f["properties"]["patrol"] for f in feats) >= 10
        assert sum(f["properties"]["visit"] for f in feats) >= 20
    raw = _features(sup.get(tile_url("inspections", *tile_of(*p, 14))), "inspections")
    assert len({f["properties"]["id"] for f in raw} & {o["id"] for o in ops}) == 30
    heat = _features(sup.get(tile_url("heat", *tile_of(*p, 12))), "heat")
    assert sum(f["properties"]["count"] for f in heat) >= 30


def test_etag_304_and_cache_headers(signed_in, inside_points):
    grid = "320105003004001"
    p = inside_points[grid]
    dev = signed_in(grids=[grid])
    dev.push(dev.op("inspection", "create", inspection("visit", p)))
    sup = signed_in(role="supervisor", areas=[STREET])
    url = tile_url("inspections", *tile_of(*p, 15))
    first = sup.get(url)
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert tag.startswith('"') and first.headers["Cache-Control"].startswith("private, max-age=")
    assert "Authorization" in first.headers["Vary"]
    again = sup.client.get(url, headers={**sup.headers, "If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == tag
    # Other filters or another caller: another ETag.
    assert sup.get(url + "?kind=visit").headers["ETag"] != tag
    assert signed_in(role="supervisor", areas=[STREET]).get(url).headers["ETag"] != tag
    # New data: the old ETag no longer matches.
    dev.push(dev.op("inspection", "create", inspection("record", p)))
    fresh = sup.client.get(url, headers={**sup.headers, "If-None-Match": tag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != tag


def test_incident_traffic_light_green_yellow_red_in_sql(signed_in, inside_points, db):
    grid = "320105003004002"
    p = inside_points[grid]
    dev = signed_in(grids=[grid])
    rid = new_incident(dev, p)
    sup = signed_in(role="supervisor", areas=[STREET])
    url = tile_url("incidents", *tile_of(*p, 16))

    def light():
        feats = _features(sup.get(url), "incidents")
        return next(f["properties"] for f in feats if f["properties"]["id"] == rid)["light"]

    assert light() == "green"
    db.execute("UPDATE record SET due_at = now() + interval '5 minutes' WHERE id = %s", (rid,))
    db.execute("UPDATE record_version SET created_at = now() - interval '60 minutes' "
               "WHERE record_id = %s", (rid,))
    # history only changes with a write, which stamps change_seq (the rollups follow it)
    db.execute("UPDATE record SET change_seq = nextval('change_seq') WHERE id = %s", (rid,))
    assert light() == "yellow"
    db.execute("UPDATE record SET due_at = now() - interval '1 minute' WHERE id = %s", (rid,))
    assert light() == "red"
    low = _features(sup.get(tile_url("incidents", *tile_of(*p, 12))), "incidents")
    assert sum(f["properties"]["red"] for f in low) >= 1
    only = _features(sup.get(url + "?status=closed"), "incidents")
    assert rid not in {f["properties"]["id"] for f in only}


def test_grids_layer_measures(signed_in, inside_points, db):
    grid, idle = "320105003003004", "320105003003005"
    p = inside_points[grid]
    dev = signed_in(grids=[grid])
    dev.push(dev.op("inspection", "create", inspection("patrol", p)),
             dev.op("inspection", "create", inspection("visit", p)))
    late = new_incident(dev, p)
    new_incident(dev, p)
    db.execute("UPDATE record SET due_at = now() - interval '1 hour' WHERE id = %s", (late,))
    sup = signed_in(role="supervisor", areas=[grid, idle])
    z, x, y = tile_of(*p, 13)

    def values(measure):
        feats = _features(sup.get(tile_url("grids", z, x, y, f"measure={measure}")), "grids")
        assert {f["properties"]["code"] for f in feats} <= {grid, idle}
        assert all(f["type"] == "Polygon" for f in feats)
        return {f["properties"]["code"]: f["properties"].get("value") for f in feats}

    cov = values("coverage")
    assert cov[grid] == 1.0
    if idle in cov:
        assert cov[idle] == 0.0
    assert values("open")[grid] >= 2
    assert values("overdue")[grid] >= 1
    since = values("days_since_visit")
    assert since[grid] == 0
    if idle in since:
        assert since[idle] is None  # never visited: no value
    r = sup.get(tile_url("grids", z, x, y, "measure=bogus"))
    assert r.status_code == 422 and "measure" in str(r.json["error"]["details"])


def test_tracks_are_lines_at_high_zoom(signed_in, inside_points, db):
    grid = "320105003004003"
    p = inside_points[grid]
    dev = signed_in(grids=[grid])
    op = dev.op("inspection", "create", inspection("patrol", p))
    dev.push(op)
    assert db.execute("SELECT ST_NPoints(track) FROM record WHERE id = %s",
                      (op["id"],)).fetchone()[0] == 3
    sup = signed_in(role="supervisor", areas=[STREET])
    feats = _features(sup.get(tile_url("tracks", *tile_of(*p, 16))), "tracks")
    line = next(f for f in feats if f["properties"]["id"] == op["id"])
    assert line["type"] == "LineString" and len(line["geometry"][0]) >= 2
    low = _features(sup.get(tile_url("tracks", *tile_of(*p, 12))), "tracks")
    assert low and all(f["properties"]["cluster"] for f in low)


def test_bad_tile_requests_are_json_errors(signed_in, client):
    sup = signed_in(role="supervisor", areas=[STREET])
    r = sup.get("/api/v1/tiles/nope/1/0/0.mvt")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    for path in ("abc/0/0", "1/2/0", "1/0/-1", "23/0/0", "3/1.5/0"):
        r = sup.get(f"/api/v1/tiles/inspections/{path}.mvt")
        assert r.status_code == 400 and r.json["error"]["code"] == "bad_request", path
    for query in ("from=yesterday", "from=2026-11-24&to=2026-11-20", "kind=walk",
                  "status=done"):
        r = sup.get(tile_url("inspections", 12, 3425, 1655, query))
        assert r.status_code in (400, 422) and "error" in r.json, query
    assert client.get(tile_url("inspections", 12, 3425, 1655)).status_code == 401


def test_date_filter(signed_in, inside_points, db):
    grid = "320105003004004"
    p = inside_points[grid]
    dev = signed_in(grids=[grid])
    op = dev.op("inspection", "create", inspection("visit", p))
    dev.push(op)
    db.execute("UPDATE record SET created_at = '2026-01-10T10:00:00+08:00' WHERE id = %s",
               (op["id"],))
    sup = signed_in(role="supervisor", areas=[STREET])
    url = tile_url("inspections", *tile_of(*p, 16))

    def ids(q):
        return {f["properties"]["id"] for f in _features(sup.get(url + q), "inspections")}

    assert op["id"] in ids("?from=2026-01-10&to=2026-01-10")
    assert op["id"] not in ids("?from=2026-01-11")
    assert op["id"] not in ids("?to=2026-01-09")
    assert op["id"] in ids(f"?street={STREET}")
    assert op["id"] not in ids(f"?street={OTHER_STREET}")
