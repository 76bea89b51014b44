"""Administration at a street's and a city's scale, over HTTP against real gunicorn.

1. The user list with 50,000 users: pages of 50 as an admin and as a supervisor, with
   and without filters; p50/p95 over HTTP against the same statement run bare in
   PostgreSQL in the same run (the raw limit). Goal: p95 < 100 ms.
2. A 10,000-row roster (.xlsx): the dry run (goal < 10 s) and the import (goal < 30 s),
   then the same file again (all unchanged).

    .venv/bin/python bench/admin.py [--users 50000] [--rows 10000]

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import psycopg
import requests
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import gunicorn, machine, make_user, scratch_database, sign_in

STREET = "320105001"


def pg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def load_users(url: str, n: int) -> None:
    """n field users spread over the demo grids, in three set-based statements."""
    with psycopg.connect(pg_url(url), autocommit=True) as conn:
        conn.execute("""
            INSERT INTO app_user (username, password_hash, role, display_name, phone)
            SELECT 'u' || lpad(i::text, 6, '0'), 'x',
                   CASE WHEN i %% 10 = 0 THEN 'grid_leader' ELSE 'patroller' END,
                   '网格员' || i, '138' || lpad(i::text, 8, '0')
            FROM generate_series(1, %s) i
        """, (n,))
        conn.execute("""
            INSERT INTO user_grid (user_id, grid_code)
            SELECT u.id, g.code FROM app_user u
            JOIN LATERAL (SELECT code FROM (SELECT DISTINCT code FROM grid) c
                          ORDER BY code OFFSET (u.id % 300) LIMIT 1) g ON true
            WHERE u.username LIKE 'u%%'
        """)
        conn.execute("VACUUM ANALYZE app_user")
        conn.execute("VACUUM ANALYZE user_grid")
        conn.execute("VACUUM ANALYZE device")
        conn.execute("VACUUM ANALYZE grid")


def time_list(session: requests.Session, base: str, params: dict, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        r = session.get(base + "/api/v1/admin/users", params=params, timeout=30)
        times.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    return times


def bare_sql(url: str, caller: str, params: dict, rounds: int) -> list[float]:
    """The list statement itself, as the endpoint builds it, run in PostgreSQL."""
    from server import create_app
    from server.auth import Caller
    from server.services import admin_users

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from server.extensions import db

        row = db.session.execute(text(
            "SELECT id, role FROM app_user WHERE username = :n"), {"n": caller}).one()
        who = Caller(row.id, caller, row.role, None, "bench", 0, 0, [],
                     [STREET] if row.role == "supervisor" else [])
        args = {"limit": 50, **params}
        admin_users.list_users(who, args)  # warm
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            admin_users.list_users(who, args)
            times.append((time.perf_counter() - t) * 1000)
        db.session.rollback()
    return times


def roster_xlsx(rows: int) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet()
    for c, name in enumerate(("姓名", "账号", "手机", "角色", "网格")):
        sheet.write_string(0, c, name)
    for i in range(1, rows + 1):
        sheet.write_string(i, 0, f"员工{i}")
        sheet.write_string(i, 1, f"r{i:06d}")
        sheet.write_string(i, 2, f"139{i:08d}")
        sheet.write_string(i, 3, "志愿者" if i % 7 else "网格长")
        sheet.write_string(i, 4, f"320105001001{(i % 9) + 1:03d}")
    book.close()
    return buf.getvalue()


def p(times: list[float], q: float) -> float:
    return statistics.quantiles(times, n=100)[int(q) - 1] if len(times) > 2 else max(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with scratch_database() as url:
        make_user(url, "bench_admin", "admin")
        make_user(url, "bench_sup", "supervisor", "--area", STREET)
        t = time.perf_counter()
        load_users(url, args.users)
        print(f"loaded {args.users} users in {time.perf_counter() - t:.1f} s")
        with gunicorn(url) as base:
            admin = sign_in(base, "bench_admin", "bench-a")
            sup = sign_in(base, "bench_sup", "bench-s")
            print("\nuser list, pages of 50 (ms)      HTTP p50  HTTP p95   SQL p50  SQL p95")
            cases = [("admin, first page", admin, "bench_admin", {}),
                     ("admin, search '1234'", admin, "bench_admin", {"q": "1234"}),
                     ("admin, street filter", admin, "bench_admin", {"street": STREET}),
                     ("admin, deep cursor", admin, "bench_admin", {"cursor": "u040000"}),
                     ("supervisor, first page", sup, "bench_sup", {}),
                     ("supervisor, role filter", sup, "bench_sup", {"role": "grid_leader"})]
            for label, session, who, params in cases:
                http = time_list(session, base, {"limit": 50, **params}, args.rounds)
                sql = bare_sql(url, who, params, args.rounds)
                print(f"{label:32s} {p(http, 50):8.1f} {p(http, 95):9.1f} "
                      f"{p(sql, 50):9.1f} {p(sql, 95):8.1f}")
            data = roster_xlsx(args.rows)
            print(f"\nroster: {args.rows} rows, {len(data) / 1024:.0f} KiB .xlsx")
            for label, dry in (("dry run", "true"), ("import", "false"),
                               ("same file again", "false")):
                t = time.perf_counter()
                r = admin.post(base + "/api/v1/admin/users/import", timeout=600,
                               files={"file": ("roster.xlsx", data)}, data={"dry_run": dry})
                took = time.perf_counter() - t
                r.raise_for_status()
                body = r.json()
                print(f"{label:16s} {took:6.2f} s  created={body['created']} "
                      f"updated={body['updated']} unchanged={body['unchanged']} "
                      f"refused={body['refused']}")


if __name__ == "__main__":
    main()
