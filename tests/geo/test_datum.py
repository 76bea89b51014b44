"""Datum conversion: reference values and round trips everywhere in China."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from geo.datum import DATUMS, from_wgs84, to_wgs84, transform_geometry


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    kx = 111_320 * np.cos(np.radians(lat1))
    return np.hypot((np.asarray(lon1) - lon2) * kx, (np.asarray(lat1) - lat2) * 110_574)


def test_datum_names() -> None:
    assert DATUMS == ("wgs84", "cgcs2000", "gcj02", "bd09")


@pytest.mark.parametrize(("datum", "expected"), [
    # published outputs of the reference implementations (coordtransform, eviltransform)
    ("gcj02", (116.41024449916938, 39.91640428150164)),
    ("bd09", (116.41662724378733, 39.922699552216216)),
    ("wgs84", (116.404, 39.915)),
    ("cgcs2000", (116.404, 39.915)),
])
def test_forward_reference_values(datum: str, expected: tuple[float, float]) -> None:
    lon, lat = from_wgs84(116.404, 39.915, datum)
    assert float(lon) == pytest.approx(expected[0], abs=1e-9)
    assert float(lat) == pytest.approx(expected[1], abs=1e-9)


def test_gcj_offset_in_nanjing_is_hundreds_of_metres() -> None:
    lon, lat = from_wgs84(118.78, 32.05, "gcj02")
    assert 400 < _metres(lon, lat, 118.78, 32.05) < 700


def test_inverse_is_iterative_not_one_step() -> None:
    # the crude one-step inverse of (116.404, 39.915) is off by about 1 m; ours is exact
    lon, lat = to_wgs84(116.41024449916938, 39.91640428150164, "gcj02")
    assert _metres(lon, lat, 116.404, 39.915) < 0.01


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_outside_china_gcj_is_identity(datum: str) -> None:
    lon, lat = from_wgs84(np.array([2.35, -74.0]), np.array([48.85, 40.7]), "gcj02")
    assert np.array_equal(lon, [2.35, -74.0]) and np.array_equal(lat, [48.85, 40.7])
    back = to_wgs84(*from_wgs84(2.35, 48.85, datum), datum)
    assert _metres(back[0], back[1], 2.35, 48.85) < 0.01


def test_scalars_and_arrays() -> None:
    lon, lat = to_wgs84(118.7, 32.0, "bd09")
    assert lon.shape == () and lat.shape == ()
    lon, lat = to_wgs84([[118.7, 118.8]], [[32.0, 32.1]], "bd09")
    assert lon.shape == (1, 2)


def test_inputs_not_modified() -> None:
    lon = np.array([118.7, 118.8])
    to_wgs84(lon, np.array([32.0, 32.1]), "gcj02")
    assert lon.tolist() == [118.7, 118.8]


@pytest.mark.parametrize("datum", ["utm", "", "gcj03"])
def test_unknown_datum(datum: str) -> None:
    with pytest.raises(ValueError, match="unknown datum"):
        to_wgs84(118.7, 32.0, datum)
    with pytest.raises(ValueError, match="expected one of wgs84, cgcs2000, gcj02, bd09"):
        transform_geometry(Polygon([(0, 0), (1, 0), (1, 1)]), datum)


china_lon = st.floats(73.7, 134.9)
china_lat = st.floats(18.2, 53.5)


@settings(max_examples=300, deadline=None)
@given(lon=china_lon, lat=china_lat, datum=st.sampled_from(["gcj02", "bd09"]))
def test_round_trip_from_wgs84(lon: float, lat: float, datum: str) -> None:
    back = to_wgs84(*from_wgs84(lon, lat, datum), datum)
    assert _metres(back[0], back[1], lon, lat) < 0.01  # goal 1 cm, contract 0.5 m


@settings(max_examples=300, deadline=None)
@given(lon=china_lon, lat=china_lat, datum=st.sampled_from(["gcj02", "bd09"]))
def test_round_trip_to_wgs84(lon: float, lat: float, datum: str) -> None:
    there = from_wgs84(*to_wgs84(lon, lat, datum), datum)
    assert _metres(there[0], there[1], lon, lat) < 0.01


def test_round_trip_vectorised_grid_over_china() -> None:
    lon, lat = np.meshgrid(np.linspace(73.7, 134.9, 200), np.linspace(18.2, 53.5, 200))
    for datum in ("gcj02", "bd09"):
        back = to_wgs84(*from_wgs84(lon, lat, datum), datum)
        assert _metres(back[0], back[1], lon, lat).max() < 0.01


def test_transform_geometry_array() -> None:
    gcj = Polygon([(118.705, 32.03), (118.71, 32.03), (118.71, 32.035)])
    out = transform_geometry(np.array([gcj, gcj]), "gcj02")
    assert len(out) == 2
    wgs = np.asarray(shapely.get_coordinates(out[0]))
    lon, lat = from_wgs84(wgs[:, 0], wgs[:, 1], "gcj02")
    assert np.allclose(np.column_stack([lon, lat]), shapely.get_coordinates(gcj), atol=1e-9)
    assert transform_geometry(gcj, "cgcs2000") is gcj
