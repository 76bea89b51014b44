"""Scale-out figures: photos on disk vs on S3 (SeaweedFS), pushes direct vs through
PgBouncer (transaction mode), and the file → S3 migration. Prints; asserts nothing.

    .venv/bin/python bench/scale.py [PHOTOS] [PUSHES]
"""

from __future__ import annotations

import hashlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness import ROOT, machine, make_user, scratch_database, sign_in
from harness import gunicorn as start_gunicorn

from server.services import storage
from tests.scale.pgbouncer import PgBouncer
from tests.scale.seaweed import SeaweedFS

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF"
GRID = "320105001001004"

def inside_point() -> list[float]:
    """A WGS-84 point well inside GRID, from the demo's truth file."""
    import json

    truth = json.loads((ROOT / "demo" / "jianye-points-truth.json").read_text("utf-8"))
    best = max((p for p in truth["points"] if p["class"] == "inside" and p["expect"] == GRID),
               key=lambda p: p.get("edge_m", 0))
    return [best["lon"], best["lat"]]


POINT = inside_point()


def photo(size: int = 200_000) -> bytes:
    return JPEG_HEAD + secrets.token_bytes(size - len(JPEG_HEAD))


def ms(samples: list[float]) -> str:
    s = sorted(samples)
    return (f"median {statistics.median(s) * 1000:.1f} ms, "
            f"p90 {s[int(len(s) * 0.9) - 1] * 1000:.1f} ms (n={len(s)})")


def photos_bench(url: str, n: int, label: str) -> None:
    with start_gunicorn(url) as base:
        make_user(url, f"p{label}", "patroller", "--grid", GRID)
        session = sign_in(base, f"p{label}", f"dev-{label}")
        puts, gets = [], []
        for _ in range(n):
            data = photo()
            h = hashlib.sha256(data).hexdigest()
            t = time.perf_counter()
            r = session.put(f"{base}/api/v1/attachments/{h}", data=data,
                            headers={"Content-Type": "image/jpeg"})
            puts.append(time.perf_counter() - t)
            assert r.status_code == 201, r.text
            t = time.perf_counter()
            r = session.get(f"{base}/api/v1/attachments/{h}")
            gets.append(time.perf_counter() - t)
            assert r.content == data
        print(f"  {label:5} PUT 200 kB: {ms(puts)}")
        print(f"  {label:5} GET 200 kB: {ms(gets)}")


def push_bench(url: str, n: int, label: str) -> None:
    with start_gunicorn(url) as base:
        make_user(url, f"u{label}", "patroller", "--grid", GRID)
        session = sign_in(base, f"u{label}", f"dev-{label}")
        took = []
        for b in range(n):
            ops = [{"op_id": str(uuid.uuid4()), "device_seq": b * 100 + i + 1,
                    "entity": "inspection", "id": str(uuid.uuid4()), "action": "create",
                    "base_version": None, "recorded_at": "2026-11-23T08:15:00+08:00",
                    "data": {"kind": "patrol", "occurred_at": "2026-11-23T08:00:00+08:00",
                             "location": {"type": "Point", "coordinates": POINT}}}
                   for i in range(100)]
            t = time.perf_counter()
            r = session.post(f"{base}/api/v1/sync/push",
                             json={"device_id": f"dev-{label}", "ops": ops})
            took.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
        print(f"  {label:9} push of 100 ops: {ms(took)}")


def main() -> None:
    n_photos = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    n_pushes = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    print(machine())
    tmp = Path(tempfile.mkdtemp(prefix="gp-scale-bench-"))
    weed = SeaweedFS(tmp / "seaweed")
    weed.start()
    try:
        with scratch_database() as url:
            print("photos (one client, sequential, through gunicorn):")
            os.environ.pop("ATTACHMENT_STORE", None)
            photos_bench(url, n_photos, "file")
            config = weed.env(f"bench-{secrets.token_hex(3)}")
            storage.store_for(config["ATTACHMENT_STORE"], config).ensure_bucket()  # type: ignore[attr-defined]
            os.environ.update(config)
            photos_bench(url, n_photos, "s3")

            print("migration (file store -> S3, copy then verify):")
            files = storage.FileStore(tmp / "files")
            for _ in range(n_photos):
                data = photo()
                files.put(hashlib.sha256(data).hexdigest(), data)
            target = f"s3://{config['ATTACHMENT_STORE'][5:].split('/')[0]}/migrated"
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "flask", "--app", "server",
                                  "attachments", "migrate", "--from", f"file:{tmp / 'files'}",
                                  "--to", target], cwd=ROOT, capture_output=True, text=True,
                                 env={**os.environ, "DATABASE_URL": url}, check=True)
            took = time.perf_counter() - t
            print(f"  {n_photos} × 200 kB: {took:.1f} s including start-up; "
                  f"{out.stdout.strip().splitlines()[-1]}")

            print("pushes (one client, sequential, through gunicorn):")
            push_bench(url, n_pushes, "direct")
            bouncer = PgBouncer(url.rsplit("/", 1)[0], Path(tempfile.mkdtemp()))
            bouncer.start()
            try:
                os.environ.update(DB_PREPARE_THRESHOLD="none", PG_OPTIONS="")
                push_bench(f"{bouncer.url}/{url.rsplit('/', 1)[1]}", n_pushes, "pgbouncer")
            finally:
                bouncer.stop()
    finally:
        weed.stop()


if __name__ == "__main__":
    main()
