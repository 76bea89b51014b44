"""Import a street's roster: every row's outcome first (a dry run writes nothing), then
apply, all or nothing, in a few set-based statements.

Outcomes per data row: ``created`` (a new user, with a one-time password), ``updated``
(an existing user whose name, phone, role, scope or department differ), ``unchanged``
(the same file imported again changes nothing), ``refused`` (with the reason by
column). Passwords of existing users are never touched. What each row may do is the
caller's :class:`~server.services.admin_users.Steward`: a supervisor imports grid
workers of their own area only.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import text

from server.auth import Caller
from server.extensions import db
from server.roster import Roster, RosterRow, read_roster
from server.scope import grid_places
from server.services import audit
from server.services.admin_users import Steward, hash_one_time, one_time_password

COMPARED = ("display_name", "phone", "role", "grids", "areas", "dept")


def import_roster(caller: Caller, data: bytes, filename: str, *, dry_run: bool,
                  departments: list[str]) -> dict[str, Any]:
    """The outcome of every row; with ``dry_run`` false, the users written too."""
    steward = Steward(caller)
    steward.check()
    roster = read_roster(data, filename)
    _check_against_database(steward, roster, departments)
    existing = _existing([r.values["username"] for r in roster.rows if not r.errors])
    plan: list[tuple[RosterRow, str]] = []
    for row in roster.rows:
        plan.append((row, _outcome(steward, row, existing)))
    passwords: dict[str, str] = {}
    if not dry_run:
        passwords = _apply(plan)
        audit.record("admin.roster_import", user_id=caller.user_id, username=caller.username,
                     device_id=caller.device_id, object=filename or "roster",
                     detail={k: sum(1 for _, o in plan if o == k)
                             for k in ("created", "updated", "unchanged", "refused")})
    rows = []
    for row, outcome in plan:
        item: dict[str, Any] = {"row": row.row, "username": row.values.get("username") or None,
                                "outcome": outcome, "errors": row.errors}
        if row.notes:
            item["notes"] = row.notes
        if outcome == "created" and row.values["username"] in passwords:
            item["one_time_password"] = passwords[row.values["username"]]
        rows.append(item)
    counts = {k: sum(1 for _, o in plan if o == k)
              for k in ("created", "updated", "unchanged", "refused")}
    return {**counts, "dry_run": dry_run, "columns": roster.columns,
            "ignored_columns": roster.ignored, "rows": rows}


def _check_against_database(steward: Steward, roster: Roster, departments: list[str]) -> None:
    """Unknown grids and areas, departments not configured, grids outside the caller's
    area: set-based, one query for all rows."""
    codes = {c for r in roster.rows for c in r.values.get("grids", [])}
    areas = {c for r in roster.rows for c in r.values.get("areas", [])}
    places = grid_places(codes)
    known_areas = set(db.session.scalars(text("""
        SELECT c FROM unnest(CAST(:a AS text[])) c WHERE EXISTS (
            SELECT 1 FROM grid g WHERE g.code = c OR g.community_code = c
                OR g.street_code = c OR g.district_code = c)
    """), {"a": sorted(areas)}))
    caller = steward.caller
    for row in roster.rows:
        v = row.values
        unknown = [c for c in v.get("grids", []) if c not in places]
        if unknown:
            row.refuse("grids", f"没有这些网格：{'、'.join(unknown)}")
        elif not caller.is_admin and v.get("grids"):
            outside = [c for c in v["grids"] if not places[c].within(caller.areas)]
            if outside:
                row.refuse("grids", f"不在您管辖的区域内：{'、'.join(outside)}")
        bad_areas = [c for c in v.get("areas", []) if c not in known_areas]
        if bad_areas:
            row.refuse("areas", f"没有这些区域：{'、'.join(bad_areas)}")
        if v.get("dept") and v["dept"] not in departments:
            row.refuse("dept", f"没有“{v['dept']}”这个部门")
        if not caller.is_admin and v.get("role") and v["role"] not in ("patroller",
                                                                       "grid_leader"):
            row.refuse("role", "主管只能导入网格员和网格长")


def _existing(usernames: list[str]) -> dict[str, dict[str, Any]]:
    rows = db.session.execute(text("""
        SELECT u.id, u.username, u.display_name, u.phone, u.role, u.dept,
               coalesce((SELECT array_agg(grid_code ORDER BY grid_code) FROM user_grid
                         WHERE user_id = u.id), '{}') AS grids,
               coalesce((SELECT array_agg(area_code ORDER BY area_code) FROM user_area
                         WHERE user_id = u.id), '{}') AS areas
        FROM app_user u WHERE u.username = ANY(:names)
    """), {"names": usernames}).all()
    return {r.username: dict(r._mapping) for r in rows}


def _outcome(steward: Steward, row: RosterRow, existing: dict[str, dict[str, Any]]) -> str:
    if row.errors:
        return "refused"
    v = row.values
    old = existing.get(v["username"])
    if old is None:
        return "created"
    if not steward.caller.is_admin:
        refusal = steward.refusal(old["role"], list(old["grids"]))
        if refusal:
            row.refuse("username", f"已有此账号，但不归您管理（{refusal}）")
            return "refused"
    same = all(_same(old[k], v[k]) for k in COMPARED)
    return "unchanged" if same else "updated"


def _same(old: Any, new: Any) -> bool:
    if isinstance(new, list):
        return sorted(old or []) == sorted(new)
    return (old or None) == (new or None)


def _apply(plan: list[tuple[RosterRow, str]]) -> dict[str, str]:
    """Write every created and updated row; return the new users' one-time passwords."""
    new = [row.values for row, outcome in plan if outcome == "created"]
    changed = [row.values for row, outcome in plan if outcome == "updated"]
    passwords = {v["username"]: one_time_password() for v in new}
    # argon2 releases the GIL: hash on every core.
    with ThreadPoolExecutor() as pool:
        digests = dict(zip(passwords, pool.map(hash_one_time, passwords.values()),
                           strict=True))
    if new:
        db.session.execute(text("""
            INSERT INTO app_user (username, password_hash, role, dept, display_name, phone,
                                  must_change_password)
            SELECT * , true FROM unnest(CAST(:u AS text[]), CAST(:h AS text[]),
                                        CAST(:r AS text[]), CAST(:d AS text[]),
                                        CAST(:n AS text[]), CAST(:p AS text[]))
        """), {"u": [v["username"] for v in new], "h": [digests[v["username"]] for v in new],
               "r": [v["role"] for v in new], "d": [v["dept"] for v in new],
               "n": [v["display_name"] for v in new], "p": [v["phone"] for v in new]})
    if changed:
        db.session.execute(text("""
            UPDATE app_user u SET role = x.r, dept = x.d, display_name = x.n, phone = x.p,
                   scope_epoch = u.scope_epoch + 1
            FROM unnest(CAST(:u AS text[]), CAST(:r AS text[]), CAST(:d AS text[]),
                        CAST(:n AS text[]), CAST(:p AS text[])) AS x(u, r, d, n, p)
            WHERE u.username = x.u
        """), {"u": [v["username"] for v in changed], "r": [v["role"] for v in changed],
               "d": [v["dept"] for v in changed], "n": [v["display_name"] for v in changed],
               "p": [v["phone"] for v in changed]})
    written = new + changed
    if written:
        names = [v["username"] for v in written]
        params = {"names": names}
        db.session.execute(text("""
            DELETE FROM user_grid WHERE user_id IN (SELECT id FROM app_user
                                                    WHERE username = ANY(:names))
        """), params)
        db.session.execute(text("""
            DELETE FROM user_area WHERE user_id IN (SELECT id FROM app_user
                                                    WHERE username = ANY(:names))
        """), params)
        pairs = [(v["username"], c) for v in written for c in v["grids"]]
        db.session.execute(text("""
            INSERT INTO user_grid (user_id, grid_code)
            SELECT u.id, x.c FROM unnest(CAST(:n AS text[]), CAST(:c AS text[])) AS x(n, c)
            JOIN app_user u ON u.username = x.n ON CONFLICT DO NOTHING
        """), {"n": [p[0] for p in pairs], "c": [p[1] for p in pairs]})
        pairs = [(v["username"], c) for v in written for c in v["areas"]]
        db.session.execute(text("""
            INSERT INTO user_area (user_id, area_code)
            SELECT u.id, x.c FROM unnest(CAST(:n AS text[]), CAST(:c AS text[])) AS x(n, c)
            JOIN app_user u ON u.username = x.n ON CONFLICT DO NOTHING
        """), {"n": [p[0] for p in pairs], "c": [p[1] for p in pairs]})
    return passwords


