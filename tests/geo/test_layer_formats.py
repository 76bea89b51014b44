"""File formats, encodings and attribute recognition."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
from geo_helpers import CELL, LAT0, LON0, code, feature, polygon, write_shapefile
from shapely.geometry import Polygon, box

from geo.layer import LayerError, format_report, read_layer


def _cell(col: float, row: float = 0) -> Polygon:
    x, y = LON0 + col * CELL, LAT0 + row * CELL
    return box(x, y, x + CELL, y + CELL)


def _bowtie(col: float) -> Polygon:
    x, y = LON0 + col * CELL, LAT0
    return Polygon([(x, y), (x + CELL, y + CELL), (x + CELL, y), (x, y + CELL)])


@pytest.fixture
def gbk_shapefile(tmp_path: Path) -> Path:
    """A broken GBK shapefile with Chinese field names and no .cpg."""
    return write_shapefile(
        tmp_path / "网格.shp",
        [_cell(0), _bowtie(1), _cell(2), _cell(3)],
        {"网格编码": [code(1), code(2), code(1), code(4)],
         "网格名称": ["一号网格", "二号网格", "重复网格", "四号网格"],
         "街道名称": ["沙洲街道"] * 4, "户数": ["250", "260", "1", "x"]},
        cpg=False)


def test_gbk_shapefile_without_cpg_detected(gbk_shapefile: Path) -> None:
    result = read_layer(gbk_shapefile)
    assert result.encoding == "gbk"
    assert result.encoding_source == "detected, no .cpg"
    assert "encoding: gbk (detected, no .cpg)" in format_report(result)
    assert result.field_map == {"code": "网格编码", "name": "网格名称", "street_name": "街道名称",
                                "households": "户数"}
    names = [f.name for f in result.features]
    assert names == ["一号网格", "二号网格", "四号网格"]
    assert result.features[0].street_name == "沙洲街道"
    assert [f.households for f in result.features] == [250, 260, None]


def test_broken_shapefile_report(gbk_shapefile: Path) -> None:
    result = read_layer(gbk_shapefile)
    statuses = [o.status for o in result.outcomes]
    assert statuses == ["imported", "repaired", "refused", "imported"]
    assert result.outcomes[1].reasons[0].startswith("self-intersection at (")
    assert result.outcomes[2].reasons == [f"duplicate code {code(1)} (first at feature 0): refused"]
    report = format_report(result)
    assert f"feature 2 ({code(1)}): refused: duplicate code {code(1)} (first at feature 0): refused" in report
    assert report[-1] == "imported=3 repaired=1 refused=1 total=4"


def test_cpg_honoured(tmp_path: Path) -> None:
    path = write_shapefile(tmp_path / "g.shp", [_cell(0)], {"WGBM": [code(1)], "WGMC": ["一号"]})
    result = read_layer(path)
    assert (result.encoding, result.encoding_source) == ("gbk", "from g.cpg")
    assert result.features[0].name == "一号"


def test_wrong_cpg_falls_back_to_detection(tmp_path: Path) -> None:
    path = write_shapefile(tmp_path / "g.shp", [_cell(0)], {"WGBM": [code(1)], "WGMC": ["一号"]})
    path.with_suffix(".cpg").write_text("UTF-8")
    result = read_layer(path)
    assert result.encoding == "gbk" and result.features[0].name == "一号"
    assert any("g.cpg says 'UTF-8'" in w for w in result.warnings)


def test_utf8_shapefile_detected(tmp_path: Path) -> None:
    path = write_shapefile(tmp_path / "u.shp", [_cell(0)], {"WGBM": [code(1)], "WGMC": ["一号"]},
                           encoding="UTF-8", cpg=False)
    result = read_layer(path)
    assert result.encoding == "utf-8" and result.features[0].name == "一号"


def test_encoding_override(gbk_shapefile: Path) -> None:
    assert read_layer(gbk_shapefile, encoding="gb18030").features[0].name == "一号网格"


def test_wrong_encoding_override_is_clear_error(gbk_shapefile: Path) -> None:
    with pytest.raises(LayerError, match=r"--encoding utf-8 does not fit: byte 0x.. at offset "
                                         r"\d+ is not valid utf-8; the text looks like gbk: "
                                         r"try --encoding gbk"):
        read_layer(gbk_shapefile, encoding="utf-8")


def test_pinyin_fields_and_numeric_code(tmp_path: Path) -> None:
    path = write_shapefile(
        tmp_path / "p.shp", [_cell(0), _cell(1)],
        {"WGBM": [320105002003004.0, 320105002003005.0], "WGMC": ["甲", "乙"],
         "JDMC": ["沙洲街道"] * 2, "JDBM": ["320105002"] * 2, "SQMC": ["社区"] * 2,
         "SQBM": ["320105002003"] * 2})
    result = read_layer(path)
    assert result.field_map == {"code": "WGBM", "name": "WGMC", "street_code": "JDBM",
                                "street_name": "JDMC", "community_code": "SQBM",
                                "community_name": "SQMC"}
    grid = result.features[0]
    assert grid.code == "320105002003004"
    assert (grid.street_code, grid.street_name, grid.community_code, grid.community_name) == (
        "320105002", "沙洲街道", "320105002003", "社区")
    assert grid.attrs["WGBM"] == 320105002003004.0
    json.dumps(grid.attrs)


@pytest.mark.parametrize("code_field", ["网格编码", "网格代码", "Grid_Code", "GRIDCODE", "wgbm",
                                        "CODE"])
def test_code_field_names(write_geojson, code_field: str) -> None:
    path = write_geojson([feature(polygon(0, 0), **{code_field: code(1), "社区编码": "C1"})])
    result = read_layer(path)
    assert result.field_map["code"] == code_field
    assert result.features[0].community_code == "C1"
    assert result.features[0].street_code == "320105001"  # derived from the code


def test_no_code_field(write_geojson) -> None:
    path = write_geojson([feature(polygon(0, 0), ID=1, MC="甲")])
    with pytest.raises(LayerError) as err:
        read_layer(path)
    assert str(err.value) == ("no grid code field found; columns are: ID, MC; "
                              "use --map code=FIELD")


def test_field_map_override(write_geojson) -> None:
    path = write_geojson([feature(polygon(0, 0), ID="G-1", code="ignored", MC="甲")])
    result = read_layer(path, field_map={"code": "id", "name": "MC"})
    assert result.field_map["code"] == "ID" and result.field_map["name"] == "MC"
    grid = result.features[0]
    assert (grid.code, grid.name, grid.street_code) == ("G-1", "甲", None)


def test_field_map_unknown_column(write_geojson) -> None:
    path = write_geojson([feature(polygon(0, 0), code=code(1))])
    with pytest.raises(LayerError, match="--map code=NOPE: no such field; columns are: code"):
        read_layer(path, field_map={"code": "NOPE"})


def test_zip_with_shapefile(gbk_shapefile: Path, tmp_path: Path) -> None:
    archive = tmp_path / "grids.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in gbk_shapefile.parent.glob(gbk_shapefile.stem + ".*"):
            zf.write(part, f"data/{part.name}")
    result = read_layer(archive)
    assert result.encoding == "gbk"
    assert format_report(result)[-1] == "imported=3 repaired=1 refused=1 total=4"


def test_zip_with_geojson(write_geojson, tmp_path: Path) -> None:
    path = write_geojson([feature(polygon(0, 0), code=code(1))])
    archive = tmp_path / "g.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(path, "grids.geojson")
        zf.writestr("__MACOSX/._grids.geojson", b"junk")
        zf.writestr("readme.txt", "hello")
    assert read_layer(archive).imported == 1


def test_zip_without_layer(tmp_path: Path) -> None:
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(LayerError, match=r"zip empty.zip holds no layer .* contains: readme.txt"):
        read_layer(archive)


def test_zip_with_several_layers(tmp_path: Path) -> None:
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.geojson", "{}")
        zf.writestr("b/b.shp", b"")
    with pytest.raises(LayerError, match=r"several layers \(a.geojson, b/b.shp\)"):
        read_layer(archive)


def test_not_a_zip(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(LayerError, match=r"cannot open zip bad\.zip"):
        read_layer(bad)


def test_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "g.gpkg"
    pyogrio.raw.write(path, shapely.to_wkb(np.array([_cell(0), _cell(1)])),
                      [np.array([code(1), code(2)], dtype=object)], ["grid_code"], driver="GPKG",
                      geometry_type="Polygon", crs="EPSG:4326")
    result = read_layer(path, datum="bd09")
    assert [f.code for f in result.features] == [code(1), code(2)]
    assert result.encoding == "utf-8" and result.datum == "bd09"


def test_prj_never_decides_gcj(tmp_path: Path) -> None:
    path = write_shapefile(tmp_path / "g.shp", [_cell(0)], {"WGBM": [code(1)]})
    result = read_layer(path, datum="gcj02")
    assert any(w.startswith(".prj says WGS84, but coordinates were read as gcj02")
               for w in result.warnings)
    assert result.features[0].geometry.bounds[0] < LON0 - 0.003  # converted


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.geojson", None, "file not found"),
    ("grids.kml", "<kml/>", "unsupported file type '.kml'"),
    ("broken.geojson", "{", "broken.geojson is not valid JSON"),
    ("point.geojson", '{"type": "Point", "coordinates": [1, 2]}',
     "expected a GeoJSON FeatureCollection, got 'Point'"),
])
def test_whole_file_errors(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(LayerError, match=message):
        read_layer(path)


def test_gbk_geojson_detected(tmp_path: Path) -> None:
    doc = {"type": "FeatureCollection",
           "features": [feature(polygon(0, 0), 网格编码=code(1), 网格名称="一号网格")]}
    path = tmp_path / "gbk.geojson"
    path.write_bytes(json.dumps(doc, ensure_ascii=False).encode("gbk"))
    result = read_layer(path)
    assert result.encoding == "gbk" and result.features[0].name == "一号网格"


def test_empty_layer(write_geojson) -> None:
    with pytest.raises(LayerError, match=r"grids\.geojson has no features"):
        read_layer(write_geojson([]))


def test_geo_imports_no_web_stack() -> None:
    import subprocess
    import sys

    code_ = ("import sys, geo.layer, geo.match, geo.datum; "
             "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy')]; "
             "print(bad)")
    out = subprocess.run([sys.executable, "-c", code_], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
