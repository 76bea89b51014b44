"""Benchmark GridIndex.match against the bare STRtree point-in-polygon limit.

Run: ``.venv/bin/python bench/match.py [--grids 13000] [--points 10000] [--calls 20]``

Other bench scripts can reuse the data generators::

    from bench.match import generate_layer, random_points
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.match import GridIndex

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=13000)
    parser.add_argument("--points", type=int, default=10000, help="points per call")
    parser.add_argument("--calls", type=int, default=20)
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


if __name__ == "__main__":
    main()
