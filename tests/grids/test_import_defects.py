"""One broken layer per defect, imported through the real CLI into PostGIS.

Each test checks the report line the operator reads and what really ended up in
PostGIS (rows, validity, geometry type, area).
"""

from __future__ import annotations

import pytest

from tests.grids.helpers import (
    CELL,
    feature,
    geography_area,
    report_lines,
    stored,
    summary,
    write_geojson,
)


def _import(grids_cli, path, layer, *extra):
    result = grids_cli("import", path, "--layer", layer, *extra)
    counts = summary(result.stdout)
    assert counts["imported"] + counts["refused"] == counts["total"]
    return result, counts


def test_null_and_empty_geometry_refused(grids_cli, patch, layer, db, tmp_path):
    path = write_geojson(tmp_path / "null.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature(None, code=patch.code(2)),
        feature({"type": "Polygon", "coordinates": []}, code=patch.code(3)),
    ])
    result, _ = _import(grids_cli, path, layer)
    assert result.exit_code == 0, result.output
    assert f"feature 1 ({patch.code(2)}): refused: no geometry: refused" in result.stdout
    assert f"feature 2 ({patch.code(3)}): refused: empty geometry: refused" in result.stdout
    assert result.stdout.splitlines()[-1] == "imported=1 repaired=0 refused=2 total=3"
    assert set(stored(db, layer)) == {patch.code(1)}


def test_unclosed_ring_closed(grids_cli, patch, layer, db, tmp_path):
    open_ring = patch.ring(0, 0)[:-1]
    path = write_geojson(tmp_path / "open.geojson", [
        feature({"type": "Polygon", "coordinates": [open_ring]}, code=patch.code(1))])
    result, counts = _import(grids_cli, path, layer)
    assert result.exit_code == 0
    assert report_lines(result.stdout, "feature 0") == [
        f"feature 0 ({patch.code(1)}): repaired: ring 0 not closed: closed it"]
    assert counts == {"imported": 1, "repaired": 1, "refused": 0, "total": 1}
    grid = stored(db, layer)[patch.code(1)]
    assert grid["valid"] and grid["type"] == "MULTIPOLYGON" and grid["srid"] == 4326
    assert grid["area_m2"] == pytest.approx(geography_area(db, patch.polygon(0, 0)), rel=1e-6)
    closed = db.execute("SELECT ST_IsClosed(ST_ExteriorRing(ST_GeometryN(g.geom, 1))) FROM grid g "
                        "WHERE g.id = %s", (grid["id"],)).fetchone()[0]
    assert closed is True


def test_self_intersection_made_valid(grids_cli, patch, layer, db, tmp_path):
    x0, y0 = patch.lon0, patch.lat0
    x1, y1 = x0 + CELL, y0 + CELL
    bowtie = [[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]
    path = write_geojson(tmp_path / "bowtie.geojson", [
        feature({"type": "Polygon", "coordinates": [bowtie]}, code=patch.code(1))])
    result, counts = _import(grids_cli, path, layer)
    assert result.exit_code == 0
    [line] = report_lines(result.stdout, "feature 0")
    assert line.startswith(f"feature 0 ({patch.code(1)}): repaired: self-intersection at (")
    assert line.endswith(": made valid")
    assert counts["repaired"] == 1
    grid = stored(db, layer)[patch.code(1)]
    assert grid["valid"] and grid["type"] == "MULTIPOLYGON" and grid["parts"] == 2
    full = geography_area(db, patch.polygon(0, 0))
    assert grid["area_m2"] == pytest.approx(full / 2, rel=1e-3)


def test_swapped_lon_lat_fixed(grids_cli, patch, layer, db, tmp_path):
    swapped = [[lat, lon] for lon, lat in patch.ring(1, 0)]
    path = write_geojson(tmp_path / "swapped.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature({"type": "Polygon", "coordinates": [swapped]}, code=patch.code(2)),
    ])
    result, counts = _import(grids_cli, path, layer)
    assert result.exit_code == 0
    [line] = report_lines(result.stdout, "feature 1")
    assert line.startswith(f"feature 1 ({patch.code(2)}): repaired: longitude/latitude swapped")
    assert line.endswith("swapped back")
    assert counts == {"imported": 2, "repaired": 1, "refused": 0, "total": 2}
    grid = stored(db, layer)[patch.code(2)]
    assert grid["valid"]
    assert grid["xmin"] == pytest.approx(patch.lon0 + CELL)
    assert grid["ymin"] == pytest.approx(patch.lat0)
    assert grid["area_m2"] == pytest.approx(geography_area(db, patch.polygon(1, 0)), rel=1e-6)


