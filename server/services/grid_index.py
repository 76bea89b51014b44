"""The in-process index of active grids, shared by ``/grids/match`` and sync.

Building it costs a full read of the active layers, so it is cached per process and
rebuilt only when the set of active layer versions changes (one tiny query per use).

Matching is :class:`geo.match.GridIndex` behind a :class:`CellLookup`: a sparse raster
of small square cells that each lie deep inside exactly one grid. Most points of a
request fall in such a cell and are answered ``inside`` by two array lookups, without
creating a single GEOS geometry; the rest go to ``GridIndex.match``. The answers are
the same (see ``CellLookup``), only cheaper.
"""

from __future__ import annotations

import gc
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from flask import current_app
from sqlalchemy import text

from geo.datum import to_wgs84
from geo.match import GridIndex
from geo.projection import LocalProjection
from server.extensions import db
from sync.state import Placement

_lock = threading.Lock()
_cache: dict[str, ActiveGrids] = {}


_KIND_NUMBER = {"inside": 0, "edge": 1, "nearest": 2}


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
        # Inward buffers cut arcs with chords, which can leave points up to a factor
        # cos(pi / (4 * quad_segs)) closer to the border: the distances are enlarged by it.
        half_diag = size * np.sqrt(0.5)
        chord = 1.0 / np.cos(np.pi / 32)
        deep = shapely.buffer(full, -(edge_m + margin_m + half_diag) * chord, quad_segs=8)
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
_OUTSIDE_JSON = '{"code":null,"match":"outside"}'


@dataclass(frozen=True)
class ActiveGrids:
    epoch: str
    ids: np.ndarray
    codes: np.ndarray
    rural: np.ndarray
    index: GridIndex
    cells: CellLookup | None = None
    _json_items: list[np.ndarray] = field(default_factory=list, repr=False, compare=False)

    def match_positions(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray,
                                                                         np.ndarray]:
        """``GridIndex.match`` for WGS-84 points, with the ``CellLookup`` fast path."""
        lon, lat = np.asarray(lon, float).ravel(), np.asarray(lat, float).ravel()
        if self.cells is None:
            return self.index.match(lon, lat)
        idx = self.cells.lookup(lon, lat)
        kinds = np.where(idx == CellLookup.FAR, "outside", "inside").astype("<U7")
        idx[idx == CellLookup.FAR] = -1
        rest = np.flatnonzero((idx < 0) & (kinds == "inside"))
        if len(rest):
            idx[rest], kinds[rest] = self.index.match(lon[rest], lat[rest])
        return idx, kinds

    def match_json(self, lon: np.ndarray, lat: np.ndarray) -> str:
        """The ``/grids/match`` answer for WGS-84 points, as JSON text.

        The items are precomputed per grid and match kind, so a 10,000-point answer is a
        lookup and one join instead of 10,000 dicts through a serializer.

        Examples
        --------
        >>> from shapely.geometry import box
        >>> grids = ActiveGrids("", np.array([7]), np.array(["a"], dtype=object),
        ...                     np.array([False]), GridIndex(["a"], [box(0, 0, 0.01, 0.01)]))
        >>> grids.match_json(np.array([0.005, 1.0]), np.array([0.005, 1.0]))
        '{"matches":[{"code":"a","match":"inside"},{"code":null,"match":"outside"}]}'
        """
        idx, kinds = self.match_positions(lon, lat)
        if len(idx) == 0:
            return '{"matches":[]}'
        table = self._item_table()
        kind_no = np.full(len(idx), 3, dtype=np.int64)
        for kind, number in _KIND_NUMBER.items():
            kind_no[kinds == kind] = number
        items = table[np.where(idx >= 0, idx * 3 + np.minimum(kind_no, 2), len(table) - 1)]
        return '{"matches":[' + ",".join(items.tolist()) + "]}"

    def _item_table(self) -> np.ndarray:
        """``{"code":…,"match":…}`` for every grid x (inside, edge, nearest), then outside."""
        if not self._json_items:
            with _lock:
                if not self._json_items:
                    items = [f'{{"code":{json.dumps(str(code), ensure_ascii=False)},'
                             f'"match":"{kind}"}}'
                             for code in self.codes.tolist() for kind in _KIND_NUMBER]
                    table = np.empty(len(items) + 1, dtype=object)
                    table[:-1] = items
                    table[-1] = _OUTSIDE_JSON
                    self._json_items.append(table)
        return self._json_items[0]

    def match(self, lon: np.ndarray, lat: np.ndarray) -> list[tuple[int | None, str | None,
                                                                      str, bool]]:
        """``(grid id, code, match kind, rural)`` for each WGS-84 point."""
        idx, kinds = self.match_positions(lon, lat)
        out = []
        for i, kind in zip(idx.tolist(), kinds.tolist(), strict=True):
            if i < 0:
                out.append((None, None, kind, False))
            else:
                out.append((int(self.ids[i]), str(self.codes[i]), kind, bool(self.rural[i])))
        return out


