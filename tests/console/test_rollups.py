"""Rollups (server/services/rollups.py) equal the raw-record computation, after creates, a
move to another grid and street, and a delete; scope still holds on rollup-backed tiles."""

from __future__ import annotations

from tests.console.helpers import inspection, point, tile_of, tile_url
from tests.console.mvt import decode

GRID_A, STREET_A = "320105002001003", "320105002"
GRID_B, STREET_B = "320105005002004", "320105005"
TZ = "Asia/Shanghai"
WX = "((ST_X(geom) + 180.0) / 360.0 * 262144.0)"
WY = "((1.0 - asinh(tan(radians(ST_Y(geom)))) / pi()) / 2.0 * 262144.0)"
KINDS = ("patrol", "visit", "record", "report", "handle")


def _raw_tables(db):
    live = "entity = 'inspection' AND NOT deleted"
    kinds = "".join(f", count(*) FILTER (WHERE kind = '{k}')::int" for k in KINDS)
    days = db.execute(f"""
        SELECT grid_code, (created_at AT TIME ZONE '{TZ}')::date, count(*)::int{kinds},
               max(created_at), max(created_at) FILTER (WHERE kind = 'visit')
        FROM record WHERE {live} AND grid_code IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
    """).fetchall()
    cells = db.execute(f"""
        SELECT coalesce(grid_code, ''), coalesce(grid_id, 0), created_by,
               floor({WX})::int AS cx, floor({WY})::int AS cy, count(*)::int,
               round(sum({WX})::numeric, 4), round(sum({WY})::numeric, 4){kinds}
        FROM record WHERE {live} AND geom IS NOT NULL GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    """).fetchall()
    return days, cells


def _rolled_tables(db):
    kinds = "".join(f", n_{k}" for k in KINDS)
    days = db.execute(f"SELECT grid_code, day, n{kinds}, last_at, last_visit_at "
                      "FROM grid_day_activity ORDER BY 1, 2").fetchall()
    cells = db.execute(f"""
        SELECT grid_code, grid_id, created_by, cx, cy, n, round(sx::numeric, 4),
               round(sy::numeric, 4){kinds}
        FROM cell_activity ORDER BY 1, 2, 3, 4, 5""").fetchall()
    sums = "".join(f", sum(n_{k})::int" for k in KINDS)
    by_day = db.execute(f"""
        SELECT grid_code, grid_id, created_by, cx, cy, sum(n)::int, round(sum(sx)::numeric, 4),
               round(sum(sy)::numeric, 4){sums}
        FROM cell_day_activity GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5""").fetchall()
    return days, cells, by_day


def _assert_equal_to_raw(db):
    raw_days, raw_cells = _raw_tables(db)
    days, cells, by_day = _rolled_tables(db)
    assert days == raw_days
    assert cells == raw_cells
    assert by_day == raw_cells


def _count(resp, layer):
    assert resp.status_code == 200
    data = resp.get_data()
    feats = decode(data).get(layer, {"features": []})["features"] if data else []
    return sum(f["properties"]["count"] for f in feats)


def _raw_count(db, z, x, y, street, kinds=KINDS):
    from server.services.tiles import Tile

    lon0, lat0, lon1, lat1 = Tile(z, x, y).bounds()
    return db.execute("""
        SELECT count(*) FROM record r JOIN grid g ON g.id = r.grid_id
        WHERE r.entity = 'inspection' AND NOT r.deleted AND g.street_code = %s
          AND r.kind = ANY(%s)
          AND r.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)
    """, (street, list(kinds), lon0, lat0, lon1, lat1)).fetchone()[0]


