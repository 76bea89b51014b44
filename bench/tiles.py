"""Benchmark the console's vector tiles and statistics on a district-sized dataset.

Run: ``.venv/bin/python bench/tiles.py [--records 1000000] [--grids 2521] [--days 30]``

It creates a scratch database (``scripts/dbtool.py``), imports ``--grids`` grids made by
subdividing the real Jianye district boundary (GCJ-02, through the real ``grids import``
command), loads ``--records`` inspections (a mix of the five duties; patrols carry a
track) and ``--incidents`` incidents with a status history straight in SQL
(``INSERT … SELECT generate_series``, not the push API), then prints for zooms 12–16:

- tile p50/p95 through the HTTP endpoint (gunicorn, 2 workers × 2 threads, one client on
  one keep-alive connection, gzip bodies not decompressed: ``harness.KeepAlive``);
- the same tiles through the bare ``ST_AsMVT`` statement the endpoint runs (the limit);
- their ratio, and the statistics query time (HTTP and bare SQL);
- the HTTP floor: an unknown path (a JSON 404 that touches no database) on the same
  connection after every tile, and the ratio with it taken off, ``(HTTP − floor) / SQL``:
  what the endpoint adds to the statement besides HTTP itself.

After loading it builds the rollups (``flask rollups refresh --full``) and times an
incremental refresh of 1,000 changed inspections; ``--url`` upgrades the database and
folds in whatever changed before measuring.

Goals (issue 6): endpoint within 1.5× bare SQL, p95 < 100 ms at every zoom, stats < 300 ms.
Benchmarks print figures; they never assert on time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    ROOT,
    SERVER,
    KeepAlive,
    flask,
    gunicorn,
    machine,
    make_user,
    scratch_database,
    sign_in,
)

from scripts import dbtool

BOUNDARY = ROOT / "demo" / "jianye-district-boundary-gcj02.geojson"
LAYERS = ("inspections", "incidents", "grids", "tracks", "heat")
ZOOMS = (12, 13, 14, 15, 16)
STREETS = 6


# --- data --------------------------------------------------------------------------------

def make_grids(target: int) -> list[dict]:
    """``target`` square cells over the boundary's bbox, clipped to it, largest kept."""
    boundary = shape(json.loads(BOUNDARY.read_text(encoding="utf-8")))
    lo, hi = 1e-4, 0.05
    for _ in range(40):
        size = (lo + hi) / 2
        cells = _cells(boundary, size)
        if len(cells) >= target:
            lo = size
        else:
            hi = size
    cells = _cells(boundary, lo)
    cells.sort(key=lambda c: -c[2].area)
    cells = sorted(cells[:target], key=lambda c: (c[0], c[1]))
    # Streets are vertical bands of columns; communities runs of ~20 grids within one.
    cols = sorted({c[0] for c in cells})
    band = max(1, math.ceil(len(cols) / STREETS))
    features, counters = [], {}
    for col, _row, geom in cells:
        street = min(cols.index(col) // band, STREETS - 1) + 1
        k = counters.get(street, 0)
        counters[street] = k + 1
        community, grid = k // 20 + 1, k % 20 + 1
        code = f"320105{street:03d}{community:03d}{grid:03d}"
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": {
            "code": code, "name": f"基准{street:02d}街道{community:03d}社区{grid:02d}网格",
            "street": f"基准{street:02d}街道", "street_code": code[:9],
            "community": f"基准{street:02d}街道{community:03d}社区", "community_code": code[:12],
            "kind": "rural" if street == 1 else "urban", "households": 250}})
    return features


def _cells(boundary, size: float) -> list[tuple[int, int, object]]:
    x0, y0, x1, y1 = boundary.bounds
    nx, ny = math.ceil((x1 - x0) / size), math.ceil((y1 - y0) / size)
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny))
    ii, jj = ii.ravel(), jj.ravel()
    boxes = shapely.box(x0 + ii * size, y0 + jj * size, x0 + (ii + 1) * size,
                        y0 + (jj + 1) * size)
    clipped = shapely.intersection(boxes, boundary)
    out = []
    for i, j, geom in zip(ii.tolist(), jj.tolist(), clipped, strict=True):
        if geom.is_empty or geom.area < 0.3 * size * size:
            continue
        if geom.geom_type != "Polygon":
            parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
            if not parts:
                continue
            geom = max(parts, key=lambda g: g.area)
        out.append((i, j, geom))
    return out