def _epoch() -> str:
    return db.session.execute(text(
        "SELECT coalesce(string_agg(active_version_id::text, ',' ORDER BY id), '') FROM grid_layer"
    )).scalar_one()


def active_grids() -> ActiveGrids:
    epoch = _epoch()
    key = f"{current_app.config['SQLALCHEMY_DATABASE_URI']}|{epoch}"
    cached = _cache.get(key)
    if cached is not None:
        return cached
    with _lock:
        cached = _cache.get(key)
        if cached is None:
            rows = db.session.execute(text("""
                SELECT g.id, g.code, g.kind = 'rural' AS rural, ST_AsBinary(g.geom) AS wkb
                FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id
                ORDER BY g.code
            """)).all()
            geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else []
            edge_m = current_app.config["MATCH_EDGE_M"]
            index = GridIndex([r.code for r in rows], geoms, edge_m=edge_m,
                              nearest_m=current_app.config["MATCH_NEAREST_M"])
            cells = CellLookup(geoms, edge_m=edge_m,
                               nearest_m=current_app.config["MATCH_NEAREST_M"]
                               ) if len(rows) else None
            cached = ActiveGrids(epoch, np.array([r.id for r in rows], dtype=np.int64),
                                 np.array([r.code for r in rows], dtype=object),
                                 np.array([bool(r.rural) for r in rows]), index, cells)
            _cache.clear()
            _cache[key] = cached
            _freeze_long_lived()
    return cached


def _freeze_long_lived() -> None:
    """Move everything alive now out of the cyclic collector's reach.

    The index and the app are hundreds of thousands of long-lived objects. A request
    that parses 10,000 points allocates 10,000 lists, enough to trigger a full
    collection every few requests, and each one rescanned all of them: parsing took
    four times longer than the parse itself. Frozen objects are still freed by reference
    counting; only cycles among them wait for ``gc.unfreeze``.
    """
    gc.collect()
    gc.freeze()


def to_wgs84_points(lon: np.ndarray, lat: np.ndarray, datum: str
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Points in ``datum`` as WGS-84 (CGCS2000 counts as WGS-84 at this scale)."""
    if datum in ("wgs84", "cgcs2000") or len(lon) == 0:
        return lon, lat
    return to_wgs84(lon, lat, datum)


def place_points(points: list[tuple[float, float, str]]) -> list[Placement]:
    """Convert ``(lon, lat, datum)`` points to WGS-84 and match them, all at once."""
    if not points:
        return []
    lon = np.array([p[0] for p in points], float)
    lat = np.array([p[1] for p in points], float)
    datums = np.array([p[2] for p in points], dtype=object)
    for datum in set(datums.tolist()):
        sel = datums == datum
        lon[sel], lat[sel] = to_wgs84_points(lon[sel], lat[sel], datum)
    matches = active_grids().match(lon, lat)
    return [Placement(float(x), float(y), *m)
            for x, y, m in zip(lon.tolist(), lat.tolist(), matches, strict=True)]