def test_duplicate_code_second_refused(grids_cli, patch, layer, db, tmp_path):
    path = write_geojson(tmp_path / "dupes.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1), name="第一"),
        feature(patch.polygon(1, 0), code=patch.code(2)),
        feature(patch.polygon(2, 0), code=patch.code(1), name="第二"),
    ])
    result, counts = _import(grids_cli, path, layer)
    assert result.exit_code == 0
    assert report_lines(result.stdout, "feature 2") == [
        f"feature 2 ({patch.code(1)}): refused: duplicate code {patch.code(1)} "
        "(first at feature 0): refused"]
    assert counts == {"imported": 2, "repaired": 0, "refused": 1, "total": 3}
    grids = stored(db, layer)
    assert set(grids) == {patch.code(1), patch.code(2)}
    assert grids[patch.code(1)]["name"] == "第一"
    assert grids[patch.code(1)]["xmin"] == pytest.approx(patch.lon0)


def test_non_polygon_refused(grids_cli, patch, layer, db, tmp_path):
    path = write_geojson(tmp_path / "types.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature({"type": "Point", "coordinates": patch.centre(1, 0)}, code=patch.code(2)),
        feature({"type": "LineString", "coordinates": patch.ring(2, 0)[:2]}, code=patch.code(3)),
    ])
    result, counts = _import(grids_cli, path, layer)
    assert result.exit_code == 0
    assert report_lines(result.stdout, "feature 1") == [
        f"feature 1 ({patch.code(2)}): refused: geometry type Point is not a polygon: refused"]
    assert report_lines(result.stdout, "feature 2") == [
        f"feature 2 ({patch.code(3)}): refused: geometry type LineString is not a polygon: "
        "refused"]
    assert counts == {"imported": 1, "repaired": 0, "refused": 2, "total": 3}
    assert set(stored(db, layer)) == {patch.code(1)}
    types = db.execute("SELECT DISTINCT GeometryType(geom) FROM grid").fetchall()
    assert types == [("MULTIPOLYGON",)]


def test_holes_and_multipolygons_kept(grids_cli, patch, layer, db, tmp_path):
    outer, hole = patch.ring(0, 0, size=3), patch.ring(1, 1)[::-1]
    holed = {"type": "Polygon", "coordinates": [outer, hole]}
    multi = {"type": "MultiPolygon", "coordinates": [[patch.ring(5, 0)], [patch.ring(7, 0)]]}
    path = write_geojson(tmp_path / "holes.geojson", [
        feature(holed, code=patch.code(1)), feature(multi, code=patch.code(2))])
    result, counts = _import(grids_cli, path, layer)
    assert result.exit_code == 0
    assert counts == {"imported": 2, "repaired": 0, "refused": 0, "total": 2}
    assert report_lines(result.stdout, "feature ") == []
    grids = stored(db, layer)
    with_hole, two_parts = grids[patch.code(1)], grids[patch.code(2)]
    assert with_hole["valid"] and with_hole["holes"] == 1 and with_hole["parts"] == 1
    assert with_hole["area_m2"] == pytest.approx(geography_area(db, holed), rel=1e-6)
    assert two_parts["valid"] and two_parts["parts"] == 2 and two_parts["type"] == "MULTIPOLYGON"
    assert two_parts["area_m2"] == pytest.approx(geography_area(db, multi), rel=1e-6)


