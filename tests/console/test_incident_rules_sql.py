"""The incident rules' SQL (generated in ``sync.incident``) agrees with their Python.

Table-driven: every status (and none) × urgent × rural, each generated fragment run in a
``SELECT`` on the real PostgreSQL, compared with the Python function it writes out; the
traffic light at 79 %, 80 %, 100 % and 101 % of the stage's time; and ``/meta`` serving
the same status sets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from sync.incident import (
    FINAL,
    INITIAL,
    REWORK_MOVE,
    VERIFIED_MOVES,
    all_statuses,
    due_at,
    due_at_sql,
    moves_sql,
    open_status_sql,
    open_statuses,
    stage_minutes,
    traffic_light,
    traffic_light_sql,
)

T = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
STATUSES = (*all_statuses(), None, "no_such_status")
CASES = list(product(STATUSES, (False, True), (False, True)))


@pytest.mark.parametrize(("status", "urgent", "rural"), CASES)
def test_due_at_sql_equals_python(db, status, urgent, rural):
    sql = due_at_sql("%(status)s::text", "%(urgent)s::boolean", "%(t)s::timestamptz",
                     rural=rural)
    got = db.execute(f"SELECT {sql}", {"status": status, "urgent": urgent, "t": T}).fetchone()
    assert got[0] == due_at(status, urgent, T, rural=rural)


def test_the_rural_rule_is_in_the_sql(db):
    # handled, normal, rural: 120 min, not the city's 60 (the former greatest()).
    assert stage_minutes("handled", False, rural=True) == 120
    sql = due_at_sql("'handled'", "false", "%(t)s::timestamptz", rural=True)
    assert db.execute(f"SELECT {sql}", {"t": T}).fetchone()[0] == T + timedelta(minutes=120)


LIGHT_AT = {79: "green", 80: "yellow", 100: "red", 101: "red"}


@pytest.mark.parametrize(("status", "urgent", "rural"),
                         [c for c in CASES if stage_minutes(c[0], c[1], rural=c[2])])
@pytest.mark.parametrize("percent", sorted(LIGHT_AT))
def test_traffic_light_sql_equals_python(db, status, urgent, rural, percent):
    due = due_at(status, urgent, T, rural=rural)
    assert due is not None
    now = T + (due - T) * percent / 100
    sql = traffic_light_sql("%(due)s::timestamptz", "%(since)s::timestamptz",
                            "%(now)s::timestamptz")
    got = db.execute(f"SELECT {sql}", {"due": due, "since": T, "now": now}).fetchone()[0]
    assert got == traffic_light(now, T, due) == LIGHT_AT[percent]


def test_no_clock_no_light(db):
    sql = traffic_light_sql("NULL::timestamptz", "%(t)s::timestamptz")
    assert db.execute(f"SELECT {sql}", {"t": T}).fetchone()[0] is None
    assert traffic_light(T, T, None) is None


@pytest.mark.parametrize("status", STATUSES)
def test_open_status_sql_equals_python(db, status):
    got = db.execute(f"SELECT {open_status_sql('x')} FROM (SELECT %(s)s::text AS status) x",
                     {"s": status}).fetchone()[0]
    # NULL (no status: an old client's incident) counts as neither open nor final.
    assert got == (None if status is None else status not in FINAL)
    assert (status in open_statuses()) == (status in all_statuses() and status not in FINAL)


@pytest.mark.parametrize(("prev", "status"), list(product(all_statuses(), repeat=2)))
def test_verification_moves_sql_equals_python(db, prev, status):
    sql = (f"SELECT {moves_sql('%(p)s::text', '%(s)s::text', VERIFIED_MOVES)}, "
           f"{moves_sql('%(p)s::text', '%(s)s::text', [REWORK_MOVE])}")
    got = db.execute(sql, {"p": prev, "s": status}).fetchone()
    assert got == ((prev, status) in VERIFIED_MOVES, (prev, status) == REWORK_MOVE)


def test_meta_serves_the_status_sets(client):
    r = client.get("/api/v1/meta")
    assert r.status_code == 200
    st = r.get_json()["incident_statuses"]
    assert st == {"all": list(all_statuses()), "initial": list(INITIAL),
                  "final": list(FINAL), "open": list(open_statuses())}
