"""Reading, validating and repairing a grid layer.

Every input feature ends up exactly one of *imported*, *repaired* (imported
after a fix) or *refused*, with specific reasons, so the import command can
print a report a district GIS office can act on.

Examples
--------
>>> import json, tempfile
>>> fc = {"type": "FeatureCollection", "features": [
...     {"type": "Feature", "properties": {"WGBM": "320105001001001"},
...      "geometry": {"type": "Polygon", "coordinates":
...                   [[[118.70, 32.00], [118.71, 32.00], [118.71, 32.01], [118.70, 32.01]]]}},
...     {"type": "Feature", "properties": {"WGBM": "320105001001002"}, "geometry": None}]}
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = Path(tmp) / "grids.geojson"
...     _ = path.write_text(json.dumps(fc))
...     result = read_layer(path)
>>> result.features[0].community_code, result.features[0].geometry.geom_type
('320105001001', 'MultiPolygon')
>>> format_report(result)[-1]
'imported=1 repaired=1 refused=1 total=2'
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely

from geo.attributes import (
    code_to_str,
    derive_hierarchy,
    resolve_field_map,
    to_households,
    to_text,
)
from geo.datum import normalize_datum, transform_geometry
from geo.projection import LocalProjection
from geo.repair import (
    Gap,
    Overlap,
    check_types,
    find_gaps,
    find_overlaps,
    fix_swapped,
    make_valid_polygons,
    out_of_range,
    to_multipolygons,
)
from geo.sources import LayerError, RawLayer, read_raw

__all__ = [
    "FeatureOutcome",
    "Gap",
    "GridFeature",
    "LayerError",
    "LayerResult",
    "Overlap",
    "format_report",
    "read_layer",
    "report_json",
]

Status = Literal["imported", "repaired", "refused"]

# Overlaps and gaps smaller than this are float noise from digitising, not defects.
DEFAULT_AREA_TOL_M2 = 1.0


@dataclass
class GridFeature:
    """One importable grid, geometry a MultiPolygon in WGS-84."""

    index: int
    code: str
    name: str | None
    district_code: str | None
    street_code: str | None
    street_name: str | None
    community_code: str | None
    community_name: str | None
    kind: str | None
    households: int | None
    attrs: dict[str, Any]
    geometry: Any


@dataclass
class FeatureOutcome:
    """What happened to one input feature (``index`` is its 0-based file position)."""

    index: int
    code: str | None
    status: Status
    reasons: list[str] = field(default_factory=list)


@dataclass
class LayerResult:
    """Result of reading a layer: the importable grids and a full report."""

    features: list[GridFeature]
    outcomes: list[FeatureOutcome]
    encoding: str | None
    datum: str
    field_map: dict[str, str]
    overlaps: list[Overlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    encoding_source: str = ""

    @property
    def imported(self) -> int:
        """Features imported, repaired ones included."""
        return sum(o.status != "refused" for o in self.outcomes)

    @property
    def repaired(self) -> int:
        """Features imported after a repair."""
        return sum(o.status == "repaired" for o in self.outcomes)

    @property
    def refused(self) -> int:
        """Features not imported."""
        return sum(o.status == "refused" for o in self.outcomes)

    @property
    def total(self) -> int:
        """Features in the input."""
        return len(self.outcomes)


def read_layer(path: str | Path, *, datum: str = "wgs84", encoding: str | None = None,
               field_map: dict[str, str] | None = None, snap_m: float = 0.0,
               area_tol_m2: float = DEFAULT_AREA_TOL_M2) -> LayerResult:
    """Read, validate and repair a grid layer.

    Parameters
    ----------
    path : str or Path
        A GeoJSON, Shapefile, GeoPackage, or a ``.zip`` holding one of them.
    datum : str
        Datum of the coordinates (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``);
        a ``.prj`` never overrides it.
    encoding : str, optional
        Attribute text encoding; default ``.cpg``, else detected.
    field_map : dict, optional
        Logical field (``code``, ``name``…) to source field, overriding recognition.
    snap_m : float
        If > 0, cut overlaps and fill gaps narrower than this many metres.
    area_tol_m2 : float
        Overlaps and gaps at most this large are ignored.

    Raises
    ------
    LayerError
        For problems with the whole file.
    """
    try:
        datum_name = normalize_datum(datum)
    except ValueError as exc:
        raise LayerError(str(exc)) from None
    raw = read_raw(path, encoding)
    if not raw.records:
        raise LayerError(f"{Path(path).name} has no features")
    fmap = _field_map(raw, field_map)
    builder = _Builder(raw, fmap, datum_name)
    builder.check_geometries()
    builder.check_codes()
    overlaps, gaps = builder.check_coverage(area_tol_m2, snap_m)
    warnings = [*raw.warnings, *_prj_warnings(raw.prj, datum_name)]
    return LayerResult(builder.features(), builder.outcomes(), raw.encoding, datum_name, fmap,
                       overlaps, gaps, warnings, str(path), raw.encoding_source)


def _field_map(raw: RawLayer, overrides: dict[str, str] | None) -> dict[str, str]:
    try:
        fmap = resolve_field_map(raw.columns, overrides)
    except (KeyError, ValueError) as exc:
        raise LayerError(str(exc.args[0])) from None
    if "code" not in fmap:
        raise LayerError(f"no grid code field found; columns are: "
                         f"{', '.join(raw.columns) or '(none)'}; use --map code=FIELD")
    return fmap


def _prj_warnings(prj: str | None, datum: str) -> list[str]:
    """Explain when the .prj disagrees with --datum (the datum argument decides)."""
    if not prj:
        return []
    text = prj.upper()
    if "PROJCS" in text or "PROJCRS" in text:
        return [".prj describes a projected CRS, but the coordinates are longitude/latitude: "
                "ignored it"]
    says = ("cgcs2000" if re.search(r"2000|4490", text)
            else "wgs84" if re.search(r"WGS.?(19)?84|4326", text) else None)
    if says and says != datum:
        return [f".prj says {says.upper()}, but coordinates were read as {datum} as the datum "
                "option says (a .prj never identifies GCJ-02 or BD-09)"]
    return []


class _Builder:
    """Carries per-feature state through the vectorised checks."""

    def __init__(self, raw: RawLayer, fmap: dict[str, str], datum: str) -> None:
        self.raw = raw
        self.fmap = fmap
        self.datum = datum
        n = len(raw.records)
        self.geoms = raw.geoms.copy()
        self.notes = [list(x) for x in raw.notes]
        self.refusals = [list(x) for x in raw.refusals]
        self.codes = np.array([code_to_str(r.get(fmap["code"])) for r in raw.records] or [],
                              dtype=object).reshape(n)

    @property
    def active(self) -> np.ndarray:
        return np.array([not r for r in self.refusals], dtype=bool)

    def _refuse(self, reasons: dict[int, str]) -> None:
        for i, reason in reasons.items():
            self.refusals[i].append(reason)

    def _note(self, notes: dict[int, str]) -> None:
        for i, note in notes.items():
            self.notes[i].append(note)

    def check_geometries(self) -> None:
        """Types, swapped axes, coordinate range, validity, then datum and MultiPolygon."""
        self._refuse(check_types(self.geoms, self.active))
        self.geoms, swapped = fix_swapped(self.geoms, self.active)
        bounds = shapely.bounds(self.geoms)
        self._note({int(i): f"longitude/latitude swapped (x={bounds[i, 0]:.4f} looks like a "
                    "latitude): swapped back" for i in np.flatnonzero(swapped)})
        self._check_range()
        self.geoms, notes, refusals = make_valid_polygons(self.geoms, self.active)
        self._note(notes)
        self._refuse(refusals)
        ok = self.active
        if ok.any():
            converted = transform_geometry(self.geoms[ok], self.datum)
            # the datum shift is smooth, but re-check so GEOS never sees invalid input later
            converted = shapely.make_valid(converted)
            self.geoms[ok] = to_multipolygons(converted)
            self._refuse({int(i): "no area: refused"
                          for i in np.flatnonzero(ok & ~(shapely.area(self.geoms) > 0))})

    def _check_range(self) -> None:
        active = self.active
        bad = out_of_range(self.geoms, active)
        if active.any() and bad.sum() > active.sum() / 2:
            xmin, ymin, xmax, ymax = shapely.total_bounds(self.geoms[bad])
            raise LayerError(
                f"coordinates are not longitude/latitude degrees (x {xmin:.0f}..{xmax:.0f}, "
                f"y {ymin:.0f}..{ymax:.0f}): the layer seems to use a projected CRS; "
                "export it as longitude/latitude (EPSG:4326/4490) first")
        b = shapely.bounds(self.geoms)
        self._refuse({int(i): f"coordinates out of longitude/latitude range "
                      f"(x {b[i, 0]:.6g}..{b[i, 2]:.6g}, y {b[i, 1]:.6g}..{b[i, 3]:.6g}): refused"
                      for i in np.flatnonzero(bad)})

    def check_codes(self) -> None:
        """Missing codes, then duplicates among otherwise importable features."""
        missing = {int(i): "missing grid code: refused"
                   for i, c in enumerate(self.codes) if c is None}
        self._refuse(missing)
        first: dict[str, int] = {}
        dupes = {}
        for i in np.flatnonzero(self.active):
            code = self.codes[i]
            if code in first:
                dupes[int(i)] = f"duplicate code {code} (first at feature {first[code]}): refused"
            else:
                first[code] = int(i)
        self._refuse(dupes)

    def check_coverage(self, tol_m2: float, snap_m: float) -> tuple[list[Overlap], list[Gap]]:
        """Overlaps and gaps between importable grids, fixed where thin and snap_m > 0."""
        idx = np.flatnonzero(self.active)
        if len(idx) < 2:
            return [], []
        proj = LocalProjection.around(self.geoms[idx])
        metric = proj.forward_geoms(self.geoms[idx])
        codes = self.codes[idx].astype(str)
        overlaps, onotes = find_overlaps(codes, metric, proj, tol_m2, snap_m)
        gaps, gnotes = find_gaps(codes, metric, proj, tol_m2, snap_m)
        self._note({int(idx[k]): v for k, v in onotes.items()})
        self._note({int(idx[k]): v for k, v in gnotes.items()})
        changed = np.array(sorted({*onotes, *gnotes}), dtype=np.int64)  # only noted ones changed
        if len(changed):
            self.geoms[idx[changed]] = to_multipolygons(proj.inverse_geoms(metric[changed]))
        return overlaps, gaps

    def outcomes(self) -> list[FeatureOutcome]:
        result = []
        for i, (notes, refusals) in enumerate(zip(self.notes, self.refusals, strict=True)):
            status: Status = "refused" if refusals else "repaired" if notes else "imported"
            result.append(FeatureOutcome(i, self.codes[i], status, [*notes, *refusals]))
        return result

    def features(self) -> list[GridFeature]:
        return [self._feature(int(i)) for i in np.flatnonzero(self.active)]

    def _feature(self, i: int) -> GridFeature:
        rec = self.raw.records[i]

        def get(logical: str) -> Any:
            return rec.get(self.fmap[logical]) if logical in self.fmap else None

        code = self.codes[i]
        district, street, community = derive_hierarchy(
            code, code_to_str(get("street_code")), code_to_str(get("community_code")))
        return GridFeature(
            index=i, code=code, name=to_text(get("name")),
            district_code=code_to_str(get("district_code")) or district,
            street_code=street, street_name=to_text(get("street_name")),
            community_code=community, community_name=to_text(get("community_name")),
            kind=to_text(get("kind")), households=to_households(get("households")),
            attrs=dict(rec), geometry=self.geoms[i])


def _feature_label(outcome: FeatureOutcome) -> str:
    return f"feature {outcome.index} ({outcome.code or 'no code'})"


def format_report(result: LayerResult) -> list[str]:
    """Human-readable validation report; the last line is the machine summary.

    Examples
    --------
    >>> result = LayerResult([], [FeatureOutcome(0, None, "refused", ["no geometry: refused"])],
    ...                      "utf-8", "wgs84", {"code": "code"})
    >>> for line in format_report(result):
    ...     print(line)
    encoding: utf-8
    datum: wgs84
    fields: code=code
    feature 0 (no code): refused: no geometry: refused
    1 features: 0 imported (0 of them repaired), 1 refused
    imported=0 repaired=0 refused=1 total=1
    """
    lines = []
    if result.source:
        lines.append(f"source: {result.source}")
    how = f" ({result.encoding_source})" if result.encoding_source else ""
    lines.append(f"encoding: {result.encoding}{how}")
    lines.append(f"datum: {result.datum}" + (" (converted to WGS-84)"
                                              if result.datum in ("gcj02", "bd09") else ""))
    lines.append("fields: " + ", ".join(f"{k}={v}" for k, v in result.field_map.items()))
    lines.extend(f"warning: {w}" for w in result.warnings)
    for o in result.outcomes:
        if o.status != "imported":
            lines.append(f"{_feature_label(o)}: {o.status}: {'; '.join(o.reasons)}")
    for ov in result.overlaps:
        act = f": {ov.action}" if ov.action else ""
        lines.append(f"overlap {ov.area_m2} m² between {ov.codes[0]} and {ov.codes[1]} "
                     f"at ({ov.lon}, {ov.lat}){act}")
    for gap in result.gaps:
        act = f": {gap.action}" if gap.action else ""
        lines.append(f"gap {gap.area_m2} m² between {', '.join(gap.codes) or 'no grid'} "
                     f"at ({gap.lon}, {gap.lat}){act}")
    lines.append(f"{result.total} features: {result.imported} imported "
                 f"({result.repaired} of them repaired), {result.refused} refused")
    lines.append(f"imported={result.imported} repaired={result.repaired} "
                 f"refused={result.refused} total={result.total}")
    return lines


def report_json(result: LayerResult) -> dict[str, Any]:
    """Every feature's outcome and the layer findings, JSON-serialisable.

    Examples
    --------
    >>> import json
    >>> result = LayerResult([], [FeatureOutcome(0, "1", "imported")], "utf-8", "wgs84", {})
    >>> json.dumps(report_json(result)["summary"])
    '{"imported": 1, "repaired": 0, "refused": 0, "total": 1}'
    """
    return {
        "source": result.source,
        "encoding": result.encoding,
        "encoding_source": result.encoding_source,
        "datum": result.datum,
        "field_map": dict(result.field_map),
        "summary": {"imported": result.imported, "repaired": result.repaired,
                    "refused": result.refused, "total": result.total},
        "warnings": list(result.warnings),
        "overlaps": [{**asdict(o), "codes": list(o.codes)} for o in result.overlaps],
        "gaps": [{**asdict(g), "codes": list(g.codes)} for g in result.gaps],
        "features": [asdict(o) for o in result.outcomes],
    }
