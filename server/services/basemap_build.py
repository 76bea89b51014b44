"""``flask basemap build OUT.pmtiles``: a vector basemap of what the database really has.

Honest about its content: the district outline (``demo/jianye-district-boundary-gcj02``,
converted from GCJ-02 to WGS-84 with :func:`geo.datum.to_wgs84`), the streets and
communities dissolved from the active grid layer's hierarchy (``street_code``,
``community_code``), the grid outlines, and the Chinese names of each at a point on its
surface. No roads, water or buildings: there are none in ``demo/``, and none are invented.
A real city basemap is dropped in as a PMTiles extract instead (docs/gis.md).

Tiles are cut by PostGIS (``ST_AsMVTGeom`` + ``ST_AsMVT``, one statement per tile) over
the grids' extent for zooms ``minzoom``–``maxzoom`` (MapLibre over-zooms the last one),
gzipped, and written in tile-id order with the ``pmtiles`` writer to a temporary file
that replaces ``OUT`` only when complete.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from geo.datum import to_wgs84
from server.extensions import db
from server.services.basemap import DEMO_GENERATOR

ROOT = Path(__file__).resolve().parents[2]
DISTRICT_FILE = ROOT / "demo" / "jianye-district-boundary-gcj02.geojson"
DISTRICT_NAME = "建邺区"  # demo/DATA.md: Jianye District, Nanjing (adcode 320105)
EXTENT, BUFFER = 4096, 64
# What each layer holds from which zoom, so low zooms stay light.
LAYER_MINZOOM = {"district": 0, "streets": 0, "communities": 12, "grids": 14, "labels": 0}
LABEL_MINZOOM = {"district": 0, "street": 0, "community": 13, "grid": 15}


def _gcj_to_wgs(geometry: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON geometry's coordinates converted from GCJ-02 to WGS-84.

    >>> g = _gcj_to_wgs({"type": "Polygon", "coordinates": [[[118.7, 32.0], [118.71, 32.0],
    ...                  [118.7, 32.01], [118.7, 32.0]]]})
    >>> [round(v, 4) for v in g["coordinates"][0][0]]
    [118.6948, 32.0021]
    """
    def walk(c: Any) -> Any:
        if c and isinstance(c[0], (int, float)):
            lon, lat = to_wgs84(c[0], c[1], "gcj02")
            return [round(float(lon), 7), round(float(lat), 7)]
        return [walk(x) for x in c]

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def _tiles_over(bounds: tuple[float, float, float, float], z: int) -> list[tuple[int, int]]:
    """Every (x, y) tile of zoom ``z`` that meets the lon/lat ``bounds``.

    >>> len(_tiles_over((118.6, 31.9, 118.8, 32.1), 10))
    2
    """
    n = 2 ** z

    def tx(lon: float) -> int:
        return min(n - 1, max(0, int((lon + 180) / 360 * n)))

    def ty(lat: float) -> int:
        r = math.radians(lat)
        return min(n - 1, max(0, int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * n)))

    x0, y0, x1, y1 = bounds
    return [(x, y) for x in range(tx(x0), tx(x1) + 1) for y in range(ty(y1), ty(y0) + 1)]


def _run(script: str, params: dict[str, Any]) -> None:
    """Each statement of ``script`` in turn (a prepared statement holds only one), with
    the parameters it names."""
    for stmt in filter(str.strip, script.split(";")):
        db.session.execute(text(stmt), {k: v for k, v in params.items() if f":{k}" in stmt})


