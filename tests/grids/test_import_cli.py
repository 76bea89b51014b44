"""``flask grids import``: formats, encodings, attribute mapping, reports, exit codes."""

from __future__ import annotations

import json
import zipfile

import pytest
import shapely.geometry

from tests.grids.helpers import (
    feature,
    report_lines,
    stored,
    summary,
    write_geojson,
    write_shapefile,
)


def _layer_rows(db, name):
    return db.execute("SELECT count(*) FROM grid_layer WHERE name = %s", (name,)).fetchone()[0]


def _shape(patch, col, row=0):
    return shapely.geometry.shape(patch.polygon(col, row))


def test_summary_line_and_exit_code_zero_when_something_imported(grids_cli, patch, layer,
                                                                  tmp_path):
    path = write_geojson(tmp_path / "g.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1)), feature(None, code=patch.code(2))])
    result = grids_cli("import", path, "--layer", layer)
    assert result.exit_code == 0
    last = result.stdout.splitlines()[-1]
    assert last == "imported=1 repaired=0 refused=1 total=2"
    counts = summary(result.stdout)
    assert counts["imported"] + counts["refused"] == counts["total"]
    assert f"layer {layer!r}: version 1 is now active" in result.stdout


def test_nothing_importable_exits_non_zero_and_stores_nothing(grids_cli, patch, layer, db,
                                                              tmp_path):
    path = write_geojson(tmp_path / "bad.geojson", [
        feature(None, code=patch.code(1)),
        feature({"type": "Point", "coordinates": patch.centre(0, 0)}, code=patch.code(2))])
    result = grids_cli("import", path, "--layer", layer)
    assert result.exit_code != 0
    assert result.stdout.splitlines()[-1] == "imported=0 repaired=0 refused=2 total=2"
    assert _layer_rows(db, layer) == 0


def test_report_json_has_every_feature(grids_cli, patch, layer, tmp_path):
    path = write_geojson(tmp_path / "g.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature({"type": "Polygon", "coordinates": [patch.ring(1, 0)[:-1]]}, code=patch.code(2)),
        feature(None, code=patch.code(3)),
        feature(patch.polygon(0.75, 0), code=patch.code(4)),
    ])
    out = tmp_path / "report.json"
    result = grids_cli("import", path, "--layer", layer, "--report-json", out)
    assert result.exit_code == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["summary"] == {"imported": 3, "repaired": 1, "refused": 1, "total": 4}
    assert [f["index"] for f in report["features"]] == [0, 1, 2, 3]
    assert [f["status"] for f in report["features"]] == [
        "imported", "repaired", "refused", "imported"]
    assert [f["code"] for f in report["features"]] == [patch.code(n) for n in (1, 2, 3, 4)]
    assert report["features"][1]["reasons"] == ["ring 0 not closed: closed it"]
    assert report["features"][2]["reasons"] == ["no geometry: refused"]
    # code 4 reaches a quarter cell into code 1 and three quarters into code 2
    by_pair = {tuple(o["codes"]): o["area_m2"] for o in report["overlaps"]}
    assert set(by_pair) == {(patch.code(1), patch.code(4)), (patch.code(2), patch.code(4))}
    assert 2 < by_pair[(patch.code(2), patch.code(4))] / by_pair[(patch.code(1), patch.code(4))] < 4
    assert report["datum"] == "wgs84" and report["field_map"]["code"] == "code"


