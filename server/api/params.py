"""Parsing of query-string values that marshmallow does not know."""

from __future__ import annotations

import math

from server.errors import ApiError


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` as floats, or a 400 that says what is wrong."""
    if value is None or value == "":
        return None
    parts = value.split(",")
    try:
        nums = tuple(float(p) for p in parts)
    except ValueError:
        nums = ()
    if len(nums) != 4 or not all(math.isfinite(n) for n in nums):
        raise ApiError(400, "bad_request", "bbox must be minlon,minlat,maxlon,maxlat",
                       {"bbox": [value]})
    minlon, minlat, maxlon, maxlat = nums
    if not (-180 <= minlon <= maxlon <= 180 and -90 <= minlat <= maxlat <= 90):
        raise ApiError(400, "bad_request", "bbox is out of range or min > max",
                       {"bbox": [value]})
    return nums  # type: ignore[return-value]


def bbox_filter(value: str | None, column: str) -> tuple[str, dict[str, float]]:
    """An SQL condition keeping rows whose ``column`` meets the bbox, or none.

    >>> bbox_filter("118.6,31.9,118.8,32.1", "g.geom")[0]
    ' AND g.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)'
    >>> bbox_filter(None, "g.geom")
    ('', {})
    """
    bbox = parse_bbox(value)
    if not bbox:
        return "", {}
    return (f" AND {column} && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)",
            dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))
