"""Bad values in an op (PROTOCOL v1.1 "Bad values in an op"), whatever its entity.

Every check here is about a *value*, not about a record's shape (that is
:mod:`sync.records`): a value that JavaScript, PostgreSQL or PostGIS cannot hold the same
way the device meant it. Such an op is ``rejected`` with code ``validation`` and errors
keyed by the value's path (``data.notes[0].text``, ``device_seq``…); the other ops of the
push go on (rule 3). Catching these here, before anything is written, is what keeps one
op from failing a whole push with a database error.

The walk over an op is iterative, so a body nested 1,000 deep (which orjson still
parses) costs no Python recursion; it stops looking below the depth limit.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

Errors = dict[str, list[str]]

# JavaScript's Number.MAX_SAFE_INTEGER: the PWA could not even read a larger integer back.
MAX_SAFE_INTEGER = 2**53 - 1
# Objects and lists inside ``data``: ``data``'s own fields are at level 1.
MAX_DEPTH = 32
ACCURACY_MAX_M = 100_000
ALTITUDE_M = (-1_000, 100_000)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
# RFC 3339 ``date-time`` (section 5.6): ``datetime.fromisoformat`` alone also takes
# ISO 8601 forms a device must not send (``20261123T0815+0800``, week dates, no seconds).
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def coordinate_error(position: Any) -> str | None:
    """Why a GeoJSON position ``[lon, lat]`` or ``[lon, lat, altitude]`` is refused.

    Examples
    --------
    >>> coordinate_error([118.7, 32.0, 12.5]) is None
    True
    >>> coordinate_error([181, 32.0])
    'longitude must be within ±180'
    >>> coordinate_error([118.7, 5e-324])
    'a coordinate must not be a subnormal number'
    >>> coordinate_error([118.7, 32.0, -20000])
    'altitude must be from -1000 to 100000 m'
    >>> coordinate_error([118.7, float("inf")])
    'coordinates must be finite numbers'
    """
    if not isinstance(position, list | tuple) or len(position) not in (2, 3):
        return "a position is [lon, lat] or [lon, lat, altitude]"
    if not all(_number(c) and math.isfinite(c) for c in position):
        return "coordinates must be finite numbers"
    if any(0 < abs(c) < sys.float_info.min for c in position):
        return "a coordinate must not be a subnormal number"
    if not -180 <= position[0] <= 180:
        return "longitude must be within ±180"
    if not -90 <= position[1] <= 90:
        return "latitude must be within ±90"
    if len(position) == 3 and not ALTITUDE_M[0] <= position[2] <= ALTITUDE_M[1]:
        return f"altitude must be from {ALTITUDE_M[0]} to {ALTITUDE_M[1]} m"
    return None


def accuracy_error(value: Any) -> str | None:
    """Why a ``location_accuracy_m`` is refused.

    >>> accuracy_error(12.5), accuracy_error(-1), accuracy_error(100_001)
    (None, 'must be a number from 0 to 100000', 'must be a number from 0 to 100000')
    """
    ok = _number(value) and math.isfinite(value) and 0 <= value <= ACCURACY_MAX_M
    return None if ok else f"must be a number from 0 to {ACCURACY_MAX_M}"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time with an offset as an aware datetime; ``None`` if it is not one.

    >>> parse_time("2026-11-23T08:15:00+08:00").isoformat()
    '2026-11-23T08:15:00+08:00'
    >>> parse_time("2026-11-23T00:15:00.123Z").year
    2026
    >>> [parse_time(v) for v in ("yesterday-ish", "2026-11-23T08:15:00", "20261123T081500Z")]
    [None, None, None]
    """
    if not isinstance(value, str) or not RFC3339.match(value):
        return None
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:  # a 13th month, a 25th hour, a leap second
        return None


def time_error(value: Any, now: datetime) -> str | None:
    """Why a device time is refused: not RFC 3339 with an offset, before 2000, or more
    than a day after ``now`` (the server's clock, passed in).

    >>> now = datetime(2026, 11, 23, tzinfo=UTC)
    >>> time_error("2026-11-23T08:15:00+08:00", now) is None
    True
    >>> time_error("yesterday-ish", now)
    'must be an RFC 3339 time with an offset'
    >>> time_error("1999-12-31T23:59:59Z", now)
    'must not be before 2000'
    >>> time_error("2026-11-24T00:00:01Z", now)
    'must not be more than a day in the future'
    """
    at = parse_time(value)
    if at is None:
        return "must be an RFC 3339 time with an offset"
    if at < EARLIEST:
        return "must not be before 2000"
    if at > now + FUTURE_SLACK:
        return "must not be more than a day in the future"
    return None


def _geometry(kind: str) -> Callable[[Any], str | None]:
    """The coordinates of a GeoJSON geometry of ``kind``; its shape is sync.records'."""
    def check(value: Any) -> str | None:
        if not isinstance(value, dict) or value.get("type") != kind:
            return None
        coords = value.get("coordinates")
        positions = [coords] if kind == "Point" else coords
        for i, position in enumerate(positions if isinstance(positions, list) else ()):
            message = coordinate_error(position)
            if message:
                return message if kind == "Point" else f"position {i}: {message}"
        return None
    return check


# Where in an op each value class is found, and its rule. A path's value is checked only
# when present and not null; whether it is required is sync.records' business.
TIME_PATHS = ("recorded_at", "data.occurred_at", "data.started_at", "data.ended_at")
VALUE_RULES: dict[str, Callable[[Any], str | None]] = {
    "data.location": _geometry("Point"),
    "data.track": _geometry("LineString"),
    "data.location_accuracy_m": accuracy_error,
}


