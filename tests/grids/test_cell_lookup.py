"""The ``CellLookup`` fast path never changes an answer of ``GridIndex.match``."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from geo.cells import CellLookup
from geo.layer import read_layer
from geo.match import GridIndex
from server.services.grid_index import ActiveGrids
from tests.conftest import DEMO


def _active(codes, geoms, edge_m=3.0, nearest_m=50.0):
    index = GridIndex(codes, geoms, edge_m=edge_m, nearest_m=nearest_m)
    cells = CellLookup(geoms, edge_m=edge_m, nearest_m=nearest_m)
    return ActiveGrids("", np.arange(len(codes)), np.array(codes, dtype=object),
                       np.zeros(len(codes), bool), index, cells), index, cells


def _same(active, index, lon, lat):
    fast_idx, fast_kind = active.match_positions(lon, lat)
    idx, kind = index.match(lon, lat)
    assert np.array_equal(fast_idx, idx)
    assert np.array_equal(fast_kind, kind)
    return idx, kind


@pytest.fixture(scope="module")
def jianye():
    result = read_layer(DEMO / "jianye-grids-gcj02.geojson", datum="gcj02")
    return [f.code for f in result.features], np.array([f.geometry for f in result.features],
                                                      dtype=object)


def test_jianye_truth_and_dense_points(jianye, truth):
    codes, geoms = jianye
    active, index, cells = _active(codes, geoms)
    lon = np.array([p["lon"] for p in truth["points"]])
    lat = np.array([p["lat"] for p in truth["points"]])
    _same(active, index, lon, lat)
    assert (cells.lookup(lon, lat) >= 0).mean() > 0.5  # the fast path really is used
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    rng = np.random.default_rng(3)
    lon = rng.uniform(xmin - 0.01, xmax + 0.01, 50_000)
    lat = rng.uniform(ymin - 0.01, ymax + 0.01, 50_000)
    _, kind = _same(active, index, lon, lat)
    assert set(kind.tolist()) == {"inside", "edge", "nearest", "outside"}


def _near_borders(geoms, n, rng, spread_deg=0.00005):
    """Points scattered within a few metres of the grids' vertices and edges."""
    coords = shapely.get_coordinates(shapely.segmentize(shapely.boundary(geoms), 0.0002))
    pick = coords[rng.integers(0, len(coords), n)]
    return (pick[:, 0] + rng.normal(0, spread_deg, n), pick[:, 1] + rng.normal(0, spread_deg, n))


def test_messy_layer_overlaps_holes_multipolygons(truth):
    d = 0.001
    x, y = 100.0, 30.0
    geoms = [
        box(x, y, x + d, y + d),
        box(x + 0.8 * d, y, x + 1.8 * d, y + d),  # overlaps the first by 0.2 cells
        Polygon(box(x, y + d, x + 3 * d, y + 4 * d).exterior.coords,
                [box(x + d, y + 2 * d, x + 2 * d, y + 3 * d).exterior.coords]),  # a hole
        box(x + 1.2 * d, y + 2.2 * d, x + 1.8 * d, y + 2.8 * d),  # a grid in the hole
        MultiPolygon([box(x + 4 * d, y, x + 5 * d, y + d), box(x + 6 * d, y, x + 7 * d, y + d)]),
        box(x + 2 * d, y, x + 2.00001 * d, y + 0.00001 * d),  # a tiny sliver grid
        box(x + 3 * d, y, x + 4 * d, y + d),  # shares a border with the multipolygon
    ]
    codes = ["g05", "g02", "g07", "g01", "g03", "g06", "g04"]
    geoms = np.array(geoms, dtype=object)
    active, index, cells = _active(codes, geoms)
    assert len(cells) > 0
    rng = np.random.default_rng(11)
    lon = np.concatenate([rng.uniform(x - d, x + 8 * d, 40_000),
                          _near_borders(geoms, 40_000, rng)[0]])
    lat = np.concatenate([rng.uniform(y - d, y + 5 * d, 40_000),
                          _near_borders(geoms, 40_000, np.random.default_rng(11))[1]])
    _, kind = _same(active, index, lon, lat)
    assert {"inside", "edge", "nearest", "outside"} <= set(kind.tolist())
    # in the overlap the smaller code (g02) wins, in the hole the inner grid (g01)
    o = _same(active, index, np.array([x + 0.9 * d, x + 1.5 * d]), np.array([y + 0.5 * d,
                                                                            y + 2.5 * d]))
    assert [codes[i] for i in o[0]] == ["g02", "g01"]


@pytest.mark.parametrize(("edge_m", "nearest_m"), [(0.0, 0.0), (3.0, 50.0), (25.0, 500.0)])
def test_tolerances(jianye, edge_m, nearest_m):
    codes, geoms = jianye
    active, index, _ = _active(codes[:60], geoms[:60], edge_m, nearest_m)
    rng = np.random.default_rng(5)
    lon, lat = _near_borders(geoms[:60], 20_000, rng, spread_deg=0.0002)
    _same(active, index, lon, lat)


def test_layers_far_apart_and_odd_points(jianye):
    codes, geoms = jianye
    moved = shapely.transform(geoms[:20], lambda c: c + np.array([-18.0, -2.0]))  # near lon 100, lat 30
    active, index, _ = _active([*codes, *[c + "x" for c in codes[:20]]],
                               np.concatenate([geoms, moved]))
    rng = np.random.default_rng(9)
    lon, lat = _near_borders(np.concatenate([geoms, moved]), 30_000, rng, 0.0001)
    lon = np.concatenate([lon, [np.nan, 0.0, 180.0, -180.0, 118.7]])
    lat = np.concatenate([lat, [32.0, np.nan, 90.0, -90.0, np.inf]])
    _same(active, index, lon, lat)


def test_empty_and_missing_geometries():
    cells = CellLookup([], edge_m=3.0, nearest_m=50.0)
    assert cells.lookup(np.array([118.7]), np.array([32.0])).tolist() == [CellLookup.FAR]
    geoms = [None, Polygon(), box(118.7, 32.0, 118.701, 32.001)]
    active, index, _ = _active(["a", "b", "c"], geoms)
    idx, kind = _same(active, index, np.array([118.7005, 118.8]), np.array([32.0005, 32.0]))
    assert idx.tolist() == [2, -1] and kind.tolist() == ["inside", "outside"]
