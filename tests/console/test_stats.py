"""Statistics on a small known dataset, exports, scope and bad parameters."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from tests.console.helpers import inspection

G1, G2 = "320105006003010", "320105006003011"
COMMUNITY = "320105006003"


def _today():
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture(scope="module")
def dataset(app, inside_points):
    """G1: 2 patrols, 1 visit, 1 handle (self-handled incident, made overdue), 1 report
    whose incident is handled, reworked, handled again and verified. G2: nothing."""
    from tests.conftest import ApiClient, unique

    client = app.test_client()

    def user(role, **kw):
        name = unique(role)
        args = ["users", "create", name, "--role", role]
        for g in kw.get("grids", ()):
            args += ["--grid", g]
        for a in kw.get("areas", ()):
            args += ["--area", a]
        result = app.test_cli_runner().invoke(args=args, input="pw-123456-test\n")
        assert result.exit_code == 0, result.output
        return ApiClient(client, name)

    p = inside_points[G1]
    dev = user("patroller", grids=[G1])
    results = dev.push(*[dev.op("inspection", "create", inspection(k, p))
                         for k in ("patrol", "patrol", "visit", "handle", "report")])
    assert [r["status"] for r in results] == ["applied"] * 5
    self_handled, reported = results[3]["incident_id"], results[4]["incident_id"]
    sup = user("supervisor", areas=[G1, G2])
    version = 1
    for to, extra in (("accepted", {}), ("filed", {}), ("dispatched", {"department": "市政"}),
                      ("handled", {}), ("dispatched", {}), ("handled", {}), ("verified", {})):
        r = sup.post(f"/api/v1/desk/incidents/{reported}/transition",
                     json={"to": to, "base_version": version, **extra})
        assert r.status_code == 200, r.json
        version = r.json["result"]["version"]
    import psycopg

    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE record SET due_at = now() - interval '1 minute' WHERE id = %s",
                     (self_handled,))
    return {"sup": sup, "dev": dev}


def _row(body, unit):
    return next(r for r in body["rows"] if r["unit"] == unit)


def test_grid_level_numbers(dataset):
    today = _today().isoformat()
    r = dataset["sup"].get(f"/api/v1/stats?from={today}&to={today}&level=grid")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["days"] == 1 and body["level"] == "grid"
    assert [row["unit"] for row in body["rows"]] == [G1, G2]
    g1, g2 = _row(body, G1), _row(body, G2)
    assert (g1["patrols"], g1["visits"], g1["handles"], g1["reports"], g1["records"]) == (
        2, 1, 1, 1, 0)
    assert g1["patrol_grid_days"] == 1 and g1["coverage"] == 1.0
    assert (g1["incidents"], g1["incidents_overdue"], g1["incidents_on_time"]) == (2, 1, 1)
    assert (g1["verifications"], g1["reworks"], g1["rework_rate"]) == (2, 1, 0.5)
    assert g1["silent_grids"] == 0 and g1["last_activity"]
    assert g2["coverage"] == 0.0 and g2["patrols"] == 0 and g2["silent_grids"] == 1
    assert g2["rework_rate"] is None and g2["last_activity"] is None
    totals = body["totals"]
    assert totals["grids"] == 2 and totals["coverage"] == 0.5 and totals["silent_grids"] == 1


def test_community_and_street_levels_and_ranges(dataset):
    today = _today()
    start = (today - timedelta(days=1)).isoformat()
    body = dataset["sup"].get(f"/api/v1/stats?from={start}&to={today}&level=community").json
    assert body["days"] == 2 and [r["unit"] for r in body["rows"]] == [COMMUNITY]
    row = body["rows"][0]
    assert row["grids"] == 2 and row["patrol_grid_days"] == 1 and row["coverage"] == 0.25
    assert row["street_code"] == "320105006"
    body = dataset["sup"].get("/api/v1/stats?level=street").json  # default: last 7 days
    assert body["days"] == 7 and body["rows"][0]["unit"] == "320105006"
    assert body["rows"][0]["patrols"] == 2
    old = (today - timedelta(days=30)).isoformat()
    body = dataset["sup"].get(f"/api/v1/stats?from={old}&to={old}").json
    assert all(r["patrols"] == 0 and r["incidents"] == 0 for r in body["rows"])


def test_scope(dataset, signed_in):
    other = signed_in(role="supervisor", areas=["320105001"])
    units = {r["unit"] for r in other.get("/api/v1/stats?level=grid").json["rows"]}
    assert G1 not in units and G2 not in units and all(u.startswith("320105001") for u in units)
    assert dataset["dev"].get("/api/v1/stats").json["rows"][0]["unit"] == G1
    assert len(dataset["dev"].get("/api/v1/stats").json["rows"]) == 1
    dept = signed_in(role="department", dept="城管")
    assert dept.get("/api/v1/stats").status_code == 403


def test_csv_and_xlsx_exports(dataset):
    today = _today().isoformat()
    r = dataset["sup"].get(f"/api/v1/stats.csv?from={today}&to={today}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [x["unit"] for x in rows] == [G1, G2, "total"]
    assert rows[0]["patrols"] == "2" and rows[0]["rework_rate"] == "0.5"
    r = dataset["sup"].get(f"/api/v1/stats.xlsx?from={today}&to={today}&level=community")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(r.get_data())).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0].startswith("网格考核统计（按社区）")
    assert f"统计期间 {today} 至 {today}（1 天）" in rows[1][0]
    header = rows[3]
    assert header[:3] == ["社区编码", "名称", "街道编码"]
    assert "巡查覆盖率" in header and "返工率" in header and "最近活动时间" in header
    assert [r[0] for r in rows[4:]] == [COMMUNITY, "合计"]
    assert sheet.freeze_panes == "C5" and sheet.auto_filter.ref.startswith("A4:")
    coverage = sheet.cell(5, header.index("巡查覆盖率") + 1)
    assert coverage.number_format == "0.0%" and 0 < coverage.value <= 1
    stamp = sheet.cell(5, header.index("最近活动时间") + 1).value
    # Local time, as the grid centre reads a clock: within a minute of now in Shanghai.
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert abs(now - stamp) < timedelta(hours=1)
    assert sheet.column_dimensions["B"].width >= 20


def test_xlsx_strings_are_never_formulas(dataset, db):
    today = _today().isoformat()
    (old,) = db.execute("SELECT name FROM grid WHERE code = %s LIMIT 1", (G1,)).fetchone()
    db.execute("UPDATE grid SET name = '=HYPERLINK(\"http://x\")' WHERE code = %s", (G1,))
    try:
        r = dataset["sup"].get(f"/api/v1/stats.xlsx?from={today}&to={today}")
        sheet = openpyxl.load_workbook(io.BytesIO(r.get_data())).active
        names = [row[1].value for row in sheet.iter_rows(min_row=5)]
        assert '=HYPERLINK("http://x")' in names
        assert all(row[1].data_type == "s" for row in sheet.iter_rows(min_row=5)
                   if row[1].value is not None)
    finally:
        db.execute("UPDATE grid SET name = %s WHERE code = %s", (old, G1))


def test_bad_parameters(dataset, client):
    sup = dataset["sup"]
    for query in ("level=city", "from=2026-13-01", "from=2026-11-24&to=2026-11-20",
                  "silent_days=0", "from=2020-01-01&to=2026-11-20"):
        r = sup.get(f"/api/v1/stats?{query}")
        assert r.status_code in (400, 422) and "error" in r.json, query
    assert client.get("/api/v1/stats").status_code == 401