NUL = "must not contain a NUL character"
NUL_KEY = "a key must not contain a NUL character"
DEEP = f"must not be nested more than {MAX_DEPTH} levels deep"


def _key(path: str, key: Any) -> str:
    # A path is echoed in errors and stored with the result: it must not carry the NUL.
    name = str(key).replace("\x00", "\\u0000")
    return f"{path}.{name}" if path else name


def _walk(raw: Any) -> Iterator[tuple[str, str]]:
    """``(path, message)`` for NULs, unsafe integers and nesting too deep, anywhere."""
    stack: list[tuple[str, Any, int]] = [("", raw, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                yield path or "op", NUL
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
                yield path or "op", f"must be an integer within ±{MAX_SAFE_INTEGER}"
        elif isinstance(value, dict | list):
            # The op and its own fields (``data``) are level 0; what is inside ``data``
            # counts from 1, and so does anything inside another field of the op.
            top = "." not in path and "[" not in path
            level = depth if top else depth + 1
            if level > MAX_DEPTH:
                yield re.split(r"[.\[]", path, maxsplit=1)[0], DEEP
                continue  # nothing below is looked at, so a deep body costs little
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for k, v in items:
                if isinstance(value, dict):
                    if isinstance(k, str) and "\x00" in k:
                        yield path or "op", NUL_KEY
                    child = _key(path, k)
                else:
                    child = f"{path}[{k}]"
                stack.append((child, v, level))


def _at(raw: dict[str, Any], path: str) -> Any:
    value: Any = raw
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def value_errors(raw: Any, now: datetime) -> Errors:
    """Errors, by path, for every bad value in an op as it arrived; empty when none.

    Examples
    --------
    >>> now = datetime(2026, 11, 23, tzinfo=UTC)
    >>> op = {"device_seq": 2**63, "recorded_at": "yesterday-ish",
    ...       "data": {"n\\x00te": "x", "location": {"type": "Point",
    ...                                                "coordinates": [118.7, 5e-324]}}}
    >>> for path, messages in sorted(value_errors(op, now).items()):
    ...     print(path, messages)
    data ['a key must not contain a NUL character']
    data.location ['a coordinate must not be a subnormal number']
    device_seq ['must be an integer within ±9007199254740991']
    recorded_at ['must be an RFC 3339 time with an offset']
    >>> deep: dict = {}
    >>> node = deep
    >>> for _ in range(1000):
    ...     node["x"] = {}
    ...     node = node["x"]
    >>> value_errors({"data": deep}, now)
    {'data': ['must not be nested more than 32 levels deep']}
    >>> value_errors({"data": {"a": [[1]]}, "recorded_at": None}, now)
    {}
    """
    errors: Errors = {}

    def add(path: str, message: str) -> None:
        messages = errors.setdefault(path, [])
        if message not in messages:
            messages.append(message)

    for path, message in _walk(raw):
        add(path, message)
    if not isinstance(raw, dict):
        return errors
    for path in TIME_PATHS:
        value = _at(raw, path)
        if value is not None and (problem := time_error(value, now)):
            add(path, problem)
    for path, rule in VALUE_RULES.items():
        value = _at(raw, path)
        if value is not None and (problem := rule(value)):
            add(path, problem)
    return errors


def deep_fingerprint(raw: Any) -> str:
    """A content hash for an op too deep for ``json.dumps``, computed without recursion.

    It only has to tell a resend of such an op from another op: such an op is refused,
    never stored in full, so its hash is never compared with one made by ``json.dumps``.

    >>> deep_fingerprint({"a": [1, {"b": 2}]}) == deep_fingerprint({"a": [1, {"b": 2}]})
    True
    >>> deep_fingerprint({"a": [1]}) == deep_fingerprint({"a": [[1]]})
    False
    """
    digest = hashlib.sha256(b"deep:")
    stack: list[Any] = [raw]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            digest.update(b"{")
            stack.append(_Close(b"}"))
            for k in sorted(value, key=str, reverse=True):
                stack.append(value[k])
                stack.append(_Key(str(k)))
        elif isinstance(value, list):
            digest.update(b"[")
            stack.append(_Close(b"]"))
            stack.extend(reversed(value))
        elif isinstance(value, _Close):
            digest.update(value.mark)
        elif isinstance(value, _Key):
            digest.update(b"k" + json.dumps(value.name).encode() + b":")
        else:
            digest.update(json.dumps(value).encode() + b",")
    return digest.hexdigest()


class _Close:
    def __init__(self, mark: bytes) -> None:
        self.mark = mark


class _Key:
    def __init__(self, name: str) -> None:
        self.name = name


ENVELOPE = ("op_id", "device_seq", "entity", "id", "action", "base_version", "recorded_at")


def loggable(raw: Any) -> Any:
    """What of a refused op may be stored in the op log.

    An op with a NUL (which ``jsonb`` and ``text`` cannot hold) or nested too deep is
    kept as its envelope, without the bad values, and the paths of what was wrong; any
    other op is stored as it came.

    >>> loggable({"op_id": "x", "entity": "in\\x00", "data": {"a": "\\x00"}})
    {'op_id': 'x', 'refused': ['data.a', 'entity']}
    >>> loggable({"op_id": "x", "data": {}})
    {'op_id': 'x', 'data': {}}
    """
    unstorable = sorted({path for path, message in _walk(raw) if message in (NUL, NUL_KEY, DEEP)})
    if not unstorable:
        return raw
    envelope = {k: raw.get(k) for k in ENVELOPE if k in raw} if isinstance(raw, dict) else {}
    clean = {k: v for k, v in envelope.items()
             if not (isinstance(v, str) and "\x00" in v)
             and not (isinstance(v, int) and abs(v) > MAX_SAFE_INTEGER)}
    return {**clean, "refused": unstorable}