KIND_SQL = ("CASE WHEN s.rk < 0.40 THEN 'patrol' WHEN s.rk < 0.65 THEN 'visit' "
            "WHEN s.rk < 0.75 THEN 'record' WHEN s.rk < 0.90 THEN 'handle' ELSE 'report' END")


def load_records(conn, records: int, incidents: int, days: int, user_id: int) -> None:
    conn.execute("""
        CREATE TEMP TABLE gx AS
        SELECT row_number() OVER (ORDER BY g.id) AS rn, g.id, g.code, ST_XMin(g.geom) AS x0,
               ST_XMax(g.geom) AS x1, ST_YMin(g.geom) AS y0, ST_YMax(g.geom) AS y1
        FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id
    """)
    n = conn.execute("SELECT count(*) FROM gx").fetchone()[0]
    conn.execute("CREATE UNIQUE INDEX ON gx (rn)")
    chunk = 100_000
    for start in range(1, records + 1, chunk):
        stop = min(records, start + chunk - 1)
        t = time.perf_counter()
        conn.execute(f"""
            INSERT INTO record (id, entity, version, data, geom, grid_id, grid_code, match,
                                created_by, created_device, created_at, updated_at, change_seq)
            SELECT gen_random_uuid(), 'inspection', 1, jsonb_build_object(
                       'kind', k.kind, 'occurred_at', to_char(s.ts, 'YYYY-MM-DD"T"HH24:MI:SSOF'),
                       'location', jsonb_build_object('type', 'Point',
                            'coordinates', jsonb_build_array(p.x, p.y)),
                       'location_accuracy_m', 8, 'note', '基准 ' || k.kind)
                   || CASE WHEN k.kind = 'patrol' THEN jsonb_build_object(
                       'track', jsonb_build_object('type', 'LineString', 'coordinates',
                           jsonb_build_array(jsonb_build_array(p.x - 0.0008, p.y - 0.0004),
                                             jsonb_build_array(p.x - 0.0003, p.y + 0.0002),
                                             jsonb_build_array(p.x, p.y),
                                             jsonb_build_array(p.x + 0.0004, p.y + 0.0005),
                                             jsonb_build_array(p.x + 0.0009, p.y - 0.0001))),
                       'started_at', to_char(s.ts, 'YYYY-MM-DD"T"HH24:MI:SSOF'),
                       'ended_at', to_char(s.ts, 'YYYY-MM-DD"T"HH24:MI:SSOF'))
                     ELSE '{{}}'::jsonb END,
                   ST_SetSRID(ST_MakePoint(p.x, p.y), 4326), gx.id, gx.code, 'inside',
                   {user_id}, 'bench', s.ts, s.ts, nextval('change_seq')
            FROM (SELECT i, 1 + floor(random() * {n})::int AS gi, random() AS rx,
                         random() AS ry, random() AS rk,
                         now() - random() * interval '{days} days' AS ts
                  FROM generate_series({start}, {stop}) AS i) AS s
            JOIN gx ON gx.rn = s.gi
            CROSS JOIN LATERAL (SELECT {KIND_SQL} AS kind) AS k
            CROSS JOIN LATERAL (SELECT gx.x0 + s.rx * (gx.x1 - gx.x0) AS x,
                                       gx.y0 + s.ry * (gx.y1 - gx.y0) AS y) AS p
        """)
        print(f"  inspections {stop:>9,} ({time.perf_counter() - t:.1f} s)", flush=True)
    # Incidents with a realistic mix of statuses and a history of status changes.
    conn.execute(f"""
        CREATE TEMP TABLE inc AS
        SELECT gen_random_uuid() AS id, gx.id AS grid_id, gx.code,
               gx.x0 + random() * (gx.x1 - gx.x0) AS x, gx.y0 + random() * (gx.y1 - gx.y0) AS y,
               now() - random() * interval '{days} days' AS ts, random() < 0.2 AS urgent,
               (ARRAY['reported', 'accepted', 'filed', 'dispatched', 'handled', 'verified',
                      'closed', 'closed', 'closed', 'self_handled'])[1 + floor(random() * 10)::int]
                   AS status
        FROM (SELECT 1 + floor(random() * {n})::int AS gi
              FROM generate_series(1, {incidents})) AS s
        JOIN gx ON gx.rn = s.gi
    """)
    conn.execute(f"""
        INSERT INTO record (id, entity, version, data, geom, grid_id, grid_code, match, due_at,
                            created_by, created_device, created_at, updated_at, change_seq)
        SELECT inc.id, 'incident', 2, jsonb_build_object(
                   'title', '基准事件', 'category', '市容环境', 'urgent', inc.urgent,
                   'status', inc.status, 'department', '城管',
                   'location', jsonb_build_object('type', 'Point',
                        'coordinates', jsonb_build_array(inc.x, inc.y))),
               ST_SetSRID(ST_MakePoint(inc.x, inc.y), 4326), inc.grid_id, inc.code, 'inside',
               CASE WHEN inc.status IN ('closed') THEN NULL
                    ELSE now() + (random() * 4 - 1) * interval '1 hour' END,
               {user_id}, 'bench', inc.ts, inc.ts, nextval('change_seq')
        FROM inc
    """)
    conn.execute(f"""
        INSERT INTO record_version (record_id, version, data, changed, user_id, device_id,
                                    created_at)
        SELECT inc.id, 1, jsonb_build_object('status', 'reported', 'urgent', inc.urgent),
               ARRAY['status', 'urgent', 'title'], {user_id}, 'bench', inc.ts FROM inc
        UNION ALL
        SELECT inc.id, 2, jsonb_build_object('status', inc.status, 'urgent', inc.urgent),
               ARRAY['status'], {user_id}, 'bench', now() - random() * interval '3 hours'
        FROM inc
    """)
    print(f"  incidents {incidents:,} with history", flush=True)


