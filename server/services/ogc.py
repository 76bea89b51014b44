"""OGC API Features (Part 1 core + GeoJSON, Part 2 CRS) over the caller's data.

Four collections, each one set-based SQL statement that writes the GeoJSON features
itself (``json_build_object`` … ``::text``), so that a page of 10,000 features costs
little more than the bare ``ST_AsGeoJSON`` query (``bench/ogc.py``):

- ``grids``: the active grid polygons the caller may see (:func:`server.scope.grid_filter`);
- ``inspections``, ``incidents``: points (:func:`server.scope.record_filter`);
- ``tracks``: patrol tracks as LineStrings (inspections of kind ``patrol``).

No collection carries household data (names, phones, ID numbers): that stays in sync and
in the desk, behind :mod:`server.services.privacy`. Properties are whitelisted columns,
never a record's whole ``data``.

CRS: CRS84 (longitude first) by default; ``EPSG:4490`` (CGCS2000) on request with
latitude first, as Part 2 requires. CGCS2000 and WGS-84 differ by centimetres, less than
any phone's GPS error, so the coordinates are the stored WGS-84 ones relabelled (and
swapped), not transformed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from server.api.params import parse_bbox
from server.auth import Caller
from server.dbconn import CUSTOM_PLAN
from server.errors import ApiError
from server.extensions import db
from server.scope import grid_filter, record_filter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CGCS2000 = "http://www.opengis.net/def/crs/EPSG/0/4490"
CRS_LIST = (CRS84, CGCS2000)
# Spellings clients use for the same two CRSs (QGIS writes the EPSG one as a URI, some
# scripts as a CURIE or ``EPSG:4490``).
_CRS_ALIASES = {
    CRS84: CRS84, "[OGC:CRS84]": CRS84, "OGC:CRS84": CRS84, "CRS84": CRS84,
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84h": CRS84,
    CGCS2000: CGCS2000, "[EPSG:4490]": CGCS2000, "EPSG:4490": CGCS2000,
}
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)
LIMIT_DEFAULT, LIMIT_MAX = 100, 10_000
# An offset beyond this would make PostgreSQL walk millions of rows for one page.
OFFSET_MAX = 10_000_000


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    geometry: str  # the GeoJSON geometry type, for clients that ask before reading
    temporal: bool


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection("grids", "网格 Grids", "The active grid polygons in the caller's scope.",
               "MultiPolygon", False),
    Collection("inspections", "巡查 Inspections",
               "Inspections (visits, patrols, reports…) as points; datetime filters on "
               "created_at (server arrival).", "Point", True),
    Collection("incidents", "事件 Incidents",
               "Incidents as points with their status and department; datetime filters on "
               "created_at.", "Point", True),
    Collection("tracks", "巡查轨迹 Patrol tracks",
               "Patrol tracks as LineStrings; datetime filters on created_at.",
               "LineString", True),
)}


# --- query parameters (pure) -------------------------------------------------------------

def parse_crs(value: str | None, name: str = "crs") -> str:
    """The canonical URI of a supported CRS, or a 400.

    >>> parse_crs(None) == CRS84, parse_crs("EPSG:4490") == CGCS2000
    (True, True)
    >>> parse_crs("http://www.opengis.net/def/crs/EPSG/0/3857")
    Traceback (most recent call last):
    server.errors.ApiError: crs must be one of http://www.opengis.net/def/crs/OGC/1.3/CRS84, http://www.opengis.net/def/crs/EPSG/0/4490
    """
    if value is None or value == "":
        return CRS84
    crs = _CRS_ALIASES.get(value.strip())
    if crs is None:
        raise ApiError(400, "bad_request", f"{name} must be one of {', '.join(CRS_LIST)}",
                       {name: [value[:200]]})
    return crs


def parse_limit(value: str | None) -> int:
    """1–10,000, default 100.

    >>> parse_limit(None), parse_limit("10000")
    (100, 10000)
    """
    if value is None or value == "":
        return LIMIT_DEFAULT
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= LIMIT_MAX:
        raise ApiError(400, "bad_request", f"limit must be an integer from 1 to {LIMIT_MAX}",
                       {"limit": [value[:64]]})
    return n


def parse_offset(value: str | None) -> int:
    """The start of a page (what our ``next`` links carry), 0 by default."""
    if value is None or value == "":
        return 0
    try:
        n = int(value)
    except ValueError:
        n = -1
    if not 0 <= n <= OFFSET_MAX:
        raise ApiError(400, "bad_request", f"offset must be an integer from 0 to {OFFSET_MAX}",
                       {"offset": [value[:64]]})
    return n


def parse_bbox_crs(value: str | None, crs: str) -> tuple[float, float, float, float] | None:
    """A bbox as ``(minlon, minlat, maxlon, maxlat)`` whatever axis order it came in.

    In EPSG:4490 a bbox is latitude first (Part 2), so it is swapped back here.

    >>> parse_bbox_crs("118.7,31.9,118.8,32.0", CRS84)
    (118.7, 31.9, 118.8, 32.0)
    >>> parse_bbox_crs("31.9,118.7,32.0,118.8", CGCS2000)
    (118.7, 31.9, 118.8, 32.0)
    """
    if value is None or value == "":
        return None
    if crs == CGCS2000:
        parts = value.split(",")
        if len(parts) == 4:
            value = ",".join((parts[1], parts[0], parts[3], parts[2]))
    return parse_bbox(value)


def _instant(raw: str, end: bool) -> datetime:
    """One end of a datetime interval. A bare date covers its whole (UTC) day."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(raw) from exc
    if value.tzinfo is None:
        raise ValueError(raw)  # RFC 3339 times carry an offset
    return value


