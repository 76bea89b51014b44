"""The basemap both apps draw under their layers, chosen by configuration.

``BASEMAP`` is one of:

- ``tianditu`` (天地图, CGCS2000) with ``TIANDITU_KEY``: raster vector map and labels;
- ``amap`` (高德, GCJ-02): raster road map;
- an ``http(s)://`` MapLibre style URL (the datum in ``BASEMAP_DATUM``);
- ``file:PATH``: an ``.mbtiles`` or ``.pmtiles`` file served by this server at
  ``/api/v1/basemap/tiles/{z}/{x}/{y}`` (for networks without internet), with a style at
  ``/api/v1/basemap/style.json``. ``BASEMAP_STYLE`` may name a style of one's own for it.

Unset, ``BASEMAP_STYLE``/``BASEMAP_DATUM`` keep working as before (kind ``style``), and
with neither the apps draw on a plain background (kind ``none``).

A missing or unreadable file never stops the app: the style then has no basemap source,
the layers still draw, and tiles answer 404.

This module imports no database: :mod:`server.headers` asks it for CSP origins.
"""

from __future__ import annotations

import gzip
import logging
import math
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TIANDITU_HOSTS = [f"https://t{i}.tianditu.gov.cn" for i in range(8)]
AMAP_HOSTS = [f"https://webrd0{i}.is.autonavi.com" for i in range(1, 5)]
TILE_PATH = "/api/v1/basemap/tiles/{z}/{x}/{y}"
STYLE_PATH = "/api/v1/basemap/style.json"
GLYPHS_PATH = "/api/v1/basemap/fonts/{fontstack}/{range}.pbf"
# Marks a PMTiles file made by ``flask basemap build`` (its layers and style are ours).
DEMO_GENERATOR = "gridpatrol-basemap"


def resolve(cfg: dict[str, Any]) -> dict[str, Any]:
    """``{"kind", "style", "url", "datum", "path"?}`` from the configuration.

    ``style`` and ``url`` are paths or URLs; :func:`public` makes them absolute.

    >>> resolve({"BASEMAP": None, "BASEMAP_STYLE": None, "BASEMAP_DATUM": "wgs84"})["kind"]
    'none'
    >>> r = resolve({"BASEMAP": "amap", "BASEMAP_DATUM": "wgs84"})
    >>> r["kind"], r["datum"], r["style"]
    ('amap', 'gcj02', '/api/v1/basemap/style.json')
    >>> resolve({"BASEMAP": "https://x.cn/s.json", "BASEMAP_DATUM": "gcj02"})["style"]
    'https://x.cn/s.json'
    >>> resolve({"BASEMAP": "file:/srv/city.pmtiles", "BASEMAP_DATUM": "wgs84"})["url"]
    '/api/v1/basemap/tiles/{z}/{x}/{y}'
    """
    choice = (cfg.get("BASEMAP") or "").strip()
    style = cfg.get("BASEMAP_STYLE") or None
    datum = cfg.get("BASEMAP_DATUM") or "wgs84"
    if not choice:
        if style:
            return {"kind": "style", "style": style, "url": None, "datum": datum}
        return {"kind": "none", "style": None, "url": None, "datum": datum}
    lowered = choice.lower()
    if lowered == "tianditu":
        if not cfg.get("TIANDITU_KEY"):
            log.warning("BASEMAP=tianditu needs TIANDITU_KEY: drawing without a basemap")
            return {"kind": "none", "style": None, "url": None, "datum": datum}
        return {"kind": "tianditu", "style": STYLE_PATH, "url": tianditu_urls(cfg)[0][0],
                "datum": "cgcs2000"}
    if lowered == "amap":
        return {"kind": "amap", "style": STYLE_PATH, "url": amap_urls()[0], "datum": "gcj02"}
    if lowered.startswith(("http://", "https://")):
        return {"kind": "style", "style": choice, "url": None, "datum": datum}
    if lowered.startswith("file:"):
        return {"kind": "file", "style": style or STYLE_PATH, "url": TILE_PATH,
                "datum": datum, "path": choice[5:]}
    raise ValueError(f"BASEMAP must be tianditu, amap, an http(s) style URL or file:PATH, "
                     f"not {choice!r}")