# --- measuring ---------------------------------------------------------------------------

def tiles_for(z: int, bounds: tuple[float, float, float, float], k: int,
              rng: random.Random) -> list[tuple[int, int, int]]:
    def xy(lon: float, lat: float) -> tuple[int, int]:
        n = 2 ** z
        return (int((lon + 180) / 360 * n),
                int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))
    (xa, ya), (xb, yb) = xy(bounds[0], bounds[3]), xy(bounds[2], bounds[1])
    # The middle half of the district: tiles full of data, as a supervisor would pan.
    cx, cy, rx, ry = (xa + xb) / 2, (ya + yb) / 2, (xb - xa) / 4, (yb - ya) / 4
    all_tiles = [(z, x, y) for x in range(xa, xb + 1) for y in range(ya, yb + 1)
                 if abs(x - cx) <= rx + 0.5 and abs(y - cy) <= ry + 0.5]
    return rng.sample(all_tiles, min(k, len(all_tiles)))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--incidents", type=int, default=20_000)
    ap.add_argument("--grids", type=int, default=2521)
    ap.add_argument("--days", type=int, default=30, help="records spread over this many days")
    ap.add_argument("--samples", type=int, default=20, help="tiles per zoom")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--layers", default=",".join(LAYERS))
    ap.add_argument("--keep", action="store_true", help="keep the database; print its URL")
    ap.add_argument("--url", help="measure an existing database left by --keep")
    args = ap.parse_args()
    layers = [x for x in args.layers.split(",") if x]
    print(f"bench/tiles.py  {date.today()}  {machine()}")
    if args.url:  # reuse a database an earlier --keep run left behind
        flask(args.url, "db", "upgrade")
        print(f"rollups: {flask(args.url, 'rollups', 'refresh').strip()}")
        measure(args.url, layers, args)
        return
    if args.keep:
        url = f"{SERVER}/gridpatrol_bench_tiles_{secrets.token_hex(3)}"
        dbtool.create(url)
        flask(url, "db", "upgrade")
        load(url, args)
        print(f"kept: --url {url}")
        measure(url, layers, args)
        return
    with scratch_database(with_demo=False) as url:
        load(url, args)
        measure(url, layers, args)


