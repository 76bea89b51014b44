"""Geometry checks and repairs for grid layers, vectorised over all features.

Each function takes an object array of geometries plus a boolean ``active``
mask (features not yet refused) and returns what it changed, so the caller can
record a reason per feature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from geo.projection import LocalProjection

__all__ = [
    "Gap",
    "Overlap",
    "check_types",
    "find_gaps",
    "find_overlaps",
    "fix_swapped",
    "make_valid_polygons",
    "out_of_range",
    "to_multipolygons",
]

_POLYGON, _MULTIPOLYGON = 3, 6
_CRACK_M = 0.01  # cracks narrower than 2 cm between grids are digitising noise
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}


@dataclass
class Overlap:
    """Two grids covering the same ground."""

    codes: tuple[str, str]
    area_m2: float
    lon: float
    lat: float
    action: str | None = None  # what --snap did about it


@dataclass
class Gap:
    """Ground enclosed by grids but in none of them."""

    codes: tuple[str, ...]
    area_m2: float
    lon: float
    lat: float
    action: str | None = None


def check_types(geoms: np.ndarray, active: np.ndarray) -> dict[int, str]:
    """Refusal reasons for missing, empty and non-polygonal geometries.

    Examples
    --------
    >>> from shapely.geometry import LineString, Polygon, box
    >>> geoms = np.array([box(0, 0, 1, 1), LineString([(0, 0), (1, 1)]), Polygon(), None])
    >>> check_types(geoms, np.ones(4, bool))
    {1: 'geometry type LineString is not a polygon: refused', 2: 'empty geometry: refused', 3: 'no geometry: refused'}
    """
    reasons: dict[int, str] = {}
    missing = shapely.is_missing(geoms)
    type_id = shapely.get_type_id(geoms)
    empty = shapely.is_empty(geoms) & ~missing
    for i in np.flatnonzero(active & missing):
        reasons[int(i)] = "no geometry: refused"
    for i in np.flatnonzero(active & ~missing & ~empty & ~np.isin(type_id, [_POLYGON, _MULTIPOLYGON])):
        reasons[int(i)] = f"geometry type {_TYPE_NAMES.get(int(type_id[i]), '?')} is not a polygon: refused"
    for i in np.flatnonzero(active & empty):
        reasons[int(i)] = "empty geometry: refused"
    return dict(sorted(reasons.items()))


def _in_china(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x >= 73.0) & (x <= 136.0) & (y >= 3.0) & (y <= 54.0)


def fix_swapped(geoms: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Swap back features whose lon/lat were exchanged; returns (geoms, swapped mask).

    A feature is swapped if it is not in China's lon/lat box but its swap is
    (China's longitudes 73-136 never overlap its latitudes 3-54), if its "lat"
    is impossible (>90) while the swap is possible, or, for layers elsewhere,
    if swapping moves it from far away to next to the rest of the layer.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> geoms = np.array([box(118.7, 32.0, 118.71, 32.01), box(32.0, 118.7, 32.01, 118.71)])
    >>> fixed, swapped = fix_swapped(geoms, np.ones(2, bool))
    >>> swapped.tolist(), [round(v, 2) for v in fixed[1].bounds]
    ([False, True], [118.7, 32.0, 118.71, 32.01])
    """
    bounds = shapely.bounds(geoms)
    x = (bounds[:, 0] + bounds[:, 2]) / 2
    y = (bounds[:, 1] + bounds[:, 3]) / 2
    ok = active & np.isfinite(x) & np.isfinite(y)
    swapped = ok & ((~_in_china(x, y) & _in_china(y, x))
                    | ((np.abs(y) > 90) & (np.abs(x) <= 90)))
    rest = ok & ~swapped
    if rest.sum() >= 3:
        # robust layer centre: the median ignores the (few) misplaced features
        cx, cy = np.median(x[rest]), np.median(y[rest])
        d_orig = np.hypot(x - cx, y - cy)
        d_swap = np.hypot(y - cx, x - cy)
        swapped |= rest & (d_orig > 1.0) & (d_swap < 0.1 * d_orig)
    out = geoms.copy()
    if swapped.any():
        out[swapped] = shapely.transform(geoms[swapped], lambda c: c[:, ::-1])
    return out, swapped


