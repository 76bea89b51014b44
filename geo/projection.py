"""A local metric projection so tolerances can be given in metres.

An equirectangular projection around the layer's centre, with the ellipsoid's
radii of curvature at the centre latitude, is accurate to about 0.3 % across a
city (50 km), i.e. 1 cm on a 3 m tolerance, and costs two multiplications.

Examples
--------
>>> proj = LocalProjection(118.7, 32.0)
>>> x, y = proj.forward(np.array([118.7, 118.71]), np.array([32.0, 32.0]))
>>> round(float(x[1]))  # 0.01 degree of longitude at 32 N
945
>>> lon, lat = proj.inverse(x, y)
>>> np.allclose(lon, [118.7, 118.71])
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

__all__ = ["LocalProjection"]

_WGS84_A = 6378137.0
_WGS84_E2 = 6.69437999014e-3


@dataclass(frozen=True)
class LocalProjection:
    """Equirectangular projection centred on ``(lon0, lat0)``, units metres."""

    lon0: float
    lat0: float

    @classmethod
    def around(cls, geoms: Any) -> LocalProjection:
        """Centre a projection on the bounding box of ``geoms``.

        Examples
        --------
        >>> from shapely.geometry import box
        >>> LocalProjection.around([box(118.0, 31.0, 119.0, 33.0)])
        LocalProjection(lon0=118.5, lat0=32.0)
        >>> LocalProjection.around([])
        LocalProjection(lon0=0.0, lat0=0.0)
        """
        arr = np.asarray(geoms, dtype=object)
        arr = arr[~shapely.is_missing(arr)] if arr.size else arr
        if arr.size == 0:
            return cls(0.0, 0.0)
        xmin, ymin, xmax, ymax = shapely.total_bounds(arr)
        if not np.isfinite([xmin, ymin, xmax, ymax]).all():
            return cls(0.0, 0.0)
        return cls(float((xmin + xmax) / 2), float((ymin + ymax) / 2))

    @property
    def scale(self) -> tuple[float, float]:
        """Metres per degree of longitude and of latitude at the centre."""
        phi = np.radians(self.lat0)
        w = 1.0 - _WGS84_E2 * np.sin(phi) ** 2
        n = _WGS84_A / np.sqrt(w)  # prime vertical radius
        m = _WGS84_A * (1.0 - _WGS84_E2) / w**1.5  # meridional radius
        return float(np.radians(1.0) * n * np.cos(phi)), float(np.radians(1.0) * m)

    def forward(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """Degrees to local metres."""
        kx, ky = self.scale
        return (np.asarray(lon, dtype=float) - self.lon0) * kx, (
            np.asarray(lat, dtype=float) - self.lat0
        ) * ky

    def inverse(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Local metres to degrees."""
        kx, ky = self.scale
        return np.asarray(x, dtype=float) / kx + self.lon0, np.asarray(
            y, dtype=float
        ) / ky + self.lat0

    def forward_geoms(self, geoms: Any) -> Any:
        """Project shapely geometries (scalar or array) to local metres."""
        kx, ky = self.scale
        offset = np.array([self.lon0, self.lat0])
        factor = np.array([kx, ky])
        return shapely.transform(geoms, lambda c: (c - offset) * factor)

    def inverse_geoms(self, geoms: Any) -> Any:
        """Unproject shapely geometries from local metres to degrees."""
        kx, ky = self.scale
        offset = np.array([self.lon0, self.lat0])
        factor = np.array([kx, ky])
        return shapely.transform(geoms, lambda c: c / factor + offset)
