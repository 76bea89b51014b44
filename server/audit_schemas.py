"""Marshmallow schemas of ``GET /api/v1/audit`` (the audit log, PROTOCOL v1.1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from marshmallow import ValidationError, fields, validate

from server.schemas import Strict

FIRST_YEAR, LAST_YEAR = 2000, 2100


def no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters")


class Instant(fields.Field):
    """An RFC 3339 date-time (a missing offset means the console's time zone) or a
    ``YYYY-MM-DD`` date; loads as a ``datetime`` or a ``date``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any
                     ) -> date | datetime:
        if not isinstance(value, str) or not 10 <= len(value) <= 40 or "\x00" in value:
            raise ValidationError("must be an RFC 3339 date-time or a YYYY-MM-DD date")
        try:
            out: date | datetime = (date.fromisoformat(value) if len(value) == 10
                                    else datetime.fromisoformat(value))
        except ValueError as exc:
            raise ValidationError("must be an RFC 3339 date-time or a YYYY-MM-DD date") \
                from exc
        if not FIRST_YEAR <= out.year <= LAST_YEAR:
            raise ValidationError(f"must lie between {FIRST_YEAR} and {LAST_YEAR}")
        return out


class AuditArgs(Strict):
    from_ = Instant(data_key="from", metadata={
        "description": "entries at or after this instant (a date: its start)",
        "type": "string", "example": "2026-12-01T08:00:00+08:00"})
    to = Instant(metadata={
        "description": "entries at or before this instant (a date: up to its end)",
        "type": "string", "example": "2026-12-01"})
    user = fields.String(validate=[validate.Length(1, 64), no_nul],
                         metadata={"description": "a username (as it was at the time)"})
    action = fields.String(validate=[validate.Length(1, 64), no_nul], metadata={
        "description": "an action such as desk.transition; `desk.*` for a prefix"})
    cursor = fields.String(validate=[validate.Length(1, 128), no_nul])
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 5000))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "csv: the same entries as CSV"})


class AuditEntry(Strict):
    seq = fields.Integer(metadata={"description": "place in the hash chain"})
    at = fields.DateTime()
    user = fields.String(allow_none=True, metadata={"description": "username at the time"})
    device_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    action = fields.String()
    object = fields.String(allow_none=True)
    result = fields.String(metadata={"description": "ok, or the refusal's code"})
    entity = fields.String(allow_none=True)
    record_ids = fields.List(fields.String())
    detail = fields.Dict()
    hash = fields.String(metadata={"description": "SHA-256 of the entry and its predecessor"})


class AuditPage(Strict):
    entries = fields.List(fields.Nested(AuditEntry), metadata={"description": "newest first"})
    cursor = fields.String(allow_none=True, metadata={"description": "pass back for more"})
    more = fields.Boolean()