def out_of_range(geoms: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Mask of features with coordinates outside lon [-180, 180], lat [-90, 90]."""
    b = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        bad = (np.abs(b[:, [0, 2]]) > 180).any(axis=1) | (np.abs(b[:, [1, 3]]) > 90).any(axis=1)
    out: np.ndarray = active & bad
    return out


_REASON_RE = re.compile(r"^(?P<what>.*?)\[(?P<x>[-+\d.eE]+)\s+(?P<y>[-+\d.eE]+)\]")


def describe_invalid(reason: str) -> str:
    """Turn a GEOS validity reason into report wording.

    Examples
    --------
    >>> describe_invalid("Self-intersection[118.7 32.0]")
    'self-intersection at (118.7, 32.0)'
    >>> describe_invalid("Too few points[1 2]")
    'too few points at (1.0, 2.0)'
    """
    match = _REASON_RE.match(reason)
    if not match:
        return reason.lower()
    x, y = float(match["x"]), float(match["y"])
    return f"{match['what'].strip().lower()} at ({round(x, 6)}, {round(y, 6)})"


def _polygonal(geom: Any) -> Any:
    """Polygonal part of a geometry as a MultiPolygon (possibly empty)."""
    parts = shapely.get_parts(geom)
    polys = parts[np.isin(shapely.get_type_id(parts), [_POLYGON, _MULTIPOLYGON])]
    return shapely.multipolygons(shapely.get_parts(polys)) if len(polys) else shapely.MultiPolygon()


def make_valid_polygons(geoms: np.ndarray, active: np.ndarray
                        ) -> tuple[np.ndarray, dict[int, str], dict[int, str]]:
    """Make invalid polygons valid, keeping only their polygonal part.

    Returns new geometries, repair notes and refusal reasons by index.

    Examples
    --------
    >>> from shapely.geometry import Polygon
    >>> bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    >>> fixed, notes, refused = make_valid_polygons(np.array([bowtie]), np.array([True]))
    >>> fixed[0].geom_type, fixed[0].area, notes
    ('MultiPolygon', 2.0, {0: 'self-intersection at (1.0, 1.0): made valid'})
    """
    out = geoms.copy()
    notes: dict[int, str] = {}
    refusals: dict[int, str] = {}
    bad = np.flatnonzero(active & ~shapely.is_valid(geoms))
    if len(bad) == 0:
        return out, notes, refusals
    reasons = shapely.is_valid_reason(geoms[bad])
    fixed = shapely.make_valid(geoms[bad])
    for i, reason, geom in zip(bad, reasons, fixed, strict=True):
        poly = _polygonal(geom)
        what = describe_invalid(reason)
        if poly.is_empty or poly.area == 0:
            refusals[int(i)] = f"{what}: no area left after making it valid: refused"
        else:
            out[i] = poly
            notes[int(i)] = f"{what}: made valid"
    return out, notes, refusals


def to_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Promote Polygons to MultiPolygons, vectorised (holes are kept).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> to_multipolygons(np.array([box(0, 0, 1, 1)]))[0].geom_type
    'MultiPolygon'
    """
    if len(geoms) == 0:
        return geoms
    parts, index = shapely.get_parts(geoms, return_index=True)
    out = np.empty(len(geoms), dtype=object)  # geometries without parts stay None
    if len(parts):
        shapely.multipolygons(parts, indices=index, out=out)
    return out


def _rep_points(proj: LocalProjection, geoms_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = shapely.point_on_surface(geoms_m)
    lon, lat = proj.inverse(shapely.get_x(pts), shapely.get_y(pts))
    return np.round(lon, 6), np.round(lat, 6)


def _thin(geoms_m: np.ndarray, width_m: float) -> np.ndarray:
    """Whether each polygon is narrower than ``width_m`` everywhere."""
    if width_m <= 0:
        return np.zeros(len(geoms_m), dtype=bool)
    thin: np.ndarray = shapely.is_empty(shapely.buffer(geoms_m, -width_m / 2))
    return thin


def find_overlaps(codes: np.ndarray, geoms_m: np.ndarray, proj: LocalProjection,
                  tol_m2: float, snap_m: float = 0.0) -> tuple[list[Overlap], dict[int, str]]:
    """Overlaps above ``tol_m2`` between grids (metric geometries, modified in place).

    With ``snap_m > 0`` overlaps thinner than ``snap_m`` are cut out of the grid
    with the larger code, so they stay with the grid that matching already
    prefers (the smallest code). Returns overlaps and repair notes by index.
    """
    tree = shapely.STRtree(geoms_m)
    left, right = tree.query(geoms_m, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    inter = shapely.intersection(geoms_m[left], geoms_m[right])
    area = shapely.area(inter)
    big = area > tol_m2
    left, right, inter, area = left[big], right[big], inter[big], area[big]
    lon, lat = _rep_points(proj, inter)
    fixable = _thin(inter, snap_m)
    overlaps: list[Overlap] = []
    notes: dict[int, str] = {}
    for k in np.argsort(area, kind="stable")[::-1]:
        i, j = int(left[k]), int(right[k])
        small, large = (i, j) if codes[i] <= codes[j] else (j, i)
        ov = Overlap((codes[small], codes[large]), round(float(area[k]), 2), float(lon[k]),
                     float(lat[k]))
        if fixable[k]:
            geoms_m[large] = _polygonal(shapely.difference(geoms_m[large], geoms_m[small]))
            ov.action = f"removed from {codes[large]}"
            note = (f"overlap of {ov.area_m2} m² with {codes[small]} at ({ov.lon}, {ov.lat}): "
                    f"removed from this grid (snap {snap_m} m)")
            notes[large] = f"{notes[large]}; {note}" if large in notes else note
        overlaps.append(ov)
    return overlaps, notes


def _holes(union: object) -> np.ndarray:
    """Interior rings of a (multi)polygon as polygons."""
    parts = shapely.get_parts(union)
    parts = parts[shapely.get_type_id(parts) == _POLYGON]
    counts = shapely.get_num_interior_rings(parts)
    rings = [shapely.get_interior_ring(p, k) for p, c in zip(parts, counts, strict=True)
             for k in range(c)]
    return shapely.polygons(np.array(rings, dtype=object)) if rings else np.empty(0, object)


def find_gaps(codes: np.ndarray, geoms_m: np.ndarray, proj: LocalProjection, tol_m2: float,
              snap_m: float = 0.0) -> tuple[list[Gap], dict[int, str]]:
    """Gaps above ``tol_m2`` enclosed by grids (metric geometries, modified in place).

    With ``snap_m > 0`` gaps narrower than ``snap_m`` are merged into the
    neighbour sharing the longest border with them.
    """
    if len(geoms_m) == 0:
        return [], {}
    # Close hairline cracks first: a gap linked to the outside by a 1e-9 m crack
    # (float noise between "shared" edges) would otherwise not be a hole at all.
    grown = shapely.buffer(geoms_m, _CRACK_M, join_style="mitre")
    holes = shapely.buffer(_holes(shapely.union_all(grown)), _CRACK_M, join_style="mitre")
    holes = holes[shapely.area(holes) > tol_m2]
    if len(holes) == 0:
        return [], {}
    tree = shapely.STRtree(geoms_m)
    hole_i, grid_i = tree.query(holes, predicate="dwithin", distance=2 * _CRACK_M)
    # regrowing the holes above overshoots into the grids: cut back to the exact gap
    holes = np.array([shapely.difference(h, shapely.union_all(geoms_m[grid_i[hole_i == k]]))
                      for k, h in enumerate(holes)], dtype=object)
    shared = shapely.length(shapely.intersection(
        shapely.boundary(holes[hole_i]), shapely.buffer(geoms_m[grid_i], 0.01)))
    lon, lat = _rep_points(proj, holes)
    area = shapely.area(holes)
    fixable = _thin(holes, snap_m)
    gaps: list[Gap] = []
    notes: dict[int, str] = {}
    for h in np.argsort(area, kind="stable")[::-1]:
        mine = hole_i == h
        neighbours = grid_i[mine]
        gap = Gap(tuple(sorted(str(codes[g]) for g in neighbours)), round(float(area[h]), 2),
                  float(lon[h]), float(lat[h]))
        if fixable[h] and len(neighbours):
            # longest shared border wins; equal borders go to the smallest code
            order = np.lexsort((codes[neighbours].astype(str), -shared[mine]))
            target = int(neighbours[order[0]])
            geoms_m[target] = _polygonal(shapely.union(geoms_m[target], holes[h]))
            gap.action = f"filled into {codes[target]}"
            note = (f"gap of {gap.area_m2} m² at ({gap.lon}, {gap.lat}): filled into this grid "
                    f"(snap {snap_m} m)")
            notes[target] = f"{notes[target]}; {note}" if target in notes else note
        gaps.append(gap)
    return gaps, notes