def tianditu_urls(cfg: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Tile URL templates of 天地图's vector map (``vec_w``) and its labels (``cva_w``),
    Web Mercator, one per host t0–t7 (MapLibre spreads requests over them)."""
    key = cfg.get("TIANDITU_KEY") or ""

    def layer(name: str) -> list[str]:
        return [f"{h}/{name}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={name}"
                f"&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                f"&TILECOL={{x}}&tk={key}" for h in TIANDITU_HOSTS]

    return layer("vec"), layer("cva")


def amap_urls() -> list[str]:
    return [f"{h}/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={{x}}&y={{y}}&z={{z}}"
            for h in AMAP_HOSTS]


def csp_origins(cfg: dict[str, Any]) -> list[str]:
    """Origins the pages must reach for this basemap (the CSP adds them).

    >>> csp_origins({"BASEMAP": "amap"})[0]
    'https://webrd01.is.autonavi.com'
    >>> csp_origins({"BASEMAP": None})
    []
    """
    kind = (cfg.get("BASEMAP") or "").strip().lower()
    if kind == "tianditu" and cfg.get("TIANDITU_KEY"):
        return list(TIANDITU_HOSTS)
    if kind == "amap":
        return list(AMAP_HOSTS)
    if kind.startswith(("http://", "https://")):
        return [cfg["BASEMAP"].strip()]
    return []


def public(basemap: dict[str, Any], root: str) -> dict[str, Any]:
    """What ``GET /meta`` says: paths made absolute against the server's ``root`` URL
    (MapLibre fetches tiles from a worker, where a relative URL means nothing)."""
    out = {"kind": basemap["kind"], "datum": basemap["datum"]}
    for key in ("style", "url"):
        value = basemap.get(key)
        if value:
            out[key] = root.rstrip("/") + value if value.startswith("/") else value
    return out


# --- tile files ---------------------------------------------------------------------------

@dataclass
class TileFile:
    """An open ``.pmtiles`` or ``.mbtiles`` file: what it holds and where."""

    path: str
    kind: str  # "pmtiles" | "mbtiles"
    tile_type: str  # "mvt" | "png" | "jpg" | "webp"
    gzipped: bool
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]
    metadata: dict[str, Any]
    reader: Any

    def covers(self, z: int, x: int, y: int) -> bool:
        """Whether tile z/x/y lies within the file's zooms and bounds at all.

        >>> f = TileFile("", "pmtiles", "mvt", True, 10, 14, (118.6, 31.9, 118.8, 32.1), {}, None)
        >>> f.covers(12, 3398, 1663), f.covers(12, 0, 0), f.covers(15, 27190, 13305)
        (True, False, False)
        """
        if not self.min_zoom <= z <= self.max_zoom:
            return False
        n = 2 ** z
        west, east = x / n * 360 - 180, (x + 1) / n * 360 - 180

        def lat(py: float) -> float:
            return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / n))))

        north, south = lat(y), lat(y + 1)
        x0, y0, x1, y1 = self.bounds
        return west < x1 and east > x0 and south < y1 and north > y0

    def get(self, z: int, x: int, y: int) -> bytes | None:
        if self.kind == "pmtiles":
            return self.reader.get(z, x, y)
        with _lock:
            row = self.reader.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                "AND tile_row = ?", (z, x, 2 ** z - 1 - y)).fetchone()  # TMS rows
        return bytes(row[0]) if row else None


_lock = threading.Lock()
_open: dict[str, TileFile | None] = {}
_PM_TYPES = {1: "mvt", 2: "png", 3: "jpg", 4: "webp"}


def _open_pmtiles(path: str) -> TileFile:
    from pmtiles.reader import MmapSource, Reader

    f = open(path, "rb")  # noqa: SIM115 — kept open for the process's life, mmapped
    reader = Reader(MmapSource(f))
    h = reader.header()
    meta = reader.metadata()
    return TileFile(
        path, "pmtiles", _PM_TYPES.get(h["tile_type"].value, "mvt"),
        h["tile_compression"].value == 2, h["min_zoom"], h["max_zoom"],
        (h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7, h["max_lon_e7"] / 1e7,
         h["max_lat_e7"] / 1e7), meta if isinstance(meta, dict) else {}, reader)


def _open_mbtiles(path: str) -> TileFile:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
    fmt = (meta.get("format") or "pbf").lower()
    bounds = tuple(float(v) for v in (meta.get("bounds") or "-180,-85.0511,180,85.0511")
                   .split(","))
    zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
    first = conn.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
    gz = bool(first and bytes(first[0][:2]) == b"\x1f\x8b")
    return TileFile(path, "mbtiles", "mvt" if fmt == "pbf" else fmt, gz,
                    int(meta.get("minzoom", zooms[0] or 0)),
                    int(meta.get("maxzoom", zooms[1] or 0)),
                    bounds if len(bounds) == 4 else (-180, -85.0511, 180, 85.0511),  # type: ignore[arg-type]
                    meta, conn)


def open_file(path: str) -> TileFile | None:
    """The tile file at ``path``, opened once per process; None if missing or unreadable
    (logged once), so that a bad file costs the map its basemap and nothing else."""
    with _lock:
        if path in _open:
            return _open[path]
    try:
        if not Path(path).is_file():
            raise FileNotFoundError(path)
        tf = _open_pmtiles(path) if path.endswith(".pmtiles") else _open_mbtiles(path)
    except Exception as exc:  # any corruption means "no basemap", not a 500
        log.warning("basemap file %s is unusable: %s", path, exc)
        tf = None
    with _lock:
        _open[path] = tf
    return tf


def tile_bytes(tf: TileFile, z: int, x: int, y: int) -> tuple[bytes | None, dict[str, str]]:
    """A tile's body and headers; None for no tile there (the route answers 204)."""
    if not tf.covers(z, x, y):
        return None, {}
    try:
        data = tf.get(z, x, y)
    except Exception as exc:  # a damaged directory is a missing tile
        log.warning("basemap tile %s/%s/%s unreadable: %s", z, x, y, exc)
        return None, {}
    if not data:
        return None, {}
    mimetype = {"mvt": "application/vnd.mapbox-vector-tile", "png": "image/png",
                "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}.get(
                    tf.tile_type, "application/octet-stream")
    headers = {"Content-Type": mimetype}
    if tf.tile_type == "mvt" and data[:2] == b"\x1f\x8b":
        headers["Content-Encoding"] = "gzip"
    elif tf.tile_type == "mvt" and tf.gzipped:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    return data, headers


# --- styles -------------------------------------------------------------------------------

BACKGROUND = {"id": "background", "type": "background",
              "paint": {"background-color": "#f2efe9"}}


def _raster_style(sources: dict[str, list[str]], attribution: str, maxzoom: int = 18
                  ) -> dict[str, Any]:
    return {
        "version": 8, "name": attribution,
        "sources": {name: {"type": "raster", "tiles": tiles, "tileSize": 256,
                           "maxzoom": maxzoom, "attribution": attribution}
                    for name, tiles in sources.items()},
        "layers": [BACKGROUND, *({"id": name, "type": "raster", "source": name}
                                 for name in sources)],
    }


def demo_layers(source: str = "basemap") -> list[dict[str, Any]]:
    """The style of a file made by ``flask basemap build``: outlines of the district,
    streets, communities and grids, and their Chinese names. Labels need no glyph
    server: MapLibre draws CJK ideographs with the browser's own font
    (``localIdeographFontFamily``); the glyph URL answers empty ranges for the rest."""
    def line(lid: str, layer: str, color: str, width: Any, minzoom: int = 0,
             dash: list[float] | None = None) -> dict[str, Any]:
        paint: dict[str, Any] = {"line-color": color, "line-width": width}
        if dash:
            paint["line-dasharray"] = dash
        return {"id": lid, "type": "line", "source": source, "source-layer": layer,
                "minzoom": minzoom, "paint": paint}

    def label(lid: str, kind: str, size: int, color: str, minzoom: int,
              maxzoom: int = 24) -> dict[str, Any]:
        return {"id": lid, "type": "symbol", "source": source, "source-layer": "labels",
                "minzoom": minzoom, "maxzoom": maxzoom, "filter": ["==", ["get", "kind"], kind],
                "layout": {"text-field": ["get", "name"], "text-size": size,
                           "text-font": ["Noto Sans Regular"], "text-max-width": 8},
                "paint": {"text-color": color, "text-halo-color": "#ffffff",
                          "text-halo-width": 1.5}}

    return [
        {"id": "district-fill", "type": "fill", "source": source, "source-layer": "district",
         "paint": {"fill-color": "#fbf8f1"}},
        {"id": "communities-fill", "type": "fill", "source": source,
         "source-layer": "communities", "minzoom": 13,
         "paint": {"fill-color": ["match", ["%", ["to-number", ["get", "n"], 0], 4],
                                  0, "#f4efe2", 1, "#eef2e6", 2, "#eae9f2", "#f2eae6"],
                   "fill-opacity": 0.6}},
        line("grids-outline", "grids", "#c9c2b4", 0.6, minzoom=14),
        line("communities-outline", "communities", "#a79f8f", 1, minzoom=12, dash=[3, 2]),
        line("streets-outline", "streets", "#7d7466", ["interpolate", ["linear"], ["zoom"],
                                                      10, 1, 16, 2.5]),
        line("district-outline", "district", "#5b4b8a", ["interpolate", ["linear"], ["zoom"],
                                                        10, 2, 16, 4]),
        label("label-district", "district", 16, "#5b4b8a", 0, 12),
        label("label-street", "street", 14, "#4a4237", 11, 15),
        label("label-community", "community", 12, "#6b6253", 13.5, 17),
        label("label-grid", "grid", 11, "#8a8070", 16),
    ]


def _generic_vector_layers(tf: TileFile, source: str) -> list[dict[str, Any]]:
    """A plain, legible drawing of any vector tile file's layers (for an extract without
    a style of its own; set ``BASEMAP_STYLE`` for a proper one)."""
    layers: list[dict[str, Any]] = []
    for vl in tf.metadata.get("vector_layers") or []:
        lid = str(vl.get("id"))
        base = {"source": source, "source-layer": lid}
        layers += [
            {"id": f"{lid}-fill", "type": "fill", **base,
             "filter": ["==", ["geometry-type"], "Polygon"],
             "paint": {"fill-color": "#ece7dc", "fill-opacity": 0.5}},
            {"id": f"{lid}-line", "type": "line", **base,
             "paint": {"line-color": "#b3aa98", "line-width": 1}},
        ]
    return layers


def style(basemap: dict[str, Any], cfg: dict[str, Any], root: str) -> dict[str, Any]:
    """The MapLibre style the server serves for kinds ``tianditu``, ``amap`` and ``file``."""
    root = root.rstrip("/")
    kind = basemap["kind"]
    if kind == "tianditu":
        vec, cva = tianditu_urls(cfg)
        return _raster_style({"tianditu-vec": vec, "tianditu-cva": cva}, "天地图")
    if kind == "amap":
        return _raster_style({"amap": amap_urls()}, "高德地图", maxzoom=18)
    out: dict[str, Any] = {"version": 8, "name": "GridPatrol basemap", "sources": {},
                           "layers": [BACKGROUND]}
    tf = open_file(basemap["path"]) if kind == "file" else None
    if tf is None:
        return out  # no file: the apps' own layers draw on the background
    tiles = [root + TILE_PATH]
    bounds = list(tf.bounds)
    if tf.tile_type == "mvt":
        out["sources"]["basemap"] = {"type": "vector", "tiles": tiles, "bounds": bounds,
                                     "minzoom": tf.min_zoom, "maxzoom": tf.max_zoom}
        out["glyphs"] = root + GLYPHS_PATH
        demo = str(tf.metadata.get("generator", "")).startswith(DEMO_GENERATOR)
        out["layers"] += demo_layers() if demo else _generic_vector_layers(tf, "basemap")
    else:
        out["sources"]["basemap"] = {"type": "raster", "tiles": tiles, "tileSize": 256,
                                     "bounds": bounds, "minzoom": tf.min_zoom,
                                     "maxzoom": tf.max_zoom}
        out["layers"].append({"id": "basemap", "type": "raster", "source": "basemap"})
    return out
