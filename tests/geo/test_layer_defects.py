"""Each geometry/attribute defect is repaired or refused, with a specific reason."""

from __future__ import annotations

import json

import pytest
import shapely
import shapely.geometry
from geo_helpers import CELL, LAT0, LON0, code, feature, polygon, ring

from geo.layer import LayerError, format_report, read_layer, report_json


def _outcome(result, index):
    return result.outcomes[index]


def _lines_for(result, index):
    return [ln for ln in format_report(result) if ln.startswith(f"feature {index} ")]


def test_clean_layer_imports_everything(write_geojson) -> None:
    path = write_geojson([feature(polygon(i, 0), code=code(i)) for i in range(3)])
    result = read_layer(path)
    assert (result.imported, result.repaired, result.refused, result.total) == (3, 0, 0, 3)
    assert [f.code for f in result.features] == [code(0), code(1), code(2)]
    assert all(f.geometry.geom_type == "MultiPolygon" for f in result.features)
    assert format_report(result)[-1] == "imported=3 repaired=0 refused=0 total=3"
    assert result.overlaps == [] and result.gaps == []


def test_null_and_empty_geometry_refused(write_geojson) -> None:
    path = write_geojson([
        feature(polygon(0, 0), code=code(0)),
        feature(None, code=code(1)),
        feature({"type": "Polygon", "coordinates": []}, code=code(2)),
    ])
    result = read_layer(path)
    assert _outcome(result, 1).status == "refused"
    assert _outcome(result, 1).reasons == ["no geometry: refused"]
    assert _outcome(result, 2).reasons == ["empty geometry: refused"]
    assert _lines_for(result, 1) == [f"feature 1 ({code(1)}): refused: no geometry: refused"]
    assert format_report(result)[-1] == "imported=1 repaired=0 refused=2 total=3"


def test_unclosed_ring_closed(write_geojson) -> None:
    open_ring = ring(0, 0)[:-1]
    path = write_geojson([feature({"type": "Polygon", "coordinates": [open_ring]}, code=code(1))])
    result = read_layer(path)
    out = _outcome(result, 0)
    assert out.status == "repaired"
    assert out.reasons == ["ring 0 not closed: closed it"]
    assert _lines_for(result, 0) == [
        f"feature 0 ({code(1)}): repaired: ring 0 not closed: closed it"]
    geom = result.features[0].geometry
    assert geom.is_valid and geom.area == pytest.approx(CELL * CELL)


def test_self_intersection_made_valid(write_geojson) -> None:
    x0, y0, x1, y1 = LON0, LAT0, LON0 + CELL, LAT0 + CELL
    bowtie = [[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]
    path = write_geojson([feature({"type": "Polygon", "coordinates": [bowtie]}, code=code(1))])
    result = read_layer(path)
    out = _outcome(result, 0)
    assert out.status == "repaired"
    assert len(out.reasons) == 1
    assert out.reasons[0].startswith(f"self-intersection at ({LON0 + CELL / 2}, {LAT0 + CELL / 2}")
    assert out.reasons[0].endswith(": made valid")
    geom = result.features[0].geometry
    assert geom.is_valid and geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert geom.area == pytest.approx(CELL * CELL / 2)


def test_swapped_lon_lat_fixed(write_geojson) -> None:
    swapped = [[lat, lon] for lon, lat in ring(1, 0)]
    path = write_geojson([
        feature(polygon(0, 0), code=code(0)),
        feature({"type": "Polygon", "coordinates": [swapped]}, code=code(1)),
    ])
    result = read_layer(path)
    out = _outcome(result, 1)
    assert out.status == "repaired"
    assert out.reasons[0].startswith("longitude/latitude swapped")
    assert out.reasons[0].endswith("swapped back")
    minx, miny, _, _ = result.features[1].geometry.bounds
    assert minx == pytest.approx(LON0 + CELL) and miny == pytest.approx(LAT0)


def test_swapped_detected_by_neighbours_outside_china(write_geojson, tmp_path) -> None:
    def square(lon, lat):
        return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat],
                [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]]}

    # Paris: lon 2.3, lat 48.8; swapping gives lon 48.8, lat 2.3 (also plausible numbers)
    feats = [feature(square(2.30 + 0.01 * i, 48.80), code=f"P{i}") for i in range(4)]
    feats.append(feature(square(48.80, 2.34), code="P9"))
    result = read_layer(write_geojson(feats))
    assert _outcome(result, 4).status == "repaired"
    assert result.features[4].geometry.bounds[0] == pytest.approx(2.34)