def parse_datetime(value: str | None) -> tuple[datetime | None, datetime | None] | None:
    """``datetime`` as a half-open ``[start, end)`` window; ``..`` or nothing is an open end.

    An instant is a window of itself (end = start + 1 µs); a date is its whole UTC day.

    >>> parse_datetime("2026-11-23T08:00:00Z/..")
    (datetime.datetime(2026, 11, 23, 8, 0, tzinfo=datetime.timezone.utc), None)
    >>> parse_datetime("../2026-11-24")[1]
    datetime.datetime(2026, 11, 25, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_datetime("2026-11-23")
    (datetime.datetime(2026, 11, 23, 0, 0, tzinfo=datetime.timezone.utc), datetime.datetime(2026, 11, 24, 0, 0, tzinfo=datetime.timezone.utc))
    """
    if value is None or value == "":
        return None
    bad = ApiError(400, "bad_request",
                   "datetime must be an RFC 3339 instant or an interval start/end, "
                   "with '..' for an open end", {"datetime": [value[:100]]})
    parts = value.split("/")
    try:
        if len(parts) == 1:
            if parts[0] in ("", ".."):
                raise bad
            start = _instant(parts[0], end=False)
            if len(parts[0]) == 10:
                return start, _instant(parts[0], end=True)
            return start, start + timedelta(microseconds=1)
        if len(parts) != 2 or all(p in ("", "..") for p in parts):
            raise bad
        lo = None if parts[0] in ("", "..") else _instant(parts[0], end=False)
        hi = None if parts[1] in ("", "..") else _instant(parts[1], end=True)
    except ValueError as exc:
        raise bad from exc
    if lo is not None and hi is not None and lo >= hi:
        raise bad
    return lo, hi


@dataclass(frozen=True)
class ItemsQuery:
    crs: str
    bbox: tuple[float, float, float, float] | None
    window: tuple[datetime | None, datetime | None] | None
    limit: int
    offset: int


def parse_items_query(args: Any) -> ItemsQuery:
    """Every query parameter of ``…/items``, checked before any SQL runs."""
    crs = parse_crs(args.get("crs"))
    bbox_crs = parse_crs(args.get("bbox-crs"), "bbox-crs")
    return ItemsQuery(crs=crs, bbox=parse_bbox_crs(args.get("bbox"), bbox_crs),
                      window=parse_datetime(args.get("datetime")),
                      limit=parse_limit(args.get("limit")),
                      offset=parse_offset(args.get("offset")))


def collection_or_404(collection_id: str) -> Collection:
    coll = COLLECTIONS.get(collection_id)
    if coll is None:
        raise ApiError(404, "not_found", f"no collection {collection_id[:64]!r}; collections: "
                       f"{', '.join(COLLECTIONS)}")
    return coll


# --- SQL ---------------------------------------------------------------------------------

def _geojson(column: str, crs: str) -> str:
    # EPSG:4490 is latitude first (OGC API Features Part 2, /req/crs/crs-axis-order).
    geom = f"ST_FlipCoordinates({column})" if crs == CGCS2000 else column
    return f"ST_AsGeoJSON({geom}, 7)"


def _feature(fid: str, geometry: str, props: list[tuple[str, str]]) -> str:
    """SQL writing one GeoJSON feature as text by concatenation.

    ``json_build_object`` with a ``::json`` geometry cost twice as much a feature: it
    re-parses the geometry's JSON and builds a value for every key. Concatenating the
    known keys with ``to_json`` of each value (which quotes and escapes) writes the same
    JSON. Keys are our own names, never input.

    >>> print(_feature("r.id", "g", [("a", "r.a"), ("b", "r.b")]))
    concat('{"type":"Feature","id":', to_json(r.id), ',"geometry":', g, ',"properties":{"a":', coalesce(to_json(r.a)::text, 'null'), ',"b":', coalesce(to_json(r.b)::text, 'null'), '}}')
    """
    parts = [f"""'{{"type":"Feature","id":', to_json({fid}), ',"geometry":', {geometry}"""]
    for i, (name, expr) in enumerate(props):
        key = (',"properties":{' if i == 0 else ",") + f'"{name}":'
        parts.append(f"'{key}', coalesce(to_json({expr})::text, 'null')")
    return "concat(" + ", ".join(parts) + ", '}}')"


GRID_PROPS = [(c, f"g.{c}") for c in (
    "code", "name", "district_code", "street_code", "street_name", "community_code",
    "community_name", "kind", "households")]
