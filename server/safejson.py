"""Reading stored JSON that Python's ``json`` cannot: every ``json``/``jsonb`` value the
database returns goes through :func:`loads` (the engine's ``json_deserializer``).

``jsonb`` holds numbers of any size and nesting as deep as PostgreSQL's stack allows,
and records stored before push validated them (or by an old client) may carry either.
``json.loads`` then returns ``inf`` for ``1e400`` (which Flask writes as ``Infinity``, not
JSON: a browser's ``JSON.parse`` fails on the whole pull), raises on an integer of more
than 4,300 digits, and raises ``RecursionError`` beyond ~1,000 levels; any of these made
every read that touched the record a 500 for everyone who could see it.

The common case is ``orjson.loads`` (four times faster than ``json.loads`` on a
10,000-point track, so reads got cheaper, not dearer). It refuses, instead of
misreading, a number beyond a double and nesting beyond 1,024 levels; such a value is
read by :func:`careful_loads` instead, where numbers a double cannot hold become
``null`` and anything nested deeper than :data:`MAX_DEPTH` (254) levels becomes
``null`` (nesting Flask could not write out, even where orjson reads it), as an
unreadable value does elsewhere (``gp_track_geom``). Like JavaScript, orjson reads an
integer beyond 64 bits as a float; push refuses integers beyond ±(2^53 − 1) anyway.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

# Deeper than this reads as null. orjson reads up to 1,024 levels, but Flask's json.dumps
# fails (RecursionError) well before that, and orjson.dumps refuses 255 levels, which
# makes it a cheap probe. PROTOCOL refuses more than 32 levels inside data at push.
MAX_DEPTH = 254
_TOKEN = re.compile(r"""\s*(?:("[^"\\]*(?:\\.[^"\\]*)*")|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"""
                    r"""|(true|false|null)|([{}\[\],:]))""", re.S)
_LITERALS = {"true": True, "false": False, "null": None}


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """orjson's reading, or :func:`careful_loads` when orjson refuses the value.

    >>> loads(b'{"a": [1, 2.5, "x"]}')
    {'a': [1, 2.5, 'x']}
    >>> loads(b'{"acc": 1' + b'0' * 400 + b'.5, "n": 2}')
    {'acc': None, 'n': 2}
    >>> deep, depth = loads(b'[' * 3000 + b']' * 3000), 0
    >>> while isinstance(deep, list):
    ...     deep, depth = deep[0], depth + 1
    >>> depth, deep
    (254, None)
    """
    raw = bytes(data) if isinstance(data, memoryview | bytearray) else data
    try:
        value = orjson.loads(raw)
        # Only a value with that many brackets can be that deep (a long track has them).
        opened = raw.count(b"[") + raw.count(b"{") if isinstance(raw, bytes) else (
            raw.count("[") + raw.count("{"))
        if opened > MAX_DEPTH:
            orjson.dumps(value)  # raises beyond MAX_DEPTH levels
        return value
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return careful_loads(raw.decode() if isinstance(raw, bytes) else raw)


def _number(token: str) -> float | int | None:
    """A JSON number as Python reads it, or ``None`` when a double cannot hold it.

    >>> _number("12"), _number("-1.5"), _number("1e400"), _number("9" * 5000)
    (12, -1.5, None, None)
    """
    if any(c in token for c in ".eE"):
        value = float(token)
        return value if math.isfinite(value) else None
    return int(token) if len(token) <= 308 else None


def careful_loads(text: str, max_depth: int = MAX_DEPTH) -> Any:
    r"""Parse JSON without recursion; too-large numbers and too-deep values become ``None``.

    The input is PostgreSQL's own rendering of a ``json``/``jsonb`` value, so it is
    well-formed.

    >>> careful_loads('{"a": {"b": [1, {"c": 2}]}, "d": "}x\\"", "e": [true, null]}')
    {'a': {'b': [1, {'c': 2}]}, 'd': '}x"', 'e': [True, None]}
    >>> careful_loads('{"a": {"b": {"c": 1}}, "z": 1e999, "y": 2}', max_depth=2)
    {'a': {'b': None}, 'z': None, 'y': 2}
    >>> careful_loads('[[[[]]], 1]', max_depth=1), careful_loads('"x"'), careful_loads('5')
    ([None, 1], 'x', 5)
    """
    result: Any = None
    stack: list[tuple[Any, list[Any]]] = []  # open containers, each with its pending key
    expect_key = False
    skipping = 0  # depth inside a value that is too deep to keep

    def put(value: Any) -> None:
        nonlocal result
        if not stack:
            result = value
        elif isinstance(stack[-1][0], list):
            stack[-1][0].append(value)
        else:
            stack[-1][0][stack[-1][1][0]] = value

    for m in _TOKEN.finditer(text):
        string, number, literal, punct = m.groups()
        if skipping:
            if punct in ("{", "["):
                skipping += 1
            elif punct in ("}", "]"):
                skipping -= 1
                if not skipping:
                    put(None)
            continue
        if string is not None:
            value = json.loads(string)
            if expect_key:
                stack[-1][1][0] = value
                expect_key = False
            else:
                put(value)
        elif number is not None:
            put(_number(number))
        elif literal is not None:
            put(_LITERALS[literal])
        elif punct in ("{", "["):
            if len(stack) >= max_depth:
                skipping = 1
                continue
            container: Any = {} if punct == "{" else []
            put(container)
            stack.append((container, [None]))
            expect_key = punct == "{"
        elif punct in ("}", "]"):
            stack.pop()
            expect_key = False
        elif punct == ",":
            expect_key = bool(stack) and isinstance(stack[-1][0], dict)
    return result
