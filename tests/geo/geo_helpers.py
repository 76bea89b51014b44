"""Helpers for building small grid layers (imported by the geo tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LON0, LAT0, CELL = 118.70, 32.00, 0.001  # ~95 m x 111 m cells near Nanjing
DEMO = Path(__file__).resolve().parents[2] / "demo"


def ring(col: float, row: float, size: float = 1.0) -> list[list[float]]:
    """Closed square ring of the lattice cell at (col, row), lon/lat."""
    x0, y0 = LON0 + col * CELL, LAT0 + row * CELL
    x1, y1 = x0 + size * CELL, y0 + size * CELL
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def polygon(col: float, row: float, size: float = 1.0) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring(col, row, size)]}


def code(n: int) -> str:
    return f"320105001001{n:03d}"


def feature(geometry: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}




def write_shapefile(path: Path, geoms: list[Any], fields: dict[str, list[Any]],
                    encoding: str = "GBK", cpg: bool = True) -> Path:
    """Write a polygon Shapefile with pyogrio (text in ``encoding``)."""
    import numpy as np
    import pyogrio.raw
    import shapely

    data = [np.array(v, dtype=float if all(isinstance(x, float) for x in v) else object)
            for v in fields.values()]
    pyogrio.raw.write(path, shapely.to_wkb(np.array(geoms, dtype=object)), data, list(fields),
                      driver="ESRI Shapefile", geometry_type="Polygon", crs="EPSG:4326",
                      encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink()
    return path