def test_duplicate_codes_second_refused(write_geojson) -> None:
    path = write_geojson([
        feature(polygon(0, 0), code=code(1)),
        feature(polygon(1, 0), code=code(2)),
        feature(polygon(2, 0), code=code(1)),
        feature(polygon(3, 0), code=code(1)),
    ])
    result = read_layer(path)
    assert [o.status for o in result.outcomes] == ["imported", "imported", "refused", "refused"]
    assert _outcome(result, 2).reasons == [
        f"duplicate code {code(1)} (first at feature 0): refused"]
    assert _outcome(result, 3).reasons == [
        f"duplicate code {code(1)} (first at feature 0): refused"]
    assert [f.index for f in result.features] == [0, 1]


def test_duplicate_of_refused_feature_is_kept(write_geojson) -> None:
    path = write_geojson([feature(None, code=code(1)), feature(polygon(0, 0), code=code(1))])
    result = read_layer(path)
    assert [o.status for o in result.outcomes] == ["refused", "imported"]


@pytest.mark.parametrize(("geometry", "kind"), [
    ({"type": "Point", "coordinates": [LON0, LAT0]}, "Point"),
    ({"type": "LineString", "coordinates": [[LON0, LAT0], [LON0 + CELL, LAT0]]}, "LineString"),
    ({"type": "GeometryCollection", "geometries": []}, "GeometryCollection"),
])
def test_non_polygon_refused(write_geojson, geometry, kind) -> None:
    result = read_layer(write_geojson([feature(geometry, code=code(1))]))
    assert _outcome(result, 0).reasons == [f"geometry type {kind} is not a polygon: refused"]
    assert result.features == []
    assert format_report(result)[-1] == "imported=0 repaired=0 refused=1 total=1"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_code_refused(write_geojson, value) -> None:
    path = write_geojson([feature(polygon(0, 0), code=code(0)),
                          feature(polygon(1, 0), code=value)])
    result = read_layer(path)
    assert _outcome(result, 1).code is None
    assert _outcome(result, 1).reasons == ["missing grid code: refused"]
    assert _lines_for(result, 1) == ["feature 1 (no code): refused: missing grid code: refused"]


def test_holes_and_multipolygons_kept(write_geojson) -> None:
    outer = ring(0, 0, size=3)
    hole = ring(1, 1)[::-1]
    multi = {"type": "MultiPolygon", "coordinates": [[ring(5, 0)], [ring(7, 0)]]}
    path = write_geojson([
        feature({"type": "Polygon", "coordinates": [outer, hole]}, code=code(1)),
        feature(multi, code=code(2)),
    ])
    result = read_layer(path)
    assert result.repaired == 0 and result.imported == 2
    holed, two = (f.geometry for f in result.features)
    assert holed.geom_type == "MultiPolygon" and len(holed.geoms[0].interiors) == 1
    assert len(two.geoms) == 2


def test_overlap_reported_with_area_and_codes(write_geojson) -> None:
    # second square shifted a quarter cell into the first: ~2,600 m² overlap
    path = write_geojson([feature(polygon(0, 0), code=code(1)),
                          feature(polygon(0.75, 0), code=code(2))])
    result = read_layer(path)
    assert len(result.overlaps) == 1
    ov = result.overlaps[0]
    assert ov.codes == (code(1), code(2))
    assert 2400 < ov.area_m2 < 2800
    assert ov.action is None
    line = next(ln for ln in format_report(result) if ln.startswith("overlap"))
    assert line.startswith(f"overlap {ov.area_m2} m² between {code(1)} and {code(2)} at (")
    assert result.repaired == 0


def test_tiny_overlap_below_tolerance_ignored(write_geojson) -> None:
    path = write_geojson([feature(polygon(0, 0), code=code(1)),
                          feature(polygon(0.999999, 0), code=code(2))])
    assert read_layer(path).overlaps == []


def test_gap_reported(write_geojson) -> None:
    # a 3 x 3 block with the centre cell missing leaves a ~10,500 m² gap
    feats = [feature(polygon(c, r), code=code(3 * r + c))
             for r in range(3) for c in range(3) if (r, c) != (1, 1)]
    result = read_layer(write_geojson(feats))
    assert len(result.gaps) == 1
    gap = result.gaps[0]
    assert 10_000 < gap.area_m2 < 11_000
    assert set(gap.codes) == {code(n) for n in range(9) if n != 4}
    assert any(ln.startswith(f"gap {gap.area_m2} m² between ") for ln in format_report(result))


