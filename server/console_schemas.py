"""Marshmallow schemas of the supervisors' console: map tiles, the work-order desk, stats."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema
from webargs.fields import DelimitedList

from server.api.params import Day
from server.schemas import Strict
from sync.records import INCIDENT_STATUSES, INSPECTION_KINDS

MEASURES = ("coverage", "open", "overdue", "days_since_visit")
LIGHTS = ("green", "yellow", "red")
LEVELS = ("grid", "community", "street")


class DateRange(Strict):
    """``from``/``to`` are calendar dates in the console's time zone, both inclusive."""

    from_ = Day(data_key="from", metadata={"description": "first day, YYYY-MM-DD"})
    to = Day(metadata={"description": "last day (inclusive), YYYY-MM-DD"})
    street = fields.String(validate=validate.Length(1, 32),
                           metadata={"description": "only this street code"})
    community = fields.String(validate=validate.Length(1, 32),
                              metadata={"description": "only this community code"})

    @validates_schema
    def _order(self, data, **_kw):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("from must not be after to", "from")


class TileArgs(DateRange):
    kind = DelimitedList(fields.String(validate=validate.OneOf(INSPECTION_KINDS)),
                         metadata={"description": "inspection kinds, comma separated"})
    status = DelimitedList(fields.String(validate=validate.OneOf(INCIDENT_STATUSES)),
                           metadata={"description": "incident statuses, comma separated"})
    measure = fields.String(load_default="coverage", validate=validate.OneOf(MEASURES),
                            metadata={"description": "grids layer: what `value` holds"})


class DeskListArgs(Strict):
    status = DelimitedList(fields.String(validate=validate.OneOf(INCIDENT_STATUSES)),
                           metadata={"description": "queue(s), comma separated; default all"})
    street = fields.String(validate=validate.Length(1, 32))
    community = fields.String(validate=validate.Length(1, 32))
    grid = fields.String(validate=validate.Length(1, 32))
    overdue = fields.Boolean(metadata={"description": "true: only red; false: only not red"})
    light = fields.String(validate=validate.OneOf(LIGHTS))
    extension = fields.String(validate=validate.OneOf(("requested", "approved", "refused")),
                              metadata={"description": "延时: incidents with such a request"})
    urgent = fields.Boolean()
    department = fields.String(validate=validate.Length(1, 64))
    cursor = fields.String(validate=validate.Length(1, 512))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class TransitionRequest(Strict):
    to = fields.String(required=True, validate=validate.OneOf(INCIDENT_STATUSES))
    base_version = fields.Integer(required=True, strict=True, validate=validate.Range(1))
    department = fields.String(validate=validate.Length(1, 64),
                               metadata={"description": "required to dispatch (派遣)"})
    note = fields.String(validate=validate.Length(1, 4000),
                         metadata={"description": "added to the incident's notes"})


class ExtensionRequest(Strict):
    base_version = fields.Integer(required=True, strict=True, validate=validate.Range(1))
    minutes = fields.Integer(strict=True, validate=validate.Range(1, 7 * 24 * 60),
                             metadata={"description": "more time asked for"})
    reason = fields.String(validate=validate.Length(1, 500))
    decision = fields.String(validate=validate.OneOf(("approve", "refuse")),
                             metadata={"description": "a supervisor's decision on a request"})


class DeskItem(Strict):
    id = fields.String()
    version = fields.Integer()
    status = fields.String()
    light = fields.String(allow_none=True, metadata={"description": "green, yellow, red or null"})
    due_at = fields.DateTime(allow_none=True)
    stage_since = fields.DateTime(allow_none=True)
    grid_code = fields.String(allow_none=True)
    street_code = fields.String(allow_none=True)
    community_code = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    urgent = fields.Boolean()
    department = fields.String(allow_none=True)
    reporter = fields.String(allow_none=True)
    location = fields.List(fields.Float(), allow_none=True)
    conflict = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    actions = fields.List(fields.String(), metadata={"description": "statuses you may move it to"})


class DeskPage(Strict):
    incidents = fields.List(fields.Nested(DeskItem))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "queue sizes by status (same filters)"})
    cursor = fields.String(allow_none=True)
    more = fields.Boolean()


class HistoryItem(Strict):
    version = fields.Integer()
    at = fields.DateTime()
    by = fields.String(allow_none=True)
    device_id = fields.String(allow_none=True)
    changed = fields.List(fields.String())
    values = fields.Dict(metadata={"description": "the new values of the changed fields"})
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    deleted = fields.Boolean()


class PhotoItem(Strict):
    sha256 = fields.String()
    url = fields.String()
    stored = fields.Boolean()


class RecordDetail(Strict):
    entity = fields.String()
    id = fields.String()
    record = fields.Dict(metadata={"description": "the record as pull shows it"})
    light = fields.String(allow_none=True)
    stage_since = fields.DateTime(allow_none=True)
    grid = fields.Dict(allow_none=True)
    history = fields.List(fields.Nested(HistoryItem))
    photos = fields.List(fields.Nested(PhotoItem))
    open_conflicts = fields.List(fields.String())
    actions = fields.List(fields.String())


class TransitionResponse(Strict):
    result = fields.Dict()
    incident = fields.Nested(RecordDetail)


class DepartmentsResponse(Strict):
    departments = fields.List(fields.String())


class StatsArgs(DateRange):
    level = fields.String(load_default="grid", validate=validate.OneOf(LEVELS))
    silent_days = fields.Integer(load_default=3, validate=validate.Range(1, 365))


class StatsRow(Strict):
    unit = fields.String(metadata={"description": "grid, community or street code"})
    name = fields.String(allow_none=True)
    street_code = fields.String(allow_none=True)
    community_code = fields.String(allow_none=True)
    grids = fields.Integer()
    patrol_grid_days = fields.Integer()
    coverage = fields.Float(allow_none=True)
    patrols = fields.Integer()
    visits = fields.Integer()
    records = fields.Integer()
    reports = fields.Integer()
    handles = fields.Integer()
    incidents = fields.Integer()
    incidents_on_time = fields.Integer()
    incidents_overdue = fields.Integer()
    verifications = fields.Integer()
    reworks = fields.Integer()
    rework_rate = fields.Float(allow_none=True)
    silent_grids = fields.Integer()
    last_activity = fields.DateTime(allow_none=True)


class StatsResponse(Strict):
    level = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    days = fields.Integer()
    silent_days = fields.Integer()
    rows = fields.List(fields.Nested(StatsRow))
    totals = fields.Nested(StatsRow)

