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