def test_snap_cuts_thin_overlap_and_fills_thin_gap(write_geojson) -> None:
    sliver = 0.2 / 94_500  # 0.2 m of longitude at 32 N
    feats = [
        feature(polygon(0, 0), code=code(1)),
        feature(polygon(1 - sliver / CELL, 0), code=code(2)),  # overlaps code(1) by 0.2 m
        feature(polygon(0, 1), code=code(3)),
        feature(polygon(1 + sliver / CELL, 1), code=code(4)),  # 0.2 m gap from code(3)
        feature(polygon(0, 2, size=2.2), code=code(5)),  # closes the gap at its top
        feature(polygon(0.5, -1), code=code(6)),  # closes it from below via code(1/2)
    ]
    report_only = read_layer(write_geojson(feats))
    assert len(report_only.overlaps) == 1 and report_only.overlaps[0].action is None
    assert len(report_only.gaps) == 1 and report_only.gaps[0].action is None

    snapped = read_layer(write_geojson(feats), snap_m=0.5)
    ov = snapped.overlaps[0]
    assert ov.codes == (code(1), code(2)) and ov.action == f"removed from {code(2)}"
    gap = snapped.gaps[0]
    assert gap.action is not None and gap.action.startswith("filled into ")
    by_code = {f.code: f for f in snapped.features}
    # the overlap now belongs to the smaller code only
    assert by_code[code(1)].geometry.intersection(by_code[code(2)].geometry).area < 1e-12
    assert snapped.outcomes[1].status == "repaired"
    assert "removed from this grid (snap 0.5 m)" in snapped.outcomes[1].reasons[0]
    filled = gap.action.removeprefix("filled into ")
    assert any("filled into this grid" in r
               for r in snapped.outcomes[by_code[filled].index].reasons)
    # the filled grid now touches its neighbour without overlapping it
    neighbour = by_code[code(3)] if filled == code(4) else by_code[code(4)]
    assert by_code[filled].geometry.intersection(neighbour.geometry).area < 1e-12
    again = [feature(shapely.geometry.mapping(f.geometry), code=f.code)
             for f in snapped.features]
    assert read_layer(write_geojson(again, "again.geojson")).gaps == []
    assert format_report(snapped)[-1] == "imported=6 repaired=2 refused=0 total=6"


def test_wide_overlap_not_snapped(write_geojson) -> None:
    path = write_geojson([feature(polygon(0, 0), code=code(1)),
                          feature(polygon(0.5, 0), code=code(2))])
    result = read_layer(path, snap_m=0.5)
    assert result.overlaps[0].action is None and result.repaired == 0


def test_every_feature_has_one_outcome_and_counts_add_up(write_geojson) -> None:
    feats = [
        feature(polygon(0, 0), code=code(0)),
        feature({"type": "Polygon", "coordinates": [ring(1, 0)[:-1]]}, code=code(1)),
        feature(None, code=code(2)),
        feature(polygon(3, 0), code=code(0)),
        feature(polygon(4, 0)),
    ]
    result = read_layer(write_geojson(feats))
    assert [o.index for o in result.outcomes] == list(range(5))
    assert [o.status for o in result.outcomes] == [
        "imported", "repaired", "refused", "refused", "refused"]
    assert result.imported + result.refused == result.total == 5
    assert (result.imported, result.repaired) == (2, 1)
    data = report_json(result)
    json.dumps(data)  # serialisable
    assert data["summary"] == {"imported": 2, "repaired": 1, "refused": 3, "total": 5}
    assert [f["status"] for f in data["features"]] == [o.status for o in result.outcomes]


def test_attrs_and_hierarchy(write_geojson) -> None:
    path = write_geojson([feature(polygon(0, 0), code=320105002003004, name="一号网格",
                                  households="250", extra={"a": 1})])
    grid = read_layer(path).features[0]
    assert grid.code == "320105002003004"
    assert (grid.district_code, grid.street_code, grid.community_code) == (
        "320105", "320105002", "320105002003")
    assert grid.households == 250 and grid.name == "一号网格"
    assert grid.attrs["extra"] == {"a": 1}
    json.dumps(grid.attrs)


def test_datum_recorded_and_converted(write_geojson) -> None:
    path = write_geojson([feature(polygon(0, 0), code=code(1))])
    wgs = read_layer(path).features[0].geometry
    gcj = read_layer(path, datum="gcj02")
    assert gcj.datum == "gcj02"
    shift = shapely.centroid(wgs).distance(shapely.centroid(gcj.features[0].geometry))
    assert 0.003 < shift < 0.008  # a few hundred metres
    assert read_layer(path, datum="CGCS2000").datum == "cgcs2000"


def test_unknown_datum_is_layer_error(write_geojson) -> None:
    path = write_geojson([feature(polygon(0, 0), code=code(1))])
    with pytest.raises(LayerError, match="unknown datum 'utm'"):
        read_layer(path, datum="utm")


def test_projected_coordinates_layer_error(write_geojson) -> None:
    square = [[500000, 3500000], [500100, 3500000], [500100, 3500100], [500000, 3500000]]
    path = write_geojson([feature({"type": "Polygon", "coordinates": [square]}, code=code(1))])
    with pytest.raises(LayerError, match="not longitude/latitude"):
        read_layer(path)