def test_overlap_reported_with_area_and_codes(grids_cli, patch, layer, db, tmp_path):
    # the second square reaches a quarter cell into the first: ~2,700 m² at 30 N
    path = write_geojson(tmp_path / "overlap.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature(patch.polygon(0.75, 0), code=patch.code(2))])
    result, counts = _import(grids_cli, path, layer)
    assert result.exit_code == 0
    [line] = report_lines(result.stdout, "overlap ")
    area = float(line.split()[1])
    assert line.startswith(f"overlap {line.split()[1]} m² between {patch.code(1)} and "
                           f"{patch.code(2)} at (")
    quarter = geography_area(db, patch.polygon(0, 0)) / 4
    assert area == pytest.approx(quarter, rel=0.01)
    assert counts == {"imported": 2, "repaired": 0, "refused": 0, "total": 2}
    # reported, not changed: PostGIS still sees the overlap
    a, b = (stored(db, layer)[patch.code(n)]["id"] for n in (1, 2))
    in_db = db.execute("SELECT ST_Area(ST_Intersection(a.geom, b.geom)::geography) "
                       "FROM grid a, grid b WHERE a.id = %s AND b.id = %s", (a, b)).fetchone()[0]
    assert in_db == pytest.approx(area, rel=0.01)


def test_gap_reported_with_area_and_codes(grids_cli, patch, layer, db, tmp_path):
    # a 3 x 3 block with its centre cell missing
    cells = [(c, r) for r in range(3) for c in range(3) if (c, r) != (1, 1)]
    path = write_geojson(tmp_path / "gap.geojson", [
        feature(patch.polygon(c, r), code=patch.code(3 * r + c)) for c, r in cells])
    result, counts = _import(grids_cli, path, layer)
    assert result.exit_code == 0
    [line] = report_lines(result.stdout, "gap ")
    area = float(line.split()[1])
    assert area == pytest.approx(geography_area(db, patch.polygon(1, 1)), rel=0.01)
    named = line.split(" between ")[1].split(" at (")[0].split(", ")
    assert set(named) == {patch.code(3 * r + c) for c, r in cells}
    assert counts["imported"] == 8 and counts["repaired"] == 0
    assert len(stored(db, layer)) == 8


def _sliver_layer(patch):
    sliver = 0.2 / 96_500 / CELL  # 0.2 m of longitude at 30 N, in cells
    return [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature(patch.polygon(1 - sliver, 0), code=patch.code(2)),  # 0.2 m into code 1
        feature(patch.polygon(0, 1), code=patch.code(3)),
        feature(patch.polygon(1 + sliver, 1), code=patch.code(4)),  # 0.2 m gap from code 3
        feature(patch.polygon(0, 2, size=2.2), code=patch.code(5)),  # closes the gap on top
    ]


def _union_holes_m2(db, layer):
    return db.execute("""
        SELECT coalesce(sum(ST_Area(ST_MakePolygon(ST_InteriorRingN(d.geom, n))::geography)), 0)
        FROM (SELECT (ST_Dump(ST_Union(g.geom))).geom FROM grid g
              JOIN grid_layer l ON l.active_version_id = g.layer_version_id
              WHERE l.name = %s) d,
             generate_series(1, ST_NumInteriorRings(d.geom)) n
    """, (layer,)).fetchone()[0]


def _overlap_m2(db, layer, c1, c2):
    grids = stored(db, layer)
    return db.execute("SELECT ST_Area(ST_Intersection(a.geom, b.geom)::geography) "
                      "FROM grid a, grid b WHERE a.id = %s AND b.id = %s",
                      (grids[c1]["id"], grids[c2]["id"])).fetchone()[0]


def test_thin_overlap_and_gap_reported_without_snap(grids_cli, patch, layer, db, tmp_path):
    path = write_geojson(tmp_path / "slivers.geojson", _sliver_layer(patch))
    result, counts = _import(grids_cli, path, layer)
    [overlap] = report_lines(result.stdout, "overlap ")
    [gap] = report_lines(result.stdout, "gap ")
    assert f"between {patch.code(1)} and {patch.code(2)}" in overlap
    assert not overlap.endswith("removed from " + patch.code(2))
    assert patch.code(3) in gap and patch.code(4) in gap
    assert counts["repaired"] == 0
    assert _overlap_m2(db, layer, patch.code(1), patch.code(2)) > 15  # 0.2 m x 111 m
    assert _union_holes_m2(db, layer) > 15


def test_snap_fixes_thin_overlap_and_gap(grids_cli, patch, layer, db, tmp_path):
    path = write_geojson(tmp_path / "slivers.geojson", _sliver_layer(patch))
    result, counts = _import(grids_cli, path, layer, "--snap", "0.5")
    assert result.exit_code == 0, result.output
    [overlap] = report_lines(result.stdout, "overlap ")
    assert overlap.startswith(f"overlap {overlap.split()[1]} m² between {patch.code(1)} and "
                              f"{patch.code(2)} at (")
    assert overlap.endswith(f": removed from {patch.code(2)}")
    [gap] = report_lines(result.stdout, "gap ")
    assert ": filled into " in gap
    assert counts == {"imported": 5, "repaired": 2, "refused": 0, "total": 5}
    grids = stored(db, layer)
    assert all(g["valid"] and g["type"] == "MULTIPOLYGON" for g in grids.values())
    assert _overlap_m2(db, layer, patch.code(1), patch.code(2)) < 0.01
    assert _union_holes_m2(db, layer) < 0.01


def test_wide_overlap_not_snapped(grids_cli, patch, layer, db, tmp_path):
    path = write_geojson(tmp_path / "wide.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature(patch.polygon(0.5, 0), code=patch.code(2))])
    result, counts = _import(grids_cli, path, layer, "--snap", "0.5")
    [overlap] = report_lines(result.stdout, "overlap ")
    assert "removed from" not in overlap and counts["repaired"] == 0
    assert _overlap_m2(db, layer, patch.code(1), patch.code(2)) > 5000


def test_every_defect_at_once_counts_add_up(grids_cli, patch, layer, db, tmp_path):
    feats = [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature({"type": "Polygon", "coordinates": [patch.ring(1, 0)[:-1]]}, code=patch.code(2)),
        feature(None, code=patch.code(3)),
        feature(patch.polygon(3, 0), code=patch.code(1)),
        feature(patch.polygon(4, 0)),
        feature({"type": "Point", "coordinates": patch.centre(5, 0)}, code=patch.code(6)),
    ]
    result, counts = _import(grids_cli, write_geojson(tmp_path / "all.geojson", feats), layer)
    assert counts == {"imported": 2, "repaired": 1, "refused": 4, "total": 6}
    assert report_lines(result.stdout, "feature 4") == [
        "feature 4 (no code): refused: missing grid code: refused"]
    assert set(stored(db, layer)) == {patch.code(1), patch.code(2)}
