"""The work-order (工单) state machine: which status changes are legal, and for whom.

Digital city-management flow: 上报 report → 受理 accept → 立案 file → 派遣 dispatch →
处置 handle → 核查 verify → 结案 close, with the side paths of docs/brief.md.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SUPERVISOR, DEPARTMENT, GRID_USER = "supervisor", "department", "grid_user"

# (from, to) -> who may make the change (docs/protocol.md, rule 11).
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("reported", "accepted"): frozenset({SUPERVISOR}),
    ("reported", "rejected"): frozenset({SUPERVISOR}),
    ("accepted", "filed"): frozenset({SUPERVISOR}),
    ("accepted", "void"): frozenset({SUPERVISOR}),
    ("filed", "dispatched"): frozenset({SUPERVISOR}),
    ("filed", "shelved"): frozenset({SUPERVISOR}),
    ("dispatched", "handled"): frozenset({DEPARTMENT, GRID_USER, SUPERVISOR}),
    ("dispatched", "returned"): frozenset({SUPERVISOR}),
    ("returned", "dispatched"): frozenset({SUPERVISOR}),
    ("shelved", "filed"): frozenset({SUPERVISOR}),
    ("handled", "verified"): frozenset({GRID_USER, SUPERVISOR}),
    ("handled", "dispatched"): frozenset({SUPERVISOR}),
    ("verified", "closed"): frozenset({SUPERVISOR}),
    ("self_handled", "closed"): frozenset({SUPERVISOR}),
    ("self_handled", "accepted"): frozenset({SUPERVISOR}),
}
INITIAL = ("reported", "self_handled")
FINAL = ("closed", "rejected", "void")


@dataclass(frozen=True)
class Actor:
    """Who is asking, as far as the state machine cares.

    ``in_scope`` is true when a supervisor's area or a field user's grids hold the
    incident; ``dept`` is a department user's department.
    """

    role: str
    in_scope: bool = False
    dept: str | None = None

    def capacities(self, incident_department: str | None) -> set[str]:
        """The parts this actor can play for one incident.

        >>> sorted(Actor("admin").capacities(None))
        ['supervisor']
        >>> Actor("department", dept="城管").capacities("城管")
        {'department'}
        >>> Actor("patroller", in_scope=False).capacities(None)
        set()
        """
        if self.role == "admin" or (self.role == SUPERVISOR and self.in_scope):
            return {SUPERVISOR}
        if self.role == DEPARTMENT and self.dept and self.dept == incident_department:
            return {DEPARTMENT}
        if self.role in ("patroller", "grid_leader") and self.in_scope:
            return {GRID_USER}
        return set()


def check_transition(
    current: str | None, new: str | None, actor: Actor, department: str | None = None
) -> str | None:
    """``None`` if ``actor`` may move an incident from ``current`` to ``new``.

    Otherwise the code for the result: ``illegal_transition`` (a conflict when it comes by
    sync, a 409 at the desk) or ``forbidden`` (the wrong role).

    >>> check_transition("dispatched", "handled", Actor("department", dept="市政"), "市政")
    >>> check_transition("closed", "handled", Actor("supervisor", in_scope=True))
    'illegal_transition'
    >>> check_transition("reported", "accepted", Actor("patroller", in_scope=True))
    'forbidden'
    """
    allowed = TRANSITIONS.get((current, new)) if current and new else None
    if allowed is None:
        return "illegal_transition"
    return None if allowed & actor.capacities(department) else "forbidden"


def next_statuses(current: str) -> list[str]:
    """Statuses reachable in one step, in a stable order.

    >>> next_statuses("filed")
    ['dispatched', 'shelved']
    """
    return [to for (frm, to) in TRANSITIONS if frm == current]


# The only ways ``department`` may change (PROTOCOL v1.1 "Writes that stay in scope"): the
# status an op moves the incident to -> what it may do to the department on the way.
# Anything else that sets or clears it, a create and a supervisor's edit included, is
# refused: who handles a work order is decided by a dispatch, and only by one.
DEPARTMENT_BY_STATUS: dict[str, str] = {
    "dispatched": "set",  # 派遣 names the department (a re-dispatch may name another)
    "returned": "clear",  # 退回 for re-dispatch may clear it
}


def check_department(current_status: str | None, data: Mapping[str, Any],
                     current_department: str | None, actor: Actor,
                     departments: Collection[str] | None) -> tuple[str, str] | None:
    """``None`` if an op may do what it does to ``department``, else ``(code, message)``.

    ``current_status`` is ``None`` for a create; ``data`` is the op's; ``departments``
    the configured ones (``None``: any name). A dispatch needs a department, sent or kept.

    Examples
    --------
    >>> sup, depts = Actor("supervisor", in_scope=True), ("城管", "市政")
    >>> check_department("filed", {"status": "dispatched", "department": "城管"}, None,
    ...                  sup, depts)
    >>> check_department("filed", {"status": "dispatched", "department": "水务"}, None,
    ...                  sup, depts)
    ('validation', 'must be one of 城管, 市政')
    >>> check_department("filed", {"status": "dispatched"}, None, sup, depts)
    ('validation', 'a dispatch needs a department')
    >>> check_department("dispatched", {"department": "市政"}, "城管", sup, depts)[0]
    'forbidden'
    >>> check_department(None, {"status": "reported", "department": "城管"}, None,
    ...                  Actor("patroller", in_scope=True), depts)[0]
    'forbidden'
    >>> check_department("dispatched", {"status": "returned", "department": None}, "城管",
    ...                  sup, depts)
    >>> check_department("dispatched", {"status": "handled", "department": None}, "城管",
    ...                  Actor("department", dept="城管"), depts)[0]
    'forbidden'
    >>> check_department("dispatched", {"note": "x", "department": "城管"}, "城管", sup, depts)
    """
    new_status = data.get("status")
    moving = new_status is not None and new_status != current_status
    wanted = data.get("department", current_department)
    if moving and new_status == "dispatched" and not wanted:
        return "validation", "a dispatch needs a department"
    if wanted == current_department:
        return None  # sent as it is: no change
    how = DEPARTMENT_BY_STATUS.get(new_status or "") if moving else None
    legal = (current_status is not None and how is not None
             and check_transition(current_status, new_status, actor, current_department) is None)
    if legal and how == "clear" and wanted is None:
        return None
    if legal and how == "set" and wanted is not None:
        if departments is not None and wanted not in departments:
            return "validation", f"must be one of {', '.join(departments)}"
        return None
    return "forbidden", "the department changes only by a dispatch, made by a supervisor"


# Minutes allowed in each stage: (urgent, normal). Filing and dispatch within 10/30 min
# and verification within 1 h (city) are docs/brief.md's figures; rural verification gets 2 h.
DEFAULT_LIMITS_MIN: dict[str, tuple[int, int]] = {
    "reported": (10, 30),
    "accepted": (10, 30),
    "filed": (10, 30),
    "returned": (10, 30),
    "dispatched": (240, 1440),
    "handled": (60, 60),
    "verified": (30, 60),
    "self_handled": (60, 240),
}
RURAL_VERIFY_MIN = 120


def stage_minutes(status: str | None, urgent: bool, *, rural: bool = False,
                  limits: dict[str, tuple[int, int]] | None = None) -> int | None:
    """Minutes allowed in ``status``; ``None`` for stages with no clock.

    >>> stage_minutes("dispatched", False), stage_minutes("handled", True, rural=True)
    (1440, 120)
    >>> stage_minutes("closed", True) is None
    True
    """
    table = limits or DEFAULT_LIMITS_MIN
    if status is None or status not in table:
        return None
    minutes = table[status][0 if urgent else 1]
    if status == "handled" and rural:
        minutes = max(minutes, RURAL_VERIFY_MIN)  # rural verification travels further
    return minutes


def due_at(
    status: str | None,
    urgent: bool,
    entered_at: datetime,
    *,
    rural: bool = False,
    limits: dict[str, tuple[int, int]] | None = None,
) -> datetime | None:
    """When the current stage is overdue; ``None`` for stages with no clock.

    >>> from datetime import timezone
    >>> t = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    >>> due_at("reported", True, t).isoformat()
    '2026-11-23T08:10:00+00:00'
    >>> due_at("handled", False, t, rural=True).isoformat()
    '2026-11-23T10:00:00+00:00'
    >>> due_at("closed", False, t) is None
    True
    """
    minutes = stage_minutes(status, urgent, rural=rural, limits=limits)
    return None if minutes is None else entered_at + timedelta(minutes=minutes)


# The traffic light: green, then yellow from this fraction of the stage's time, red at due.
LIGHT_YELLOW_AT = 0.8
# What is left of the stage when yellow starts, rounded so that SQL reads ``0.2`` (the
# server's expression has always been ``due - (due - since) * 0.2``).
_GREEN_LEFT = round(1 - LIGHT_YELLOW_AT, 6)


def traffic_light(now: datetime, since: datetime, due: datetime | None) -> str | None:
    """``green``, ``yellow`` or ``red`` for a stage entered at ``since`` and due at ``due``.

    >>> from datetime import timezone
    >>> t = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    >>> [traffic_light(t + timedelta(minutes=m), t, t + timedelta(minutes=10))
    ...  for m in (7, 8, 10)]
    ['green', 'yellow', 'red']
    >>> traffic_light(t, t, None) is None
    True
    """
    if due is None:
        return None
    if now >= due:
        return "red"
    return "yellow" if now >= due - (due - since) * _GREEN_LEFT else "green"



# --- the same rules as SQL fragments ------------------------------------------------------
# The server's set-based SQL cannot call the functions above, so these write them out as
# SQL, from the same tables: no status list or minute figure is ever typed in server SQL.
# Everything interpolated here is a constant of this module, never user input.

def _sql_list(values: Collection[str]) -> str:
    """``('a', 'b')``: a SQL list of string literals.

    >>> _sql_list(("closed", "void"))
    "('closed', 'void')"
    """
    for v in values:
        if "'" in v:
            raise ValueError(f"not a SQL-safe status: {v!r}")
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def all_statuses() -> tuple[str, ...]:
    """Every status the state machine knows, in the order of ``sync.records``.

    >>> all_statuses()[:3], len(all_statuses())
    (('reported', 'accepted', 'rejected'), 12)
    """
    from sync.records import INCIDENT_STATUSES
    return INCIDENT_STATUSES


def open_statuses() -> tuple[str, ...]:
    """The statuses that are not final (an incident in one is 未结).

    >>> open_statuses()
    ('reported', 'accepted', 'filed', 'dispatched', 'handled', 'verified', 'returned', \
'shelved', 'self_handled')
    """
    return tuple(s for s in all_statuses() if s not in FINAL)


def final_statuses_sql() -> str:
    """The final statuses as a SQL list.

    >>> final_statuses_sql()
    "('closed', 'rejected', 'void')"
    """
    return _sql_list(FINAL)


def open_status_sql(alias: str = "r", column: str = "status") -> str:
    """A SQL condition: the incident ``alias`` is open (its status is not final).

    An incident without a status (an old client's) is not counted open, as before.

    >>> open_status_sql("i")
    "i.status NOT IN ('closed', 'rejected', 'void')"
    """
    return f"{alias}.{column} NOT IN {final_statuses_sql()}"


def stage_minutes_sql(status: str, urgent: str, *, rural: bool = False,
                      limits: dict[str, tuple[int, int]] | None = None) -> str:
    """SQL for :func:`stage_minutes` of the SQL expressions ``status`` and ``urgent``
    (a boolean): an integer, NULL for stages with no clock.

    >>> print(stage_minutes_sql("s.status", "s.urgent", limits={"handled": (60, 150)},
    ...                         rural=True))
    CASE WHEN s.urgent THEN CASE s.status WHEN 'handled' THEN 120 END ELSE CASE s.status \
WHEN 'handled' THEN 150 END END
    """
    table = limits or DEFAULT_LIMITS_MIN
    _sql_list(table)  # the statuses are safe to quote

    def by_status(u: bool) -> str:
        whens = " ".join(f"WHEN '{st}' THEN {stage_minutes(st, u, rural=rural, limits=table)}"
                         for st in table)
        return f"CASE {status} {whens} END"
    return f"CASE WHEN {urgent} THEN {by_status(True)} ELSE {by_status(False)} END"


def due_at_sql(status: str, urgent: str, entered: str, *, rural: bool = False) -> str:
    """SQL for :func:`due_at`: ``entered`` plus the stage's minutes, NULL with no clock.

    >>> due_at_sql("s.status", "s.urgent", "s.entered").startswith(
    ...     "s.entered + make_interval(mins => CASE WHEN s.urgent THEN CASE s.status")
    True
    """
    return f"{entered} + make_interval(mins => {stage_minutes_sql(status, urgent, rural=rural)})"


def traffic_light_sql(due: str, since: str, now: str = "now()") -> str:
    """SQL for :func:`traffic_light`: ``'green'``, ``'yellow'``, ``'red'`` or NULL.

    >>> traffic_light_sql("r.due_at", "s")
    "CASE WHEN r.due_at IS NULL THEN NULL WHEN now() >= r.due_at THEN 'red' WHEN now() >= \
r.due_at - (r.due_at - s) * 0.2 THEN 'yellow' ELSE 'green' END"
    """
    return (f"CASE WHEN {due} IS NULL THEN NULL "
            f"WHEN {now} >= {due} THEN 'red' "
            f"WHEN {now} >= {due} - ({due} - {since}) * {_GREEN_LEFT} THEN 'yellow' "
            f"ELSE 'green' END")


# 核查 (a verification) is a move out of ``handled``: passed (verified) or sent back for
# rework (返工, dispatched again).
VERIFIED_MOVES = (("handled", "verified"), ("handled", "dispatched"))
REWORK_MOVE = ("handled", "dispatched")


def moves_sql(prev: str, status: str, moves: Collection[tuple[str, str]]) -> str:
    """SQL: the status change ``prev`` → ``status`` is one of ``moves``.

    >>> moves_sql("prev", "status", [REWORK_MOVE])
    "((prev, status) IN (('handled', 'dispatched')))"
    """
    pairs = ", ".join(_sql_list(m) for m in moves)
    return f"(({prev}, {status}) IN ({pairs}))"
