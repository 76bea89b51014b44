"""The in-process index of active grids, shared by ``/grids/match`` and sync.

Building it costs a full read of the active layers, so it is cached per process and
rebuilt only when the set of active layer versions changes (one tiny query per use).

Matching is :class:`geo.match.GridIndex` behind a :class:`geo.cells.CellLookup`: a
sparse raster of small square cells that each lie deep inside exactly one grid. The
answers are the same, only cheaper; this module only loads, caches and serves them.
"""

from __future__ import annotations

import gc
import json
import threading
from dataclasses import dataclass, field

import numpy as np
import shapely
from flask import current_app
from sqlalchemy import text

from geo.cells import CellLookup, match_with_cells
from geo.datum import to_wgs84
from geo.match import GridIndex
from server.extensions import db
from sync.state import Placement

_lock = threading.Lock()
_cache: dict[str, ActiveGrids] = {}


_KIND_NUMBER = {"inside": 0, "edge": 1, "nearest": 2}


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
        return match_with_cells(self.index, self.cells, lon, lat)

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
