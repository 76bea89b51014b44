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
