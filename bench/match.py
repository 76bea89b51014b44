"""Benchmark grid import and matching against the bare STRtree point-in-polygon limit.

Run: ``.venv/bin/python bench/match.py [--grids 13000] [--points 10000] [--calls 20]``

In one run, on a generated layer of ``--grids`` grids, it prints:

* ``GridIndex.match`` in process, and the bare ``STRtree.query(..., predicate="within")``
  limit on the same points;
* the import time of the layer through ``read_layer`` + ``store_layer`` into a scratch
  PostGIS database (created and dropped with ``scripts.dbtool``);
* ``POST /api/v1/grids/match`` throughput over real HTTP to gunicorn on that database,
  ``--points`` points a request, and its ratio to the limit.

``--no-http`` skips the database and HTTP parts. ``--server`` picks the PostgreSQL
server (default ``postgresql+psycopg://postgres@127.0.0.1:5432``).

Other bench scripts can reuse the data generators::

    from bench.match import generate_layer, random_points
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.match import GridIndex

ROOT = Path(__file__).resolve().parents[1]

# A city-sized box around Nanjing (WGS-84).
CENTER_LON, CENTER_LAT = 118.78, 32.05
CELL_DEG = 0.003  # about 280 m x 330 m, an urban grid


def _shape(n: int) -> tuple[int, int]:
    cols = int(np.ceil(np.sqrt(n * 1.3)))
    return cols, int(np.ceil(n / cols))


def generate_layer(n: int = 13000, seed: int = 1) -> tuple[list[str], np.ndarray]:
    """A tiling of ``n`` jittered quadrilateral grids with 15-digit codes.

    Vertices are shared between neighbours (one jittered lattice), so the grids
    tile the box without gaps or overlaps, like a real grid layer.

    Examples
    --------
    >>> codes, geoms = generate_layer(50, seed=3)
    >>> len(codes), len(set(codes)), len(codes[0]), bool(shapely.is_valid(geoms).all())
    (50, 50, 15, True)
    """
    cols, rows = _shape(n)
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(cols + 1, dtype=float), np.arange(rows + 1, dtype=float))
    gx += rng.uniform(-0.3, 0.3, gx.shape)
    gy += rng.uniform(-0.3, 0.3, gy.shape)
    lon = CENTER_LON + (gx - cols / 2) * CELL_DEG
    lat = CENTER_LAT + (gy - rows / 2) * CELL_DEG
    r, c = np.divmod(np.arange(n), cols)
    corners = [(r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c), (r, c)]
    ring = np.stack([np.column_stack([lon[i, j], lat[i, j]]) for i, j in corners], axis=1)
    geoms = shapely.polygons(ring)
    k = np.arange(n)
    codes = [f"{320102 + d:06d}{s + 1:03d}{m + 1:03d}{g + 1:03d}" for d, s, m, g in zip(
        k // 3000, (k % 3000) // 300, (k % 300) // 20, k % 20, strict=True)]
    return codes, geoms


def random_points(n: int, seed: int = 2, geoms: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniform random WGS-84 points over the layer's box plus a 2 % margin.

    Examples
    --------
    >>> lon, lat = random_points(5, seed=1)
    >>> lon.shape, bool((abs(lat - CENTER_LAT) < 1).all())
    ((5,), True)
    """
    if geoms is None:
        geoms = generate_layer()[1]
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    mx, my = (xmax - xmin) * 0.02, (ymax - ymin) * 0.02
    rng = np.random.default_rng(seed)
    return (rng.uniform(xmin - mx, xmax + mx, n), rng.uniform(ymin - my, ymax + my, n))


