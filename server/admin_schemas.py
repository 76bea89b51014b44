"""Marshmallow schemas of the administration API (docs/protocol.md, "Administration API")."""

from __future__ import annotations

from marshmallow import fields, validate

from server.models import ROLES
from server.schemas import Strict

CODE = fields.String(validate=validate.Length(1, 32))


class UserArgs(Strict):
    q = fields.String(validate=validate.Length(1, 64),
                      metadata={"description": "part of a username, display name or phone"})
    role = fields.String(validate=validate.OneOf(ROLES))
    street = fields.String(validate=validate.Length(1, 32))
    community = fields.String(validate=validate.Length(1, 32))
    grid = fields.String(validate=validate.Length(1, 32))
    disabled = fields.Boolean()
    cursor = fields.String(validate=validate.Length(1, 64),
                           metadata={"description": "the last username of the page before"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class UserBody(Strict):
    """The keys of a user that ``POST`` and ``PATCH`` take."""

    display_name = fields.String(allow_none=True, validate=validate.Length(0, 64))
    role = fields.String(validate=validate.OneOf(ROLES))
    grids = fields.List(fields.String(validate=validate.Length(1, 32)),
                        validate=validate.Length(max=500))
    areas = fields.List(fields.String(validate=validate.Length(1, 32)),
                        validate=validate.Length(max=100))
    dept = fields.String(allow_none=True, validate=validate.Length(1, 64))
    phone = fields.String(allow_none=True, validate=validate.Length(0, 32))
    disabled = fields.Boolean()
    password = fields.String(allow_none=True, validate=validate.Length(1, 1024), metadata={
        "description": "omit (POST) or null (PATCH) for a new one-time password, returned "
                       "once as `one_time_password` and to be changed at first sign-in"})


class UserCreate(UserBody):
    username = fields.String(required=True, validate=validate.Length(1, 64))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class AdminUser(Strict):
    username = fields.String()
    display_name = fields.String(allow_none=True)
    role = fields.String()
    grids = fields.List(fields.String())
    areas = fields.List(fields.String())
    dept = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    disabled = fields.Boolean()
    must_change_password = fields.Boolean()
    last_seen = fields.DateTime(allow_none=True)
    one_time_password = fields.String(metadata={"description": "only when one was just set"})


class UserPage(Strict):
    users = fields.List(fields.Nested(AdminUser))
    cursor = fields.String(allow_none=True)
    more = fields.Boolean()


class ImportRow(Strict):
    row = fields.Integer(metadata={"description": "the sheet's row number"})
    username = fields.String(allow_none=True)
    outcome = fields.String(validate=validate.OneOf(("created", "updated", "unchanged",
                                                     "refused")))
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    notes = fields.List(fields.String())
    one_time_password = fields.String()


class ImportReport(Strict):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    refused = fields.Integer()
    dry_run = fields.Boolean()
    columns = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "field -> the header it was read from"})
    ignored_columns = fields.List(fields.String())
    rows = fields.List(fields.Nested(ImportRow))


class DeviceArgs(Strict):
    user = fields.String(validate=validate.Length(1, 64))


class AdminDevice(Strict):
    device_id = fields.String()
    user = fields.String()
    last_seen = fields.DateTime(allow_none=True)
    app_version = fields.String(allow_none=True)
    last_push = fields.DateTime(allow_none=True)
    revoked = fields.Boolean()
    released = fields.Boolean()
    held_ops = fields.Integer(metadata={"description": "ops waiting for an earlier one"})


class DevicePage(Strict):
    devices = fields.List(fields.Nested(AdminDevice))


class LayerVersion(Strict):
    layer = fields.String()
    version = fields.Integer()
    active = fields.Boolean()
    grids = fields.Integer()
    created_at = fields.DateTime()


class LayerList(Strict):
    layers = fields.List(fields.Nested(LayerVersion))


MULTIPART = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                "properties": {"file": {"type": "string",
                                                                        "format": "binary"},
                                                               "dry_run": {"type": "boolean",
                                                                           "default": True}}}}}
