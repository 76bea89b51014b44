"""Tables. Models hold data only: marshmallow schemas in :mod:`server.schemas` dump them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Sequence,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db

# Pull cursors page on this sequence; it is stamped at commit time under a lock so that
# its order is commit order (see stamp_changes in server/services/records.py).
change_seq = Sequence("change_seq", metadata=db.metadata)

ROLES = ("patroller", "grid_leader", "supervisor", "department", "admin")
FIELD_ROLES = ("patroller", "grid_leader")


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class GridLayer(db.Model):
    __tablename__ = "grid_layer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("grid_layer_version.id", use_alter=True, name="fk_layer_active_version")
    )
    created_at: Mapped[datetime] = _now()


class GridLayerVersion(db.Model):
    __tablename__ = "grid_layer_version"
    __table_args__ = (UniqueConstraint("layer_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("grid_layer.id"))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    datum: Mapped[str] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(32))
    report: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = _now()


class Grid(db.Model):
    """One grid polygon of one layer version; never rewritten once records point at it."""

    __tablename__ = "grid"
    __table_args__ = (UniqueConstraint("layer_version_id", "code"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer_version_id: Mapped[int] = mapped_column(ForeignKey("grid_layer_version.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(String(32))
    street_code: Mapped[str | None] = mapped_column(String(32), index=True)
    street_name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(String(32), index=True)
    community_name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(16))
    households: Mapped[int | None] = mapped_column(Integer)
    attrs: Mapped[dict] = mapped_column(JSONB, default=dict)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)


class User(db.Model):
    __tablename__ = "app_user"
    __table_args__ = (
        # Administration's search by any part of username, name or phone (migration 0009).
        Index("ix_app_user_search",
              text("(username || ' ' || coalesce(display_name, '') || ' ' || "
                   "coalesce(phone, '')) gin_trgm_ops"),
              postgresql_using="gin"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    dept: Mapped[str | None] = mapped_column(String(64))
    # Bumped whenever the user's grids or areas change, so that pull starts over.
    scope_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = _now()
    # Administration (migration 0006).
    display_name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    # A one-time password was set: every call but a password change answers 403.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default="false")


class UserGrid(db.Model):
    __tablename__ = "user_grid"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(32), primary_key=True)


class UserArea(db.Model):
    __tablename__ = "user_area"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(32), primary_key=True)


class Device(db.Model):
    __tablename__ = "device"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    # The first device_seq not yet used up; ops above it wait as held.
    next_seq: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    created_at: Mapped[datetime] = _now()
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    app_version: Mapped[str | None] = mapped_column(String(32))
    last_push_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SigninFailure(db.Model):
    """One failed sign-in: the throttle counts these per username and per client address,
    in the database so that every app node sees the same counts (migration 0006)."""

    __tablename__ = "signin_failure"
    __table_args__ = (
        Index("ix_signin_failure_username_at", "username", "at"),
        Index("ix_signin_failure_ip_at", "ip", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = _now()
    username: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))


class Token(db.Model):
    __tablename__ = "token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("device.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Record(db.Model):
    """The current state of an inspection, incident or household.

    One table for the three entities because sync treats them alike; the columns that
    maps and desks filter on are generated from ``data``.
    """

    __tablename__ = "record"
    __table_args__ = (
        Index("ix_record_grid_code", "grid_code"),
        Index("ix_record_change_seq", "change_seq"),
        Index("ix_record_entity_kind", "entity", "kind"),
        Index("ix_record_entity_status", "entity", "status"),
        # Tiles, desk and statistics (migration 0002).
        Index("ix_record_patrol_track", "track", postgresql_using="gist",
              postgresql_where=text("track IS NOT NULL AND entity = 'inspection' "
                                    "AND kind = 'patrol' AND NOT deleted")),
        Index("ix_record_insp_grid_time", "grid_code", "created_at", postgresql_include=["kind"],
              postgresql_where=text("entity = 'inspection' AND NOT deleted")),
        Index("ix_record_insp_time", "created_at", postgresql_include=["grid_code", "kind"],
              postgresql_where=text("entity = 'inspection' AND NOT deleted")),
        Index("ix_record_incident_grid_status", "grid_code", "status",
              postgresql_where=text("entity = 'incident' AND NOT deleted")),
        # Incident tiles (migration 0005): incidents are a few percent of the records in
        # a tile, and ANDing the full spatial index with an entity index cost 28 ms.
        Index("ix_record_incident_geom", "geom", postgresql_using="gist",
              postgresql_where=text("entity = 'incident' AND NOT deleted")),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSONB)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))
    grid_code: Mapped[str | None] = mapped_column(String(32))
    match: Mapped[str | None] = mapped_column(String(16))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    conflict: Mapped[str | None] = mapped_column(String(8))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str | None] = mapped_column(String(16), Computed("data->>'kind'", persisted=True))
    status: Mapped[str | None] = mapped_column(String(16), Computed("data->>'status'", persisted=True))
    # A patrol's track as geometry; gp_track_geom() turns an unreadable one into NULL.
    track = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False),
                          Computed("gp_track_geom(data)", persisted=True))
    created_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_device: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    change_seq: Mapped[int | None] = mapped_column(BigInteger)


class RecordVersion(db.Model):
    """Every version of every record: the base of three-way merges and the history."""

    __tablename__ = "record_version"
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict] = mapped_column(JSONB)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    changed: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    device_id: Mapped[str | None] = mapped_column(String(128))
    op_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = _now()


class OpLog(db.Model):
    """Every op ever received, keyed by ``op_id``: the memory behind idempotency."""

    __tablename__ = "op_log"
    __table_args__ = (
        UniqueConstraint("device_id", "device_seq"),
        Index("ix_op_log_held", "device_id", "device_seq", postgresql_where="status = 'held'"),
    )
    op_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128))
    device_seq: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    entity: Mapped[str | None] = mapped_column(String(16))
    record_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str | None] = mapped_column(String(8))
    fingerprint: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict] = mapped_column(JSONB)
    received_at: Mapped[datetime] = _now()
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OpSeqUse(db.Model):
    """A device_seq used up by an op whose op_id was already known under another slot.

    A backup imported on a second phone resends ops with their op_ids but the new phone's
    sequence numbers: those are answered ``duplicate``, and the slots recorded here, so
    the new phone's sequence has no gap.
    """

    __tablename__ = "op_seq_use"
    device_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    device_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    op_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = _now()


class Conflict(db.Model):
    __tablename__ = "conflict"
    __table_args__ = (Index("ix_conflict_status_seq", "status", "seq"),)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    entity: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    base: Mapped[dict] = mapped_column(JSONB, default=dict)
    current: Mapped[dict] = mapped_column(JSONB, default=dict)
    incoming: Mapped[dict] = mapped_column(JSONB, default=dict)
    base_version: Mapped[int | None] = mapped_column(Integer)
    current_version: Mapped[int | None] = mapped_column(Integer)
    incoming_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    incoming_device: Mapped[str | None] = mapped_column(String(128))
    current_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    current_device: Mapped[str | None] = mapped_column(String(128))
    op_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = _now()
    status: Mapped[str] = mapped_column(String(8), default="open", server_default="open")
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Attachment(db.Model):
    __tablename__ = "attachment"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = _now()


class AttachmentUpload(db.Model):
    """Every user who uploaded a photo's bytes, the first and every later one (0006)."""

    __tablename__ = "attachment_upload"
    sha256: Mapped[str] = mapped_column(ForeignKey("attachment.sha256"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    at: Mapped[datetime] = _now()


class RecordPhoto(db.Model):
    """A photo named in a record's ``photos``, and by whom (0006).

    The photo counts as the record's only while ``named_by`` has an
    :class:`AttachmentUpload` of it: naming someone else's hash opens nothing.
    """

    __tablename__ = "record_photo"
    __table_args__ = (Index("ix_record_photo_sha256", "sha256"),)
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    named_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    at: Mapped[datetime] = _now()


class AuditLog(db.Model):
    """One audited act (等级保护 2.0, PIPL): append-only and hash-chained (migration 0007).

    The BEFORE INSERT trigger sets ``seq``, ``prev_hash``, ``hash`` and the ``username``
    snapshot; ``server/services/audit.py`` writes entries, ``audit verify`` checks them.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_seq", "seq", unique=True),
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_user_id_seq", "user_id", "seq"),
        Index("ix_audit_log_username_seq", "username", "seq"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = _now()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str | None] = mapped_column(String(16))
    record_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)
    seq: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    object: Mapped[str | None] = mapped_column(String(256))
    result: Mapped[str] = mapped_column(String(64), server_default="ok")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(db.Model):
    """The audit chain's head (last entry) and anchor (last pruned entry); one row, kept
    by the ``audit_log`` triggers only."""

    __tablename__ = "audit_chain"
    __table_args__ = (CheckConstraint("id = 1", name="ck_audit_chain_one_row"),)
    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    head_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    anchor_seq: Mapped[int] = mapped_column(BigInteger)
    anchor_hash: Mapped[str] = mapped_column(String(64))
    anchor_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- rollups (server/services/rollups.py; migration 0004) ---------------------------------
# Inspection counts folded in from change_seq off the push path, so that statistics and
# low-zoom tiles read thousands of rows instead of every record. '' stands for "no grid"
# (grid_code NULL) and 0 for "no grid_id", so that keys are never NULL.

class RollupState(db.Model):
    """How far each rollup has folded in ``record.change_seq``."""

    __tablename__ = "rollup_state"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RollupMember(db.Model):
    """The grid code each inspection was last rolled up under (to undo it after a move)."""

    __tablename__ = "rollup_member"
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(32))


class GridDayActivity(db.Model):
    """Live inspections per grid and day (in CONSOLE_TIMEZONE, by server arrival): ``n`` in
    all, ``n_<kind>`` per kind, the newest one and the newest visit."""

    __tablename__ = "grid_day_activity"
    grid_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    locals().update({f"n_{k}": mapped_column(Integer, default=0, server_default="0")
                     for k in ("patrol", "visit", "record", "report", "handle")})
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_visit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _cell_columns() -> dict[str, Any]:
    cols: dict[str, Any] = {
        "grid_id": mapped_column(BigInteger, primary_key=True),
        "created_by": mapped_column(Integer, primary_key=True),
        "cx": mapped_column(Integer, primary_key=True),
        "cy": mapped_column(Integer, primary_key=True),
        "n": mapped_column(Integer),
        "sx": mapped_column(Float(53)),
        "sy": mapped_column(Float(53)),
    }
    for kind in ROLLUP_KINDS:
        cols[f"n_{kind}"] = mapped_column(Integer, default=0, server_default="0")
    return cols


ROLLUP_KINDS = ("patrol", "visit", "record", "report", "handle")
CELL_ZOOM = 18  # cells are the tiles of zoom 18 (~130 m in Nanjing)


class CellDayActivity(db.Model):
    """Live inspections per zoom-18 cell, grid, creator and day: ``n`` in all, ``n_<kind>``
    per kind, ``sx``/``sy`` the sums of their zoom-18 world coordinates (mean positions)."""

    __tablename__ = "cell_day_activity"
    __table_args__ = (Index("ix_cell_day_activity_day_cell", "day", "cx", "cy"),)
    grid_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    locals().update(_cell_columns())


class CellActivity(db.Model):
    """:class:`CellDayActivity` summed over all days (tiles without a date filter)."""

    __tablename__ = "cell_activity"
    __table_args__ = (Index("ix_cell_activity_cell", "cx", "cy"),)
    grid_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    locals().update(_cell_columns())


class IncidentRollup(db.Model):
    """Per live incident, what statistics and the map need from its stage history.

    ``late_urban``/``late_rural``: a stage already left after its time limit (the limits
    differ only for ``handled`` in rural grids); ``deadline_*``: when the current stage's
    limit runs out (NULL: a stage without one). ``stage_since``: when the current status
    was entered. Folded in from ``change_seq`` with the inspection rollups.
    """

    __tablename__ = "incident_rollup"
    __table_args__ = (Index("ix_incident_rollup_grid_created", "grid_code", "created_at"),)
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    grid_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str | None] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stage_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late_urban: Mapped[bool] = mapped_column(Boolean)
    late_rural: Mapped[bool] = mapped_column(Boolean)
    deadline_urban: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline_rural: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verifications: Mapped[int] = mapped_column(Integer)
    reworks: Mapped[int] = mapped_column(Integer)
