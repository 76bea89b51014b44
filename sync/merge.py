"""Field-level three-way merge of an update against what others changed since its base.

The policy table (documented in docs/sync.md):

=================  ===========================================================
field              policy
=================  ===========================================================
``photos``         union of sha256 strings, order kept, never removed by sync
``tags``           union, as photos
``notes``          union of note objects matched by ``id``
``status``         incident state machine (:mod:`sync.incident`), not merged
everything else    later arrival wins; a clash with another device's change to a
                   different value is a *hard* conflict and both values are kept
=================  ===========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.records import LIST_FIELDS


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
    device's own earlier ops are never concurrent with its later ones (PROTOCOL rule 5).

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
    skip: Iterable[str] = ("status",),
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
        if name in LIST_FIELDS:
            value = union(current.get(name), value)
        elif name not in skipped and name in concurrent and current.get(name) != value:
            out.clashes.append(name)
        if data.get(name) != value:
            data[name] = value
            out.changed.add(name)
    return out
