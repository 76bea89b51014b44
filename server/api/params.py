"""Parsing of query-string values that marshmallow does not know."""

from __future__ import annotations

import math
from datetime import date, datetime

from flask import request
from marshmallow import ValidationError, fields, validate

from server.errors import ApiError

# Dates a query may name: the calendar has room for any real work order, and a date
# beyond it (0001-01-01, 9999-12-31) would overflow the day arithmetic in SQL.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
_DAY_RANGE = f"must lie between {FIRST_DAY} and {LAST_DAY}"


class Day(fields.Date):
    """A calendar date (``YYYY-MM-DD``) between 2000-01-01 and 2100-12-31."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Range(FIRST_DAY, LAST_DAY, error=_DAY_RANGE),
                         **kwargs)


def _on_the_calendar(value: datetime) -> None:
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        raise ValidationError(_DAY_RANGE)


class Instant(fields.DateTime):
    """An ISO 8601 / RFC 3339 time whose day lies between 2000-01-01 and 2100-12-31."""

    def __init__(self, **kwargs):
        super().__init__(validate=_on_the_calendar, **kwargs)


def refuse_nul_in_url() -> None:
    """A NUL character in the path or any query parameter is a 400 naming where.

    Registered before every request: a parameter that reaches SQL with one fails there
    (PostgreSQL text cannot hold it), and not every route parses its query with a schema.
    """
    if "\x00" in request.path:
        raise ApiError(400, "bad_request", "the URL path must not contain a NUL character")
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            name = key.replace("\x00", "\\0")
            raise ApiError(400, "bad_request",
                           f"query parameter {name!r} must not contain a NUL character",
                           {name: ["must not contain a NUL character"]})


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
