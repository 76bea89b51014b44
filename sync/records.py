"""What a valid inspection, incident and household looks like on the wire.

Only the core fields of docs/protocol.md "Records" are checked; other fields are allowed and
kept, because forms grow faster than servers are upgraded.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from sync.values import accuracy_error, coordinate_error, parse_time

ENTITIES = ("inspection", "incident", "household")
INSPECTION_KINDS = ("patrol", "visit", "record", "handle", "report")
INCIDENT_STATUSES = (
    "reported", "accepted", "rejected", "filed", "dispatched", "handled", "verified",
    "closed", "returned", "shelved", "void", "self_handled",
)
DATUMS = ("wgs84", "cgcs2000", "gcj02", "bd09")
SERVER_OWNED = frozenset(
    {"version", "grid_code", "match", "created_by", "created_at", "updated_at",
     "conflict", "due_at", "deleted", "grid_version"}
)
MAX_TEXT = 4000
SHA256 = re.compile(r"^[0-9a-f]{64}$")

Check = Callable[[Any], str | None]


def is_rfc3339(value: Any) -> bool:
    """True for an RFC 3339 timestamp that carries an offset.

    >>> is_rfc3339("2026-11-23T08:15:00+08:00"), is_rfc3339("2026-11-23T08:15:00Z")
    (True, True)
    >>> is_rfc3339("2026-11-23 08:15"), is_rfc3339(1700000000), is_rfc3339("2026-W48-1T08:15Z")
    (False, False, False)
    """
    return parse_time(value) is not None


def _time(v: Any) -> str | None:
    return None if is_rfc3339(v) else "must be an RFC 3339 time with an offset"


def _text(v: Any) -> str | None:
    if not isinstance(v, str):
        return "must be a string"
    return None if len(v) <= MAX_TEXT else f"must be at most {MAX_TEXT} characters"


def _uuid(v: Any) -> str | None:
    try:
        uuid.UUID(v)
    except (TypeError, ValueError, AttributeError):
        return "must be a UUID string"
    return None


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _lonlat(pair: Any) -> bool:
    return coordinate_error(pair) is None


def _point(v: Any) -> str | None:
    """A GeoJSON Point, ``[lon, lat]``.

    >>> _point({"type": "Point", "coordinates": [118.7, 32.0]}) is None
    True
    >>> _point({"type": "Point", "coordinates": [32.0, 118.7]})
    'must be a GeoJSON Point with [lon, lat] in range'
    """
    if isinstance(v, dict) and v.get("type") == "Point" and _lonlat(v.get("coordinates")):
        return None
    return "must be a GeoJSON Point with [lon, lat] in range"


def _linestring(v: Any) -> str | None:
    coords = v.get("coordinates") if isinstance(v, dict) else None
    if (isinstance(v, dict) and v.get("type") == "LineString" and isinstance(coords, list)
            and len(coords) >= 1 and all(_lonlat(c) for c in coords)):
        return None
    return "must be a GeoJSON LineString of [lon, lat] positions"


def _photos(v: Any) -> str | None:
    if isinstance(v, list) and all(isinstance(h, str) and SHA256.match(h) for h in v):
        return None
    return "must be a list of lowercase sha256 hex strings"


def _notes(v: Any) -> str | None:
    if not isinstance(v, list):
        return "must be a list of {id, text, at} objects"
    for note in v:
        if not isinstance(note, dict) or _uuid(note.get("id")) or _text(note.get("text")):
            return "each note needs a UUID id and a text"
        if "at" in note and note["at"] is not None and not is_rfc3339(note["at"]):
            return "a note's at must be an RFC 3339 time"
    return None


def _tags(v: Any) -> str | None:
    ok = isinstance(v, list) and all(isinstance(t, str) and len(t) <= 100 for t in v)
    return None if ok else "must be a list of strings"


def _members(v: Any) -> str | None:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return None
    return None if isinstance(v, list) else "must be a count or a list of people"


def _extension(v: Any) -> str | None:
    from sync.extension import validate

    return validate(v)


def _one_of(choices: tuple[str, ...]) -> Check:
    def check(v: Any) -> str | None:
        return None if v in choices else f"must be one of {', '.join(choices)}"
    return check


COMMON: dict[str, Check] = {
    "location": _point, "location_datum": _one_of(DATUMS),
    "location_accuracy_m": accuracy_error, "note": _text, "photos": _photos, "notes": _notes,
}
FIELDS: dict[str, dict[str, Check]] = {
    "inspection": {
        "kind": _one_of(INSPECTION_KINDS), "occurred_at": _time, "track": _linestring,
        "started_at": _time, "ended_at": _time, "household_id": _uuid, "incident_id": _uuid,
        "category": _text, "title": _text, "urgent": _bool, "description": _text,
    },
    "incident": {
        "category": _text, "title": _text, "description": _text, "urgent": _bool,
        "status": _one_of(INCIDENT_STATUSES), "department": _text,
        "extension": _extension,
    },
    "household": {
        "address": _text, "building": _text, "unit": _text, "room": _text,
        "head_name": _text, "phone": _text, "members": _members, "tags": _tags,
    },
}
REQUIRED_ON_CREATE = {"inspection": ("kind", "occurred_at"), "incident": (), "household": ()}


def validate_data(entity: str, action: str, data: dict[str, Any]) -> dict[str, list[str]]:
    """Per-field errors for an op's ``data``; empty when valid.

    >>> validate_data("inspection", "create", {"kind": "walk"})
    {'occurred_at': ['is required'], 'kind': ['must be one of patrol, visit, record, handle, report']}
    >>> validate_data("household", "update", {"phone": "13812345678", "extra": 1})
    {}
    """
    if action == "delete":
        return {}
    checks = {**COMMON, **FIELDS[entity]}
    errors: dict[str, list[str]] = {}
    if action == "create":
        for name in REQUIRED_ON_CREATE[entity]:
            if data.get(name) is None:
                errors[name] = ["is required"]
    for name, value in data.items():
        check = checks.get(name)
        if check is None or name in errors or value is None:
            continue
        message = check(value)
        if message:
            errors[name] = [message]
    if action == "update" and not data:
        errors["data"] = ["an update must change at least one field"]
    return errors
