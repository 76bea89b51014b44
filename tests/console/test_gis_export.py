"""GeoPackage and zipped Shapefile exports, read back with pyogrio."""

from __future__ import annotations

import io
import zipfile

import pyogrio
import pytest

from tests.console.helpers import incident, inspection

STREET = "320105003"
GRID = "320105003002002"


def _read(tmp_path, body: bytes, ext: str, **kw):
    if ext == "gpkg":
        path = tmp_path / "x.gpkg"
        path.write_bytes(body)
        return pyogrio.raw.read(path, **kw)
    zf = zipfile.ZipFile(io.BytesIO(body))
    zf.extractall(tmp_path)
    shp = next(p for p in tmp_path.iterdir() if p.suffix == ".shp")
    return pyogrio.raw.read(shp, **kw)


def test_grids_gpkg_and_shp_scoped(signed_in, db, tmp_path):
    sup = signed_in(role="supervisor", areas=[STREET])
    expected = {r[0]: r[1] for r in db.execute(
        "SELECT g.code, g.name FROM grid g JOIN grid_layer l "
        "ON l.active_version_id = g.layer_version_id WHERE g.street_code = %s", (STREET,))}
    r = sup.get("/api/v1/export/grids.gpkg")
    assert r.status_code == 200 and r.mimetype == "application/geopackage+sqlite3"
    assert "attachment" in r.headers["Content-Disposition"]
    (tmp_path / "g").mkdir()
    meta, _, _geometry, values = _read(tmp_path / "g", r.get_data(), "gpkg")
    names = meta["fields"].tolist()
    codes = values[names.index("code")].tolist()
    assert set(codes) == set(expected) and len(codes) == len(expected)
    assert meta["geometry_type"] == "MultiPolygon" and "4326" in meta["crs"]
    assert values[names.index("street_name")][0]  # Chinese names survive
    r = sup.get("/api/v1/export/grids.shp.zip")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(r.get_data())).namelist()
    assert {"grids.shp", "grids.shx", "grids.dbf", "grids.prj", "grids.cpg"} <= set(files)
    (tmp_path / "s").mkdir()
    meta, _, _geometry, values = _read(tmp_path / "s", r.get_data(), "shp.zip")
    names = meta["fields"].tolist()
    assert {"street", "street_nm", "community", "comm_name"} <= set(names)
    got = dict(zip(values[names.index("code")].tolist(), values[names.index("name")].tolist(),
                   strict=True))
    assert got == expected
    assert (tmp_path / "s" / "grids.cpg").read_text().strip().upper() in ("UTF-8", "UTF8")


def test_records_shp_gbk_and_filters(signed_in, inside_points, db, tmp_path):
    p = inside_points[GRID]
    dev = signed_in(grids=[GRID])
    visit = dev.op("inspection", "create", inspection("visit", p, note="井盖 松动"))
    patrol = dev.op("inspection", "create", inspection("patrol", p))
    inc = dev.op("incident", "create", incident(p))
    dev.push(visit, patrol, inc)
    db.execute("UPDATE record SET created_at = '2026-06-01T10:00:00+08' WHERE id = %s",
               (visit["id"],))
    sup = signed_in(role="supervisor", areas=[GRID])
    r = sup.get("/api/v1/export/inspections.shp.zip?encoding=gbk")
    assert r.status_code == 200
    raw = zipfile.ZipFile(io.BytesIO(r.get_data()))
    assert raw.read("inspections.cpg").decode().strip().upper() in ("GBK", "CP936", "936")
    assert "井盖 松动".encode("gbk") in raw.read("inspections.dbf")
    (tmp_path / "a").mkdir()
    meta, _, _geometry, values = _read(tmp_path / "a", r.get_data(), "shp.zip")
    names = meta["fields"].tolist()
    notes = dict(zip(values[names.index("id")].tolist(), values[names.index("note")].tolist(),
                     strict=True))
    assert notes[visit["id"]] == "井盖 松动" and patrol["id"] in notes
    # datetime filter, as in the OGC API
    r = sup.get("/api/v1/export/inspections.gpkg?datetime=2026-06-01")
    (tmp_path / "b").mkdir()
    meta, _, _, values = _read(tmp_path / "b", r.get_data(), "gpkg")
    assert values[meta["fields"].tolist().index("id")].tolist() == [visit["id"]]
    r = sup.get("/api/v1/export/tracks.gpkg")
    (tmp_path / "c").mkdir()
    meta, _, _, values = _read(tmp_path / "c", r.get_data(), "gpkg")
    assert meta["geometry_type"] == "LineString"
    assert values[meta["fields"].tolist().index("id")].tolist() == [patrol["id"]]
    r = sup.get("/api/v1/export/incidents.shp.zip")
    (tmp_path / "d").mkdir()
    meta, _, _, values = _read(tmp_path / "d", r.get_data(), "shp.zip")
    assert values[meta["fields"].tolist().index("id")].tolist() == [inc["id"]]
    # Someone else's scope: empty files, not an error.
    other = signed_in(role="supervisor", areas=["320105001"])
    r = other.get("/api/v1/export/incidents.gpkg")
    (tmp_path / "e").mkdir()
    meta, _, _, values = _read(tmp_path / "e", r.get_data(), "gpkg")
    assert inc["id"] not in values[meta["fields"].tolist().index("id")].tolist()
    n = db.execute("SELECT count(*) FROM audit_log WHERE action = 'gis.export'").fetchone()[0]
    assert n >= 5


@pytest.mark.parametrize("url, status", [
    ("/api/v1/export/households.gpkg", 404),
    ("/api/v1/export/grids.kml", 404),
    ("/api/v1/export/grids.gpkg?encoding=gbk", 400),
    ("/api/v1/export/grids.shp.zip?encoding=latin9", 400),
    ("/api/v1/export/grids.gpkg?bbox=1,2", 400),
    ("/api/v1/export/inspections.gpkg?datetime=soon", 400),
])
def test_export_errors(signed_in, client, url, status):
    assert client.get(url).status_code == 401
    r = signed_in(role="admin").get(url)
    assert r.status_code == status and r.json["error"]["code"] in ("not_found", "bad_request")
