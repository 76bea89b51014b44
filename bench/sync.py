"""Sync throughput over real HTTP to gunicorn, against the raw PostGIS limit.

Prints, in one run on the Jianye layer:
- creates with locations in 500-op pushes (ops/s);
- the same rows through COPY into a staging table and one INSERT … SELECT spatial join
  in raw psycopg: the limit;
- the same creates one op per request: the naive client;
- 500-op update pushes that merge with another device's edits;
- pull throughput.

Usage: .venv/bin/python bench/sync.py [--ops 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, gunicorn, machine, make_user, scratch_database, sign_in

TRUTH = json.loads((ROOT / "demo" / "jianye-points-truth.json").read_text(encoding="utf-8"))
POINTS = [(p["lon"], p["lat"]) for p in TRUTH["points"] if p["class"] != "outside"]


class Device:
    def __init__(self, session, device_id: str) -> None:
        self.session, self.device_id, self.seq = session, device_id, 0

    def op(self, action: str, data: dict, rid: str | None = None, base: int | None = None):
        self.seq += 1
        return {"op_id": str(uuid.uuid4()), "device_seq": self.seq, "entity": "household",
                "id": rid or str(uuid.uuid4()), "action": action, "base_version": base,
                "data": data}

    def push(self, base_url: str, ops: list[dict]) -> list[dict]:
        r = self.session.post(base_url + "/api/v1/sync/push",
                              json={"device_id": self.device_id, "ops": ops})
        r.raise_for_status()
        return r.json()["results"]


def household(rng: random.Random) -> dict:
    lon, lat = rng.choice(POINTS)
    return {"address": f"江东中路 {rng.randint(1, 999)} 号", "head_name": "王芳",
            "phone": "13812345678", "members": rng.randint(1, 6), "tags": [],
            "location": {"type": "Point", "coordinates": [lon, lat]}}


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


def bench_limit(url: str, rows: list[dict]) -> float:
    """COPY into a staging table plus one spatial-join INSERT: what PostGIS can do."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        user_id = conn.execute("SELECT min(id) FROM app_user").fetchone()[0]
        start = time.perf_counter()
        conn.execute("CREATE TEMP TABLE staging (id uuid, data jsonb, lon float8, lat float8)")
        with conn.cursor().copy("COPY staging FROM STDIN") as copy:
            for r in rows:
                lon, lat = r["location"]["coordinates"]
                copy.write_row((str(uuid.uuid4()), json.dumps(r, ensure_ascii=False), lon, lat))
        conn.execute("""
            INSERT INTO record (id, entity, version, data, geom, grid_id, grid_code, match,
                                created_by)
            SELECT s.id, 'household', 1, s.data, p.geom, g.id, g.code, 'inside', %s
            FROM staging s
            CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) AS geom) p
            LEFT JOIN LATERAL (
                SELECT g.id, g.code FROM grid g JOIN grid_layer l
                  ON l.active_version_id = g.layer_version_id
                WHERE ST_Intersects(g.geom, p.geom) ORDER BY g.code LIMIT 1) g ON TRUE
        """, (user_id,))
        conn.commit()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=1_000)
    args = parser.parse_args()
    rng = random.Random(1)
    codes = sorted({p["expect"] for p in TRUTH["points"] if p["expect"]})
    print(f"# bench/sync.py  {time.strftime('%Y-%m-%d %H:%M')}  {machine()}")
    with scratch_database() as url:
        make_user(url, "bench", "admin")
        make_user(url, "bench2", "grid_leader", *[x for c in codes for x in ("--grid", c)])
        with gunicorn(url) as base:
            dev = Device(sign_in(base, "bench", "bench-a"), "bench-a")
            other = Device(sign_in(base, "bench2", "bench-b"), "bench-b")
            rows = [household(rng) for _ in range(args.ops)]

            start = time.perf_counter()
            created: list[str] = []
            for i in range(0, len(rows), 500):
                ops = [dev.op("create", r) for r in rows[i:i + 500]]
                assert all(x["status"] == "applied" for x in dev.push(base, ops))
                created += [o["id"] for o in ops]
            t_push = time.perf_counter() - start

            t_limit = bench_limit(url, rows)

            start = time.perf_counter()
            for r in rows[: args.naive]:
                dev.push(base, [dev.op("create", r)])
            t_naive = time.perf_counter() - start

            # Another device edits one field of each record; ours then edits another field
            # from the old base: every op is a merge.
            n_upd = min(len(created), args.ops)
            for i in range(0, n_upd, 500):
                other.push(base, [other.op("update", {"note": "另一台设备"}, rid, 1)
                                  for rid in created[i:i + 500]])
            start = time.perf_counter()
            merged = 0
            for i in range(0, n_upd, 500):
                res = dev.push(base, [dev.op("update", {"members": 9}, rid, 1)
                                      for rid in created[i:i + 500]])
                merged += sum(x["status"] == "merged" for x in res)
            t_merge = time.perf_counter() - start

            start = time.perf_counter()
            pulled, cursor, more = 0, None, True
            while more:
                q = "?limit=1000" + (f"&cursor={cursor}" if cursor else "")
                page = dev.session.get(base + "/api/v1/sync/pull" + q).json()
                pulled += len(page["changes"])
                cursor, more = page["cursor"], page["more"]
            t_pull = time.perf_counter() - start

    push_rate, limit_rate = args.ops / t_push, args.ops / t_limit
    naive_rate, merge_rate = args.naive / t_naive, n_upd / t_merge
    print(f"creates, 500-op pushes over HTTP : {rate(args.ops, t_push)}")
    print(f"limit, COPY + INSERT…SELECT join : {rate(args.ops, t_limit)}")
    print(f"  ratio creates / limit          : {push_rate / limit_rate:.0%}  (goal >= 30%)")
    print(f"creates, one op per request      : {rate(args.naive, t_naive)}")
    print(f"  ratio batch / one-per-request  : {push_rate / naive_rate:.1f}x  (goal >= 10x)")
    print(f"updates with merge, 500-op pushes: {rate(n_upd, t_merge)}  ({merged} merged)")
    print(f"  ratio merges / limit           : {merge_rate / limit_rate:.0%}  (goal >= 15%)")
    print(f"pull, 1000 per page              : {rate(pulled, t_pull)}  ({pulled} changes)")


if __name__ == "__main__":
    main()
