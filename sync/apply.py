"""Apply one op to the push's working set and say what happened (docs/protocol.md, rules 5–11)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sync import extension
from sync.incident import Actor, check_department, check_transition, due_at
from sync.merge import merge_update, others_changed
from sync.ops import Op
from sync.state import (
    Author,
    Authority,
    Batch,
    ConflictRow,
    Placement,
    RecordState,
    VersionRow,
)

Result = dict[str, Any]
# An inspection of these kinds brings its incident into being (issue 4, "Incidents").
INCIDENT_FROM_KIND = {"report": "reported", "handle": "self_handled"}
INCIDENT_FIELDS = ("category", "title", "description", "urgent", "location",
                   "location_accuracy_m", "photos")
INCIDENT_NS = uuid.UUID("6f1c3c8e-3c55-4d3e-9d2b-4b7f0f5d9e21")


def rejected(op_id: str | None, code: str, errors: dict[str, Any]) -> Result:
    return {"op_id": op_id, "status": "rejected", "code": code, "errors": errors}


def apply_op(op: Op, author: Author, authority: Authority, batch: Batch,
             placement: Placement | None, now: datetime) -> Result:
    """Apply ``op`` to ``batch`` and return its result (without ``missing_attachments``)."""
    if op.action == "create":
        return _create(op, author, authority, batch, placement, now)
    record = batch.records.get(op.id)
    if record is None or record.entity != op.entity:
        return rejected(op.op_id, "unknown_record", {"id": ["no such record on the server"]})
    if op.base_version > record.version:  # type: ignore[operator]
        return rejected(op.op_id, "base_ahead", {"base_version": [
            f"is {op.base_version} but the record is only at version {record.version}"]})
    if not authority.may_modify(record):
        return rejected(op.op_id, "forbidden", {"id": ["outside your grids or area"]})
    if op.action == "delete":
        return _delete(op, author, batch, record, now)
    return _update(op, author, authority, batch, record, placement, now)


def _result(op: Op, status: str, record: RecordState, **extra: Any) -> Result:
    out: Result = {"op_id": op.op_id, "status": status, "version": record.version,
                   "grid_code": record.grid_code, "match": record.match}
    out.update(extra)
    return out


def _place(record: RecordState, placement: Placement | None) -> None:
    if placement is None:
        return
    record.grid_id, record.grid_code, record.match = (
        placement.grid_id, placement.grid_code, placement.match)
    record.data["location"] = {"type": "Point", "coordinates": [placement.lon, placement.lat]}
    record.data.pop("location_datum", None)


def _version(batch: Batch, record: RecordState, changed: set[str] | list[str],
             author: Author, op: Op) -> None:
    batch.add_version(VersionRow(record.id, record.version, dict(record.data), record.deleted,
                                 tuple(sorted(changed)), author.user_id, author.device_id,
                                 op.op_id))


def _stamp_notes(data: dict[str, Any], author: Author, now: datetime) -> None:
    """The server adds ``by`` to notes it has not seen before."""
    for note in data.get("notes") or ():
        if isinstance(note, dict):
            note.setdefault("by", author.username)
            note.setdefault("at", now.isoformat())


def _set_status_clock(record: RecordState, now: datetime, rural: bool = False) -> None:
    status = record.data.get("status")
    record.status_since = now
    record.due_at = due_at(status, bool(record.data.get("urgent")), now, rural=rural)


def _create(op: Op, author: Author, authority: Authority, batch: Batch,
            placement: Placement | None, now: datetime) -> Result:
    if op.id in batch.records:
        return rejected(op.op_id, "validation", {"id": ["a record with this id already exists"]})
    if op.entity == "household" and placement is None:
        return rejected(op.op_id, "validation",
                        {"data.location": ["a household needs a location to find its grid"]})
    grid_code = placement.grid_code if placement else None
    if not authority.may_create(op.entity, grid_code):
        return rejected(op.op_id, "forbidden", {"data.location": ["outside your grids or area"]})
    data = dict(op.data)
    if op.entity == "incident":
        # A new incident has no department: only a dispatch gives it one.
        refusal = check_department(None, data, None, Actor(author.role), authority.departments)
        if refusal:
            return rejected(op.op_id, refusal[0], {"data.department": [refusal[1]]})
        status = data.setdefault("status", "reported")
        if status not in ("reported", "self_handled"):
            return rejected(op.op_id, "validation",
                            {"data.status": ["a new incident is reported or self_handled"]})
    record = RecordState(op.entity, op.id, 1, data, created_by=author.user_id,
                         created_device=author.device_id, is_new=True,
                         rural=bool(placement and placement.rural))
    _place(record, placement)
    _stamp_notes(record.data, author, now)
    if op.entity == "incident":
        _set_status_clock(record, now, bool(placement and placement.rural))
    extra: dict[str, Any] = {}
    if op.entity == "inspection" and data.get("kind") in INCIDENT_FROM_KIND:
        incident = _incident_from(record, author, batch, placement, now)
        extra["incident_id"] = incident.id
    batch.records[op.id] = record
    _version(batch, record, set(record.data), author, op)
    if record.grid_code is None and "location" in record.data:
        extra["review"] = "outside_grids"
    return _result(op, "applied", record, **extra)


def _incident_from(inspection: RecordState, author: Author, batch: Batch,
                   placement: Placement | None, now: datetime) -> RecordState:
    data = inspection.data
    incident_id = data.get("incident_id") or str(uuid.uuid5(INCIDENT_NS, inspection.id))
    data["incident_id"] = incident_id
    existing = batch.records.get(incident_id)
    if existing is not None:
        return existing
    fields = {k: data[k] for k in INCIDENT_FIELDS if k in data}
    fields.setdefault("description", data.get("note"))
    fields.setdefault("title", data.get("category") or (data.get("note") or "")[:40])
    fields.update(status=INCIDENT_FROM_KIND[data["kind"]], notes=[], inspection_id=inspection.id)
    incident = RecordState("incident", incident_id, 1, fields, created_by=author.user_id,
                           created_device=author.device_id, is_new=True,
                           grid_id=inspection.grid_id, grid_code=inspection.grid_code,
                           match=inspection.match)
    _set_status_clock(incident, now, bool(placement and placement.rural))
    batch.records[incident_id] = incident
    batch.add_version(VersionRow(incident_id, 1, dict(fields), False, tuple(sorted(fields)),
                                 author.user_id, author.device_id, None))
    return incident


def _conflict(op: Op, author: Author, batch: Batch, record: RecordState, code: str,
              fields: list[str], base: dict[str, Any], current_by: VersionRow | None) -> ConflictRow:
    names = list(op.data) or fields
    row = ConflictRow(
        entity=record.entity, record_id=record.id, grid_code=record.grid_code, code=code,
        fields=fields, base={k: base.get(k) for k in names},
        current={k: record.data.get(k) for k in names}, incoming=dict(op.data) or {"deleted": True},
        base_version=op.base_version, current_version=record.version,
        incoming_user_id=author.user_id, incoming_device=author.device_id,
        current_user_id=current_by.user_id if current_by else None,
        current_device=current_by.device_id if current_by else None, op_id=op.op_id)
    batch.conflicts.append(row)
    return row


def _last_other(since: list[VersionRow], device_id: str, fields: set[str]) -> VersionRow | None:
    for row in reversed(since):
        if row.device_id != device_id and (not fields or fields & set(row.changed)):
            return row
    return since[-1] if since else None


def _update(op: Op, author: Author, authority: Authority, batch: Batch,
            record: RecordState, placement: Placement | None, now: datetime) -> Result:
    base_row = batch.version_at(record.id, op.base_version)  # type: ignore[arg-type]
    base = base_row.data if base_row else {}
    since = batch.since(record.id, op.base_version)  # type: ignore[arg-type]
    if record.deleted:
        row = _conflict(op, author, batch, record, "record_deleted", sorted(op.data), base,
                        _last_other(since, author.device_id, set()))
        return _result(op, "conflict", record, code="record_deleted", conflict_id=row.id)
    if (record.entity == "household" and placement is not None
            and placement.grid_code != record.grid_code
            and not authority.may_create("household", placement.grid_code)):
        # Moving a household is creating it again elsewhere: the same scope holds.
        return rejected(op.op_id, "forbidden", {"data.location": ["outside your grids or area"]})
    new_status = op.data.get("status")
    status_changes = (record.entity == "incident" and new_status is not None
                      and new_status != record.data.get("status"))
    if status_changes:
        # Who may act is decided by the department the incident has, never by one the
        # op names (only a dispatch may name one: check_department below).
        verdict = check_transition(record.data.get("status"), new_status,
                                   authority.actor(record), record.data.get("department"))
        if verdict == "forbidden":
            return rejected(op.op_id, "forbidden",
                            {"data.status": [f"your role may not move it to {new_status}"]})
        if verdict == "illegal_transition":
            row = _conflict(op, author, batch, record, "illegal_transition", ["status"], base,
                            _last_other(since, author.device_id, {"status"}))
            return _result(op, "conflict", record, code="illegal_transition", conflict_id=row.id)
    if record.entity == "incident":
        refusal = check_department(record.data.get("status"), op.data,
                                   record.data.get("department"), authority.actor(record),
                                   authority.departments)
        if refusal:
            return rejected(op.op_id, refusal[0], {"data.department": [refusal[1]]})
    incoming = dict(op.data)
    if record.entity == "incident" and "extension" in incoming:
        refusal = _extension(incoming, author, authority, record, now)
        if refusal:
            return rejected(op.op_id, refusal[0], {"data.extension": [refusal[1]]})
    concurrent = others_changed(((r.device_id, r.changed) for r in since), author.device_id)
    outcome = merge_update(base, record.data, incoming, concurrent)
    if not outcome.changed:
        return _result(op, "applied", record)
    current_by = _last_other(since, author.device_id, set(outcome.clashes))
    current_before = dict(record.data)
    record.data = outcome.data
    record.version += 1
    _stamp_notes(record.data, author, now)
    if "location" in outcome.changed or "location_datum" in incoming:
        _place(record, placement)
    if status_changes:
        _set_status_clock(record, now, placement.rural if placement else record.rural)
    granted = record.data.get("extension") if "extension" in outcome.changed else None
    if granted and granted.get("status") == "approved":
        record.due_at = extension.extended_due(record.due_at, granted["minutes"], now)
    _version(batch, record, outcome.changed, author, op)
    extra: dict[str, Any] = {}
    if outcome.clashes:
        record.conflict = "hard"
        snapshot = RecordState(record.entity, record.id, record.version - 1, current_before,
                               grid_code=record.grid_code)
        row = _conflict(op, author, batch, snapshot, "concurrent_edit", outcome.clashes, base,
                        current_by)
        row.current_version = record.version - 1
        extra = {"code": "concurrent_edit", "conflict_id": row.id}
    elif outcome.merged and record.conflict is None:
        record.conflict = "soft"
    return _result(op, outcome.status, record, **extra)


def _extension(incoming: dict[str, Any], author: Author, authority: Authority,
               record: RecordState, now: datetime) -> tuple[str, str] | None:
    """Check a request for more time, or a decision on one, and stamp who and when."""
    new, old = incoming["extension"], record.data.get("extension")
    if new == old:
        return None
    department = incoming.get("department") or record.data.get("department")
    refusal = extension.check(new, old, incoming.get("status") or record.data.get("status"),
                              authority.actor(record), department)
    if refusal is None:
        incoming["extension"] = extension.stamp(new, old, author.username, now)
    return refusal


def _delete(op: Op, author: Author, batch: Batch, record: RecordState, now: datetime) -> Result:
    if record.deleted:
        return _result(op, "applied", record)
    since = batch.since(record.id, op.base_version)  # type: ignore[arg-type]
    concurrent = others_changed(((r.device_id, r.changed) for r in since), author.device_id)
    if concurrent:
        base_row = batch.version_at(record.id, op.base_version)  # type: ignore[arg-type]
        row = _conflict(op, author, batch, record, "stale_delete", sorted(concurrent),
                        base_row.data if base_row else {},
                        _last_other(since, author.device_id, concurrent))
        return _result(op, "conflict", record, code="stale_delete", conflict_id=row.id)
    record.deleted = True
    record.version += 1
    _version(batch, record, ["deleted"], author, op)
    return _result(op, "applied", record)
