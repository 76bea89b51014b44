"""Personal information (PIPL): masked unless the role needs it, and every unmasked read audited."""

from __future__ import annotations

from typing import Any

from server.auth import Caller
from server.services import audit

SENSITIVE = ("phone", "id_number")


def mask(value: Any) -> Any:
    """Keep the first three and last four characters of a phone or ID number.

    >>> mask("13812345678")
    '138****5678'
    >>> mask("320105199001011234")
    '320***********1234'
    >>> mask("12345"), mask(None)
    ('*****', None)
    """
    if not isinstance(value, str) or not value:
        return value
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def sees_unmasked(caller: Caller, grid_code: str | None) -> bool:
    """Admins, and the grid leader of the household's own grid."""
    return caller.is_admin or (caller.role == "grid_leader" and grid_code in caller.grids)


def mask_personal(caller: Caller, changes: list[dict[str, Any]]) -> None:
    """Mask households' sensitive fields in place; audit the ones left unmasked."""
    unmasked: list[str] = []
    for change in changes:
        if change["entity"] != "household":
            continue
        data = change["data"]
        if sees_unmasked(caller, change.get("grid_code")):
            if any(data.get(f) for f in SENSITIVE):
                unmasked.append(change["id"])
            continue
        for name in SENSITIVE:
            if name in data:
                data[name] = mask(data[name])
    audit_unmasked(caller, "household", unmasked, "read_unmasked")


def mask_fields(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of ``data`` with its sensitive fields masked.

    >>> mask_fields({"phone": "13812345678", "note": "x"})
    {'phone': '138****5678', 'note': 'x'}
    """
    if not isinstance(data, dict):
        return data
    return {k: mask(v) if k in SENSITIVE else v for k, v in data.items()}


def audit_unmasked(caller: Caller, entity: str, record_ids: list[str], action: str) -> None:
    """One entry for the records a caller just read with personal data unmasked."""
    if record_ids:
        audit.record(action, caller=caller, object=f"{entity}:{len(record_ids)}", entity=entity, record_ids=record_ids, detail={"fields": list(SENSITIVE)})
