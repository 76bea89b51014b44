"""The work-order (工单) state machine: which status changes are legal, and for whom.

Digital city-management flow: 上报 report → 受理 accept → 立案 file → 派遣 dispatch →
处置 handle → 核查 verify → 结案 close, with the side paths of BRIEF.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SUPERVISOR, DEPARTMENT, GRID_USER = "supervisor", "department", "grid_user"

# (from, to) -> who may make the change (PROTOCOL rule 11).
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
    current: str, new: str, actor: Actor, department: str | None = None
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
    allowed = TRANSITIONS.get((current, new))
    if allowed is None:
        return "illegal_transition"
    return None if allowed & actor.capacities(department) else "forbidden"


def next_statuses(current: str) -> list[str]:
    """Statuses reachable in one step, in a stable order.

    >>> next_statuses("filed")
    ['dispatched', 'shelved']
    """
    return [to for (frm, to) in TRANSITIONS if frm == current]


# Minutes allowed in each stage: (urgent, normal). Filing and dispatch within 10/30 min
# and verification within 1 h (city) are BRIEF.md's figures; rural verification gets 2 h.
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
    status: str,
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
    if status not in table:
        return None
    minutes = table[status][0 if urgent else 1]
    if status == "handled" and rural:
        minutes = max(minutes, RURAL_VERIFY_MIN)
    return entered_at + timedelta(minutes=minutes)
