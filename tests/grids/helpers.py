"""Building small grid layers far from Nanjing, and running ``grids`` commands.

Matching uses the active version of *every* layer, so a test layer that overlapped the
shared demo layer would change what other tests see. Test layers therefore sit around
lon 100, lat 30 (Sichuan: still inside China, so GCJ-02 applies there), each test in its
own patch of it, and the ``layer`` fixture deactivates them when the test ends.
"""

from __future__ import annotations

import itertools
import json
import secrets
from pathlib import Path
from typing import Any

CELL = 0.001  # ~96 m x 111 m at 30 N
_patches = itertools.count(1)


class Patch:
    """A unique lattice of cells and a unique code prefix for one test."""

    def __init__(self) -> None:
        k = next(_patches)
        self.lon0 = 100.0 + (k % 40) * 0.05
        self.lat0 = 30.0 + (k // 40) * 0.05
        # 6-digit district (not Jianye's 320105) + 3-digit street, unique per patch
        self.street = f"5{secrets.randbelow(10**5):05d}{k % 1000:03d}"

    def code(self, n: int, community: int = 1) -> str:
        return f"{self.street}{community:03d}{n:03d}"

    def ring(self, col: float, row: float, size: float = 1.0) -> list[list[float]]:
        x0, y0 = self.lon0 + col * CELL, self.lat0 + row * CELL
        x1, y1 = x0 + size * CELL, y0 + size * CELL
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]

    def polygon(self, col: float, row: float, size: float = 1.0) -> dict[str, Any]:
        return {"type": "Polygon", "coordinates": [self.ring(col, row, size)]}

    def centre(self, col: float, row: float, size: float = 1.0) -> tuple[float, float]:
        return (self.lon0 + (col + size / 2) * CELL, self.lat0 + (row + size / 2) * CELL)


def feature(geometry: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return path


def summary(output: str) -> dict[str, int]:
    """The last line ``imported=N repaired=M refused=K total=T`` as a dict."""
    last = output.strip().splitlines()[-1]
    parts = dict(p.split("=") for p in last.split())
    assert list(parts) == ["imported", "repaired", "refused", "total"], last
    return {k: int(v) for k, v in parts.items()}


def write_shapefile(path: Path, geoms: list[Any], fields: dict[str, list[Any]],
                    encoding: str = "GBK", cpg: bool = True) -> Path:
    """A polygon Shapefile written with pyogrio, its text in ``encoding``."""
    import numpy as np
    import pyogrio.raw
    import shapely

    data = [np.array(v, dtype=object) for v in fields.values()]
    pyogrio.raw.write(path, shapely.to_wkb(np.array(geoms, dtype=object)), data, list(fields),
                      driver="ESRI Shapefile", geometry_type="Polygon", crs="EPSG:4326",
                      encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink()
    return path


def stored(db: Any, layer: str) -> dict[str, dict[str, Any]]:
    """The active version's grids of ``layer`` as PostGIS sees them, by code."""
    rows = db.execute("""
        SELECT g.code, ST_IsValid(g.geom), GeometryType(g.geom), ST_Area(g.geom::geography),
               ST_NumGeometries(g.geom), ST_NumInteriorRings(ST_GeometryN(g.geom, 1)),
               ST_XMin(g.geom), ST_YMin(g.geom), ST_SRID(g.geom), g.name, g.street_code,
               g.community_code, g.id
        FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id
        WHERE l.name = %s
    """, (layer,)).fetchall()
    keys = ("valid", "type", "area_m2", "parts", "holes", "xmin", "ymin", "srid", "name",
            "street_code", "community_code", "id")
    return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


def geography_area(db: Any, geometry: dict[str, Any]) -> float:
    """Area in m² of a (valid) GeoJSON geometry, computed by PostGIS."""
    return db.execute("SELECT ST_Area(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)::geography)",
                      (json.dumps(geometry),)).fetchone()[0]


def report_lines(output: str, prefix: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.startswith(prefix)]
