"""GridIndex matching rules, and the demo layer against its ground-truth points."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from geo_helpers import DEMO
from shapely.geometry import Point, box

from geo.layer import read_layer
from geo.match import GridIndex
from geo.projection import LocalProjection

PROJ = LocalProjection(118.7, 32.0)


def _mbox(x0: float, y0: float, x1: float, y1: float):
    """A box given in local metres, returned in lon/lat."""
    return PROJ.inverse_geoms(box(x0, y0, x1, y1))


def _match(index: GridIndex, xy: list[tuple[float, float]]):
    lon, lat = PROJ.inverse(*np.array(xy, dtype=float).T)
    idx, kind = index.match(lon, lat)
    return idx.tolist(), kind.tolist()


@pytest.fixture
def two_grids() -> GridIndex:
    # "B" (larger code) listed first so the tie-break cannot come from input order
    return GridIndex(["320105001001002", "320105001001001"],
                     [_mbox(100, 0, 200, 100), _mbox(0, 0, 100, 100)])


def test_inside_edge_nearest_outside(two_grids: GridIndex) -> None:
    idx, kind = _match(two_grids, [(50, 50), (150, 50), (50, 2), (50, 4), (230, 50),
                                   (260, 50), (-49, 50), (1000, 1000)])
    assert idx == [1, 0, 1, 1, 0, -1, 1, -1]
    assert kind == ["inside", "inside", "edge", "inside", "nearest", "outside", "nearest",
                    "outside"]


def test_shared_border_goes_to_smallest_code(two_grids: GridIndex) -> None:
    idx, kind = _match(two_grids, [(100, 50), (100, 0), (100.5, 50)])
    assert idx == [1, 1, 0]
    assert kind == ["edge", "edge", "edge"]


def test_nearest_tie_goes_to_smallest_code() -> None:
    index = GridIndex(["B", "A"], [_mbox(0, 0, 100, 100), _mbox(120, 0, 220, 100)])
    idx, kind = _match(index, [(110, 50), (105, 50)])
    assert idx == [1, 0] and kind == ["nearest", "nearest"]


def test_overlap_goes_to_smallest_code_everywhere() -> None:
    index = GridIndex(["B", "A"], [_mbox(0, 0, 100, 100), _mbox(50, 0, 150, 100)])
    idx, kind = _match(index, [(75, 50), (25, 50), (125, 50), (51, 50)])
    assert idx == [1, 0, 1, 1]
    assert kind == ["inside", "inside", "inside", "edge"]


def test_holes_and_multipolygons() -> None:
    holed = _mbox(0, 0, 300, 300).difference(_mbox(100, 100, 200, 200))
    index = GridIndex(["H", "I"], [holed, _mbox(1000, 0, 1100, 100).union(_mbox(100, 100, 200, 200))])
    idx, kind = _match(index, [(50, 50), (150, 150), (1050, 50), (150, 101)])
    assert idx == [0, 1, 1, 1]
    assert kind == ["inside", "inside", "inside", "edge"]


def test_tiny_grid_without_inner_polygon() -> None:
    index = GridIndex(["T"], [_mbox(0, 0, 4, 4)])
    assert _match(index, [(2, 2), (6, 2)]) == ([0, 0], ["edge", "nearest"])


def test_empty_index_and_empty_input() -> None:
    empty = GridIndex([], [])
    idx, kind = empty.match(np.array([118.7, 0.0]), np.array([32.0, 0.0]))
    assert idx.tolist() == [-1, -1] and kind.tolist() == ["outside", "outside"]
    idx, kind = GridIndex(["A"], [_mbox(0, 0, 10, 10)]).match(np.array([]), np.array([]))
    assert idx.shape == (0,) and kind.shape == (0,)


def test_missing_geometries_and_nan_points() -> None:
    index = GridIndex(["A", "B"], [None, _mbox(0, 0, 100, 100)])
    lon, lat = PROJ.inverse(np.array([50.0, np.nan]), np.array([50.0, 50.0]))
    idx, kind = index.match(lon, lat)
    assert idx.tolist() == [1, -1] and kind.tolist() == ["inside", "outside"]


def test_custom_tolerances() -> None:
    index = GridIndex(["A"], [_mbox(0, 0, 100, 100)], edge_m=10, nearest_m=0)
    assert _match(index, [(50, 8), (50, -1)]) == ([0, -1], ["edge", "outside"])


def test_length_mismatch() -> None:
    with pytest.raises(ValueError, match="2 codes but 1 geometries"):
        GridIndex(["A", "B"], [Point(0, 0)])


def _truth():
    doc = json.loads((DEMO / "jianye-points-truth.json").read_text(encoding="utf-8"))
    pts = doc["points"]
    return (np.array([p["lon"] for p in pts]), np.array([p["lat"] for p in pts]),
            np.array([p["expect"] for p in pts], dtype=object),
            np.array([p["class"] for p in pts]))


@pytest.mark.parametrize("name", ["jianye-grids-gcj02.geojson", "jianye-grids-gbk-shp.zip"])
def test_demo_layer_against_truth(name: str) -> None:
    result = read_layer(DEMO / name, datum="gcj02")
    assert format_last(result) == "imported=310 repaired=0 refused=0 total=310"
    codes = [f.code for f in result.features]
    index = GridIndex(codes, [f.geometry for f in result.features])
    lon, lat, expect, cls = _truth()
    idx, kind = index.match(lon, lat)
    got = np.array([codes[i] if i >= 0 else None for i in idx], dtype=object)

    inside, edge, outside = cls == "inside", cls == "edge", cls == "outside"
    assert inside.sum() > 1000 and edge.sum() > 50 and outside.sum() > 100
    assert (got[inside] == expect[inside]).all()
    assert (got[edge] == expect[edge]).mean() >= 0.99
    assert set(kind[outside]) <= {"outside", "nearest"}
    assert (got[outside & (kind == "outside")] == None).all()  # noqa: E711
    assert Counter(kind[edge].tolist())["edge"] > 0


def test_demo_without_datum_conversion_goes_wrong() -> None:
    """The reason datums matter: reading GCJ-02 as WGS-84 mismatches many points."""
    result = read_layer(DEMO / "jianye-grids-gcj02.geojson", datum="wgs84")
    codes = [f.code for f in result.features]
    index = GridIndex(codes, [f.geometry for f in result.features])
    lon, lat, expect, cls = _truth()
    idx, _ = index.match(lon, lat)
    got = np.array([codes[i] if i >= 0 else None for i in idx], dtype=object)
    assert (got[cls == "inside"] == expect[cls == "inside"]).mean() < 0.5


def format_last(result) -> str:
    from geo.layer import format_report

    return format_report(result)[-1]