def _throughput(fn, batches: list, rounds: int = 3) -> float:
    """Points per second over all batches, best of ``rounds`` (after a warm-up call).

    Best-of filters out noise from other processes sharing the machine.
    """
    fn(*batches[0])
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for batch in batches:
            fn(*batch)
        best = min(best, time.perf_counter() - start)
    return sum(len(b[0]) for b in batches) / best


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_layer_geojson(path: Path, codes: list[str], geoms: np.ndarray) -> None:
    features = [{"type": "Feature", "properties": {"code": c, "name": f"网格{c[-6:]}"},
                 "geometry": json.loads(g)}
                for c, g in zip(codes, shapely.to_geojson(geoms), strict=True)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")


def bench_import(url: str, layer_path: Path) -> dict[str, float]:
    """Migrate the scratch database, then time read_layer + store_layer + commit."""
    from geo.layer import read_layer
    from server import create_app
    from server.extensions import db
    from server.services.layers import store_layer

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    if result.exit_code != 0:
        raise SystemExit(f"db upgrade failed:\n{result.output}")
    with app.app_context():
        start = time.perf_counter()
        layer = read_layer(layer_path)
        read_s = time.perf_counter() - start
        store_layer(layer, "bench")
        db.session.commit()
        total_s = time.perf_counter() - start
        db.engine.dispose()
    if layer.imported != layer.total:
        raise SystemExit(f"generated layer did not import cleanly: {layer.imported}/{layer.total}")
    return {"read_s": read_s, "store_s": total_s - read_s, "total_s": total_s,
            "grids": layer.imported}


class Gunicorn:
    """gunicorn serving ``server:create_app()`` on a free port; stopped by its own pid."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(16)}
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-b", f"127.0.0.1:{self.port}",
             "-w", str(workers), "--timeout", "120", "server:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait(self, session, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if session.get(self.base + "/api/v1/openapi.json", timeout=2).ok:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("gunicorn did not come up")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _create_user(url: str, username: str, password: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "flask", "--app", "server", "users", "create",
                    username, "--role", "patroller"], input=password + "\n", text=True,
                   cwd=ROOT, env=env, check=True, capture_output=True)


def bench_http(url: str, batches: list, expected: list[np.ndarray], codes: list[str],
               workers: int, limit_fn, rounds: int = 7) -> dict[str, float]:
    """Sequential ``POST /grids/match`` calls over HTTP; request bodies are built beforehand
    so the client's own JSON work is not counted, and answers are checked afterwards.

    Each round also times ``limit_fn`` on the same points just before the HTTP pass, so
    the ratio compares runs made under the same machine load (best of the rounds each).
    """
    import requests

    username, password = "bench", secrets.token_hex(8)
    os.environ["GRIDPATROL_BENCH_PASSWORD"] = password
    _create_user(url, username, password)
    server = Gunicorn(url, workers)
    session = requests.Session()
    try:
        server.wait(session)
        r = session.post(server.base + "/api/v1/auth/token", json={
            "username": username, "password": password, "device_id": "bench"}, timeout=30)
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['token']}",
                   "Content-Type": "application/json"}
        bodies = [json.dumps({"points": np.column_stack([lon, lat]).tolist()}).encode()
                  for lon, lat in batches]
        match_url = server.base + "/api/v1/grids/match"
        start = time.perf_counter()
        for _ in range(workers):  # every worker builds its index on its first call
            session.post(match_url, data=bodies[0], headers=headers, timeout=120).raise_for_status()
        first_s = time.perf_counter() - start
        best, best_limit, answers = float("inf"), float("inf"), []
        # the machine may be shared: alternate limit and HTTP passes, keep the best of each
        point_batches = [shapely.points(lon, lat) for lon, lat in batches]
        for _ in range(rounds):
            start = time.perf_counter()
            for pts in point_batches:
                limit_fn(pts)
            best_limit = min(best_limit, time.perf_counter() - start)
            answers = []
            start = time.perf_counter()
            for body in bodies:
                resp = session.post(match_url, data=body, headers=headers, timeout=120)
                answers.append(resp)
            best = min(best, time.perf_counter() - start)
        for resp, want in zip(answers, expected, strict=True):
            resp.raise_for_status()
            got = [m["code"] for m in resp.json()["matches"]]
            if got != [codes[i] if i >= 0 else None for i in want.tolist()]:
                raise SystemExit("HTTP matches differ from GridIndex.match")
        empty = json.dumps({"points": []}).encode()
        overhead = min(_timed(lambda: session.post(match_url, data=empty, headers=headers,
                                                   timeout=30)) for _ in range(20))
        points = sum(len(b[0]) for b in batches)
        return {"pps": points / best, "empty_ms": overhead * 1000, "limit_pps": points / best_limit, "first_s": first_s,
                "request_ms": best / len(bodies) * 1000,
                "request_kb": sum(map(len, bodies)) / len(bodies) / 1024,
                "response_kb": sum(len(a.content) for a in answers) / len(answers) / 1024,
                "wire_kb": sum(int(a.headers.get("Content-Length") or len(a.content))
                               for a in answers) / len(answers) / 1024,
                "encoding": answers[0].headers.get("Content-Encoding") or "identity"}
    finally:
        server.stop()


def bench_in_process(url: str, batches: list, limit_fn, rounds: int = 7) -> dict[str, float]:
    """The same requests through Flask's test client: the server's own cost, no sockets,
    no gunicorn, no client library (the user made for the HTTP run signs in)."""
    from server import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    client = app.test_client()
    password = os.environ["GRIDPATROL_BENCH_PASSWORD"]
    r = client.post("/api/v1/auth/token", json={"username": "bench", "password": password,
                                                 "device_id": "bench-in-process"})
    headers = {"Authorization": f"Bearer {r.json['token']}", "Accept-Encoding": "gzip"}
    bodies = [json.dumps({"points": np.column_stack([lon, lat]).tolist()}).encode()
              for lon, lat in batches]
    point_batches = [shapely.points(lon, lat) for lon, lat in batches]
    client.post("/api/v1/grids/match", data=bodies[0], headers=headers,
                content_type="application/json")
    best, best_limit = float("inf"), float("inf")
    for _ in range(rounds):
        best_limit = min(best_limit, sum(_timed(lambda p=p: limit_fn(p)) for p in point_batches))
        best = min(best, sum(_timed(lambda b=b: client.post(
            "/api/v1/grids/match", data=b, headers=headers, content_type="application/json"))
            for b in bodies))
    points = sum(len(b[0]) for b in batches)
    return {"pps": points / best, "limit_pps": points / best_limit,
            "request_ms": best / len(bodies) * 1000}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=13000)
    parser.add_argument("--points", type=int, default=10000, help="points per call")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--http-calls", type=int, default=10, help="HTTP requests per round")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers")
    parser.add_argument("--server", default=os.environ.get(
        "BENCH_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args(argv)

    codes, geoms = generate_layer(args.grids)
    start = time.perf_counter()
    index = GridIndex(codes, geoms)
    build_s = time.perf_counter() - start

    batches = [random_points(args.points, seed=100 + i, geoms=geoms) for i in range(args.calls)]
    match_pps = _throughput(index.match, batches)

    tree = shapely.STRtree(geoms)
    point_batches = [(shapely.points(lon, lat),) for lon, lat in batches]
    limit_pps = _throughput(lambda pts: tree.query(pts, predicate="within"), point_batches)

    _, kind = index.match(*batches[0])
    kinds = {k: int((kind == k).sum()) for k in ("inside", "edge", "nearest", "outside")}
    print(f"grids: {args.grids}, points per call: {args.points}, calls: {args.calls}")
    print(f"GridIndex build: {build_s:.2f} s")
    print(f"GridIndex.match: {match_pps:,.0f} points/s  (kinds in one call: {kinds})")
    print(f"bare STRtree.query(points, predicate='within') limit: {limit_pps:,.0f} points/s")
    print(f"ratio: {match_pps / limit_pps:.0%} of the limit")
    if args.no_http:
        return

    url = f"{args.server}/gridpatrol_bench_{os.getpid()}_{secrets.token_hex(3)}"
    subprocess.run([sys.executable, "-m", "scripts.dbtool", "create", url], cwd=ROOT,
                   check=True)
    try:
        with tempfile.TemporaryDirectory(prefix="gridpatrol-bench-") as tmp:
            path = Path(tmp) / "bench-grids.geojson"
            _write_layer_geojson(path, codes, geoms)
            imp = bench_import(url, path)
        print(f"import of {imp['grids']:,} grids (read_layer + store_layer + commit): "
              f"{imp['total_s']:.1f} s  (read and validate {imp['read_s']:.1f} s, "
              f"store {imp['store_s']:.1f} s)")
        http_batches = batches[:args.http_calls]
        expected = [index.match(lon, lat)[0] for lon, lat in http_batches]
        http = bench_http(url, http_batches, expected, codes, args.workers,
                          lambda pts: tree.query(pts, predicate="within"))
        print(f"HTTP POST /api/v1/grids/match, gunicorn {args.workers} worker(s), sequential "
              f"client, {len(http_batches)} requests of {args.points:,} points: "
              f"{http['pps']:,.0f} points/s  ({http['request_ms']:.0f} ms a request; "
              f"request {http['request_kb']:.0f} KiB, response {http['response_kb']:.0f} KiB "
              f"({http['wire_kb']:.0f} KiB {http['encoding']} on the wire); "
              f"first call incl. index build {http['first_s']:.1f} s; "
              f"an empty request {http['empty_ms']:.1f} ms)")
        print(f"bare STRtree limit on the same points, timed alternately with the HTTP "
              f"rounds: {http['limit_pps']:,.0f} points/s")
        print(f"HTTP ratio: {http['pps'] / http['limit_pps']:.0%} of the limit")
        inproc = bench_in_process(url, http_batches, lambda pts: tree.query(pts, predicate="within"))
        print(f"the same requests in process (Flask test client, no sockets): "
              f"{inproc['pps']:,.0f} points/s ({inproc['request_ms']:.0f} ms a request), "
              f"{inproc['pps'] / inproc['limit_pps']:.0%} of the limit "
              f"({inproc['limit_pps']:,.0f} points/s alongside)")
    finally:
        subprocess.run([sys.executable, "-m", "scripts.dbtool", "drop", url], cwd=ROOT,
                       check=True)


if __name__ == "__main__":
    main()