def test_dry_run_imports_nothing(grids_cli, patch, layer, db, tmp_path):
    path = write_geojson(tmp_path / "g.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature({"type": "Polygon", "coordinates": [patch.ring(1, 0)[:-1]]}, code=patch.code(2))])
    out = tmp_path / "report.json"
    result = grids_cli("import", path, "--layer", layer, "--dry-run", "--report-json", out)
    assert result.exit_code == 0
    assert "dry run: nothing was imported" in result.stdout
    assert report_lines(result.stdout, "feature 1") == [
        f"feature 1 ({patch.code(2)}): repaired: ring 0 not closed: closed it"]
    assert result.stdout.splitlines()[-1] == "imported=2 repaired=1 refused=0 total=2"
    assert json.loads(out.read_text())["summary"]["imported"] == 2
    assert _layer_rows(db, layer) == 0
    count = db.execute("SELECT count(*) FROM grid WHERE code = ANY(%s)",
                       ([patch.code(1), patch.code(2)],)).fetchone()[0]
    assert count == 0


def test_gbk_shapefile_without_cpg_detected(grids_cli, patch, layer, db, tmp_path):
    shp = write_shapefile(tmp_path / "网格.shp", [_shape(patch, 0), _shape(patch, 1)], {
        "网格编码": [patch.code(1), patch.code(2)],
        "网格名称": ["南苑一网格", "南苑二网格"],
        "街道名称": ["南苑街道", "南苑街道"],
        "社区名称": ["吉庆社区", "吉庆社区"],
    }, encoding="GBK", cpg=False)
    assert not shp.with_suffix(".cpg").exists()
    result = grids_cli("import", shp, "--layer", layer)
    assert result.exit_code == 0, result.output
    [enc] = report_lines(result.stdout, "encoding: ")
    assert enc.startswith("encoding: gb") and "detected, no .cpg" in enc
    [fields] = report_lines(result.stdout, "fields: ")
    assert "code=网格编码" in fields and "name=网格名称" in fields
    grids = stored(db, layer)
    assert grids[patch.code(1)]["name"] == "南苑一网格"
    assert grids[patch.code(2)]["name"] == "南苑二网格"
    street = db.execute("SELECT DISTINCT street_name, community_name FROM grid "
                        "WHERE code = %s", (patch.code(1),)).fetchall()
    assert street == [("南苑街道", "吉庆社区")]


def test_encoding_option_overrides_and_is_checked(grids_cli, patch, layer, db, tmp_path):
    shp = write_shapefile(tmp_path / "grids.shp", [_shape(patch, 0)], {
        "WGBM": [patch.code(1)], "WGMC": ["兴隆网格"]}, encoding="GBK", cpg=False)
    wrong = grids_cli("import", shp, "--layer", layer, "--encoding", "utf-8")
    assert wrong.exit_code != 0
    assert "--encoding utf-8 does not fit" in wrong.stderr
    assert "Traceback" not in wrong.output
    assert _layer_rows(db, layer) == 0
    right = grids_cli("import", shp, "--layer", layer, "--encoding", "gb18030")
    assert right.exit_code == 0, right.output
    assert "encoding: gb18030 (from --encoding)" in right.stdout
    assert stored(db, layer)[patch.code(1)]["name"] == "兴隆网格"


def test_shapefile_cpg_honoured_inside_zip(grids_cli, patch, layer, db, tmp_path):
    write_shapefile(tmp_path / "grids.shp", [_shape(patch, 0)], {
        "GRID_CODE": [patch.code(1)], "GRID_NAME": ["江东网格"]}, encoding="GBK", cpg=True)
    archive = tmp_path / "grids.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("grids.*"):
            if part.suffix != ".zip":
                zf.write(part, f"export/{part.name}")
    result = grids_cli("import", archive, "--layer", layer)
    assert result.exit_code == 0, result.output
    assert report_lines(result.stdout, "encoding: ")[0].endswith("(from grids.cpg)")
    assert stored(db, layer)[patch.code(1)]["name"] == "江东网格"


def test_geopackage(grids_cli, patch, layer, db, tmp_path):
    import numpy as np
    import pyogrio.raw

    path = tmp_path / "grids.gpkg"
    pyogrio.raw.write(path, shapely.to_wkb(np.array([_shape(patch, 0)], dtype=object)),
                      [np.array([patch.code(1)], dtype=object),
                       np.array(["莫愁湖网格"], dtype=object)],
                      ["wgbm", "wgmc"], driver="GPKG", geometry_type="Polygon",
                      crs="EPSG:4326")
    result = grids_cli("import", path, "--layer", layer)
    assert result.exit_code == 0, result.output
    assert stored(db, layer)[patch.code(1)]["name"] == "莫愁湖网格"


def test_map_option_names_the_fields(grids_cli, patch, layer, db, tmp_path):
    path = write_geojson(tmp_path / "g.geojson", [
        feature(patch.polygon(0, 0), BIANHAO=patch.code(1), MINGCHENG="沙洲网格",
                JD="沙洲街道"),
        feature(patch.polygon(1, 0), BIANHAO=patch.code(2), MINGCHENG="双闸网格",
                JD="沙洲街道")])
    result = grids_cli("import", path, "--layer", layer,
                       "--map", "code=BIANHAO,name=MINGCHENG,street=JD")
    assert result.exit_code == 0, result.output
    assert "fields: " in result.stdout and "code=BIANHAO" in result.stdout
    grids = stored(db, layer)
    assert {c: g["name"] for c, g in grids.items()} == {patch.code(1): "沙洲网格",
                                                        patch.code(2): "双闸网格"}
    assert grids[patch.code(1)]["street_code"] == patch.code(1)[:9]


def test_no_code_field_is_a_clear_error_and_writes_nothing(grids_cli, patch, layer, db,
                                                           tmp_path):
    path = write_geojson(tmp_path / "g.geojson", [
        feature(patch.polygon(0, 0), BIANHAO=patch.code(1), MINGCHENG="沙洲网格")])
    result = grids_cli("import", path, "--layer", layer)
    assert result.exit_code != 0
    assert "no grid code field found" in result.stderr
    assert "BIANHAO" in result.stderr and "--map code=FIELD" in result.stderr
    assert "Traceback" not in result.output
    assert _layer_rows(db, layer) == 0
    assert db.execute("SELECT count(*) FROM grid WHERE code = %s",
                      (patch.code(1),)).fetchone()[0] == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--map", "code"], "bad --map item"),
    (["--map", "colour=X"], "unknown field 'colour'"),
    (["--map", "code=NOPE"], "NOPE"),
])
def test_bad_map_option(grids_cli, patch, layer, db, tmp_path, args, message):
    path = write_geojson(tmp_path / "g.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1))])
    result = grids_cli("import", path, "--layer", layer, *args)
    assert result.exit_code != 0 and message in result.stderr
    assert _layer_rows(db, layer) == 0


def _garbage(tmp_path, kind):
    if kind == "missing":
        return tmp_path / "nowhere.geojson", "file not found"
    if kind == "json":
        path = tmp_path / "garbage.geojson"
        path.write_bytes(b"{\"type\": \"FeatureCollection\", \"features\": [")
        return path, "not valid JSON"
    if kind == "not-geojson":
        path = tmp_path / "list.json"
        path.write_text("[1, 2, 3]")
        return path, "expected a GeoJSON FeatureCollection"
    if kind == "binary":
        path = tmp_path / "garbage.geojson"
        path.write_bytes(bytes(range(256)) * 8)
        return path, "garbage.geojson"
    if kind == "shp":
        path = tmp_path / "garbage.shp"
        path.write_bytes(b"\0\1\2 not a shapefile" * 50)
        return path, "garbage.shp"
    if kind == "not-zip":
        path = tmp_path / "garbage.zip"
        path.write_bytes(b"PK\3\4 truncated nonsense")
        return path, "cannot open zip"
    if kind == "empty-zip":
        path = tmp_path / "docs.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "网格数据说明")
        return path, "holds no layer"
    if kind == "suffix":
        path = tmp_path / "grids.csv"
        path.write_text("code,wkt\n")
        return path, "unsupported file type"
    if kind == "empty-layer":
        return write_geojson(tmp_path / "empty.geojson", []), "has no features"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "json", "not-geojson", "binary", "shp", "not-zip",
                                  "empty-zip", "suffix", "empty-layer"])