TEMPLATE_HEADERS = ("姓名", "账号", "手机", "角色", "网格", "区域", "部门")
TEMPLATE_EXAMPLE = ("张三", "zhangsan", "13812345678", "网格长", "320105001001001", "", "")


def template_xlsx() -> bytes:
    """The roster template: the columns a roster needs, one example row, and the roles."""
    import io

    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("名单")
    head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    text_fmt = book.add_format({"num_format": "@"})
    for col, name in enumerate(TEMPLATE_HEADERS):
        sheet.write_string(0, col, name, head)
        sheet.write_string(1, col, TEMPLATE_EXAMPLE[col], text_fmt)
        sheet.set_column(col, col, 18, text_fmt)
    sheet.freeze_panes(1, 0)
    notes = book.add_worksheet("说明")
    for r, line in enumerate((
            "每行一人；第一行为列名，可用中文或英文列名。",
            "角色：网格长；专职网格员、兼职网格员、网格信息员、志愿者（均为网格员）；主管；部门；管理员。",
            "网格：网格编码，多个用顿号、逗号或空格分隔。主管填“区域”（街道或社区编码）。",
            "手机：11 位手机号或带区号的座机。账号：字母、数字、汉字或 . _ @ -。",
            "新账号会得到一次性密码，首次登录时必须修改。")):
        notes.write_string(r, 0, line)
    notes.set_column(0, 0, 100)
    book.close()
    return buf.getvalue()
