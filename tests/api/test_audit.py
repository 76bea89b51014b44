"""The audit log: every sensitive act leaves an entry; the chain is append-only and
hash-chained, verifies, and shows tampering; retention keeps it verifiable; the API is
scoped and exports CSV."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors

from scripts import dbtool
from tests.conftest import ApiClient, unique
from tests.console.helpers import inspection
from tests.sync.helpers import household

STREET = "320105003"
GRID = "320105003005001"
OTHER_STREET_GRID = "320105001001001"
SPARE_GRID = "320105001001002"


def entries(db, **where: Any) -> list[dict[str, Any]]:
    """Audit rows matching every ``column = value`` given, oldest first."""
    sql = "SELECT * FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(f"{k} = %s" for k in where)
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(sql + " ORDER BY seq", tuple(where.values())).fetchall()


def verify(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


# --- a private database, for tampering and pruning --------------------------------------

@pytest.fixture(scope="module")
def private(database_url: str) -> Iterator[tuple[Any, psycopg.Connection]]:
    """A freshly migrated database of our own, so that breaking its chain on purpose
    never disturbs the other tests; yields its app and a superuser connection."""
    from server import create_app

    url = database_url.rsplit("/", 1)[0] + f"/gridpatrol_audit_{secrets.token_hex(4)}"
    dbtool.create(url)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                          "SECRET_KEY": "test"})
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                               autocommit=True)
        yield app, conn
        conn.close()
        with app.app_context():
            from server.extensions import db

            db.engine.dispose()
    finally:
        dbtool.drop(url)


def _add(conn: psycopg.Connection, action: str, age_days: int = 0) -> None:
    conn.execute("INSERT INTO audit_log (action, at, record_ids, detail, username) "
                 "VALUES (%s, now() - make_interval(days => %s), '{}', "
                 "'{\"note\": \"网格\"}', 'tester')", (action, age_days))


@pytest.fixture
def tampered(private) -> Iterator[tuple[Any, psycopg.Connection]]:
    """The private database with a chain of five; restored afterwards, as a superuser."""
    app, conn = private
    for i in range(5):
        _add(conn, f"test.entry{i}")
    yield app, conn
    conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")


def test_verify_passes_on_an_untouched_chain(private):
    app, conn = private
    for i in range(3):
        _add(conn, f"test.ok{i}")
    code, out = verify(app)
    assert code == 0, out
    assert "ok: the chain verifies" in out


def test_a_changed_entry_fails_verify(tampered):
    app, conn = tampered
    seq = conn.execute("SELECT max(seq) - 2 FROM audit_log").fetchone()[0]
    conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
    conn.execute("UPDATE audit_log SET username = 'someone_else' WHERE seq = %s", (seq,))
    code, out = verify(app)
    assert code == 1
    assert f"first bad entry: entry seq {seq}: its hash does not match" in out
    conn.execute("UPDATE audit_log SET username = 'tester' WHERE seq = %s", (seq,))
    assert verify(app)[0] == 0


def test_a_removed_middle_entry_fails_verify(tampered):
    app, conn = tampered
    seq = conn.execute("SELECT max(seq) - 2 FROM audit_log").fetchone()[0]
    conn.execute("CREATE TEMP TABLE saved AS SELECT * FROM audit_log WHERE seq = %s", (seq,))
    conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
    conn.execute("DELETE FROM audit_log WHERE seq = %s", (seq,))
    code, out = verify(app)
    assert code == 1
    assert f"seq {seq} is missing" in out
    conn.execute("INSERT INTO audit_log SELECT * FROM saved; DROP TABLE saved")
    assert verify(app)[0] == 0


def test_removed_newest_entries_and_foreign_entries_fail_verify(tampered):
    app, conn = tampered
    last = conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
    conn.execute("CREATE TEMP TABLE saved AS SELECT * FROM audit_log WHERE seq = %s", (last,))
    conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
    conn.execute("DELETE FROM audit_log WHERE seq = %s", (last,))
    code, out = verify(app)
    assert code == 1 and "newest entries removed" in out
    # An entry slipped in with a made-up hash, in the removed one's place.
    conn.execute("""
        INSERT INTO audit_log (action, at, record_ids, detail, seq, result, prev_hash, hash)
        SELECT 'forged', now(), '{}', '{}', %s, 'ok', hash, repeat('f', 64)
        FROM audit_log WHERE seq = %s
    """, (last, last - 1))
    code, out = verify(app)
    assert code == 1 and f"entry seq {last}: its hash does not match" in out
    conn.execute("DELETE FROM audit_log WHERE seq = %s", (last,))
    conn.execute("INSERT INTO audit_log SELECT * FROM saved; DROP TABLE saved")
    assert verify(app)[0] == 0


def test_prune_keeps_the_chain_verifiable_and_refuses_under_180_days(private):
    app, conn = private
    conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
    _add(conn, "test.young")
    conn.execute("SET gridpatrol.audit_prune = 'on'")
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute("DELETE FROM audit_log")  # young entries stay, even with the setting
    conn.execute("RESET gridpatrol.audit_prune")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "prune", "--days", "179"])
    assert result.exit_code != 0 and "180" in result.output
    before = conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
    result = runner.invoke(args=["audit", "prune"])  # nothing is old enough yet
    assert result.exit_code == 0, result.output
    assert "removed=0" in result.output
    assert verify(app)[0] == 0
    assert conn.execute("SELECT count(*) FROM audit_log WHERE seq <= %s",
                        (before,)).fetchone()[0] == before


def test_prune_removes_old_entries_from_the_start_of_the_chain(database_url):
    from server import create_app

    url = database_url.rsplit("/", 1)[0] + f"/gridpatrol_prune_{secrets.token_hex(4)}"
    dbtool.create(url)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                          "SECRET_KEY": "test"})
        runner = app.test_cli_runner()
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as conn:
            for age in (400, 300, 200, 10, 0):
                _add(conn, f"test.age{age}", age)
            # Without the job's setting, even old entries stay.
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("DELETE FROM audit_log WHERE seq = 1")
            result = runner.invoke(args=["audit", "prune", "--days", "250"])
            assert result.exit_code == 0, result.output
            assert "removed=2 anchor_seq=2" in result.output
            left = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY seq")]
            assert left == ["test.age200", "test.age10", "test.age0", "audit.prune"]
            code, out = verify(app)
            assert code == 0, out
            assert "anchor_seq=2" in out
            anchor = conn.execute("SELECT anchor_seq, anchor_hash FROM audit_chain").fetchone()
            first = conn.execute("SELECT seq, prev_hash FROM audit_log ORDER BY seq LIMIT 1"
                                 ).fetchone()
            assert first == (anchor[0] + 1, anchor[1])
            # Even with the setting, a prune must take the oldest entries, in order.
            conn.execute("SET gridpatrol.audit_prune = 'on'")
            _add(conn, "test.old_at_the_end", 500)
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("DELETE FROM audit_log WHERE action = 'test.old_at_the_end'")
            conn.execute("RESET gridpatrol.audit_prune")
            # The chain's head and anchor are the triggers' alone.
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("UPDATE audit_chain SET anchor_seq = 0")
            assert verify(app)[0] == 0
        with app.app_context():
            from server.extensions import db

            db.engine.dispose()
    finally:
        dbtool.drop(url)


# --- append-only, as the application's database role ------------------------------------

def test_update_delete_and_truncate_are_refused_even_with_table_privileges(db, signed_in):
    signed_in()  # at least one entry (the sign-in's, or the user's creation)
    role = f"gridpatrol_app_{secrets.token_hex(4)}"
    db.execute(f"CREATE ROLE {role} NOLOGIN")
    try:
        db.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON audit_log, audit_chain,"
                   f" app_user TO {role}")
        db.execute(f"GRANT USAGE ON SEQUENCE audit_log_id_seq TO {role}")
        with db.transaction(force_rollback=True):
            db.execute(f"SET LOCAL ROLE {role}")
            db.execute("INSERT INTO audit_log (action, record_ids, detail) "
                       "VALUES ('test.app_role', '{}', '{}')")
            for sql in ("UPDATE audit_log SET result = 'changed' WHERE seq = "
                        "(SELECT max(seq) FROM audit_log)",
                        "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)",
                        "TRUNCATE audit_log", "UPDATE audit_chain SET head_seq = 0"):
                with pytest.raises(errors.InsufficientPrivilege), db.transaction():
                    db.execute(sql)
            # Only the table's owner may disable its triggers.
            with pytest.raises(errors.InsufficientPrivilege), db.transaction():
                db.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
    finally:
        db.execute(f"DROP OWNED BY {role}")
        db.execute(f"DROP ROLE {role}")


# --- every sensitive act leaves an entry ------------------------------------------------

def test_unmasked_reads_are_audited_with_user_device_and_ip(signed_in, inside_points, db):
    leader = signed_in(role="grid_leader", grids=[OTHER_STREET_GRID])
    hid = str(uuid.uuid4())
    leader.push(leader.op("household", "create", household(inside_points[OTHER_STREET_GRID]),
                          id=hid))
    leader.pull_all()
    rows = [r for r in entries(db, username=leader.user["username"], action="read_unmasked")
            if hid in r["record_ids"]]
    assert len(rows) == 1
    row = rows[0]
    assert row["device_id"] == leader.device_id and row["ip"].startswith("127.")
    assert row["result"] == "ok" and row["entity"] == "household"
    assert len(row["hash"]) == 64 and row["prev_hash"] != row["hash"]


def test_desk_actions_are_audited_including_refusals(signed_in, inside_points, db):
    patroller = signed_in(grids=[GRID])
    res = patroller.push(patroller.op("inspection", "create",
                                      inspection("report", inside_points[GRID])))[0]
    rid = res["incident_id"]
    sup = signed_in(role="supervisor", areas=[STREET])
    r = sup.post(f"/api/v1/desk/incidents/{rid}/transition",
                 json={"to": "accepted", "base_version": 1, "note": "收到"})
    assert r.status_code == 200, r.json
    version = r.json["result"]["version"]
    for to in ("filed", "dispatched"):
        body = {"to": to, "base_version": version}
        if to == "dispatched":
            body["department"] = "城管"
        r = sup.post(f"/api/v1/desk/incidents/{rid}/transition", json=body)
        assert r.status_code == 200, r.json
        version = r.json["result"]["version"]
    dept = signed_in(role="department", dept="城管")
    r = dept.post(f"/api/v1/desk/incidents/{rid}/transition",
                  json={"to": "returned", "base_version": version})
    assert r.status_code == 403
    r = dept.post(f"/api/v1/desk/incidents/{rid}/extension",
                  json={"base_version": version, "minutes": 60, "reason": "等配件"})
    assert r.status_code == 200, r.json

    mine = entries(db, object=f"incident:{rid}")
    got = [(e["username"], e["action"], e["result"], e["detail"].get("to")) for e in mine]
    s, d = sup.user["username"], dept.user["username"]
    assert got == [(s, "desk.transition", "ok", "accepted"), (s, "desk.transition", "ok", "filed"),
                   (s, "desk.transition", "ok", "dispatched"),
                   (d, "desk.transition", "forbidden", "returned"),
                   (d, "desk.extension", "ok", None)]
    assert mine[0]["detail"]["note"] is True and mine[2]["detail"]["department"] == "城管"
    assert mine[4]["detail"]["extension"] == "requested"


def test_conflict_resolution_and_its_unmasked_listing_are_audited(signed_in, inside_points,
                                                                  db):
    a = signed_in(role="grid_leader", grids=[OTHER_STREET_GRID])
    b = signed_in(grids=[OTHER_STREET_GRID])
    hid = str(uuid.uuid4())
    a.push(a.op("household", "create", household(inside_points[OTHER_STREET_GRID]), id=hid))
    b.push(b.op("household", "update", {"head_name": "张三"}, id=hid, base_version=1))
    cid = a.push(a.op("household", "update", {"head_name": "李四"}, id=hid,
                      base_version=1))[0]["conflict_id"]
    assert a.get("/api/v1/conflicts?limit=500").status_code == 200
    r = a.post(f"/api/v1/conflicts/{cid}/resolve",
               json={"base_version": 3, "data": {"head_name": "张三"}})
    assert r.status_code == 200, r.json
    name = a.user["username"]
    resolved = entries(db, username=name, action="conflict.resolve")
    assert [(e["object"], e["record_ids"], e["detail"]) for e in resolved] == [
        (f"conflict:{cid}", [hid], {"fields": ["head_name"]})]
    listed = entries(db, username=name, action="read_unmasked_conflict")
    assert any(hid in e["record_ids"] for e in listed)


def test_stats_exports_are_audited(signed_in, db):
    sup = signed_in(role="supervisor", areas=[STREET])
    for ext in ("csv", "xlsx"):
        r = sup.get(f"/api/v1/stats.{ext}?from=2026-11-01&to=2026-11-30")
        assert r.status_code == 200
    got = [(e["action"], e["object"], e["detail"]["format"], e["detail"]["from"])
           for e in entries(db, username=sup.user["username"], action="stats.export")]
    assert got == [("stats.export", "stats:grid", "csv", "2026-11-01"),
                   ("stats.export", "stats:grid", "xlsx", "2026-11-01")]


def test_grid_import_is_audited(db):
    # The session's database imported the demo grids through the CLI.
    rows = [e for e in entries(db, action="grids.import") if e["object"] == "layer:jianye:v1"]
    assert len(rows) == 1
    assert rows[0]["detail"]["activated"] is True and rows[0]["detail"]["grids"] > 0


def test_cli_user_and_device_changes_are_audited(app, client, make_user, db):
    name = make_user(grids=[GRID])
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "set-grids", name, "--grid", SPARE_GRID]).exit_code == 0
    sup = make_user(role="supervisor", areas=[STREET])
    assert runner.invoke(args=["users", "set-areas", sup, "--area", "320105001"]).exit_code == 0
    device = ApiClient(client, name).device_id
    assert runner.invoke(args=["devices", "revoke", device]).exit_code == 0
    got = {(e["action"], e["object"]) for e in entries(db) if e["object"] in (
        f"user:{name}", f"user:{sup}", f"device:{device}")}
    assert got == {("users.create", f"user:{name}"), ("users.set_grids", f"user:{name}"),
                   ("users.create", f"user:{sup}"), ("users.set_areas", f"user:{sup}"),
                   ("devices.revoke", f"device:{device}")}
    (row,) = entries(db, action="users.set_grids", object=f"user:{name}")
    assert row["detail"]["via"] == "cli" and row["detail"]["grids"] == [SPARE_GRID]


def test_a_rolled_back_act_leaves_no_entry(app, db):
    from server.extensions import db as sa_db
    from server.services import audit

    marker = unique("rollback-")
    with app.app_context():
        audit.record("test.rolled_back", object=marker)
        sa_db.session.rollback()
        audit.record("test.committed", object=marker)
        sa_db.session.commit()
    assert [e["action"] for e in entries(db, object=marker)] == ["test.committed"]


def test_concurrent_writers_keep_one_chain(app, db):
    from server.extensions import db as sa_db
    from server.services import audit

    marker = unique("threads-")
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(10):
                    audit.record("test.thread", object=marker, detail={"n": n, "i": i})
                    if i % 3 == 0:
                        audit.record("test.thread", object=marker, detail={"n": n, "i": -i})
                    sa_db.session.commit()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    rows = entries(db, object=marker)
    assert len(rows) == 8 * 14
    code, out = verify(app)
    assert code == 0, out
    seqs = [r[0] for r in db.execute("SELECT seq FROM audit_log ORDER BY seq")]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


# --- GET /api/v1/audit ----------------------------------------------------------------

def test_admin_sees_all_supervisor_its_area_field_users_patroller_403(signed_in, db):
    inside = signed_in(grids=[GRID])
    outside = signed_in(grids=[OTHER_STREET_GRID])
    sup = signed_in(role="supervisor", areas=[STREET])
    admin = signed_in(role="admin")
    for who in (inside, outside):
        who.pull_all()
        assert who.get("/api/v1/audit").status_code == 403
    # The refusals are entries of their own.
    assert [e["result"] for e in entries(db, username=inside.user["username"],
                                         action="audit.query")] == ["forbidden"]

    def users_seen(caller: ApiClient, query: str = "") -> set[str]:
        r = caller.get("/api/v1/audit?limit=5000" + query)
        assert r.status_code == 200, r.json
        assert set(r.json) == {"entries", "cursor", "more"}
        return {e["user"] for e in r.json["entries"]}

    names = {inside.user["username"], outside.user["username"]}
    assert names <= users_seen(admin)
    seen = users_seen(sup)
    assert inside.user["username"] in seen
    assert seen.isdisjoint({outside.user["username"], admin.user["username"],
                            sup.user["username"]})
    assert users_seen(admin, f"&user={inside.user['username']}") == {inside.user["username"]}
    r = admin.get(f"/api/v1/audit?user={inside.user['username']}&action=audit.*")
    assert [(e["action"], e["result"]) for e in r.json["entries"]] == [
        ("audit.query", "forbidden")]
    # Reading the audit log is audited too.
    assert entries(db, username=admin.user["username"], action="audit.query")


def test_paging_by_cursor_and_time_window(signed_in, db):
    admin = signed_in(role="admin")
    user = signed_in(grids=[GRID])  # (its sign-in is an entry too: filtered out below)
    for _ in range(3):
        user.pull_all()
        user.get("/api/v1/audit")  # three refusals, three entries
    name = user.user["username"]
    first = admin.get(f"/api/v1/audit?user={name}&action=audit.*&limit=2").json
    assert len(first["entries"]) == 2 and first["more"] is True
    rest = admin.get(f"/api/v1/audit?user={name}&action=audit.*&limit=2&cursor={first['cursor']}").json
    seqs = [e["seq"] for e in first["entries"] + rest["entries"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 3 and not rest["more"]
    assert rest["entries"][0]["at"]
    # Dates are whole days in the console's time zone (the entries' own days).
    first, last = db.execute("SELECT min((at AT TIME ZONE 'Asia/Shanghai')::date), "
                             "max((at AT TIME ZONE 'Asia/Shanghai')::date) FROM audit_log "
                             "WHERE username = %s AND action LIKE 'audit.%%'", (name,)).fetchone()
    r = admin.get(f"/api/v1/audit?user={name}&action=audit.*&from={first}&to={last}")
    assert len(r.json["entries"]) == 3
    assert admin.get(f"/api/v1/audit?user={name}&action=audit.*&to=2020-01-01").json["entries"] == []
    r = admin.get(f"/api/v1/audit?user={name}&action=audit.*&from=2020-01-01T00:00:00Z"
                  f"&to=2100-01-01T00:00:00%2B08:00")
    assert len(r.json["entries"]) == 3


@pytest.mark.parametrize("query, status", [
    ("from=yesterday", 422), ("from=2026-13-01", 422), ("to=1999-12-31", 422),
    ("from=2101-01-01", 422), ("from=2026-12-02&to=2026-12-01", 422),
    # A NUL anywhere in the query is refused before any parsing (server.api.params).
    ("user=a%00b", 400), ("action=%00", 400), ("from=2026-12-01%00", 400),
    ("limit=0", 422), ("format=xml", 422), ("cursor=%%%", 400), ("cursor=bm9wZQ", 400),
])
def test_bad_parameters_are_json_errors(signed_in, query, status):
    admin = signed_in(role="admin")
    r = admin.get(f"/api/v1/audit?{query}")
    assert r.status_code == status, r.json
    assert set(r.json["error"]) >= {"code", "message"}


def test_csv_export_is_utf8_with_bom_no_store_and_audited(signed_in, inside_points, db):
    leader = signed_in(role="grid_leader", grids=[OTHER_STREET_GRID])
    leader.push(leader.op("household", "create", household(inside_points[OTHER_STREET_GRID])))
    leader.pull_all()
    admin = signed_in(role="admin")
    name = leader.user["username"]
    r = admin.get(f"/api/v1/audit?user={name}&format=csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.data.startswith(b"\xef\xbb\xbf")
    lines = r.data.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:8] == ["seq", "at", "user", "device_id", "ip", "action",
                                       "object", "result"]
    assert any("read_unmasked" in line and name in line for line in lines[1:])
    json_page = admin.get(f"/api/v1/audit?user={name}").json
    assert len(lines) - 1 == len(json_page["entries"])
    (export,) = entries(db, username=admin.user["username"], action="audit.export")
    assert export["detail"]["user"] == name and export["result"] == "ok"


def test_openapi_describes_the_audit_endpoint(client):
    spec = client.get("/api/v1/openapi.json").json
    op = spec["paths"]["/api/v1/audit"]["get"]
    params = {p["name"] for p in op["parameters"]}
    assert {"from", "to", "user", "action", "cursor", "limit", "format"} <= params
    content = op["responses"]["200"]["content"]
    assert "application/json" in content and "text/csv" in content
    assert "AuditEntry" in spec["components"]["schemas"]


def test_models_match_the_migrations(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from server.extensions import db as sa_db

    with app.app_context(), sa_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_server_default": True,
                                                         "compare_type": True})
        diff = compare_metadata(context, sa_db.metadata)
    mine = [d for d in diff if "audit" in repr(d)]
    assert mine == []
