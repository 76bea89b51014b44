"""Parsing and validating the ops a device pushes.

An op is checked in two steps: its envelope (``op_id``, ``device_seq``, ``entity``…) and
then its ``data`` for the entity. Whatever can be read of ``op_id`` and ``device_seq`` is
kept even when the op is invalid, because a rejected op still uses up its
``device_seq`` (docs/protocol.md, rule 4). Bad values anywhere in the op (:mod:`sync.values`)
reject it too, with their paths in ``errors``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sync.records import ENTITIES, SERVER_OWNED, validate_data
from sync.values import MAX_SAFE_INTEGER, deep_fingerprint, value_errors

ACTIONS = ("create", "update", "delete")
Errors = dict[str, list[str]]


@dataclass(frozen=True)
class Op:
    """One change a device made offline, as it arrived."""

    op_id: str
    device_seq: int
    entity: str
    id: str
    action: str
    base_version: int | None
    data: dict[str, Any] = field(default_factory=dict)
    recorded_at: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class ParsedOp:
    """The outcome of parsing: an :class:`Op`, or errors with what could be salvaged."""

    op: Op | None
    errors: Errors
    op_id: str | None
    device_seq: int | None
    fingerprint: str


def fingerprint(raw: Any) -> str:
    """Hash an op's content so a resend can be told from a reuse of its ``op_id``.

    Key order and whitespace do not matter:

    >>> fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    True
    >>> fingerprint({"a": 1}) == fingerprint({"a": 2})
    False
    """
    try:
        canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        # Nested beyond what json.dumps can walk: such an op is refused anyway.
        return deep_fingerprint(raw)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _uuid(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _positive_int(value: Any) -> int | None:
    # Above 2^53 - 1 the device could not have counted to it (and a bigint may not hold it).
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SAFE_INTEGER:
        return None
    return value


def parse_op(raw: Any, now: datetime | None = None) -> ParsedOp:
    """Validate one op from a push; ``now`` (default: the clock) bounds device times.

    Examples
    --------
    >>> p = parse_op({"op_id": "0b0e5c1e-9a3b-4f7e-8d53-3f1f3c3b2a10", "device_seq": 1,
    ...               "entity": "inspection", "id": "7d3f1b2a-1c4e-4b7a-9a53-0f1f3c3b2a11",
    ...               "action": "create", "base_version": None,
    ...               "data": {"kind": "patrol", "occurred_at": "2026-11-23T08:15:00+08:00"}})
    >>> p.errors, p.op.entity
    ({}, 'inspection')
    >>> bad = parse_op({"op_id": "nope", "device_seq": 3, "entity": "cat"})
    >>> sorted(bad.errors), bad.device_seq
    (['action', 'entity', 'id', 'op_id'], 3)
    >>> huge = parse_op({"op_id": p.op_id, "device_seq": 2**63, "entity": "incident",
    ...                  "id": p.op.id, "action": "create", "recorded_at": "yesterday-ish"})
    >>> huge.device_seq, sorted(huge.errors)
    (None, ['device_seq', 'recorded_at'])
    """
    if not isinstance(raw, dict):
        return ParsedOp(None, {"op": ["must be an object"]}, None, None, fingerprint(raw))
    # The slot (device_seq) is not content: a backup restored on another phone resends the
    # same op in a new slot, and that is a duplicate, not a reuse of the op_id.
    fp = fingerprint({k: v for k, v in raw.items() if k != "device_seq"})
    errors: Errors = {}
    op_id = _uuid(raw.get("op_id"))
    if op_id is None:
        errors["op_id"] = ["must be a UUID string"]
    seq = _positive_int(raw.get("device_seq"))
    if seq is None:
        errors["device_seq"] = [f"must be an integer from 1 to {MAX_SAFE_INTEGER}"]
    entity, action = raw.get("entity"), raw.get("action")
    if entity not in ENTITIES:
        errors["entity"] = [f"must be one of {', '.join(ENTITIES)}"]
    if action not in ACTIONS:
        errors["action"] = [f"must be one of {', '.join(ACTIONS)}"]
    record_id = _uuid(raw.get("id"))
    if record_id is None:
        errors["id"] = ["must be a UUID string"]
    base = raw.get("base_version")
    if action == "create" and base is not None:
        errors["base_version"] = ["must be null for a create"]
    elif action in ("update", "delete") and _positive_int(base) is None:
        errors["base_version"] = [
            f"must be an integer from 1 to {MAX_SAFE_INTEGER} for an update or delete"]
    recorded_at = raw.get("recorded_at")  # checked with the other device times below
    data = raw.get("data", {})
    if data is None and action == "delete":
        data = {}
    if not isinstance(data, dict):
        errors["data"] = ["must be an object"]
    elif entity in ENTITIES and action in ACTIONS:
        data = {k: v for k, v in data.items() if k not in SERVER_OWNED}
        for name, msgs in validate_data(entity, action, data).items():
            errors[f"data.{name}"] = msgs
    for path, msgs in value_errors(raw, now or datetime.now(UTC)).items():
        errors[path] = [*errors.get(path, []), *(m for m in msgs if m not in errors.get(path, []))]
    if errors:
        return ParsedOp(None, errors, op_id, seq, fp)
    op = Op(op_id, seq, entity, record_id, action, base, data, recorded_at, fp)  # type: ignore[arg-type]
    return ParsedOp(op, {}, op_id, seq, fp)
