"""OGC API Features items against the bare PostGIS query that feeds them.

    .venv/bin/python bench/ogc.py [--features 10000] [--rounds 5]

Loads ``--features`` inspections into a scratch database (``INSERT … SELECT``), then
times, best of ``--rounds``:

1. bare: ``SELECT ST_AsGeoJSON(geom) FROM record …`` for the same rows, fetched into
   Python (geometry only), and ``ST_AsGeoJSON(row)`` (PostGIS's own feature writer)
   with the same properties as ``items`` (the floor of a GeoJSON service);
2. items: ``GET /api/v1/ogc/collections/inspections/items?limit=N`` as an admin,
   in process through Flask's test client (authentication, scope, properties,
   the FeatureCollection, no gzip), the body read whole;
3. the same in ``crs=EPSG:4490`` (latitude first).

Prints features/s and the ratio items/bare (the goal is ≥ 0.5). Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import machine, make_user, scratch_database
from sqlalchemy import text


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    opts = parser.parse_args()
    n = opts.features
    print(machine())
    with scratch_database() as url:
        make_user(url, "bench-admin", "admin")
        from server import create_app
        from server.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            uid = db.session.execute(text(
                "SELECT id FROM app_user WHERE username = 'bench-admin'")).scalar_one()
            db.session.execute(text(f"""
                INSERT INTO record (id, entity, version, data, geom, grid_id, grid_code, match,
                                    created_by, created_device, created_at, updated_at)
                SELECT gen_random_uuid(), 'inspection', 1, jsonb_build_object(
                           'kind', 'visit', 'occurred_at', '2026-11-23T08:15:00+08:00',
                           'note', '基准 ' || i),
                       ST_SetSRID(ST_MakePoint(118.70 + random() * 0.1,
                                               31.95 + random() * 0.1), 4326),
                       NULL, NULL, 'outside', {uid}, 'bench',
                       now() - i * interval '1 second', now()
                FROM generate_series(1, {n}) AS i"""))
            db.session.commit()
            db.session.execute(text("ANALYZE record"))
            db.session.commit()

            def bare() -> None:
                rows = db.session.execute(text(
                    "SELECT ST_AsGeoJSON(geom, 7) FROM record "
                    "WHERE entity = 'inspection' AND NOT deleted AND geom IS NOT NULL "
                    "ORDER BY created_at, id LIMIT :n"), {"n": n}).all()
                assert len(rows) == n
                db.session.rollback()

            t_bare = best(bare, opts.rounds)

            def bare_rows() -> None:
                # PostGIS's own feature writer with the same properties as ``items``.
                rows = db.session.execute(text(
                    "SELECT ST_AsGeoJSON(s.*, 'geom', 7) FROM ("
                    " SELECT r.id, r.kind, r.data->>'note' AS note, r.grid_code, r.match,"
                    " u.username AS created_by, r.data->>'occurred_at' AS occurred_at,"
                    " r.created_at, r.data->>'incident_id' AS incident_id, r.geom"
                    " FROM record r JOIN app_user u ON u.id = r.created_by"
                    " WHERE r.entity = 'inspection' AND NOT r.deleted AND r.geom IS NOT NULL"
                    " ORDER BY r.created_at, r.id LIMIT :n) AS s"), {"n": n}).all()
                assert len(rows) == n
                db.session.rollback()

            t_rows = best(bare_rows, opts.rounds)

        client = app.test_client()
        r = client.post("/api/v1/auth/token", json={
            "username": "bench-admin", "password": "bench-password", "device_id": "bench-ogc"})
        headers = {"Authorization": "Bearer " + r.json["token"]}

        def items(query: str = "") -> None:
            resp = client.get(f"/api/v1/ogc/collections/inspections/items?limit={n}{query}",
                              headers=headers)
            assert resp.status_code == 200 and resp.json["numberReturned"] == n, resp.status
            resp.get_data()

        t_items = best(items, opts.rounds)
        t_4490 = best(lambda: items("&crs=http://www.opengis.net/def/crs/EPSG/0/4490"),
                      opts.rounds)
        # The parse in ``items`` (to check the count) is the client's work: time it apart.
        body = client.get(f"/api/v1/ogc/collections/inspections/items?limit={n}",
                          headers=headers).get_data()
        import json

        t_parse = best(lambda: json.loads(body), opts.rounds)
        print(f"{n:,} features, best of {opts.rounds}")
        print(f"  bare ST_AsGeoJSON(geom)   : {n / t_bare:>10,.0f} features/s "
              f"({t_bare * 1000:.0f} ms; geometry only)")
        print(f"  bare ST_AsGeoJSON(row)    : {n / t_rows:>10,.0f} features/s "
              f"({t_rows * 1000:.0f} ms; features with the same properties)")
        for name, t in (("items (CRS84)", t_items), ("items (EPSG:4490)", t_4490)):
            served = t - t_parse
            print(f"  {name:<26}: {n / served:>10,.0f} features/s ({served * 1000:.0f} ms, "
                  f"{len(body) / 1e6:.1f} MB); ratio to geometry only "
                  f"{t_bare / served:.2f}, to features {t_rows / served:.2f}")


if __name__ == "__main__":
    main()
