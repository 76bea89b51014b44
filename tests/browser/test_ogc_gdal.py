"""A real GIS client reads the OGC API: GDAL's OAPIF driver against live gunicorn."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import pytest
import requests

from tests.conftest import PASSWORD

OGRINFO = shutil.which("ogrinfo")
OGR2OGR = shutil.which("ogr2ogr")
pytestmark = pytest.mark.skipif(
    OGRINFO is None, reason="gdal-bin is not installed (apt-get install -y gdal-bin)")

STREET = "320105003"
GRID = "320105003002001"


def _ogrinfo(url: str, token: str | None) -> subprocess.CompletedProcess:
    """``ogrinfo`` lists the service's layers (GDAL 3.6 has no ``-json`` yet)."""
    cmd = [OGRINFO, "-ro", "-q"]
    if token:
        cmd += ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"]
    return subprocess.run([*cmd, f"OAPIF:{url}/api/v1/ogc/"], capture_output=True,
                          text=True, timeout=120, check=False)


def _read_layer(url: str, token: str, layer: str, *args: str) -> list[dict]:
    """Every feature of a layer as GDAL reads it, copied by ``ogr2ogr`` to GeoJSON."""
    cmd = [OGR2OGR, "-f", "GeoJSON", "/vsistdout/",
           "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}",
           # Small pages, so that GDAL must follow our next links.
           "-oo", "PAGE_SIZE=3", *args, f"OAPIF:{url}/api/v1/ogc/", layer]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["features"]


def _token(url: str, make_user, device: str | None = None, **kw) -> str:
    name = make_user(**kw)
    r = requests.post(f"{url}/api/v1/auth/token", timeout=10, json={
        "username": name, "password": PASSWORD, "device_id": device or f"gdal-{uuid.uuid4()}"})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def test_gdal_reads_every_collection_pages_and_filters(live_server, make_user, db,
                                                       inside_points):
    url = live_server.url
    token = _token(url, make_user, role="supervisor", areas=[STREET])
    # Some records to read: a worker pushes a visit, a patrol with a track, an incident.
    device = f"gdal-{uuid.uuid4()}"
    worker = _token(url, make_user, device, grids=[GRID])
    p = inside_points[GRID]
    ops = []
    for i, (entity, data) in enumerate([
        ("inspection", {"kind": "visit", "occurred_at": "2026-11-23T08:15:00+08:00",
                        "location": {"type": "Point", "coordinates": list(p)}}),
        ("inspection", {"kind": "patrol", "occurred_at": "2026-11-23T08:15:00+08:00",
                        "location": {"type": "Point", "coordinates": list(p)},
                        "track": {"type": "LineString", "coordinates": [
                            [p[0] - 0.001, p[1]], list(p), [p[0] + 0.001, p[1] + 0.0005]]}}),
        ("incident", {"category": "市容环境", "title": "井盖缺失",
                      "location": {"type": "Point", "coordinates": list(p)}}),
    ], start=1):
        ops.append({"op_id": str(uuid.uuid4()), "device_seq": i, "entity": entity,
                    "id": str(uuid.uuid4()), "action": "create", "base_version": None,
                    "data": data, "recorded_at": "2026-11-23T08:15:00+08:00"})
    r = requests.post(f"{url}/api/v1/sync/push", timeout=30,
                      headers={"Authorization": f"Bearer {worker}"},
                      json={"device_id": device, "ops": ops})
    assert r.status_code == 200, r.text

    # Without the token GDAL cannot even open the service: the server said 401.
    anon = _ogrinfo(url, None)
    assert anon.returncode != 0 and "401" in (anon.stderr + anon.stdout)

    info = _ogrinfo(url, token)
    assert info.returncode == 0, info.stderr
    names = {line.split(":", 1)[1].split("(")[0].strip()
             for line in info.stdout.splitlines() if ":" in line}
    assert names == {"grids", "inspections", "incidents", "tracks"}

    grids = _read_layer(url, token, "grids")
    expected = {r[0] for r in db.execute(
        "SELECT g.code FROM grid g JOIN grid_layer l ON l.active_version_id = g.layer_version_id "
        "WHERE g.street_code = %s", (STREET,))}
    codes = [f["properties"]["code"] for f in grids]
    assert len(codes) == len(expected) > 3 and set(codes) == expected  # paged by 3
    assert {f["geometry"]["type"] for f in grids} == {"MultiPolygon"}

    ids = {op["id"] for op in ops}
    for layer, want in (("inspections", 2), ("incidents", 1), ("tracks", 1)):
        got = _read_layer(url, token, layer)
        assert len({f["properties"]["id"] for f in got} & ids) == want, layer
    track = next(f for f in _read_layer(url, token, "tracks") if f["properties"]["id"] in ids)
    assert track["geometry"]["type"] == "LineString"

    # -spat: GDAL sends bbox= to the server; only grids near the point come back.
    near = _read_layer(url, token, "grids", "-spat", str(p[0] - 0.0002),
                          str(p[1] - 0.0002), str(p[0] + 0.0002), str(p[1] + 0.0002))
    near_codes = {f["properties"]["code"] for f in near}
    assert GRID in near_codes and len(near_codes) < len(expected)
