"""Statistics: the table and charts by grid and street, and CSV/XLSX exports fetched with the token."""
import io
import uuid

from tests.browser.test_console_helpers import console_page
from tests.browser.test_pwa_helpers import Device, geo_point, inside_point

GRID = "320105001004009"
STREET = "320105001"
NOW = "2026-11-23T08:15:00+08:00"


def test_stats_table_charts_and_exports(live_server, new_context, db, make_user):
    tag = uuid.uuid4().hex[:6]
    pat = make_user(f"st_pat_{tag}", "patroller", grids=(GRID,))
    sup = make_user(f"st_sup_{tag}", "supervisor", areas=(STREET,))
    p = inside_point(GRID)
    pt = geo_point(p)
    dev = Device(live_server.url, pat)
    for kind, extra in (("patrol", {"track": {"type": "LineString", "coordinates": [[p["lon"], p["lat"]], [p["lon"] + 0.0003, p["lat"]]]},
                                    "started_at": NOW, "ended_at": NOW}),
                        ("visit", {}), ("report", {"title": f"统计 {tag}", "category": "0303"})):
        _, res = dev.push("inspection", "create", {"kind": kind, "occurred_at": NOW, "location": pt, "note": f"{kind} {tag}", **extra})
        assert res["status"] == "applied", res
    n_grids = db.execute("select count(distinct g.code) from grid g join grid_layer l on l.active_version_id = g.layer_version_id"
                         " where g.street_code = %s", (STREET,)).fetchone()[0]

    _ctx, page = console_page(new_context, sup, view="stats", accept_downloads=True)
    page.wait_for_selector("[data-testid=stats-result][data-state=ready][data-level=grid]")
    assert int(page.get_by_test_id("stats-table").get_attribute("data-rows")) == n_grids
    row = page.locator(f"[data-testid=stats-row][data-unit='{GRID}']")

    def cell(r, col):
        return r.locator(f"td[data-col={col}]").text_content()

    assert int(cell(row, "patrols")) >= 1 and int(cell(row, "visits")) >= 1 and int(cell(row, "reports")) >= 1
    assert int(cell(row, "incidents")) >= 1 and cell(row, "coverage").endswith("%")
    assert int(page.get_by_test_id("stats-total").locator("td[data-col=grids]").text_content()) == n_grids
    assert int(page.get_by_test_id("stats-chart-coverage").get_attribute("data-bars")) >= 1
    assert page.locator(f"[data-testid=stats-chart-incidents] [data-testid=chart-bar][data-unit='{GRID}']").count() == 1

    # By street: one row for the supervisor's street.
    page.get_by_test_id("stats-level").select_option("street")
    page.wait_for_selector("[data-testid=stats-result][data-state=ready][data-level=street]")
    rows = page.get_by_test_id("stats-row").all()
    assert [r.get_attribute("data-unit") for r in rows] == [STREET]
    assert int(cell(rows[0], "grids")) == n_grids

    # Exports carry the token (a plain link would get 401) and hold the same figures.
    with page.expect_download() as info:
        page.get_by_test_id("stats-export-csv").click()
    with open(info.value.path(), "rb") as f:
        csv_bytes = f.read()
    assert info.value.suggested_filename.endswith(".csv")
    text = csv_bytes.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("unit,name,")
    assert any(line.startswith(f"{STREET},") for line in text.splitlines())
    with page.expect_download() as info:
        page.get_by_test_id("stats-export-xlsx").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    import openpyxl

    with open(info.value.path(), "rb") as f:  # the download has no .xlsx suffix
        sheet = openpyxl.load_workbook(io.BytesIO(f.read())).active
    assert STREET in [row[0].value for row in sheet.iter_rows(min_row=5)]
    page.get_by_test_id("stats-download-xlsx").wait_for()
    assert page.errors == []