def load(url: str, args: argparse.Namespace) -> None:
    import psycopg

    t = time.perf_counter()
    features = make_grids(args.grids)
    with tempfile.NamedTemporaryFile("w", suffix=".geojson", delete=False,
                                     encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f, ensure_ascii=False)
    out = flask(url, "grids", "import", f.name, "--datum", "gcj02", "--layer", "bench")
    os.unlink(f.name)
    print(f"grids: {out.strip().splitlines()[-1]} ({time.perf_counter() - t:.1f} s)")
    make_user(url, "bench_sup", "supervisor", "--area", "320105")
    pg = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(pg, autocommit=True) as conn:
        uid = conn.execute("SELECT id FROM app_user WHERE username = 'bench_sup'").fetchone()[0]
        t = time.perf_counter()
        load_records(conn, args.records, args.incidents, args.days, uid)
        for table in ("record", "record_version", "grid"):
            conn.execute(f"VACUUM ANALYZE {table}")
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('record'))").fetchone()
        print(f"loaded in {time.perf_counter() - t:.0f} s; record table {size[0]}")
    t = time.perf_counter()
    out = flask(url, "rollups", "refresh", "--full").strip()
    print(f"rollups built in {time.perf_counter() - t:.1f} s: {out}")
    with psycopg.connect(pg, autocommit=True) as conn:
        size = conn.execute("SELECT pg_size_pretty(sum(pg_total_relation_size(t))) FROM unnest("
                            "ARRAY['grid_day_activity', 'cell_day_activity', 'cell_activity', "
                            "'rollup_member', 'incident_rollup']::regclass[]) AS t").fetchone()
        print(f"rollup tables {size[0]}")
    incremental_refresh(url)


def incremental_refresh(url: str, changes: int = 1000) -> None:
    """What folding in ``changes`` changed inspections costs (the cron / first-request path)."""
    import psycopg

    pg = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"""
            UPDATE record SET change_seq = nextval('change_seq')
            WHERE id IN (SELECT id FROM record WHERE entity = 'inspection'
                         ORDER BY random() LIMIT {changes})""")
    print(f"rollups after {changes} changed inspections: "
          f"{flask(url, 'rollups', 'refresh').strip()}")


def measure(url: str, layers: list[str], args: argparse.Namespace) -> None:
    import psycopg

    pg = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(pg, autocommit=True) as conn:
        bounds = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                              "(SELECT ST_Extent(geom)::geometry AS e FROM grid) s").fetchone()
        counts = conn.execute("SELECT count(*) FILTER (WHERE entity = 'inspection'), "
                              "count(*) FILTER (WHERE entity = 'incident') FROM record").fetchone()
        grids = conn.execute("SELECT count(*) FROM grid").fetchone()[0]
    print(f"data: {grids:,} grids, {counts[0]:,} inspections, {counts[1]:,} incidents")
    with gunicorn(url) as base:
        session = sign_in(base, "bench_sup", f"bench-device-{secrets.token_hex(3)}")
        token = session.headers["Authorization"].split()[1]
        run(url, KeepAlive(base, token), token, bounds, layers, args)


