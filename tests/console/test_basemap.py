"""Basemaps by configuration, and the demo basemap cut from the database."""

from __future__ import annotations

import gzip
import json
import sqlite3

import pytest

from tests.console.helpers import tile_of
from tests.console.mvt import decode

INSIDE = (118.72, 32.02)  # in Jianye district


def url(z: int, x: int | None = None, y: int | None = None) -> str:
    if x is None:
        z, x, y = tile_of(*INSIDE, z)
    return f"/api/v1/basemap/tiles/{z}/{x}/{y}"


def _app(database_url, **cfg):
    from server import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                       "SECRET_KEY": "test", "BASEMAP": None, "BASEMAP_STYLE": None, **cfg})


@pytest.fixture(scope="module")
def demo_pmtiles(app, tmp_path_factory):
    out = tmp_path_factory.mktemp("basemap") / "demo.pmtiles"
    result = app.test_cli_runner().invoke(args=["basemap", "build", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["tiles"] > 100 and out.is_file()
    again = app.test_cli_runner().invoke(args=["basemap", "build", str(out), "--if-missing"])
    assert again.exit_code == 0 and "exists" in again.output
    return out


def test_meta_keeps_v1_fields_and_names_the_basemap(database_url):
    c = _app(database_url).test_client()
    m = c.get("/api/v1/meta").json
    assert m["basemap"] == {"kind": "none", "datum": "wgs84"}
    assert m["basemap_style"] is None and m["basemap_datum"] == "wgs84"
    c = _app(database_url, BASEMAP_STYLE="https://tiles.example.cn/style.json",
             BASEMAP_DATUM="gcj02").test_client()
    m = c.get("/api/v1/meta").json
    assert m["basemap"] == {"kind": "style", "style": "https://tiles.example.cn/style.json",
                            "datum": "gcj02"}
    assert m["basemap_style"] == "https://tiles.example.cn/style.json"
    assert m["basemap_datum"] == "gcj02"
    with pytest.raises(ValueError, match="BASEMAP"):
        _app(database_url, BASEMAP="googlemaps")


def test_tianditu_and_amap_styles_and_csp(database_url):
    c = _app(database_url, BASEMAP="tianditu", TIANDITU_KEY="k123").test_client()
    m = c.get("/api/v1/meta").json["basemap"]
    assert m["kind"] == "tianditu" and m["datum"] == "cgcs2000"
    assert m["style"].endswith("/api/v1/basemap/style.json")
    style = c.get("/api/v1/basemap/style.json").json
    tiles = [t for s in style["sources"].values() for t in s["tiles"]]
    assert any("LAYER=vec" in t for t in tiles) and any("LAYER=cva" in t for t in tiles)
    assert all(t.startswith("https://t") and "tianditu.gov.cn" in t and "tk=k123" in t
               for t in tiles)
    csp = c.get("/console/").headers.get("Content-Security-Policy", "")
    assert "https://t0.tianditu.gov.cn" in csp and "https://t7.tianditu.gov.cn" in csp
    c = _app(database_url, BASEMAP="amap").test_client()
    assert c.get("/api/v1/meta").json["basemap"]["datum"] == "gcj02"
    tiles = c.get("/api/v1/basemap/style.json").json["sources"]["amap"]["tiles"]
    assert tiles[0].startswith("https://webrd01.is.autonavi.com/appmaptile")
    # Without a key, no basemap rather than a broken one.
    c = _app(database_url, BASEMAP="tianditu").test_client()
    assert c.get("/api/v1/meta").json["basemap"]["kind"] == "none"


def test_file_basemap_tiles_style_and_bounds(database_url, demo_pmtiles):
    c = _app(database_url, BASEMAP=f"file:{demo_pmtiles}").test_client()
    m = c.get("/api/v1/meta").json["basemap"]
    assert m["kind"] == "file" and m["url"].endswith("/api/v1/basemap/tiles/{z}/{x}/{y}")
    style = c.get("/api/v1/basemap/style.json")
    assert style.headers["Cache-Control"].startswith("public")
    body = style.json
    assert body["sources"]["basemap"]["type"] == "vector" and body["glyphs"]
    assert {"district-outline", "streets-outline", "label-street"} <= {
        layer["id"] for layer in body["layers"]}
    for z in (10, 13, 16):
        r = c.get(url(z))
        assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
        assert r.headers["Cache-Control"].startswith("public")
        layers = decode(gzip.decompress(r.get_data()))
        assert {"district", "streets", "labels"} <= set(layers)
    z16 = decode(gzip.decompress(c.get(url(16)).get_data()))
    assert "grids" in z16 and "communities" in z16
    names = {f["properties"]["name"] for f in decode(gzip.decompress(c.get(url(12)).get_data()))["labels"]["features"]}
    assert "建邺区" in names and any(n.endswith("街道") for n in names)
    # Outside the file's bounds or zooms: 204, no body.
    assert c.get("/api/v1/basemap/tiles/12/0/0").status_code == 204
    assert c.get(url(18)).status_code == 204
    assert c.get(url(9)).status_code == 204
    assert c.get("/api/v1/basemap/tiles/12/x/1").status_code == 400
    assert c.get("/api/v1/basemap/tiles/3/9/0").status_code == 400


def test_missing_or_corrupt_file_keeps_the_app_drawing(database_url, tmp_path):
    bad = tmp_path / "corrupt.pmtiles"
    bad.write_bytes(b"this is not a pmtiles file" * 10)
    for path in (tmp_path / "missing.pmtiles", bad, tmp_path / "bad.mbtiles"):
        if path.suffix == ".mbtiles":
            path.write_bytes(b"garbage")
        c = _app(database_url, BASEMAP=f"file:{path}").test_client()
        assert c.get("/api/v1/meta").status_code == 200
        style = c.get("/api/v1/basemap/style.json").json
        assert style["sources"] == {} and [la["id"] for la in style["layers"]] == ["background"]
        r = c.get("/api/v1/basemap/tiles/12/3398/1663")
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_mbtiles_raster_rows_are_tms(database_url, tmp_path):
    path = tmp_path / "city.mbtiles"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE metadata (name text, value text);
        CREATE TABLE tiles (zoom_level int, tile_column int, tile_row int, tile_data blob);
        INSERT INTO metadata VALUES ('format', 'png'), ('bounds', '118.6,31.9,118.8,32.1'),
                                    ('minzoom', '12'), ('maxzoom', '12');
    """)
    z, x, y = tile_of(*INSIDE, 12)
    png = b"\x89PNG\r\n\x1a\nfake"
    conn.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2 ** z - 1 - y, png))
    conn.commit()
    conn.close()
    c = _app(database_url, BASEMAP=f"file:{path}").test_client()
    r = c.get(f"/api/v1/basemap/tiles/{z}/{x}/{y}.png")
    assert r.status_code == 200 and r.mimetype == "image/png" and r.get_data() == png
    assert c.get(f"/api/v1/basemap/tiles/{z}/{x + 1}/{y}").status_code == 204  # a gap
    assert c.get("/api/v1/basemap/style.json").json["sources"]["basemap"]["type"] == "raster"
