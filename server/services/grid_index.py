"""The in-process index of active grids, shared by ``/grids/match`` and sync.

Building it costs a full read of the active layers, so it is cached per process and
rebuilt only when the set of active layer versions changes (one tiny query per use).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import shapely
from flask import current_app
from sqlalchemy import text

from geo.datum import to_wgs84
from geo.match import GridIndex
from server.extensions import db
from sync.state import Placement

_lock = threading.Lock()
_cache: dict[str, ActiveGrids] = {}


@dataclass(frozen=True)
class ActiveGrids:
    epoch: str
    ids: np.ndarray
    codes: np.ndarray
    rural: np.ndarray
    index: GridIndex

    def match(self, lon: np.ndarray, lat: np.ndarray) -> list[tuple[int | None, str | None,
                                                                      str, bool]]:
        """``(grid id, code, match kind, rural)`` for each WGS-84 point."""
        idx, kinds = self.index.match(np.asarray(lon, float), np.asarray(lat, float))
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
            index = GridIndex([r.code for r in rows], geoms,
                              edge_m=current_app.config["MATCH_EDGE_M"],
                              nearest_m=current_app.config["MATCH_NEAREST_M"])
            cached = ActiveGrids(epoch, np.array([r.id for r in rows], dtype=np.int64),
                                 np.array([r.code for r in rows], dtype=object),
                                 np.array([bool(r.rural) for r in rows]), index)
            _cache.clear()
            _cache[key] = cached
    return cached


def place_points(points: list[tuple[float, float, str]]) -> list[Placement]:
    """Convert ``(lon, lat, datum)`` points to WGS-84 and match them, all at once."""
    if not points:
        return []
    lon = np.array([p[0] for p in points], float)
    lat = np.array([p[1] for p in points], float)
    datums = np.array([p[2] for p in points], dtype=object)
    for datum in set(datums.tolist()) - {"wgs84", "cgcs2000"}:
        sel = datums == datum
        lon[sel], lat[sel] = to_wgs84(lon[sel], lat[sel], datum)
    matches = active_grids().match(lon, lat)
    return [Placement(float(x), float(y), *m)
            for x, y, m in zip(lon.tolist(), lat.tolist(), matches, strict=True)]