RECORD_PROPS = {
    "inspections": [
        ("id", "r.id"), ("kind", "r.kind"), ("note", "r.data->>'note'"),
        ("grid_code", "r.grid_code"), ("match", "r.match"), ("created_by", "u.username"),
        ("occurred_at", "r.data->>'occurred_at'"), ("created_at", "r.created_at"),
        ("incident_id", "r.data->>'incident_id'")],
    "incidents": [
        ("id", "r.id"), ("category", "r.data->>'category'"), ("title", "r.data->>'title'"),
        ("status", "r.status"), ("urgent", "(r.data->>'urgent')::boolean"),
        ("department", "r.data->>'department'"), ("grid_code", "r.grid_code"),
        ("created_by", "u.username"), ("created_at", "r.created_at"), ("due_at", "r.due_at")],
    "tracks": [
        ("id", "r.id"), ("grid_code", "r.grid_code"), ("created_by", "u.username"),
        ("started_at", "r.data->>'started_at'"), ("ended_at", "r.data->>'ended_at'"),
        ("occurred_at", "r.data->>'occurred_at'"), ("created_at", "r.created_at"),
        ("length_m", "round(ST_Length(r.track::geography)::numeric, 1)")],
}


@dataclass(frozen=True)
class Source:
    """Where a collection's rows come from, scoped and filtered: ``SELECT … FROM
    {tables} WHERE {where} ORDER BY {order}``. Shared with :mod:`gis_export`."""

    tables: str
    where: str
    order: str
    geom: str
    params: dict[str, Any]


GRID_TABLES = "grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id"
RECORD_TABLES = ("record r LEFT JOIN grid g ON g.id = r.grid_id "
                 "JOIN app_user u ON u.id = r.created_by")


def source(coll: Collection, caller: Caller, bbox: tuple[float, float, float, float] | None,
           window: tuple[datetime | None, datetime | None] | None) -> Source:
    params: dict[str, Any] = {}
    geom_col = {"grids": "g.geom", "tracks": "r.track"}.get(coll.id, "r.geom")
    where: list[str] = []
    if bbox:
        params.update(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
        where.append(f"ST_Intersects({geom_col}, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))")
    if window and coll.temporal:
        lo, hi = window
        if lo is not None:
            where.append("r.created_at >= :t0")
            params["t0"] = lo
        if hi is not None:
            where.append("r.created_at < :t1")
            params["t1"] = hi
    if coll.id == "grids":
        scope, scope_params = grid_filter(caller)
        params.update(scope_params)
        return Source(GRID_TABLES, " AND ".join([scope, *where]), "g.code", geom_col, params)
    scope, scope_params = record_filter(caller)
    params.update(scope_params)
    entity = "incident" if coll.id == "incidents" else "inspection"
    base = [f"r.entity = '{entity}'", "NOT r.deleted"]
    if coll.id == "tracks":
        base += ["r.track IS NOT NULL", "r.kind = 'patrol'"]
    else:
        base.append("r.geom IS NOT NULL")
    return Source(RECORD_TABLES, " AND ".join([*base, scope, *where]), "r.created_at, r.id",
                  geom_col, params)


def properties(coll: Collection) -> list[tuple[str, str]]:
    """``(name, SQL expression)`` of the properties a collection's features carry."""
    return GRID_PROPS if coll.id == "grids" else RECORD_PROPS[coll.id]


def _statement(coll: Collection, caller: Caller, q: ItemsQuery) -> tuple[str, dict[str, Any]]:
    """The ``SELECT`` of one page's features as text, plus one more row (there is a next
    page if it comes back). Ordered by a unique key, so pages neither overlap nor skip."""
    src = source(coll, caller, q.bbox, q.window)
    fid = "g.code" if coll.id == "grids" else "r.id"
    sql = f"""
      SELECT {_feature(fid, _geojson(src.geom, q.crs), properties(coll))}
      FROM {src.tables} WHERE {src.where}
      ORDER BY {src.order} LIMIT :lim OFFSET :off"""
    return sql, {**src.params, "lim": q.limit + 1, "off": q.offset}


def items(coll: Collection, caller: Caller, q: ItemsQuery) -> tuple[str, int, bool]:
    """One page as the text of a JSON array of features, how many, and whether more follow.

    PostgreSQL writes each feature's JSON; Python only joins the strings, never parses.
    """
    sql, params = _statement(coll, caller, q)
    rows = db.session.execute(text(sql), params, execution_options=CUSTOM_PLAN).scalars().all()
    more = len(rows) > q.limit
    if more:
        rows.pop()
    return "[" + ",".join(rows) + "]", len(rows), more


def extent(coll: Collection, caller: Caller) -> list[float] | None:
    """The bbox of the caller's grids: every collection lies in or near them."""
    scope, params = grid_filter(caller)
    box = db.session.execute(text(f"""
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
          SELECT ST_Extent(g.geom) AS e
          FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id
          WHERE {scope}) AS s
    """), params).one()
    if box[0] is None:
        return None
    return [round(float(v), 7) for v in box]
