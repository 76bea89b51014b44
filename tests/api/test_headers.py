"""Security and caching headers (PROTOCOL v1.1 "Responses and headers")."""

from __future__ import annotations

import pytest

from tests.sync.test_attachments import JPEG, put, sha

GRID = "320105001001004"


@pytest.fixture(scope="module")
def pages_app(database_url, tmp_path_factory):
    """An app serving a stand-in PWA build, so that no test depends on `npm run build`."""
    from server import create_app

    dist = tmp_path_factory.mktemp("dist")
    for name in ("index.html", "console.html"):
        (dist / name).write_text("<!doctype html><title>x</title>", encoding="utf-8")
    (dist / "assets").mkdir()
    (dist / "assets" / "main-abc.js").write_text("console.log(1)", encoding="utf-8")
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                       "PWA_DIST": str(dist), "SECRET_KEY": "test",
                       "BASEMAP_STYLE": "https://map.example.cn/styles/v1/style.json",
                       "BASEMAP_ORIGINS": "https://t0.example.cn"})


def assert_basics(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin")


@pytest.mark.parametrize("path", ["/", "/console/", "/console"])
def test_pages_have_a_strict_csp(pages_app, path):
    r = pages_app.test_client().get(path)
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert_basics(r)
    csp = dict(part.strip().split(" ", 1) for part in
               r.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'"  # no inline script, no eval
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'self'"
    assert "blob:" in csp["worker-src"]  # MapLibre's worker
    for directive in ("connect-src", "img-src"):
        assert "https://map.example.cn" in csp[directive].split()
        assert "https://t0.example.cn" in csp[directive].split()


def test_static_files_and_errors_have_the_basics(pages_app):
    client = pages_app.test_client()
    asset = client.get("/assets/main-abc.js")
    assert_basics(asset)
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for r in (client.get("/nope.txt"), client.get("/api/v1/nope"),
              client.delete("/api/v1/meta"), client.get("/api/v1/openapi.json")):
        assert_basics(r)
        assert r.mimetype == "application/json"
        assert "script-src" not in r.headers.get("Content-Security-Policy", "")


def test_personal_data_is_never_stored(signed_in, inside_points):
    dev = signed_in(grids=[GRID])
    sup = signed_in(role="supervisor", areas=["320105001"])
    res = dev.push(dev.op("inspection", "create", {
        "kind": "handle", "occurred_at": "2026-11-23T08:00:00+08:00",
        "location": {"type": "Point", "coordinates": list(inside_points[GRID])}}))[0]
    urls = [(dev, "/api/v1/sync/pull"), (dev, "/api/v1/me"), (dev, "/api/v1/conflicts"),
            (sup, "/api/v1/desk/incidents"), (sup, f"/api/v1/desk/incidents/{res['incident_id']}"),
            (sup, "/api/v1/map/inspections"), (sup, "/api/v1/stats"),
            (sup, "/api/v1/stats.csv"), (dev, "/api/v1/grids")]
    for who, url in urls:
        r = who.get(url)
        assert r.status_code == 200, (url, r.json)
        assert r.headers["Cache-Control"] == "no-store", url
        assert_basics(r)
    # Errors and writes too: nothing under /api/ is stored unless it says otherwise.
    assert dev.client.get("/api/v1/sync/pull").headers["Cache-Control"] == "no-store"
    push = dev.post("/api/v1/sync/push", json={"device_id": dev.device_id, "ops": []})
    assert push.headers["Cache-Control"] == "no-store"


def test_photos_are_no_store_and_tiles_keep_their_private_caching(signed_in):
    dev = signed_in(grids=[GRID])
    data = JPEG + b"headers"
    put(dev, sha(data), data)
    photo = dev.get(f"/api/v1/attachments/{sha(data)}")
    assert photo.headers["Cache-Control"] == "no-store" and photo.headers["ETag"]
    assert_basics(photo)
    tile = dev.get("/api/v1/tiles/grids/14/13703/6659.mvt")
    assert tile.status_code == 200
    assert tile.headers["Cache-Control"].startswith("private, max-age=")
    assert "Authorization" in tile.headers["Vary"]
