"""Personal information (PIPL): masked unless the role needs it, and every unmasked read audited.

A household's ``phone`` and ``id_number`` are masked wherever they appear in its data:
at the top, inside ``members`` (a list of person objects), or deeper. The walk is
iterative, so a record nested however deep can neither escape masking nor exhaust the
recursion limit.
"""

from __future__ import annotations

from typing import Any

from server.auth import Caller
from server.services import audit

SENSITIVE = ("phone", "id_number")


def mask(value: Any) -> Any:
    """Keep the first three and last four characters of a phone or ID number.

    A value that is not a string (a number stored by an old client, an object) is
    masked as well: nothing under a sensitive name leaks because of its type.

    >>> mask("13812345678")
    '138****5678'
    >>> mask("320105199001011234")
    '320***********1234'
    >>> mask("12345"), mask(None), mask("")
    ('*****', None, '')
    >>> mask(13812345678), mask({"n": "13812345678"}), mask(True)
    ('138****5678', '****', '****')
    """
    if value is None or value == "":
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return "****"
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def _copy(node: Any) -> Any:
    return dict(node) if isinstance(node, dict) else list(node)


def _children(node: dict | list) -> list[tuple[Any, Any]]:
    return list(node.items()) if isinstance(node, dict) else list(enumerate(node))


def mask_household(data: Any) -> Any:
    """A copy of a household's ``data`` with every ``phone`` and ``id_number`` masked,
    at any depth; the input is left untouched.

    >>> mask_household({"phone": "13812345678", "note": "x"})
    {'phone': '138****5678', 'note': 'x'}
    >>> mask_household({"members": [{"name": "王芳", "phone": "13912345678",
    ...                              "id_number": "320105199001011234"}, "?", 3]})
    {'members': [{'name': '王芳', 'phone': '139****5678', 'id_number': '320***********1234'}, '?', 3]}
    >>> mask_household({"members": 5}), mask_household(None), mask_household("x")
    ({'members': 5}, None, 'x')
    """
    if not isinstance(data, dict | list):
        return data
    root = _copy(data)
    stack = [root]
    while stack:
        node = stack.pop()
        for key, value in _children(node):
            if isinstance(node, dict) and key in SENSITIVE:
                node[key] = mask(value)
            elif isinstance(value, dict | list):
                node[key] = _copy(value)
                stack.append(node[key])
    return root


# The name the conflict views have used; the same rule.
mask_fields = mask_household


def sensitive_keys(data: Any, masked_only: bool = False) -> list[str]:
    """The top-level keys of ``data`` under which a non-empty ``phone`` or ``id_number``
    sits (at any depth); with ``masked_only``, only values that look masked (hold ``*``).

    >>> sensitive_keys({"phone": "", "members": [{"id_number": "320105199001011234"}]})
    ['members']
    >>> sensitive_keys({"phone": "138****5678", "members": [{"phone": "1"}]}, True)
    ['phone']
    >>> sensitive_keys({"members": 5}), sensitive_keys(None)
    ([], [])
    """
    if not isinstance(data, dict):
        return []
    found = []
    for top, value in data.items():
        stack: list[tuple[Any, Any]] = [(top, value)]
        while stack:
            key, value = stack.pop()
            if key in SENSITIVE and value not in (None, "") and (
                    not masked_only or (isinstance(value, str) and "*" in value)):
                found.append(top)
                break
            if isinstance(value, dict | list):
                stack.extend(_children(value))
    return found


def sees_unmasked(caller: Caller, grid_code: str | None) -> bool:
    """Admins, and the grid leader of the household's own grid."""
    return caller.is_admin or (caller.role == "grid_leader" and grid_code in caller.grids)


def mask_personal(caller: Caller, changes: list[dict[str, Any]]) -> None:
    """Mask households' sensitive fields in place; audit the ones left unmasked."""
    unmasked: list[str] = []
    for change in changes:
        if change["entity"] != "household":
            continue
        if sees_unmasked(caller, change.get("grid_code")):
            if sensitive_keys(change["data"]):
                unmasked.append(change["id"])
            continue
        change["data"] = mask_household(change["data"])
    audit_unmasked(caller, "household", unmasked, "read_unmasked")


def audit_unmasked(caller: Caller, entity: str, record_ids: list[str], action: str) -> None:
    """One entry for the records a caller just read with personal data unmasked."""
    if record_ids:
        audit.record(action, caller=caller, object=f"{entity}:{len(record_ids)}",
                     entity=entity, record_ids=record_ids, detail={"fields": list(SENSITIVE)})
