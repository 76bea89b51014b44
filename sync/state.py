"""The in-memory working set of one push: records, their history, and what to write.

The server loads it in a few set-based queries, :mod:`sync.apply` changes it op by op,
and the server writes back what changed in one statement per table.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sync.incident import Actor


@dataclass
class RecordState:
    entity: str
    id: str
    version: int
    data: dict[str, Any]
    deleted: bool = False
    grid_id: int | None = None
    grid_code: str | None = None
    match: str | None = None
    conflict: str | None = None
    created_by: int | None = None
    created_device: str | None = None
    due_at: datetime | None = None
    status_since: datetime | None = None
    is_new: bool = False
    rural: bool = False


@dataclass(frozen=True)
class VersionRow:
    record_id: str
    version: int
    data: dict[str, Any]
    deleted: bool
    changed: tuple[str, ...]
    user_id: int | None
    device_id: str | None
    op_id: str | None


@dataclass
class ConflictRow:
    entity: str
    record_id: str
    grid_code: str | None
    code: str
    fields: list[str]
    base: dict[str, Any]
    current: dict[str, Any]
    incoming: dict[str, Any]
    base_version: int | None
    current_version: int | None
    incoming_user_id: int | None
    incoming_device: str | None
    current_user_id: int | None
    current_device: str | None
    op_id: str | None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class Placement:
    """Where an op's location fell: its WGS-84 point and matched grid."""

    lon: float
    lat: float
    grid_id: int | None
    grid_code: str | None
    match: str
    rural: bool = False


@dataclass(frozen=True)
class Author:
    user_id: int
    username: str
    device_id: str
    role: str


class Authority(Protocol):
    """The server's answer to "may this author touch that?" (docs/protocol.md, rule 10)."""

    # The departments an incident may be dispatched to; None: any name.
    departments: Collection[str] | None

    def may_create(self, entity: str, grid_code: str | None) -> bool: ...

    def may_modify(self, record: RecordState) -> bool: ...

    def actor(self, record: RecordState) -> Actor: ...


@dataclass
class Batch:
    records: dict[str, RecordState] = field(default_factory=dict)
    # Versions of each record from (at most) the oldest base in the push onwards.
    history: dict[str, list[VersionRow]] = field(default_factory=dict)
    versions: list[VersionRow] = field(default_factory=list)
    conflicts: list[ConflictRow] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)

    def add_version(self, row: VersionRow) -> None:
        self.versions.append(row)
        self.history.setdefault(row.record_id, []).append(row)
        self.touched.add(row.record_id)

    def version_at(self, record_id: str, version: int) -> VersionRow | None:
        for row in self.history.get(record_id, ()):
            if row.version == version:
                return row
        return None

    def since(self, record_id: str, version: int) -> list[VersionRow]:
        return [r for r in self.history.get(record_id, ()) if r.version > version]
