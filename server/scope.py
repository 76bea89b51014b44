"""Who may see and touch what: every query is scoped to the caller's grids or area.

A field user has grids; a supervisor has areas (a district, street or community code, or
a grid code); a department user sees the incidents dispatched to their department; an
admin sees everything.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from server.auth import Caller
from server.extensions import db
from sync.incident import Actor
from sync.state import RecordState

AREA_SQL = ("({g}.district_code = ANY(:areas) OR {g}.street_code = ANY(:areas) "
            "OR {g}.community_code = ANY(:areas) OR {g}.code = ANY(:areas))")


@dataclass(frozen=True)
class GridPlace:
    code: str
    district_code: str | None
    street_code: str | None
    community_code: str | None

    def within(self, areas: list[str]) -> bool:
        codes = {self.code, self.district_code, self.street_code, self.community_code}
        return bool(codes & set(areas))


def grid_places(codes: set[str]) -> dict[str, GridPlace]:
    """Where each grid code sits in the hierarchy, from its newest version."""
    if not codes:
        return {}
    rows = db.session.execute(text("""
        SELECT DISTINCT ON (code) code, district_code, street_code, community_code
        FROM grid WHERE code = ANY(:codes) ORDER BY code, id DESC
    """), {"codes": list(codes)}).all()
    return {r.code: GridPlace(r.code, r.district_code, r.street_code, r.community_code)
            for r in rows}


def grid_filter(caller: Caller, g: str = "g") -> tuple[str, dict[str, Any]]:
    """SQL condition on a ``grid`` alias for the grids the caller may see."""
    if caller.is_admin or (caller.role == "department" and not caller.areas):
        return "TRUE", {}
    if caller.is_field:
        return f"{g}.code = ANY(:grids)", {"grids": caller.grids}
    return AREA_SQL.format(g=g), {"areas": caller.areas}


def record_filter(caller: Caller, r: str = "r", g: str = "g") -> tuple[str, dict[str, Any]]:
    """SQL condition on ``record r LEFT JOIN grid g ON g.id = r.grid_id``."""
    params: dict[str, Any] = {"me": caller.user_id}
    if caller.is_admin:
        return "TRUE", {}
    if caller.is_field:
        params["grids"] = caller.grids
        return f"({r}.grid_code = ANY(:grids) OR {r}.created_by = :me)", params
    if caller.role == "department":
        params["dept"] = caller.dept or ""
        return (f"(({r}.entity = 'incident' AND {r}.data->>'department' = :dept) "
                f"OR {r}.created_by = :me)"), params
    params["areas"] = caller.areas
    return f"({AREA_SQL.format(g=g)} OR {r}.created_by = :me)", params


def area_filter(args: dict[str, Any], params: dict[str, Any], g: str = "g") -> list[str]:
    """SQL conditions on a ``grid`` alias for the ``street`` and ``community`` query
    filters that are set in ``args``; their values are added to ``params``.

    Examples
    --------
    >>> params = {}
    >>> area_filter({"street": "320105001", "community": None}, params), params
    (['g.street_code = :street'], {'street': '320105001'})
    """
    parts = []
    for key in ("street", "community"):
        if args.get(key):
            parts.append(f"{g}.{key}_code = :{key}")
            params[key] = args[key]
    return parts


class CallerAuthority:
    """The caller's rights over records in one push (docs/protocol.md, rule 10)."""

    def __init__(self, caller: Caller, places: dict[str, GridPlace],
                 departments: Collection[str] | None = None) -> None:
        self.caller, self.places, self.departments = caller, places, departments

    def covers(self, grid_code: str | None) -> bool:
        c = self.caller
        if c.is_admin:
            return True
        if grid_code is None:
            return False
        if c.is_field:
            return grid_code in c.grids
        place = self.places.get(grid_code)
        return place is not None and c.role == "supervisor" and place.within(c.areas)

    def may_create(self, entity: str, grid_code: str | None) -> bool:
        # What a worker sees outside their grids must still be reported.
        return entity != "household" or self.covers(grid_code)

    def may_modify(self, record: RecordState) -> bool:
        c = self.caller
        if c.is_admin or record.created_by == c.user_id or self.covers(record.grid_code):
            return True
        return (c.role == "department" and record.entity == "incident"
                and bool(c.dept) and record.data.get("department") == c.dept)

    def actor(self, record: RecordState) -> Actor:
        return Actor(self.caller.role, self.covers(record.grid_code), self.caller.dept)