def run(url: str, http: KeepAlive, token: str, bounds, layers, args) -> None:
    from sqlalchemy import text

    os.environ["DATABASE_URL"] = url
    from server import create_app
    from server.auth import load_caller
    from server.dbconn import CUSTOM_PLAN
    from server.extensions import db
    from server.services import stats as stats_service
    from server.services import tiles as tile_service

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    rng = random.Random(6)
    rows = []
    with app.app_context():
        caller = load_caller(token)
        conn = db.engine.connect()
        for layer in layers:
            query = {"grids": {"measure": "coverage"}}.get(layer, {})
            for z in ZOOMS:
                tiles = tiles_for(z, bounds, args.samples, rng)
                http_ms, sql_ms, sizes, floor_ms = [], [], [], []
                for rep in range(1 + args.repeat):  # the first pass warms caches
                    warm = rep == 0
                    for t in tiles:
                        tile = tile_service.Tile(*t)
                        sql, params = tile_service.tile_sql(caller, layer, tile, query)
                        s = time.perf_counter()
                        # Planned as the endpoint plans it: the same statement, run the same way.
                        body = conn.execute(text(sql), params,
                                            execution_options=tile_service.plan_for(tile)
                                            ).scalar_one()
                        e = time.perf_counter()
                        h0 = time.perf_counter()
                        status, _ = http.get(f"/api/v1/tiles/{layer}/{t[0]}/{t[1]}/{t[2]}.mvt",
                                             query)
                        h1 = time.perf_counter()
                        assert status == 200, status
                        floor_status, _ = http.get("/api/v1/no-such-path")
                        h2 = time.perf_counter()
                        assert floor_status == 404, floor_status
                        if not warm:
                            sql_ms.append((e - s) * 1000)
                            http_ms.append((h1 - h0) * 1000)
                            floor_ms.append((h2 - h1) * 1000)
                            sizes.append(len(body))
                sql50, floor50 = max(statistics.median(sql_ms), 1e-6), statistics.median(floor_ms)
                row = (layer, z, len(tiles), pct(http_ms, .5), pct(http_ms, .95),
                       pct(sql_ms, .5), pct(sql_ms, .95), statistics.median(http_ms) / sql50,
                       statistics.median(sizes) / 1024, max(sizes) / 1024, floor50,
                       (statistics.median(http_ms) - floor50) / sql50)
                rows.append(row)
                print(f"{layer:<11} z{z}  tiles={row[2]:<3} http p50 {row[3]:6.1f} p95 {row[4]:6.1f}"
                      f" | sql p50 {row[5]:6.1f} p95 {row[6]:6.1f} | ratio {row[7]:4.2f}"
                      f" | floor {row[10]:4.2f} ratio-floor {row[11]:4.2f}"
                      f" | size p50 {row[8]:6.1f} KiB max {row[9]:6.1f} KiB", flush=True)
        stats_rows = []
        conn.execute(text("SET jit = off"))  # as the statistics endpoint does
        for level in ("grid", "street"):
            for days in (7, args.days):
                q = {"level": level, "from": str(date.fromordinal(date.today().toordinal() - days + 1))}
                sql, params, _ = stats_service.stats_sql(caller, {
                    "level": level, "from_": date.fromisoformat(q["from"])})
                h, s_ = [], []
                for i in range(6):
                    s = time.perf_counter()
                    conn.execute(text(sql), params, execution_options=CUSTOM_PLAN).all()
                    e = time.perf_counter()
                    status, _ = http.get("/api/v1/stats", q)
                    f = time.perf_counter()
                    assert status == 200, status
                    if i:
                        s_.append((e - s) * 1000)
                        h.append((f - e) * 1000)
                stats_rows.append((level, days, statistics.median(h), statistics.median(s_)))
                print(f"stats level={level:<6} {days:>2} days: http p50 {statistics.median(h):6.1f} ms"
                      f" | sql p50 {statistics.median(s_):6.1f} ms", flush=True)
        conn.close()
    print("\n| layer | zoom | tiles | HTTP p50 | HTTP p95 | SQL p50 | SQL p95 | HTTP/SQL | "
          "floor p50 | (HTTP − floor)/SQL | size p50 | size max |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.1f} ms | {r[4]:.1f} ms | {r[5]:.1f} ms | "
              f"{r[6]:.1f} ms | {r[7]:.2f}× | {r[10]:.1f} ms | {r[11]:.2f}× | {r[8]:.1f} KiB | "
              f"{r[9]:.1f} KiB |")
    print("\n| statistics | days | HTTP p50 | SQL p50 |\n|---|---|---|---|")
    for r in stats_rows:
        print(f"| level={r[0]} | {r[1]} | {r[2]:.1f} ms | {r[3]:.1f} ms |")


if __name__ == "__main__":
    main()