def test_rollups_follow_creates_moves_and_deletes(app, signed_in, inside_points, db):
    from server.extensions import db as sa_db
    from server.services import rollups

    a, b = inside_points[GRID_A], inside_points[GRID_B]
    dev = signed_in(grids=[GRID_A, GRID_B])
    ops = [dev.op("inspection", "create", inspection(k, a, location=point(a, 0.0001 * i)))
           for i, k in enumerate(("patrol", "visit", "visit", "record", "handle", "patrol"))]
    assert [r["status"] for r in dev.push(*ops)] == ["applied"] * 6
    sup_a = signed_in(role="supervisor", areas=[STREET_A])
    sup_b = signed_in(role="supervisor", areas=[STREET_B])
    za = tile_of(*a, 12)
    zb = tile_of(*b, 12)

    # A request on a rollup-backed tile refreshes first; the tables equal the records.
    before_a = _count(sup_a.get(tile_url("inspections", *za)), "inspections")
    _assert_equal_to_raw(db)
    assert before_a == _raw_count(db, *za, STREET_A) and before_a >= 6
    assert _count(sup_a.get(tile_url("heat", *za)), "heat") == before_a
    patrols = _count(sup_a.get(tile_url("tracks", *za)), "tracks")
    assert patrols == _raw_count(db, *za, STREET_A, ["patrol"])
    visits = _count(sup_a.get(tile_url("inspections", *za, "kind=visit")), "inspections")
    assert visits == _raw_count(db, *za, STREET_A, ["visit"])
    # Scope: the other street's supervisor sees none of grid A in the rollups.
    assert _count(sup_b.get(tile_url("inspections", *za)), "inspections") == \
        _raw_count(db, *za, STREET_B)
    before_b = _count(sup_b.get(tile_url("inspections", *zb)), "inspections")

    # Move one visit from grid A (street 2) to grid B (street 5), delete the record.
    moved, gone = ops[1], ops[3]
    res = dev.push(
        dev.op("inspection", "update", {"location": point(b)}, id=moved["id"], base_version=1),
        dev.op("inspection", "delete", id=gone["id"], base_version=1))
    assert [r["status"] for r in res] == ["applied", "applied"], res
    assert db.execute("SELECT grid_code FROM record WHERE id = %s",
                      (moved["id"],)).fetchone()[0] == GRID_B
    with app.app_context():
        done = rollups.refresh()
        sa_db.session.remove()
    assert done["mode"] == "incremental" and done["keys"] >= 2
    _assert_equal_to_raw(db)
    assert _count(sup_a.get(tile_url("inspections", *za)), "inspections") == before_a - 2
    after_b = _count(sup_b.get(tile_url("inspections", *zb)), "inspections")
    assert after_b == before_b + 1 == _raw_count(db, *zb, STREET_B)

    # Statistics read the rollups too and agree.
    row = next(r for r in sup_a.get("/api/v1/stats?level=grid").json["rows"]
               if r["unit"] == GRID_A)
    assert row["visits"] >= 1 and row["records"] >= 0
    raw = db.execute(f"""
        SELECT count(*) FILTER (WHERE kind = 'visit'), count(*) FILTER (WHERE kind = 'patrol')
        FROM record WHERE entity = 'inspection' AND NOT deleted AND grid_code = %s
          AND (created_at AT TIME ZONE '{TZ}')::date > (now() AT TIME ZONE '{TZ}')::date - 7
    """, (GRID_A,)).fetchone()
    assert (row["visits"], row["patrols"]) == tuple(raw)

    # Nothing pending: a refresh does nothing; --full rebuilds the same tables.
    with app.app_context():
        assert rollups.refresh()["mode"] == "none"
        assert rollups.refresh(full=True)["mode"] == "full"
        sa_db.session.remove()
    _assert_equal_to_raw(db)


def test_crowded_z14_tile_becomes_clusters(app, signed_in, inside_points):
    p = inside_points[GRID_A]
    dev = signed_in(grids=[GRID_A])
    dev.push(*[dev.op("inspection", "create", inspection("visit", p)) for _ in range(5)])
    sup = signed_in(role="supervisor", areas=[GRID_A])
    url = tile_url("inspections", *tile_of(*p, 14))
    saved = app.config.get("TILES_MAX_POINTS", 3000)
    app.config["TILES_MAX_POINTS"] = 3
    try:
        r = sup.get(url)
        feats = decode(r.get_data())["inspections"]["features"]
        assert all(f["properties"]["cluster"] for f in feats)
        assert sum(f["properties"]["count"] for f in feats) >= 5
    finally:
        app.config["TILES_MAX_POINTS"] = saved
    feats = decode(sup.get(url).get_data())["inspections"]["features"]
    assert feats and not any(f["properties"]["cluster"] for f in feats)


def test_refresh_cli(app):
    result = app.test_cli_runner().invoke(args=["rollups", "refresh"])
    assert result.exit_code == 0, result.output
    assert '"mode"' in result.output
