"""A street's staff roster (.xlsx or .csv) read into rows of users, with every problem a
row has named by its column. Pure: no Flask, no database; what needs the database
(unknown grids, the caller's area, existing users) is checked by
:mod:`server.services.roster_import`.

What a roster looks like (docs/protocol.md, "Administration API"): one header row
recognised by Chinese or English names, then one person a row. Grid centres keep these
in Excel by hand, so the reader expects merged cells (filled down, as a person reads
them), blank rows (skipped), extra columns (ignored), formulas (refused: the value a
person saw is not what the file holds), GBK CSV without a BOM, and a title row or two
above the header.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from geo.encoding import detect_encoding

# logical column -> header names it is recognised by (compared without spaces, lowercase)
HEADERS: dict[str, tuple[str, ...]] = {
    "display_name": ("姓名", "名字", "name", "display_name", "displayname"),
    "username": ("账号", "帐号", "用户名", "登录名", "username", "user", "account"),
    "phone": ("手机", "手机号", "手机号码", "联系电话", "电话", "phone", "mobile"),
    "role": ("角色", "身份", "role"),
    "grids": ("网格", "网格编码", "网格编号", "所属网格", "grids", "grid"),
    "areas": ("区域", "管辖区域", "areas", "area"),
    "dept": ("部门", "单位", "dept", "department"),
}
ROLE_NAMES: dict[str, str] = {
    "网格长": "grid_leader", "专职网格员": "patroller", "兼职网格员": "patroller",
    "网格员": "patroller", "网格信息员": "patroller", "信息员": "patroller",
    "志愿者": "patroller", "主管": "supervisor", "部门": "department", "管理员": "admin",
    **{r: r for r in ("patroller", "grid_leader", "supervisor", "department", "admin")},
}
CODE_SPLIT = re.compile(r"[、,，;；\s]+")
# A mainland mobile number, or a landline with its area code.
PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
USERNAME = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{1,64}$")
MAX_ROWS = 20_000
# An .xlsx is a zip: refuse one that inflates past this before any parser sees it.
MAX_UNZIPPED = 200 * 1024 * 1024
HEADER_SEARCH_ROWS = 10


class RosterError(ValueError):
    """The file as a whole cannot be read; ``details`` say what to fix."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


@dataclass
class RosterRow:
    """One data row: its sheet row number, its values and what is wrong with it."""

    row: int
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def refuse(self, column: str, message: str) -> None:
        self.errors.setdefault(column, []).append(message)


@dataclass
class Roster:
    rows: list[RosterRow]
    columns: dict[str, str]  # logical column -> the header as written
    ignored: list[str]  # headers of columns nobody reads


def read_roster(data: bytes, filename: str = "") -> Roster:
    """Rows of users from an .xlsx or .csv file's bytes.

    Examples
    --------
    >>> csv_bytes = "姓名,账号,手机,角色,网格\\n张三,zhangsan,13812345678,网格长,320105001001001\\n".encode("gbk")
    >>> roster = read_roster(csv_bytes, "名单.csv")
    >>> roster.rows[0].row, roster.rows[0].values["role"], roster.rows[0].values["grids"]
    (2, 'grid_leader', ['320105001001001'])
    """
    table = _read_xlsx(data) if data[:4] == b"PK\x03\x04" else _read_csv(data)
    header_at, columns, ignored = find_header(table)
    rows = []
    for number, cells in table[header_at + 1:]:
        if all(_blank(c) for c in cells):
            continue
        rows.append(_row(number, cells, columns))
    if len(rows) > MAX_ROWS:
        raise RosterError(f"the roster has {len(rows)} rows; at most {MAX_ROWS} at a time",
                          {"file": [f"at most {MAX_ROWS} rows"]})
    _refuse_duplicates(rows)
    header = table[header_at][1]
    return Roster(rows, {k: str(header[i]).strip() for k, i in columns.items()}, ignored)


