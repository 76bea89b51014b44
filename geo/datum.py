"""Datum conversion between WGS-84 and the Chinese web-map datums.

Phones report WGS-84; grid layers are often drawn on AMap/Tencent (GCJ-02) or
Baidu (BD-09). CGCS2000 equals WGS-84 at the metre level we care about.

The forward transforms (WGS-84 -> GCJ-02 -> BD-09) are the published
closed-form formulas. They have no closed-form inverse, so the inverse is
computed by fixed-point iteration on the forward formula, which converges to
well under a millimetre in a handful of steps because the offset changes very
slowly with position.

Examples
--------
>>> lon, lat = from_wgs84(116.404, 39.915, "gcj02")
>>> round(float(lon), 9), round(float(lat), 9)
(116.410244499, 39.916404282)
>>> back = to_wgs84(lon, lat, "gcj02")
>>> round(float(back[0]), 9), round(float(back[1]), 9)
(116.404, 39.915)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

__all__ = ["DATUMS", "from_wgs84", "normalize_datum", "to_wgs84", "transform_geometry"]

DATUMS = ("wgs84", "cgcs2000", "gcj02", "bd09")

ArrayPair = tuple[np.ndarray, np.ndarray]

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 obfuscation algorithm.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

# 1e-10 degree is about 0.01 mm; the loop normally stops after 3-5 steps.
_INVERSE_TOL_DEG = 1e-10
_INVERSE_MAX_ITER = 30

_ALIASES = {
    "wgs84": "wgs84",
    "wgs": "wgs84",
    "epsg4326": "wgs84",
    "cgcs2000": "cgcs2000",
    "epsg4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "bd09": "bd09",
    "bd09ll": "bd09",
}


def normalize_datum(datum: str) -> str:
    """Return the canonical datum name, raising ``ValueError`` if unknown.

    Case, dashes, underscores and colons are ignored so ``"GCJ-02"`` and
    ``"EPSG:4490"`` are accepted.

    Examples
    --------
    >>> normalize_datum("GCJ-02")
    'gcj02'
    >>> normalize_datum("EPSG:4490")
    'cgcs2000'
    >>> normalize_datum("utm")
    Traceback (most recent call last):
    ...
    ValueError: unknown datum 'utm': expected one of wgs84, cgcs2000, gcj02, bd09
    """
    key = "".join(ch for ch in str(datum).lower() if ch.isalnum())
    if key not in _ALIASES:
        raise ValueError(f"unknown datum {datum!r}: expected one of {', '.join(DATUMS)}")
    return _ALIASES[key]


def out_of_china(lon: Any, lat: Any) -> np.ndarray:
    """Whether points fall outside the box where GCJ-02 applies an offset.

    Examples
    --------
    >>> out_of_china([118.7, -0.12], [32.0, 51.5]).tolist()
    [False, True]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out: np.ndarray = (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)
    return out


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret: np.ndarray = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret: np.ndarray = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> ArrayPair:
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def _gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> ArrayPair:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _wgs84_to_bd09(lon: np.ndarray, lat: np.ndarray) -> ArrayPair:
    return _gcj02_to_bd09(*_wgs84_to_gcj02(lon, lat))


def _invert(forward: Callable[[np.ndarray, np.ndarray], ArrayPair], lon: np.ndarray,
            lat: np.ndarray) -> ArrayPair:
    """Solve ``forward(x, y) == (lon, lat)`` by fixed-point iteration.

    The offset varies by under 1e-5 per degree-scale move, so subtracting the
    residual each step contracts the error by several orders of magnitude.
    """
    x, y = lon.copy(), lat.copy()
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        x -= dx
        y -= dy
        if np.all(np.abs(dx) < _INVERSE_TOL_DEG) and np.all(np.abs(dy) < _INVERSE_TOL_DEG):
            break
    return x, y


_FORWARD: dict[str, Callable[[np.ndarray, np.ndarray], ArrayPair]] = {
    "gcj02": _wgs84_to_gcj02,
    "bd09": _wgs84_to_bd09,
}


def _as_arrays(lon: Any, lat: Any) -> ArrayPair:
    # float64 copies so callers' arrays are never modified in place
    return np.array(lon, dtype=float), np.array(lat, dtype=float)


def from_wgs84(lon: Any, lat: Any, datum: str) -> ArrayPair:
    """Convert WGS-84 lon/lat (scalars or arrays) to ``datum``.

    Examples
    --------
    >>> lon, lat = from_wgs84([116.404], [39.915], "bd09")
    >>> round(float(lon[0]), 9), round(float(lat[0]), 9)
    (116.416627244, 39.922699552)
    >>> from_wgs84(2.35, 48.85, "gcj02")  # no offset outside China
    (array(2.35), array(48.85))
    """
    name = normalize_datum(datum)
    lon_a, lat_a = _as_arrays(lon, lat)
    if name not in _FORWARD:
        return lon_a, lat_a
    return _FORWARD[name](lon_a, lat_a)


def to_wgs84(lon: Any, lat: Any, datum: str) -> ArrayPair:
    """Convert lon/lat in ``datum`` (scalars or arrays) to WGS-84.

    GCJ-02 and BD-09 are inverted iteratively (error well under 1 cm).

    Examples
    --------
    >>> lon, lat = to_wgs84(118.7, 32.0, "cgcs2000")
    >>> float(lon), float(lat)
    (118.7, 32.0)
    >>> lon, lat = to_wgs84([118.7, 118.8], [32.0, 32.1], "gcj02")
    >>> lon.shape
    (2,)
    """
    name = normalize_datum(datum)
    lon_a, lat_a = _as_arrays(lon, lat)
    if name not in _FORWARD:
        return lon_a, lat_a
    return _invert(_FORWARD[name], lon_a, lat_a)


def transform_geometry(geom: Any, datum: str) -> Any:
    """Convert a shapely geometry (or array of them) from ``datum`` to WGS-84.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> p = transform_geometry(Point(116.41024449916938, 39.91640428150164), "gcj02")
    >>> round(p.x, 7), round(p.y, 7)
    (116.404, 39.915)
    """
    name = normalize_datum(datum)
    if name not in _FORWARD:
        return geom

    def _convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = _invert(_FORWARD[name], coords[:, 0].copy(), coords[:, 1].copy())
        return np.column_stack([lon, lat])

    return shapely.transform(geom, _convert)