def _prepare() -> tuple[float, float, float, float]:
    """Temporary tables of the basemap's features in Web Mercator; returns the bounds."""
    geometry = json.loads(DISTRICT_FILE.read_text(encoding="utf-8"))
    if geometry.get("type") == "Feature":
        geometry = geometry["geometry"]
    district = json.dumps(_gcj_to_wgs(geometry))
    _run("""
        CREATE TEMP TABLE bm_grid ON COMMIT DROP AS
        SELECT g.code, g.name, g.street_code, g.street_name, g.community_code,
               g.community_name, g.geom
        FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id;
        CREATE TEMP TABLE bm_feature (layer text, kind text, name text, n int,
                                      geom geometry) ON COMMIT DROP;
    """, {})
    _run("""
        INSERT INTO bm_feature
        SELECT 'district', 'district', :name, 0,
               ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326), 3857);
        INSERT INTO bm_feature
        SELECT 'streets', 'street', max(street_name), 0,
               ST_Transform(ST_Union(geom), 3857)
        FROM bm_grid WHERE street_code IS NOT NULL GROUP BY street_code;
        INSERT INTO bm_feature
        SELECT 'communities', 'community', max(community_name),
               (row_number() OVER (ORDER BY community_code))::int,
               ST_Transform(ST_Union(geom), 3857)
        FROM bm_grid WHERE community_code IS NOT NULL GROUP BY community_code;
        INSERT INTO bm_feature
        SELECT 'grids', 'grid', coalesce(name, code), 0, ST_Transform(geom, 3857) FROM bm_grid;
        INSERT INTO bm_feature
        SELECT 'labels', kind, name, 0, ST_PointOnSurface(geom)
        FROM bm_feature WHERE name IS NOT NULL;
        CREATE INDEX ON bm_feature USING gist (geom);
        ANALYZE bm_feature;
    """, {"name": DISTRICT_NAME, "g": district})
    row = db.session.execute(text("""
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
          SELECT ST_Extent(ST_Transform(geom, 4326)) AS e FROM bm_feature
          WHERE layer IN ('district', 'grids')) AS s
    """)).one()
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


TILE_SQL = """
    WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e,
                        ST_TileEnvelope(:z, :x, :y, margin => :m) AS m)
    SELECT coalesce((
      SELECT string_agg(mvt, '' ORDER BY layer) FROM (
        SELECT f.layer, ST_AsMVT(t, f.layer, 4096, 'geom') AS mvt
        FROM (SELECT layer FROM unnest(CAST(:layers AS text[])) AS layer) AS f
        CROSS JOIN LATERAL (
          SELECT b.kind, b.name, b.n,
                 ST_AsMVTGeom(b.geom, env.e, 4096, 64, true) AS geom
          FROM bm_feature b, env
          WHERE b.layer = f.layer AND b.geom && env.m
            AND (b.layer <> 'labels' OR b.kind = ANY(CAST(:label_kinds AS text[])))) AS t
        WHERE t.geom IS NOT NULL
        GROUP BY f.layer) AS layers), ''::bytea)
"""


def build(out: Path, minzoom: int = 10, maxzoom: int = 16,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the basemap to ``out``; returns a summary (tiles, bytes, bounds)."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    bounds = _prepare()
    tiles: list[tuple[int, bytes]] = []
    for z in range(minzoom, maxzoom + 1):
        layers = [name for name, mz in LAYER_MINZOOM.items() if z >= mz]
        for x, y in _tiles_over(bounds, z):
            data = db.session.execute(text(TILE_SQL), {
                "z": z, "x": x, "y": y, "m": BUFFER / EXTENT, "layers": layers,
                "label_kinds": [k for k, mz in LABEL_MINZOOM.items() if z >= mz]}).scalar_one()
            if data:
                tiles.append((zxy_to_tileid(z, x, y), gzip.compress(bytes(data), 6)))
        if progress:
            progress(f"zoom {z}: {len(tiles)} tiles so far")
    db.session.rollback()  # the temporary tables go with the transaction
    tiles.sort()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".basemap-", suffix=".pmtiles", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            writer = Writer(f)
            for tile_id, data in tiles:
                writer.write_tile(tile_id, data)
            e7 = [round(v * 1e7) for v in bounds]
            writer.finalize({
                "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
                "min_lon_e7": e7[0], "min_lat_e7": e7[1], "max_lon_e7": e7[2],
                "max_lat_e7": e7[3], "center_zoom": min(maxzoom, 12),
                "center_lon_e7": (e7[0] + e7[2]) // 2, "center_lat_e7": (e7[1] + e7[3]) // 2,
            }, {
                "name": "GridPatrol demo basemap", "generator": f"{DEMO_GENERATOR} 1",
                "description": "District outline (converted from GCJ-02), streets and "
                               "communities dissolved from the grid layer, grid outlines, "
                               "Chinese labels. No roads: none are in the source data.",
                "attribution": "GridPatrol demo data",
                "vector_layers": [
                    {"id": name, "minzoom": max(minzoom, mz), "maxzoom": maxzoom,
                     "fields": {"kind": "String", "name": "String", "n": "Number"}}
                    for name, mz in LAYER_MINZOOM.items()],
            })
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"path": str(out), "tiles": len(tiles), "bytes": out.stat().st_size,
            "bounds": [round(v, 6) for v in bounds], "zooms": [minzoom, maxzoom]}
