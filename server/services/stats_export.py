"""The statistics table as files: CSV for machines, an XLSX workbook for the street office.

The CSV keeps the API's English column names and ISO 8601 times, so scripts can read it
as they read ``GET /stats``. The workbook is written for people in the grid centre:
Chinese headers, coverage and rework rates as percentages, times in the console's time
zone, a title with the area and period, a frozen header and column widths, written with
XlsxWriter (every string as a string, so a note that starts with ``=`` is never a formula).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import xlsxwriter
from sqlalchemy import text

from server.auth import Caller
from server.extensions import db
from server.services.desk import console_tz
from server.services.stats import COLUMNS

# Column → (header, width in characters, cell kind).
XLSX_COLUMNS: dict[str, tuple[str, int, str]] = {
    "unit": ("编码", 18, "text"),
    "name": ("名称", 22, "text"),
    "street_code": ("街道编码", 12, "text"),
    "community_code": ("社区编码", 15, "text"),
    "grids": ("网格数", 8, "int"),
    "patrol_grid_days": ("有巡查的网格日", 10, "int"),
    "coverage": ("巡查覆盖率", 11, "percent"),
    "patrols": ("巡查", 8, "int"),
    "visits": ("走访", 8, "int"),
    "records": ("记录", 8, "int"),
    "reports": ("上报", 8, "int"),
    "handles": ("随手做", 8, "int"),
    "incidents": ("事件", 8, "int"),
    "incidents_on_time": ("按时事件", 9, "int"),
    "incidents_overdue": ("超时事件", 9, "int"),
    "verifications": ("核查", 8, "int"),
    "reworks": ("返工", 8, "int"),
    "rework_rate": ("返工率", 9, "percent"),
    "silent_grids": ("沉默网格", 9, "int"),
    "last_activity": ("最近活动时间", 17, "time"),
}
UNIT_HEADER = {"grid": "网格编码", "community": "社区编码", "street": "街道编码"}
LEVEL_NAME = {"grid": "按网格", "community": "按社区", "street": "按街道"}
TITLE = "网格考核统计"


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def to_csv(result: dict[str, Any]) -> bytes:
    """UTF-8 with a BOM (so Excel reads it), one row per unit and a ``total`` row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in [*result["rows"], result["totals"]]:
        values = [_iso(row.get(c)) for c in COLUMNS]
        # A leading =, +, - or @ would be a formula in a spreadsheet.
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in "=+-@" else v
                         for v in values])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def area_label(caller: Caller, args: dict[str, Any]) -> str:
    """The area a table covers, by name: the street or community asked for, else the
    caller's scope ("全部区域" for an admin)."""
    code = args.get("community") or args.get("street")
    codes = [code] if code else list(caller.areas)
    if not codes:
        return "全部区域" if caller.is_admin else "我的网格"
    # A 9-digit code names a street, 12 a community, anything else a grid.
    names = db.session.execute(text("""
        SELECT c, coalesce(max(CASE length(c) WHEN 9 THEN g.street_name
                                              WHEN 12 THEN g.community_name
                                              ELSE g.name END), c)
        FROM unnest(CAST(:codes AS text[])) AS c
        LEFT JOIN grid g ON CASE length(c) WHEN 9 THEN g.street_code = c
                                           WHEN 12 THEN g.community_code = c
                                           ELSE g.code = c END
        GROUP BY c ORDER BY c
    """), {"codes": codes}).all()
    return "、".join(name for _, name in names)


def to_xlsx(result: dict[str, Any], area: str, generated_at: datetime) -> bytes:
    """The workbook: a title row, a subtitle with the period and generation time, the
    header (frozen, with filters), one row per unit and a bold 合计 row."""
    tz = console_tz()
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("统计")
    fmt = {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "sub": book.add_format({"font_color": "#555555"}),
        "head": book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1,
                                 "text_wrap": True, "valign": "vcenter"}),
        "text": book.add_format({}),
        "int": book.add_format({"num_format": "0"}),
        "percent": book.add_format({"num_format": "0.0%"}),
        "time": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    }
    total = {k: book.add_format({**props, "bold": True, "top": 1}) for k, props in (
        ("text", {}), ("int", {"num_format": "0"}), ("percent", {"num_format": "0.0%"}),
        ("time", {"num_format": "yyyy-mm-dd hh:mm"}))}
    level = result["level"]
    sheet.write_string(0, 0, f"{TITLE}（{LEVEL_NAME[level]}）· {area}", fmt["title"])
    sheet.write_string(1, 0, f"统计期间 {result['from_']} 至 {result['to']}（{result['days']} 天）；"
                             f"沉默网格指 {result['silent_days']} 天内无任何巡查记录；"
                             f"生成于 {generated_at.astimezone(tz):%Y-%m-%d %H:%M}（{tz.key}）",
                       fmt["sub"])
    header_row = 3
    for col, key in enumerate(COLUMNS):
        header, width, _ = XLSX_COLUMNS[key]
        sheet.write_string(header_row, col, UNIT_HEADER[level] if key == "unit" else header,
                           fmt["head"])
        sheet.set_column(col, col, width)
    rows = [*result["rows"], {**result["totals"], "unit": "合计"}]
    for r, row in enumerate(rows, start=header_row + 1):
        formats = total if r == header_row + len(rows) else fmt
        for col, key in enumerate(COLUMNS):
            _write(sheet, r, col, row.get(key), XLSX_COLUMNS[key][2], formats, tz)
    sheet.set_row(header_row, 32)
    sheet.freeze_panes(header_row + 1, 2)
    sheet.autofilter(header_row, 0, header_row + len(rows) - 1, len(COLUMNS) - 1)
    book.close()
    return buf.getvalue()


def _write(sheet: Any, r: int, c: int, value: Any, kind: str, formats: dict, tz: Any) -> None:
    if value is None:
        sheet.write_blank(r, c, None, formats[kind])
    elif kind == "time" and isinstance(value, datetime):
        sheet.write_datetime(r, c, value.astimezone(tz).replace(tzinfo=None), formats[kind])
    elif kind in ("int", "percent") and isinstance(value, int | float):
        sheet.write_number(r, c, value, formats[kind])
    else:
        sheet.write_string(r, c, str(value), formats["text"])
