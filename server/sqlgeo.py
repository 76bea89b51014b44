"""SQL for reading a stored point's coordinates in a way no stored value can fail.

``record.geom`` may hold anything an old client or a bypassed validator stored: a
subnormal coordinate (``5e-324``: ``radians()`` of it raises "value out of range:
underflow"), ``NaN`` or ``±Infinity`` (``floor()::int`` raises, ``ST_AsGeoJSON`` writes
``NaN``, which is not JSON), or a longitude or latitude out of range. One such row used to
fail the rollup refresh, and with it every tile and statistic, for everyone.

The expressions here are ``CASE`` guards, so PostgreSQL never evaluates the arithmetic
on a bad value whatever order it plans the rest of a statement in: a coordinate out of
range (``NaN`` included, which PostgreSQL sorts above every number) reads as NULL, and
one closer to zero than :data:`TINY` degrees (0.1 mm) reads as exactly 0.
"""

from __future__ import annotations

TINY = 1e-9


def _coord(fn: str, limit: float) -> str:
    value = f"{fn}({{g}})"
    return (f"(CASE WHEN {value} BETWEEN -{limit} AND {limit} THEN "
            f"CASE WHEN abs({value}) >= {TINY} THEN {value} ELSE 0.0 END END)")


# Templates with ``{g}`` for the geometry: the point's longitude and latitude, or NULL.
LON = _coord("ST_X", 180.0)
LAT = _coord("ST_Y", 90.0)


def readable(g: str) -> str:
    """A condition: the point ``g`` has finite coordinates in range.

    >>> readable("r.geom")
    '(ST_X(r.geom) BETWEEN -180.0 AND 180.0 AND ST_Y(r.geom) BETWEEN -90.0 AND 90.0)'
    """
    return f"(ST_X({g}) BETWEEN -180.0 AND 180.0 AND ST_Y({g}) BETWEEN -90.0 AND 90.0)"


def in_range(g: str) -> str:
    """A condition: every coordinate of geometry ``g`` (its bounding box) is in range.

    ``gp_track_geom()`` keeps a track whose coordinates are out of range (``1e308``,
    latitude 1000), and ``ST_Transform`` to Web Mercator raises on those.

    >>> in_range("r.track")
    '(ST_XMin(r.track) >= -180.0 AND ST_XMax(r.track) <= 180.0 AND ST_YMin(r.track) >= -90.0 AND ST_YMax(r.track) <= 90.0)'
    """
    return (f"(ST_XMin({g}) >= -180.0 AND ST_XMax({g}) <= 180.0 "
            f"AND ST_YMin({g}) >= -90.0 AND ST_YMax({g}) <= 90.0)")


def geojson(g: str, digits: int = 7) -> str:
    """The point ``g`` as GeoJSON, or NULL when it is not readable (never ``NaN``)."""
    return f"(CASE WHEN {readable(g)} THEN ST_AsGeoJSON({g}, {digits})::json END)"


def lon(g: str) -> str:
    """The longitude of point ``g``, NULL if unreadable.

    >>> "ST_X(p.g)" in lon("p.g") and "{g}" not in lon("p.g")
    True
    """
    return LON.format(g=g)


def lat(g: str) -> str:
    """The latitude of point ``g``, NULL if unreadable."""
    return LAT.format(g=g)
