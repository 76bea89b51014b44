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
    table = limits or DEFAULT_LIMITS_MIN
    if status is None or status not in table:
        return None
    minutes = table[status][0 if urgent else 1]
    if status == "handled" and rural:
        minutes = max(minutes, RURAL_VERIFY_MIN)
    return entered_at + timedelta(minutes=minutes)
