"""Storing an imported grid layer as a new version, and comparing versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import text

from geo.layer import LayerResult, report_json
from server.extensions import db
from server.services import audit

# Two versions of a grid whose shapes differ by less than this are the same grid.
RESHAPE_TOL_M2 = 1.0
# Column sizes of the ``grid`` table (server/models.py) that attribute values must fit.
CODE_MAX = 32
_OPTIONAL_SIZES = {"district_code": 32, "street_code": 32, "community_code": 32, "kind": 16}
_INT4_MAX = 2**31 - 1
LAYER_NAME_MAX = 100


def fit_columns(result: LayerResult) -> LayerResult:
    """Make every feature fit the database columns, and say so in its outcome.

    A grid code too long to store refuses the feature (codes identify grids, so
    truncating one would silently merge grids). An optional attribute that does not
    fit (a street code, ``kind`` or a household count out of range) is left out and the
    feature counts as repaired. Without this a single odd value would fail the whole
    import with a database error. Changes ``result`` in place and returns it.
    """
    by_index = {o.index: o for o in result.outcomes}
    kept = []
    for f in result.features:
        outcome = by_index[f.index]
        if len(f.code) > CODE_MAX:
            outcome.status = "refused"
            outcome.reasons.append(f"grid code is {len(f.code)} characters long, more than "
                                   f"{CODE_MAX}: refused")
            continue
        notes = []
        for attr, size in _OPTIONAL_SIZES.items():
            value = getattr(f, attr)
            if value is not None and len(value) > size:
                notes.append(f"{attr} {value[:40]!r} is longer than {size} characters: "
                             "left out")
                setattr(f, attr, None)
        if f.households is not None and not 0 <= f.households <= _INT4_MAX:
            notes.append(f"households {f.households} is out of range: left out")
            f.households = None
        if notes:
            outcome.reasons.extend(notes)
            if outcome.status == "imported":
                outcome.status = "repaired"
        kept.append(f)
    result.features = kept
    return result


# District offices write the urban/rural kind in either language; deadlines need to know.
_KINDS = {"rural": "rural", "农村": "rural", "乡村": "rural", "村": "rural", "农村网格": "rural",
          "urban": "urban", "城市": "urban", "城镇": "urban", "城区": "urban", "社区": "urban",
          "城市网格": "urban"}


def grid_kind(value: str | None) -> str | None:
    """``urban`` or ``rural`` for the usual spellings; anything else is kept as given.

    >>> grid_kind("农村"), grid_kind(" Rural "), grid_kind("城区"), grid_kind("混合")
    ('rural', 'rural', 'urban', '混合')
    """
    if value is None:
        return None
    return _KINDS.get(value.strip().lower(), value)


def store_layer(result: LayerResult, layer_name: str) -> tuple[int, int]:
    """Insert the layer's grids as a new version and make it active, atomically.

    Returns ``(layer_version_id, version number)``. Older versions stay, so records keep
    pointing at the exact polygon they were matched to.
    """
    layer_id = db.session.execute(text("""
        INSERT INTO grid_layer (name) VALUES (:n)
        ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id
    """), {"n": layer_name}).scalar_one()
    # Serialise concurrent imports of one layer so version numbers never collide.
    db.session.execute(text("SELECT id FROM grid_layer WHERE id = :i FOR UPDATE"), {"i": layer_id})
    version = db.session.execute(text(
        "SELECT coalesce(max(version), 0) + 1 FROM grid_layer_version WHERE layer_id = :i"
    ), {"i": layer_id}).scalar_one()
    version_id = db.session.execute(text("""
        INSERT INTO grid_layer_version (layer_id, version, source, datum, encoding, report)
        VALUES (:l, :v, :s, :d, :e, CAST(:r AS jsonb)) RETURNING id
    """), {"l": layer_id, "v": version, "s": str(result.source), "d": result.datum,
           "e": result.encoding, "r": json.dumps(report_json(result), ensure_ascii=False)}
    ).scalar_one()
    rows = [{
        "code": f.code, "name": f.name, "district_code": f.district_code,
        "street_code": f.street_code, "street_name": f.street_name,
        "community_code": f.community_code, "community_name": f.community_name,
        "kind": grid_kind(f.kind), "households": f.households, "attrs": f.attrs,
        "wkb": shapely.to_wkb(f.geometry, hex=True),
    } for f in result.features]
    db.session.execute(text("""
        INSERT INTO grid (layer_version_id, code, name, district_code, street_code, street_name,
                          community_code, community_name, kind, households, attrs, geom)
        SELECT :v, x.code, x.name, x.district_code, x.street_code, x.street_name,
               x.community_code, x.community_name, x.kind, x.households, x.attrs,
               ST_Multi(ST_SetSRID(ST_GeomFromWKB(decode(x.wkb, 'hex')), 4326))
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
            code text, name text, district_code text, street_code text, street_name text,
            community_code text, community_name text, kind text, households int, attrs jsonb,
            wkb text)
    """), {"v": version_id, "rows": json.dumps(rows, ensure_ascii=False)})
    db.session.execute(text("UPDATE grid_layer SET active_version_id = :v WHERE id = :l"),
                       {"v": version_id, "l": layer_id})
    audit.record("grids.import", object=f"layer:{layer_name}:v{version}", detail={"grids": len(rows), "datum": result.datum, "source": Path(str(result.source)).name, "activated": True})
    return version_id, version


def diff_versions(layer_name: str, old: int | None, new: int | None) -> dict[str, Any]:
    """Grids added, removed and reshaped between two versions of a layer."""
    versions = db.session.execute(text("""
        SELECT v.version, v.id FROM grid_layer_version v JOIN grid_layer l ON l.id = v.layer_id
        WHERE l.name = :n ORDER BY v.version
    """), {"n": layer_name}).all()
    by_number = {r.version: r.id for r in versions}
    if len(by_number) < 1:
        raise LookupError(f"layer {layer_name!r} has no versions")
    new = new or max(by_number)
    old = old or (new - 1)
    if old not in by_number or new not in by_number:
        raise LookupError(f"layer {layer_name!r} has versions {sorted(by_number)}; "
                          f"cannot compare {old} with {new}")
    rows = db.session.execute(text("""
        SELECT coalesce(a.code, b.code) AS code,
               CASE WHEN a.id IS NULL THEN 'added' WHEN b.id IS NULL THEN 'removed'
                    ELSE 'reshaped' END AS change,
               CASE WHEN a.id IS NOT NULL AND b.id IS NOT NULL
                    THEN ST_Area(ST_SymDifference(a.geom, b.geom)::geography) END AS area_m2
        FROM (SELECT * FROM grid WHERE layer_version_id = :o) a
        FULL JOIN (SELECT * FROM grid WHERE layer_version_id = :n) b ON a.code = b.code
        WHERE a.id IS NULL OR b.id IS NULL OR NOT ST_Equals(a.geom, b.geom)
        ORDER BY 1
    """), {"o": by_number[old], "n": by_number[new]}).all()
    out: dict[str, Any] = {"layer": layer_name, "from": old, "to": new,
                           "added": [], "removed": [], "reshaped": []}
    for r in rows:
        if r.change == "reshaped":
            if r.area_m2 is not None and r.area_m2 >= RESHAPE_TOL_M2:
                out["reshaped"].append({"code": r.code, "area_changed_m2": round(r.area_m2, 1)})
        else:
            out[r.change].append(r.code)
    return out


def list_versions() -> list[dict[str, Any]]:
    """Every version of every layer, with its grid count and whether it is active."""
    rows = db.session.execute(text("""
        SELECT l.name AS layer, v.version, v.id = l.active_version_id AS active, v.created_at,
               (SELECT count(*) FROM grid g WHERE g.layer_version_id = v.id) AS grids
        FROM grid_layer l JOIN grid_layer_version v ON v.layer_id = l.id ORDER BY 1, 2
    """)).all()
    return [dict(r._mapping) for r in rows]


def activate(layer_name: str, version: int) -> None:
    """Make one stored version of a layer the one matching uses (every app node sees the
    change on its next request: the grid index is keyed by the active versions)."""
    found = db.session.execute(text("""
        UPDATE grid_layer l SET active_version_id = v.id
        FROM grid_layer_version v
        WHERE v.layer_id = l.id AND l.name = :n AND v.version = :v
        RETURNING l.id
    """), {"n": layer_name, "v": version}).first()
    if found is None:
        raise LookupError(f"layer {layer_name!r} has no version {version}")
