"""Square cells deep inside one grid each: a fast path for matching that never changes
an answer of :class:`geo.match.GridIndex`.

Most points of a request fall in such a cell and are answered ``inside`` by two array
lookups, without creating a single GEOS geometry; the rest go to ``GridIndex.match``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from geo.match import GridIndex, shrink
from geo.projection import LocalProjection

__all__ = ["CellLookup", "match_with_cells"]


class CellLookup:
    """Square cells that lie deep inside exactly one grid, for an ``inside`` fast path.

    A cell qualifies for grid *i* when it is properly inside grid *i* shrunk by
    ``edge_m + margin_m`` and more than ``margin_m`` away from every other grid. A point in
    it is therefore inside grid *i* only, farther than ``edge_m`` from its border, which
    is exactly when ``GridIndex.match`` answers ``(i, "inside")``: the lookup never
    changes an answer, it only skips GEOS. (The margin also absorbs float rounding where
    a point sits on a cell edge.) A cell is tested by its centre: it qualifies when its
    centre lies deeper than half the cell's diagonal inside that safe region. Cells are
    about a sixteenth of the median grid's width, so roughly 70 % of the points in a
    typical urban layer take the fast path (and points beyond ``nearest_m`` of the
    layer's bounding box are ``outside`` at once).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> cells = CellLookup([box(118.700, 32.0, 118.701, 32.001),
    ...                     box(118.701, 32.0, 118.702, 32.001)], edge_m=3.0, nearest_m=50.0)
    >>> cells.lookup(np.array([118.7005, 118.7015, 118.70001, 118.7021, 118.8]),
    ...              np.array([32.0005, 32.0005, 32.0005, 32.0005, 32.0])).tolist()
    [0, 1, -1, -1, -2]
    """

    FAR = -2  # lookup's answer for points too far from every grid to match at all

    def __init__(self, geoms: Any, *, edge_m: float, nearest_m: float, margin_m: float = 0.5,
                 cells_per_side: float = 16.0, max_cells: int = 3_000_000) -> None:
        arr = np.empty(len(geoms), dtype=object)
        arr[:] = list(geoms)
        usable = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
        pos = np.flatnonzero(usable)
        self.proj = LocalProjection.around(arr[usable])
        self.keys = np.empty(0, dtype=np.int64)  # sparse form: sorted cell numbers…
        self.values = np.empty(0, dtype=np.int32)  # …and their grid positions
        self.dense: np.ndarray | None = None  # dense form: grid position per cell, or -1
        self.count = 0
        self.x0 = self.y0 = 0.0
        self.size, self.ncols, self.nrows = 1.0, 0, 0
        self.reach = (np.inf, np.inf, -np.inf, -np.inf)
        if len(pos) == 0:
            return
        full = self.proj.forward_geoms(arr[usable])
        xmin, ymin, xmax, ymax = shapely.total_bounds(full)
        far = nearest_m + margin_m  # beyond the layer's bbox grown by this: no match at all
        self.reach = (xmin - far, ymin - far, xmax + far, ymax + far)
        size = float(np.median(np.sqrt(shapely.area(full)))) / cells_per_side
        # never more than about max_cells candidate cells (a layer spread over a province)
        size = max(size, 1.0, float(np.sqrt(shapely.area(full).sum() / max_cells)))
        # A cell qualifies when its centre lies deeper than half its diagonal inside the
        # safe region, so no box geometries are needed: one buffer, one contains_xy.
        half_diag = size * np.sqrt(0.5)
        deep = shrink(full, edge_m + margin_m + half_diag, quad_segs=8)
        tree = shapely.STRtree(full)
        reach = margin_m + half_diag
        a, b = tree.query(deep, predicate="dwithin", distance=reach)
        pairs = a != b
        for i in np.unique(a[pairs]):
            others = shapely.union_all(shapely.buffer(full[b[pairs & (a == i)]], reach))
            deep[i] = shapely.difference(deep[i], others)
        ok = np.flatnonzero(~shapely.is_empty(deep))
        if len(ok) == 0:
            return
        # candidate cells: those whose centre lies inside the grid's bbox
        bx = shapely.bounds(deep[ok])
        c0 = np.ceil((bx[:, 0] - xmin) / size - 0.5).astype(np.int64)
        r0 = np.ceil((bx[:, 1] - ymin) / size - 0.5).astype(np.int64)
        nc = np.maximum(np.floor((bx[:, 2] - xmin) / size - 0.5).astype(np.int64) - c0 + 1, 0)
        nr = np.maximum(np.floor((bx[:, 3] - ymin) / size - 0.5).astype(np.int64) - r0 + 1, 0)
        n = nc * nr
        grid = np.repeat(np.arange(len(ok)), n)
        k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        col = c0[grid] + k % np.maximum(nc[grid], 1)
        row = r0[grid] + k // np.maximum(nc[grid], 1)
        targets = deep[ok]
        shapely.prepare(targets)
        hit = shapely.contains_xy(targets[grid], xmin + (col + 0.5) * size,
                                  ymin + (row + 0.5) * size)
        self.x0, self.y0, self.size = float(xmin), float(ymin), float(size)
        self.ncols = int(np.ceil((xmax - xmin) / size)) + 1
        self.nrows = int(np.ceil((ymax - ymin) / size)) + 1
        keys = row[hit] * self.ncols + col[hit]
        values = pos[ok[grid[hit]]].astype(np.int32)
        cells = self.ncols * self.nrows
        if cells <= 4 * len(keys) + 4096:
            # a densely covered layer: a plain raster is as small as the sparse form and
            # answers with one fancy index instead of a binary search
            self.dense = np.full(cells, -1, dtype=np.int32)
            self.dense[keys] = values
            self.keys = keys[:0]
            self.count = len(keys)
            return
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order].astype(np.int32 if cells < 2**31 else np.int64)
        self.values = values[order]
        self.count = len(keys)

    def __len__(self) -> int:
        """Number of cells that answer ``inside``."""
        return self.count

    def lookup(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Position of the grid each WGS-84 point is deep inside; ``FAR`` (-2) for points
        that no grid can match, not even as ``nearest``; else -1 (ask ``GridIndex``)."""
        out = np.full(len(lon), -1, dtype=np.int64)
        if len(out) == 0:
            return out
        x, y = self.proj.forward(lon, lat)
        x0, y0, x1, y1 = self.reach
        with np.errstate(invalid="ignore"):
            out[(x < x0) | (x > x1) | (y < y0) | (y > y1)] = self.FAR
        if self.count == 0:
            return out
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / self.size)
            row = np.floor((y - self.y0) / self.size)
            valid = (col >= 0) & (col < self.ncols) & (row >= 0) & (row < self.nrows)
        key = (np.where(valid, row, 0).astype(np.int64) * self.ncols
               + np.where(valid, col, 0).astype(np.int64))
        if self.dense is not None:
            found = self.dense[key]
            hit = valid & (found >= 0)
            out[hit] = found[hit]
            return out
        key = key.astype(self.keys.dtype)
        j = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        hit = valid & (self.keys[j] == key)
        out[hit] = self.values[j[hit]]
        return out


def match_with_cells(index: GridIndex, cells: CellLookup | None, lon: np.ndarray,
                     lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``index.match`` for WGS-84 points, answering from ``cells`` where they can.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grids = [box(118.700, 32.0, 118.701, 32.001)]
    >>> index = GridIndex(["a"], grids)
    >>> cells = CellLookup(grids, edge_m=3.0, nearest_m=50.0)
    >>> idx, kinds = match_with_cells(index, cells, np.array([118.7005, 118.70001, 118.8]),
    ...                               np.array([32.0005, 32.0005, 32.0]))
    >>> idx.tolist(), kinds.tolist()
    ([0, 0, -1], ['inside', 'edge', 'outside'])
    """
    lon, lat = np.asarray(lon, float).ravel(), np.asarray(lat, float).ravel()
    if cells is None:
        return index.match(lon, lat)
    idx = cells.lookup(lon, lat)
    kinds = np.where(idx == CellLookup.FAR, "outside", "inside").astype("<U7")
    idx[idx == CellLookup.FAR] = -1
    rest = np.flatnonzero((idx < 0) & (kinds == "inside"))
    if len(rest):
        idx[rest], kinds[rest] = index.match(lon[rest], lat[rest])
    return idx, kinds
