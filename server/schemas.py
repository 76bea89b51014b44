"""Marshmallow schemas: they load requests and dump responses, and make the OpenAPI spec."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from server.api.params import Instant
from server.models import ROLES
from server.textcheck import find_nul

# A GeoJSON FeatureCollection, as the spec describes the ones PostGIS writes.
FEATURE_COLLECTION = {"type": "object", "required": ["type", "features"], "properties": {
    "type": {"type": "string", "enum": ["FeatureCollection"]},
    "features": {"type": "array", "items": {"type": "object", "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {},
        "geometry": {"type": "object", "nullable": True},
        "properties": {"type": "object"}}}}}}


# One op of a push (docs/protocol.md "Sync: push"). Documentation only: the server reads ops as
# raw JSON so that a bad op is rejected alone, in its result, never the whole push.
MAX_SAFE_INTEGER = 2**53 - 1
OP_SCHEMA = {"type": "object", "required": [
    "op_id", "device_seq", "entity", "id", "action", "data"], "properties": {
    "op_id": {"type": "string", "format": "uuid", "description": "unique forever"},
    "device_seq": {"type": "integer", "minimum": 1, "maximum": MAX_SAFE_INTEGER},
    "entity": {"type": "string", "enum": ["inspection", "incident", "household"]},
    "id": {"type": "string", "format": "uuid"},
    "action": {"type": "string", "enum": ["create", "update", "delete"]},
    "base_version": {"type": "integer", "nullable": True, "minimum": 1,
                     "maximum": MAX_SAFE_INTEGER},
    "data": {"type": "object"},
    "recorded_at": {"type": "string", "format": "date-time"}}}


class Strict(Schema):
    """The base of every request and response schema.

    A request never carries a NUL character (PostgreSQL's text refuses it, so it would
    fail late as a 500): loading refuses one anywhere, keys included, with a 422 naming
    where. ``PushRequest`` opts out, because a bad op is rejected alone (rule 3).
    """

    refuse_nul = True

    class Meta:
        unknown = EXCLUDE

    @validates_schema(pass_original=True)
    def _no_nul(self, _data: Any, original: Any, **_kw: Any) -> None:
        if not self.refuse_nul:
            return
        where = find_nul(original)
        if where is not None:
            raise ValidationError("must not contain a NUL character", where or "_schema")


class UserSchema(Strict):
    username = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES))
    dept = fields.String(allow_none=True)
    grids = fields.List(fields.String())
    areas = fields.List(fields.String())


def _no_control(value: str) -> None:
    """NUL and other control characters are never part of a name, a device id or a
    password (PostgreSQL cannot even store NUL in text): a 422, not a 500."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError("must not contain control characters (such as NUL)")


def _text(low: int, high: int, **kw: Any) -> fields.String:
    return fields.String(validate=[validate.Length(low, high), _no_control], **kw)


class LoginSchema(Strict):
    username = _text(1, 64, required=True)
    password = _text(1, 1024, required=True)
    device_id = _text(1, 128, required=True)


class TokenSchema(Strict):
    token = fields.String()
    expires_at = fields.DateTime()
    user = fields.Nested(UserSchema)
    must_change_password = fields.Boolean(metadata={
        "description": "true after a one-time password: every other call answers 403 "
                       "password_change_required until POST /api/v1/auth/password"})


class PasswordChangeSchema(Strict):
    old = _text(1, 1024, required=True)
    new = fields.String(required=True, validate=validate.Length(1, 1024), metadata={
        "description": "at least 10 characters, at least two of letters, digits and "
                       "symbols, not a common password (else 422 weak_password)"})


class MeSchema(Strict):
    user = fields.Nested(UserSchema)


class BBoxArgs(Strict):
    bbox = fields.String(metadata={"description": "minlon,minlat,maxlon,maxlat (WGS-84)"})
    simplify = fields.Float(validate=validate.Range(0, 1000),
                            metadata={"description": "simplification tolerance in metres"})


class MatchRequest(Strict):
    points = fields.List(fields.List(fields.Raw()), required=True)
    datum = fields.String(load_default="wgs84",
                          validate=validate.OneOf(["wgs84", "cgcs2000", "gcj02", "bd09"]))


class MatchItem(Strict):
    code = fields.String(allow_none=True)
    match = fields.String()


class MatchResponse(Strict):
    matches = fields.List(fields.Nested(MatchItem))


class PushRequest(Strict):
    refuse_nul = False  # checked per op in sync/, so the other ops still apply

    device_id = fields.String(required=True, validate=validate.Length(1, 128))
    ops = fields.List(fields.Raw(allow_none=True, metadata=OP_SCHEMA), required=True, metadata={
        "description": "at most SYNC_MAX_OPS (500) ops, else 413; an invalid op is "
                       "rejected in its result, never the push"})


class OpResult(Strict):
    op_id = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(
        ["applied", "merged", "conflict", "duplicate", "held", "rejected"]))
    original_status = fields.String()
    code = fields.String()
    version = fields.Integer()
    grid_code = fields.String(allow_none=True)
    match = fields.String(allow_none=True)
    conflict_id = fields.String()
    incident_id = fields.String()
    errors = fields.Raw()
    missing_attachments = fields.List(fields.String())
    review = fields.String()
    gap = fields.Boolean()


class PushResponse(Strict):
    results = fields.List(fields.Nested(OpResult))


class PullArgs(Strict):
    cursor = fields.String()
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 1000))


class ChangeSchema(Strict):
    entity = fields.String()
    id = fields.String()
    version = fields.Integer()
    deleted = fields.Boolean()
    data = fields.Raw()
    grid_code = fields.String(allow_none=True)


class PullResponse(Strict):
    changes = fields.List(fields.Nested(ChangeSchema))
    cursor = fields.String()
    more = fields.Boolean()


class ConflictArgs(Strict):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "resolved"]))
    grid = fields.String()
    cursor = fields.String()
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class WhoSchema(Strict):
    user = fields.String(allow_none=True)
    device_id = fields.String(allow_none=True)


class ConflictSchema(Strict):
    id = fields.String()
    entity = fields.String()
    record_id = fields.String()
    grid_code = fields.String(allow_none=True)
    code = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")
    base = fields.Raw()
    current = fields.Raw()
    incoming = fields.Raw()
    base_version = fields.Integer(allow_none=True)
    current_version = fields.Integer(allow_none=True)
    incoming_by = fields.Nested(WhoSchema)
    current_by = fields.Nested(WhoSchema)
    op_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    status = fields.String()
    resolved_by = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    record_version = fields.Integer(metadata={"description": "base_version for a resolve"})


class ConflictPage(Strict):
    conflicts = fields.List(fields.Nested(ConflictSchema))
    cursor = fields.String(allow_none=True)
    more = fields.Boolean()


class ResolveRequest(Strict):
    base_version = fields.Integer(required=True, validate=validate.Range(min=1))
    data = fields.Dict(required=True)


class ResolveResponse(Strict):
    id = fields.String()
    status = fields.String()
    record = fields.Raw()


class MapArgs(Strict):
    bbox = fields.String()
    kind = fields.String()
    since = Instant()
    limit = fields.Integer(load_default=5000, validate=validate.Range(1, 20000))
