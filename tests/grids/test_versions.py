"""Layer versions: re-import, atomic switch, records keep their grid, diff and list."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psycopg

from tests.conftest import ROOT
from tests.grids.helpers import feature, write_geojson


def _report(point, note="井盖缺失"):
    return {"kind": "report", "occurred_at": "2026-11-23T08:15:00+08:00",
            "location": {"type": "Point", "coordinates": list(point)},
            "location_accuracy_m": 5, "note": note}


def _versions(db, layer):
    return db.execute("""
        SELECT v.version, v.id, v.id = l.active_version_id,
               (SELECT count(*) FROM grid g WHERE g.layer_version_id = v.id)
        FROM grid_layer l JOIN grid_layer_version v ON v.layer_id = l.id
        WHERE l.name = %s ORDER BY v.version
    """, (layer,)).fetchall()


def _v1_v2(patch, tmp_path):
    v1 = write_geojson(tmp_path / "v1.geojson", [
        feature(patch.polygon(0, 0), code=patch.code(1), name="一"),
        feature(patch.polygon(1, 0), code=patch.code(2), name="二"),
        feature(patch.polygon(2, 0), code=patch.code(3), name="三")])
    v2 = write_geojson(tmp_path / "v2.geojson", [
        # code 1 grows to take half of where code 2 was; code 2 shrinks; 3 goes; 4 comes
        feature(patch.polygon(0, 0, size=1.5), code=patch.code(1), name="一"),
        feature({"type": "Polygon", "coordinates": [[
            [patch.lon0 + 0.0015, patch.lat0], [patch.lon0 + 0.002, patch.lat0],
            [patch.lon0 + 0.002, patch.lat0 + 0.001], [patch.lon0 + 0.0015, patch.lat0 + 0.001],
            [patch.lon0 + 0.0015, patch.lat0]]]}, code=patch.code(2), name="二"),
        feature(patch.polygon(0, 1.5, size=0.5), code=patch.code(4), name="四")])
    return v1, v2


def test_reimport_creates_version_2_and_switches(grids_cli, patch, layer, db, tmp_path,
                                                 active_version):
    v1, v2 = _v1_v2(patch, tmp_path)
    first = grids_cli("import", v1, "--layer", layer)
    assert first.exit_code == 0 and f"layer {layer!r}: version 1 is now active" in first.stdout
    assert active_version(layer) == 1
    second = grids_cli("import", v2, "--layer", layer)
    assert second.exit_code == 0 and f"layer {layer!r}: version 2 is now active" in second.stdout
    assert active_version(layer) == 2
    rows = _versions(db, layer)
    assert [(v, active, n) for v, _, active, n in rows] == [(1, False, 3), (2, True, 3)]
    # version 1 is kept whole, not rewritten
    codes_v1 = {r[0] for r in db.execute("SELECT code FROM grid WHERE layer_version_id = %s",
                                         (rows[0][1],))}
    assert codes_v1 == {patch.code(1), patch.code(2), patch.code(3)}
    report = db.execute("SELECT report->'summary', datum FROM grid_layer_version WHERE id = %s",
                        (rows[1][1],)).fetchone()
    assert report == ({"imported": 3, "repaired": 0, "refused": 0, "total": 3}, "wgs84")


def test_records_keep_the_grid_version_they_were_matched_to(grids_cli, patch, layer, db,
                                                            tmp_path, signed_in):
    v1, v2 = _v1_v2(patch, tmp_path)
    assert grids_cli("import", v1, "--layer", layer).exit_code == 0
    dev = signed_in(grids=[patch.code(1), patch.code(2)])
    # in code 2 under version 1, in code 1 under version 2
    point = patch.centre(1.25, 0.5, size=0)
    before = dev.op("inspection", "create", _report(point, "旧"))
    [res] = dev.push(before)
    assert (res["status"], res["grid_code"]) == ("applied", patch.code(2))
    old_grid = db.execute("SELECT grid_id FROM record WHERE id = %s",
                          (before["id"],)).fetchone()[0]
    v1_id = _versions(db, layer)[0][1]
    assert db.execute("SELECT layer_version_id FROM grid WHERE id = %s",
                      (old_grid,)).fetchone()[0] == v1_id

    assert grids_cli("import", v2, "--layer", layer).exit_code == 0
    row = db.execute("SELECT r.grid_id, r.grid_code, g.layer_version_id, g.code, "
                     "ST_Contains(g.geom, r.geom) FROM record r JOIN grid g ON g.id = r.grid_id "
                     "WHERE r.id = %s", (before["id"],)).fetchone()
    assert row == (old_grid, patch.code(2), v1_id, patch.code(2), True)

    after = dev.op("inspection", "create", _report(point, "新"))
    [res] = dev.push(after)
    assert res["grid_code"] == patch.code(1)
    v2_id = _versions(db, layer)[1][1]
    new_version = db.execute("SELECT g.layer_version_id FROM record r JOIN grid g "
                             "ON g.id = r.grid_id WHERE r.id = %s", (after["id"],)).fetchone()[0]
    assert new_version == v2_id
    # the grid the old record points at can still be read, with its old shape
    still = db.execute("SELECT ST_Area(geom::geography) FROM grid WHERE id = %s",
                       (old_grid,)).fetchone()[0]
    assert 10_000 < still < 11_500


def test_diff_reports_added_removed_reshaped(grids_cli, patch, layer, tmp_path):
    v1, v2 = _v1_v2(patch, tmp_path)
    assert grids_cli("import", v1, "--layer", layer).exit_code == 0
    assert grids_cli("import", v2, "--layer", layer).exit_code == 0
    out = grids_cli("diff", "--layer", layer)
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == f"layer {layer!r}: version 1 -> 2"
    assert f"added    {patch.code(4)}" in lines
    assert f"removed  {patch.code(3)}" in lines
    reshaped = [ln for ln in lines if ln.startswith("reshaped ")]
    assert [ln.split()[1] for ln in reshaped] == [patch.code(1), patch.code(2)]
    assert all(ln.endswith(" m² changed)") for ln in reshaped)
    area = float(reshaped[0].split("(")[1].split()[0])
    assert 12_500 < area < 14_000  # grew from 1 x 1 to 1.5 x 1.5 cells
    assert lines[-1] == "added=1 removed=1 reshaped=2"
    explicit = grids_cli("diff", "--layer", layer, "--from", "2", "--to", "1")
    assert explicit.stdout.splitlines()[-1] == "added=1 removed=1 reshaped=2"
    assert f"added    {patch.code(3)}" in explicit.stdout


def test_diff_of_identical_reimport_is_empty(grids_cli, patch, layer, tmp_path):
    v1, _ = _v1_v2(patch, tmp_path)
    for _ in range(2):
        assert grids_cli("import", v1, "--layer", layer).exit_code == 0
    out = grids_cli("diff", "--layer", layer)
    assert out.stdout.splitlines()[-1] == "added=0 removed=0 reshaped=0"


def test_diff_errors_are_clear(grids_cli, patch, layer, tmp_path):
    v1, _ = _v1_v2(patch, tmp_path)
    out = grids_cli("diff", "--layer", layer)
    assert out.exit_code != 0 and "has no versions" in out.stderr
    assert grids_cli("import", v1, "--layer", layer).exit_code == 0
    out = grids_cli("diff", "--layer", layer, "--from", "1", "--to", "7")
    assert out.exit_code != 0 and "has versions [1]" in out.stderr
    out = grids_cli("diff", "--layer", layer)  # only one version: nothing to compare with
    assert out.exit_code != 0 and "Traceback" not in out.output


def test_list_shows_versions(grids_cli, patch, layer, tmp_path):
    v1, v2 = _v1_v2(patch, tmp_path)
    assert grids_cli("import", v1, "--layer", layer).exit_code == 0
    assert grids_cli("import", v2, "--layer", layer).exit_code == 0
    out = grids_cli("list")
    assert out.exit_code == 0
    mine = [ln.split("\t") for ln in out.stdout.splitlines() if ln.startswith(layer + "\t")]
    assert [(r[1], r[2], r[3]) for r in mine] == [("v1", "3 grids", ""),
                                                  ("v2", "3 grids", "active")]
    assert any(ln.startswith("jianye\tv1\t310 grids\tactive") for ln in out.stdout.splitlines())


def test_concurrent_imports_get_distinct_versions(database_url, grids_cli, patch, layer, db,
                                                  tmp_path, active_version):
    """Three ``flask grids import`` processes reach the layer at the same moment.

    The test holds the layer's row lock until all three are waiting for it, then lets
    them go together: each must still get its own version number.
    """
    cells = [feature(patch.polygon(c, r), code=patch.code(20 * r + c + 1))
             for r in range(10) for c in range(20)]
    path = write_geojson(tmp_path / "big.geojson", cells)
    assert grids_cli("import", path, "--layer", layer).exit_code == 0
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test"}
    holder = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        holder.execute("SELECT id FROM grid_layer WHERE name = %s FOR UPDATE", (layer,))
        procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "server", "grids",
                                   "import", str(path), "--layer", layer],
                                  env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            waiting = db.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                 "current_database() AND wait_event_type = 'Lock'").fetchone()[0]
            if waiting == 3 or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.1)
        assert waiting == 3, [p.poll() for p in procs]
        holder.commit()
    finally:
        holder.close()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 3, outs
    announced = sorted(int(out.split(": version ")[1].split()[0]) for out, _ in outs)
    assert announced == [2, 3, 4]
    rows = _versions(db, layer)
    assert [(v, n) for v, _, _, n in rows] == [(1, 200), (2, 200), (3, 200), (4, 200)]
    assert active_version(layer) == 4
