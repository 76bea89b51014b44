"""Reading a grid layer file into raw attributes and geometries.

GeoJSON is parsed with the stdlib ``json`` module rather than GDAL, because
GDAL silently closes or rejects broken rings and we must report such defects
faithfully. Shapefiles and GeoPackages go through ``pyogrio.raw`` (numpy arrays
and WKB, no geopandas). A ``.zip`` is unpacked to a temporary directory and
must hold exactly one layer.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geo.attributes import json_value
from geo.encoding import cpg_to_codec, dbf_text_bytes, decode_error, detect_encoding

__all__ = ["LayerError", "RawLayer", "parse_geojson_geometry", "read_raw"]

LAYER_SUFFIXES = (".shp", ".geojson", ".json", ".gpkg")
_MAX_UNZIPPED_BYTES = 2 * 1024**3  # refuse zip bombs


class LayerError(Exception):
    """A problem with the whole file (not one feature): nothing can be imported."""


@dataclass
class RawLayer:
    """Attributes and source-datum geometries of every feature, in file order."""

    columns: list[str]
    records: list[dict[str, Any]]
    geoms: np.ndarray  # object array: shapely geometry or None
    notes: list[list[str]]  # repairs already done while parsing
    refusals: list[list[str]]  # reasons a feature cannot be imported
    encoding: str | None
    encoding_source: str = ""  # how the encoding was chosen, for the report
    prj: str | None = None
    warnings: list[str] = field(default_factory=list)


def read_raw(path: str | Path, encoding: str | None = None) -> RawLayer:
    """Read any supported layer file; raise ``LayerError`` for whole-file problems."""
    path = Path(path)
    if not path.exists():
        raise LayerError(f"file not found: {path}")
    if path.is_dir():
        raise LayerError(f"{path} is a directory: give a .geojson, .shp, .gpkg or .zip file")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _read_zip(path, encoding)
    if suffix in (".geojson", ".json"):
        return _read_geojson(path, encoding)
    if suffix in (".shp", ".gpkg"):
        return _read_ogr(path, encoding)
    raise LayerError(f"unsupported file type {suffix or '(none)'!r} for {path.name}: "
                     "expected .geojson, .json, .shp, .gpkg or a .zip holding one of them")


def _read_zip(path: Path, encoding: str | None) -> RawLayer:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LayerError(f"cannot open zip {path.name}: {exc}") from exc
    with archive, tempfile.TemporaryDirectory(prefix="gridpatrol-") as tmp:
        members = [m for m in archive.infolist()
                   if not m.is_dir() and "__MACOSX" not in m.filename
                   and not Path(m.filename).name.startswith(".")]
        if sum(m.file_size for m in members) > _MAX_UNZIPPED_BYTES:
            raise LayerError(f"zip {path.name} unpacks to more than 2 GB: refused")
        layers = [m.filename for m in members if Path(m.filename).suffix.lower() in LAYER_SUFFIXES]
        if not layers:
            names = ", ".join(m.filename for m in members) or "nothing"
            raise LayerError(f"zip {path.name} holds no layer (.shp, .geojson, .json or .gpkg); "
                             f"it contains: {names}")
        if len(layers) > 1:
            raise LayerError(f"zip {path.name} holds several layers ({', '.join(layers)}): "
                             "put exactly one layer in the zip")
        try:
            archive.extractall(tmp, members=members)  # extractall strips ".." and absolute paths
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            raise LayerError(f"cannot unpack zip {path.name}: {exc}") from exc
        found = [p for p in Path(tmp).rglob("*") if p.suffix.lower() in LAYER_SUFFIXES]
        return read_raw(found[0], encoding)


# -- GeoJSON ---------------------------------------------------------------------------

def _read_geojson(path: Path, encoding: str | None) -> RawLayer:
    data = path.read_bytes()
    warnings: list[str] = []
    used: str | None
    if encoding:
        problem = decode_error(data, encoding)
        if problem:
            raise LayerError(f"{path.name}: --encoding {encoding} does not fit: {problem}")
        used, how = encoding, "from --encoding"
    else:
        # RFC 7946 says UTF-8, but files saved by Chinese desktop tools can be GBK
        used = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else detect_encoding(data)
        if used is None:
            raise LayerError(f"{path.name} is neither UTF-8 nor GBK/GB18030 text; "
                             "give --encoding")
        how = "detected"
    try:
        doc = json.loads(data.decode(used))
    except json.JSONDecodeError as exc:
        raise LayerError(f"{path.name} is not valid JSON: {exc}") from exc
    features = _geojson_features(doc, path.name)
    columns: dict[str, None] = {}
    records, geoms, notes, refusals = [], [], [], []
    for feat in features:
        props = feat.get("properties") if isinstance(feat, dict) else None
        props = props if isinstance(props, dict) else {}
        columns.update(dict.fromkeys(props))
        records.append({str(k): json_value(v) for k, v in props.items()})
        geom, note, refusal = parse_geojson_geometry(
            feat.get("geometry") if isinstance(feat, dict) else None)
        geoms.append(geom)
        notes.append(note)
        refusals.append(refusal)
    if isinstance(doc, dict) and "crs" in doc:
        warnings.append("GeoJSON 'crs' member ignored: the --datum option decides the datum")
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    return RawLayer(list(columns), records, arr, notes, refusals,
                    "utf-8" if used == "utf-8-sig" else used, how, None, warnings)


def _geojson_features(doc: Any, name: str) -> list[Any]:
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise LayerError(f"{name}: FeatureCollection has no 'features' list")
        return feats
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        return [doc]
    kind = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
    raise LayerError(f"{name}: expected a GeoJSON FeatureCollection, got {kind!r}")


def parse_geojson_geometry(obj: Any) -> tuple[Any, list[str], list[str]]:
    """Build a shapely geometry from a GeoJSON geometry, closing open rings.

    Returns the geometry (``None`` if refused), repair notes and refusal reasons.

    Examples
    --------
    >>> g, notes, refused = parse_geojson_geometry(
    ...     {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]})
    >>> g.area, notes, refused
    (1.0, ['ring 0 not closed: closed it'], [])
    >>> parse_geojson_geometry({"type": "Point", "coordinates": [1, 2]})[2]
    ['geometry type Point is not a polygon: refused']
    >>> parse_geojson_geometry(None)[2]
    ['no geometry: refused']
    """
    if obj is None:
        return None, [], ["no geometry: refused"]
    if not isinstance(obj, dict):
        return None, [], ["malformed geometry: refused"]
    kind = obj.get("type")
    coords = obj.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        return None, [], [f"geometry type {kind} is not a polygon: refused"]
    if not coords:
        return None, [], ["empty geometry: refused"]
    polys_coords = [coords] if kind == "Polygon" else coords
    notes: list[str] = []
    polygons = []
    for pi, rings in enumerate(polys_coords):
        label = "ring" if kind == "Polygon" else f"polygon {pi} ring"
        try:
            polygon = _parse_polygon(rings, label, notes)
        except (TypeError, ValueError) as exc:
            return None, [], [f"{exc}: refused"]
        if polygon is not None:
            polygons.append(polygon)
    if not polygons:
        return None, [], ["empty geometry: refused"]
    geom = polygons[0] if kind == "Polygon" else MultiPolygon(polygons)
    return geom, notes, []


def _parse_polygon(rings: Any, label: str, notes: list[str]) -> Polygon | None:
    """One GeoJSON polygon; raises ``ValueError`` for unusable coordinates."""
    if not isinstance(rings, list) or not rings:
        return None
    parsed = []
    for ri, ring in enumerate(rings):
        try:
            arr = np.asarray(ring, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{label} {ri} has malformed coordinates") from None
        if arr.ndim != 2 or arr.shape[1] < 2:
            raise ValueError(f"{label} {ri} has malformed coordinates")
        arr = arr[:, :2]
        if not np.isfinite(arr).all():
            raise ValueError(f"{label} {ri} has non-numeric coordinates")
        if len(arr) and not np.array_equal(arr[0], arr[-1]):
            arr = np.vstack([arr, arr[:1]])
            notes.append(f"{label} {ri} not closed: closed it")
        if len(arr) < 4:
            if ri == 0:
                raise ValueError(f"{label} 0 has only {max(len(arr) - 1, 0)} distinct points")
            notes.append(f"{label} {ri} has fewer than 3 points: dropped it")
            continue
        parsed.append(arr)
    return Polygon(parsed[0], parsed[1:])


# -- Shapefile / GeoPackage via GDAL ---------------------------------------------------------

def _sibling(path: Path, suffix: str) -> Path | None:
    """The file next to ``path`` with ``suffix``, any letter case."""
    for cand in path.parent.glob(path.stem + ".*"):
        if cand.suffix.lower() == suffix:
            return cand
    return None


def _shapefile_encoding(path: Path, encoding: str | None) -> tuple[str, str, list[str]]:
    """Encoding to read a shapefile's DBF with: --encoding, else .cpg, else detected.

    Returns the encoding, how it was chosen, and warnings.
    """
    dbf = _sibling(path, ".dbf")
    if dbf is None:
        raise LayerError(f"{path.name}: the .dbf attribute file is missing")
    text = dbf_text_bytes(dbf)
    if encoding:
        problem = decode_error(text, encoding)
        if problem:
            guess = detect_encoding(text)
            hint = f"; the text looks like {guess}: try --encoding {guess}" if guess else ""
            raise LayerError(f"{dbf.name}: --encoding {encoding} does not fit: {problem}{hint}")
        return encoding, "from --encoding", []
    cpg = _sibling(path, ".cpg")
    if cpg is not None:
        raw = cpg.read_text(errors="replace")
        codec = cpg_to_codec(raw)
        if codec and decode_error(text, codec) is None:
            return codec, f"from {cpg.name}", []
        detected = detect_encoding(text)
        if detected:
            return detected, "detected", [f"{cpg.name} says {raw.strip()!r}, which does not "
                                          f"fit the attribute text: used {detected} instead"]
    detected = detect_encoding(text)
    if detected is None:
        raise LayerError(f"{dbf.name}: text is neither UTF-8 nor GBK/GB18030; give --encoding")
    return detected, "detected, no .cpg", []


def _read_ogr(path: Path, encoding: str | None) -> RawLayer:
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # GDAL raises several error types for unreadable files
        raise LayerError(f"cannot read {path.name}: {exc}") from exc
    if len(layers) != 1:
        names = ", ".join(str(name) for name, _ in layers) or "none"
        raise LayerError(f"{path.name} holds {len(layers)} layers ({names}): "
                         "export the grid layer alone")
    warnings: list[str] = []
    how = "GeoPackage text is UTF-8"
    if path.suffix.lower() == ".shp":
        encoding, how, warnings = _shapefile_encoding(path, encoding)
    try:
        meta, _, wkb, fields = pyogrio.raw.read(path, encoding=encoding)
    except Exception as exc:
        raise LayerError(f"cannot read {path.name}: {exc}") from exc
    columns = [str(c) for c in meta["fields"]]
    values = [[json_value(v) for v in col.tolist()] for col in fields]
    records = [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
    if not columns:
        records = [{} for _ in range(len(wkb))]
    geoms, geom_notes, refusals = _from_wkb(wkb)
    prj_file = _sibling(path, ".prj")
    prj = prj_file.read_text(errors="replace") if prj_file else meta.get("crs")
    return RawLayer(columns, records, geoms, geom_notes, refusals,
                    encoding or "utf-8", how, prj, warnings)


def _from_wkb(wkb: np.ndarray) -> tuple[np.ndarray, list[list[str]], list[list[str]]]:
    """Decode WKB; geometries GEOS rejects are fixed (and noted) or refused."""
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    notes: list[list[str]] = [[] for _ in range(len(wkb))]
    refusals: list[list[str]] = [[] for _ in range(len(wkb))]
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        if wkb[i] is None:
            refusals[i].append("no geometry: refused")
            continue
        fixed = shapely.from_wkb(wkb[i], on_invalid="fix")
        if fixed is None:
            refusals[i].append("unreadable geometry: refused")
        else:
            geoms[i] = fixed
            notes[i].append("malformed rings (e.g. not closed): fixed")
    return geoms, notes, refusals