def test_unreadable_inputs_are_clear_errors(grids_cli, layer, db, tmp_path, kind):
    path, message = _garbage(tmp_path, kind)
    result = grids_cli("import", path, "--layer", layer)
    assert result.exit_code != 0
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert result.stdout.splitlines()[-1] == "imported=0 repaired=0 refused=0 total=0"
    assert _layer_rows(db, layer) == 0


def test_values_too_big_for_the_database_never_fail_the_import(grids_cli, patch, layer, db,
                                                                tmp_path):
    path = write_geojson(tmp_path / "odd.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1)),
        feature(patch.polygon(1, 0), code="9" * 40),
        feature(patch.polygon(2, 0), code=patch.code(3), kind="城市社区综合治理网格类型ABCDEFGH"),
        feature(patch.polygon(3, 0), code=patch.code(4), households=10**12),
        feature(patch.polygon(4, 0), code=patch.code(5), street_code="8" * 40),
    ])
    result = grids_cli("import", path, "--layer", layer)
    assert result.exit_code == 0, result.output
    assert report_lines(result.stdout, "feature 1") == [
        "feature 1 (" + "9" * 40 + "): refused: grid code is 40 characters long, more than 32: "
        "refused"]
    assert "kind '城市社区综合治理网格类型ABCDEFGH' is longer than 16 characters: left out" in \
        report_lines(result.stdout, "feature 2")[0]
    assert "households 1000000000000 is out of range: left out" in \
        report_lines(result.stdout, "feature 3")[0]
    assert "street_code" in report_lines(result.stdout, "feature 4")[0]
    assert result.stdout.splitlines()[-1] == "imported=4 repaired=3 refused=1 total=5"
    grids = stored(db, layer)
    assert set(grids) == {patch.code(n) for n in (1, 3, 4, 5)}
    assert grids[patch.code(5)]["street_code"] is None


@pytest.mark.parametrize("name", ["x" * 101, " "])
def test_bad_layer_name_is_a_usage_error(grids_cli, patch, db, tmp_path, name):
    path = write_geojson(tmp_path / "g.geojson", [feature(patch.polygon(0, 0), code=patch.code(1))])
    result = grids_cli("import", path, "--layer", name)
    assert result.exit_code == 2 and "--layer" in result.stderr
    assert _layer_rows(db, name) == 0
