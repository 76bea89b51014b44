"""延时: asking for more time on an incident's handling stage, and deciding on it.

The request and the decision travel as the incident's ``extension`` field, by sync or
from the desk, so they obey the same merge and are kept in the history. Only a
supervisor's approval moves the deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sync.incident import SUPERVISOR, Actor

STATUSES = ("requested", "approved", "refused")
MAX_MINUTES = 7 * 24 * 60


def validate(value: Any) -> str | None:
    """Shape of an ``extension`` value.

    >>> validate({"status": "requested", "minutes": 120, "reason": "等配件"}) is None
    True
    >>> validate({"status": "requested", "minutes": 0})
    'minutes must be a whole number from 1 to 10080'
    """
    if not isinstance(value, dict) or value.get("status") not in STATUSES:
        return "must be an object whose status is requested, approved or refused"
    minutes = value.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES:
        return f"minutes must be a whole number from 1 to {MAX_MINUTES}"
    if value.get("reason") is not None and not isinstance(value.get("reason"), str):
        return "reason must be a string"
    return None


def check(new: dict[str, Any], old: dict[str, Any] | None, status: str | None, actor: Actor,
          department: str | None) -> tuple[str, str] | None:
    """``None`` if the change is allowed, else ``(code, message)`` for a rejection.

    >>> sup = Actor("supervisor", in_scope=True)
    >>> check({"status": "requested", "minutes": 60}, None, "dispatched",
    ...       Actor("department", dept="城管"), "城管")
    >>> check({"status": "approved", "minutes": 60}, {"status": "requested", "minutes": 60},
    ...       "dispatched", Actor("department", dept="城管"), "城管")[0]
    'forbidden'
    >>> check({"status": "approved", "minutes": 60}, None, "dispatched", sup, None)[0]
    'validation'
    """
    capacities = actor.capacities(department)
    if new["status"] == "requested":
        if status != "dispatched":
            return "validation", "more time can be asked for only while dispatched"
        if not capacities:
            return "forbidden", "only those handling the incident may ask for more time"
        return None
    if SUPERVISOR not in capacities:
        return "forbidden", "only a supervisor decides on more time"
    if status != "dispatched":
        return "validation", "more time can be granted only while dispatched"
    if not old or old.get("status") != "requested":
        return "validation", "there is no pending request for more time"
    return None


def stamp(new: dict[str, Any], old: dict[str, Any] | None, who: str,
          now: datetime) -> dict[str, Any]:
    """Who asked and who decided, and when; the minutes asked for cannot change."""
    out = dict(new)
    if new["status"] == "requested":
        out.update(requested_by=who, requested_at=now.isoformat())
    else:
        out.update(minutes=(old or {}).get("minutes", new["minutes"]),
                   reason=(old or {}).get("reason", new.get("reason")),
                   requested_by=(old or {}).get("requested_by"),
                   requested_at=(old or {}).get("requested_at"),
                   decided_by=who, decided_at=now.isoformat())
    return out


def extended_due(due_at: datetime | None, minutes: int, now: datetime) -> datetime:
    """The deadline after an approval: later by the minutes granted.

    >>> from datetime import timezone
    >>> t = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    >>> extended_due(t, 90, t).isoformat()
    '2026-11-23T09:30:00+00:00'
    """
    return (due_at or now) + timedelta(minutes=minutes)
