"""Field-level three-way merge of an update against what others changed since its base.

Each field's merge policy is a row of :data:`POLICIES` (fields not listed take
:data:`DEFAULT_POLICY`). :func:`merge_update` reads the table, and the table in
``docs/sync.md`` ("Field policy table") is :func:`policy_table_markdown`'s output, checked
by ``tests/test_docs.py``: changing one field's policy is one line here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Policy(StrEnum):
    """How a field's incoming value meets the value others stored since the base."""

    UNION = "union of the values, order kept, never removed by sync"
    UNION_BY_ID = "union of objects matched by `id`"
    STATE_MACHINE = "not merged: decided by a state machine"
    LATER_WINS = ("later arrival wins; a clash with another device's change to a different "
                  "value is a *hard* conflict and both values are kept")


# field -> (policy, what the doc adds). Everything not listed: DEFAULT_POLICY.
POLICIES: dict[str, tuple[Policy, str]] = {
    "photos": (Policy.UNION, "sha256 strings"),
    "tags": (Policy.UNION, ""),
    "notes": (Policy.UNION_BY_ID,
              "note objects; the server adds `by` (username) and, if missing, `at`"),
    "status": (Policy.STATE_MACHINE, "the incident state machine (`sync/incident.py`)"),
    "extension": (Policy.LATER_WINS,
                  "each change is first checked by the 延时 rules (`sync/extension.py`)"),
}
DEFAULT_POLICY = Policy.LATER_WINS

# Fields merged as unions rather than overwritten (docs/protocol.md, rule 5).
LIST_FIELDS = tuple(f for f, (p, _) in POLICIES.items()
                    if p in (Policy.UNION, Policy.UNION_BY_ID))
UNMERGED = tuple(f for f, (p, _) in POLICIES.items() if p is Policy.STATE_MACHINE)


def policy_of(name: str) -> Policy:
    """The merge policy of one field.

    >>> policy_of("photos").name, policy_of("status").name, policy_of("head_name").name
    ('UNION', 'STATE_MACHINE', 'LATER_WINS')
    """
    return POLICIES.get(name, (DEFAULT_POLICY, ""))[0]


def policy_table_markdown() -> str:
    """The policy table as ``docs/sync.md`` shows it.

    >>> print(policy_table_markdown().splitlines()[2])
    | `photos` | union of the values, order kept, never removed by sync: sha256 strings |
    """
    rows = ["| field | policy |", "|---|---|"]
    for name, (policy, note) in POLICIES.items():
        rows.append(f"| `{name}` | {policy.value}{': ' + note if note else ''} |")
    rows.append(f"| everything else | {DEFAULT_POLICY.value} |")
    return "\n".join(rows)


@dataclass
class MergeOutcome:
    """What an update does to a record."""

    data: dict[str, Any]
    changed: set[str] = field(default_factory=set)
    clashes: list[str] = field(default_factory=list)
    merged: bool = False

    @property
    def status(self) -> str:
        """``conflict`` on a clash, ``merged`` when others' edits were kept too."""
        if self.clashes:
            return "conflict"
        return "merged" if self.merged else "applied"


def union(current: Any, incoming: Any) -> list[Any]:
    """Order-preserving union; objects with an ``id`` are matched by it.

    >>> union(["a", "b"], ["b", "c"])
    ['a', 'b', 'c']
    >>> union([{"id": 1, "text": "x"}], [{"id": 1, "text": "y"}, {"id": 2, "text": "z"}])
    [{'id': 1, 'text': 'x'}, {'id': 2, 'text': 'z'}]
    >>> union(None, ["a"])
    ['a']
    """
    out = list(current or [])
    seen = {_key(x) for x in out}
    for item in incoming or []:
        key = _key(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _key(item: Any) -> Any:
    if isinstance(item, dict):
        return ("id", str(item.get("id")))
    return ("v", repr(item))


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    """Names of fields whose value differs between two versions of a record.

    >>> sorted(changed_fields({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}))
    ['b', 'c']
    """
    return {k for k in set(before) | set(after) if before.get(k) != after.get(k)}


def others_changed(history: Iterable[tuple[str | None, Iterable[str]]], device_id: str) -> set[str]:
    """Fields changed since the base by devices other than ``device_id``.

    ``history`` holds ``(device_id, changed_fields)`` for each version after the base. A
    device's own earlier ops are never concurrent with its later ones (docs/protocol.md,
    rule 5).

    >>> sorted(others_changed([("d1", ["note"]), ("d2", ["phone", "tags"])], "d1"))
    ['phone', 'tags']
    """
    out: set[str] = set()
    for author, fields in history:
        if author != device_id:
            out.update(fields)
    return out


def merge_update(
    base: Mapping[str, Any],
    current: Mapping[str, Any],
    incoming: Mapping[str, Any],
    concurrent: set[str],
    *,
    skip: Iterable[str] = UNMERGED,
) -> MergeOutcome:
    """Three-way merge of ``incoming`` changes into ``current``.

    Parameters
    ----------
    base, current : mapping
        The record at the op's ``base_version`` and as stored now.
    incoming : mapping
        Only the fields the device changed, with their new values.
    concurrent : set of str
        Fields other devices changed since the base (see :func:`others_changed`).
    skip : iterable of str
        Fields decided elsewhere (the incident state machine); copied through unmerged.

    Examples
    --------
    Disjoint fields merge:

    >>> m = merge_update({"a": 1, "b": 1}, {"a": 2, "b": 1}, {"b": 5}, {"a"})
    >>> m.data, m.status
    ({'a': 2, 'b': 5}, 'merged')

    The same field, changed to a different value, clashes; the later arrival is stored:

    >>> m = merge_update({"a": 1}, {"a": 2}, {"a": 3}, {"a"})
    >>> m.data, m.status, m.clashes
    ({'a': 3}, 'conflict', ['a'])

    The same value on both sides is no conflict:

    >>> merge_update({"a": 1}, {"a": 2}, {"a": 2}, {"a"}).status
    'merged'
    """
    data = dict(current)
    out = MergeOutcome(data=data, merged=bool(concurrent))
    skipped = set(skip)
    for name, value in incoming.items():
        if policy_of(name) in (Policy.UNION, Policy.UNION_BY_ID):
            value = union(current.get(name), value)
        elif name not in skipped and name in concurrent and current.get(name) != value:
            out.clashes.append(name)
        if data.get(name) != value:
            data[name] = value
            out.changed.add(name)
    return out