def find_header(table: list[tuple[int, list[Any]]]) -> tuple[int, dict[str, int], list[str]]:
    """The header row (among the first few), the column of each logical field, and the
    headers of columns that are not read.

    >>> find_header([(1, ["2026 年网格员名单"]), (2, ["序号", "账号", "角色", "备注"])])
    (1, {'username': 1, 'role': 2}, ['序号', '备注'])
    """
    names = {_norm(alias): logical for logical, aliases in HEADERS.items() for alias in aliases}
    for at, (_, cells) in enumerate(table[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        ignored = []
        for i, cell in enumerate(cells):
            logical = names.get(_norm(cell)) if isinstance(cell, str) else None
            if logical and logical not in columns:
                columns[logical] = i
            elif not _blank(cell):
                ignored.append(str(cell).strip())
        if "username" in columns and len(columns) >= 2:
            return at, columns, ignored
    expected = "、".join(aliases[0] for aliases in HEADERS.values())
    raise RosterError(f"no header row found in the first {HEADER_SEARCH_ROWS} rows: the "
                      f"roster needs a row of column names such as {expected} "
                      "(download the template)", {"file": ["no header row"]})


def _row(number: int, cells: list[Any], columns: dict[str, int]) -> RosterRow:
    row = RosterRow(number)
    raw = {k: cells[i] if i < len(cells) else None for k, i in columns.items()}
    for column, value in raw.items():
        if isinstance(value, Formula):
            row.refuse(column, f"是公式（{value.text}），请直接填写内容")
            raw[column] = None
    text = {k: _text(v) for k, v in raw.items()}
    for column, value in text.items():
        if "\x00" in value:
            row.refuse(column, "含有空字符（NUL）")
            text[column] = ""
    username = text.get("username", "")
    if not username:
        row.refuse("username", "必填")
    elif not USERNAME.match(username):
        row.refuse("username", "只能用 1–64 个字母、数字、汉字或 . _ @ -")
    role_name = text.get("role", "")
    role = ROLE_NAMES.get(role_name.replace(" ", "")) or ROLE_NAMES.get(role_name.lower())
    if not role_name:
        row.refuse("role", "必填")
    elif role is None:
        row.refuse("role", f"无法识别“{role_name}”，可填："
                           f"{'、'.join(k for k in ROLE_NAMES if not k.isascii())}")
    phone = re.sub(r"[\s\-()（）]", "", text.get("phone", "")).removeprefix("+86")
    if phone and not PHONE.match(phone):
        row.refuse("phone", f"“{text['phone']}”不是手机号或带区号的座机号")
    grids = [c for c in CODE_SPLIT.split(text.get("grids", "")) if c]
    areas = [c for c in CODE_SPLIT.split(text.get("areas", "")) if c]
    if role in ("patroller", "grid_leader") and not grids:
        row.refuse("grids", "网格员至少要有一个网格")
    if role == "supervisor" and not areas:
        row.refuse("areas", "主管至少要有一个区域")
    if role == "department" and not text.get("dept"):
        row.refuse("dept", "部门账号须填写部门")
    row.values = {"username": username, "display_name": text.get("display_name") or None,
                  "phone": phone or None, "role": role, "grids": list(dict.fromkeys(grids)),
                  "areas": list(dict.fromkeys(areas)), "dept": text.get("dept") or None}
    return row


def _refuse_duplicates(rows: list[RosterRow]) -> None:
    first: dict[str, int] = {}
    for row in rows:
        name = (row.values.get("username") or "").lower()
        if not name:
            continue
        if name in first:
            row.refuse("username", f"与第 {first[name]} 行重复")
        else:
            first[name] = row.row


@dataclass(frozen=True)
class Formula:
    """A cell that holds a formula, not a value."""

    text: str


def _read_xlsx(data: bytes) -> list[tuple[int, list[Any]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            inflated = sum(i.file_size for i in infos)
            merged = inflated <= MAX_UNZIPPED and any(
                b"<mergeCell " in zf.read(i) for i in infos
                if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml"))
    except zipfile.BadZipFile as exc:
        raise RosterError(f"the file looks like .xlsx but is not a readable workbook: {exc}",
                          {"file": ["not a readable .xlsx"]}) from None
    if inflated > MAX_UNZIPPED:
        raise RosterError(f"the workbook inflates to {inflated} bytes; at most "
                          f"{MAX_UNZIPPED} (is it a zip bomb?)", {"file": ["too large"]})
    import openpyxl  # a few hundred ms to import: only when a workbook comes

    try:
        # Read-only streaming is several times faster on a 10,000-row export, but knows
        # nothing of merged cells: a hand-made sheet with merges takes the full reader.
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=False, read_only=not merged)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise RosterError(f"the workbook cannot be read: {exc}",
                          {"file": ["not a readable .xlsx"]}) from None
    sheet = book.worksheets[0]
    fill: dict[tuple[int, int], Any] = {}
    for span in (sheet.merged_cells.ranges if merged else ()):
        top = sheet.cell(span.min_row, span.min_col).value
        for r in range(span.min_row, span.max_row + 1):
            for c in range(span.min_col, span.max_col + 1):
                fill[(r, c)] = top
    table = []
    for r, cells in enumerate(sheet.iter_rows(), start=1):
        values = []
        for c, cell in enumerate(cells, start=1):
            value = fill.get((r, c), getattr(cell, "value", None))
            if isinstance(value, str) and value.startswith("=") and cell.data_type == "f":
                value = Formula(value)
            values.append(value)
        table.append((r, values))
    book.close()
    return table


def _read_csv(data: bytes) -> list[tuple[int, list[Any]]]:
    if data.startswith(b"\xef\xbb\xbf"):
        encoding: str | None = "utf-8-sig"
    else:
        encoding = detect_encoding(data)
    if encoding is None or re.search(rb"[\x00-\x08\x0e-\x1f]", data[:65536]):
        raise RosterError("the file is neither an .xlsx workbook nor CSV text in UTF-8 or "
                          "GBK; save the roster from Excel as .xlsx or CSV",
                          {"file": ["not a spreadsheet"]})
    text = data.decode(encoding)
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise RosterError(f"the CSV cannot be read: {exc}", {"file": ["bad CSV"]}) from None
    return [(n, cells) for n, cells in enumerate(lines, start=1)]


def _norm(value: Any) -> str:
    return re.sub(r"[\s*（）()]", "", str(value)).lower() if value is not None else ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    """A cell as text: Excel stores 13812345678 and 320105001001001 as numbers."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
