"""Administration: people, their devices and grid layers, from the browser
(docs/protocol.md, "Administration API"). Routes only adapt: who may do what is
:class:`server.services.admin_users.Steward`."""

from __future__ import annotations

import functools
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from flask import Response, current_app, request

from geo.attributes import parse_field_map
from geo.layer import read_layer, report_json
from geo.sources import LayerError
from server.admin_schemas import (
    MULTIPART,
    AdminDevice,
    AdminUser,
    DeviceArgs,
    DevicePage,
    ImportReport,
    LayerList,
    UserArgs,
    UserBody,
    UserCreate,
    UserPage,
)
from server.api.blueprint import Blueprint
from server.auth import current_caller, login_required, require_role
from server.errors import ApiError
from server.extensions import db
from server.roster import RosterError
from server.services import admin_users, audit, layers, roster_import

PREFIX = "/admin"
blp = Blueprint("admin", __name__, description="Administration: people, devices, grid layers")

def steward_required(*roles: str):
    """Sign-in and role are checked before the body is parsed: a field user gets 403 and a
    stranger 401, never a 422 that tells them what the body should hold."""
    roles = roles or ("admin", "supervisor")

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            require_role(*roles)
            return view(*args, **kwargs)
        return login_required(wrapper)
    return decorate


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROSTER_BYTES = 10 * 1024 * 1024
MAX_LAYER_BYTES = 30 * 1024 * 1024
MAX_LAYER_UNZIPPED = 500 * 1024 * 1024
LAYER_SUFFIXES = (".geojson", ".json", ".zip", ".gpkg")


# --- people ----------------------------------------------------------------------------

@blp.route("/users", methods=["GET"])
@steward_required()
@blp.arguments(UserArgs, location="query")
@blp.response(200, UserPage)
def list_users(args):
    """The people you manage, filtered by text, role, street, community or grid."""
    return admin_users.list_users(current_caller(), args)


@blp.route("/users", methods=["POST"])
@steward_required()
@blp.arguments(UserCreate)
@blp.response(201, AdminUser)
def create_user(body):
    """Create a user; without a password, a one-time one is set and returned once."""
    out = admin_users.create_user(current_caller(), body)
    db.session.commit()
    return out


@blp.route("/users/<username>", methods=["GET"])
@steward_required()
@blp.response(200, AdminUser)
def get_user(username):
    """One user you manage."""
    return admin_users.get_user(current_caller(), username)


@blp.route("/users/<username>", methods=["PATCH"])
@steward_required()
@blp.arguments(UserBody)
@blp.response(200, AdminUser)
def update_user(body, username):
    """Change a user's name, role, scope, phone or department; disable them; or
    ``"password": null`` for a new one-time password (returned once)."""
    out = admin_users.update_user(current_caller(), username, body)
    db.session.commit()
    return out


@blp.route("/users/import", methods=["POST"])
@steward_required()
@blp.doc(requestBody={"content": MULTIPART})
@blp.response(200, ImportReport)
def import_users():
    """A roster (.xlsx or .csv, UTF-8 or GBK): every row's outcome; ``dry_run=false``
    writes them, all or nothing. Re-importing the same file changes nothing."""
    caller = current_caller()
    upload = _upload(MAX_ROSTER_BYTES)
    dry_run = _flag("dry_run", default=True)
    try:
        out = roster_import.import_roster(caller, upload[1], upload[0], dry_run=dry_run,
                                          departments=current_app.config["DEPARTMENTS"])
    except RosterError as exc:
        raise ApiError(422, "bad_roster", str(exc), exc.details) from None
    db.session.commit()
    return out


@blp.route("/users/template.xlsx", methods=["GET"])
@steward_required()
@blp.doc(responses={"200": {"description": "the roster template",
                            "content": {XLSX: {"schema": {"type": "string",
                                                          "format": "binary"}}}}})
def roster_template():
    """The roster's columns, an example row and the role names, as a workbook."""
    return Response(roster_import.template_xlsx(), mimetype=XLSX, headers={
        "Content-Disposition": 'attachment; filename="gridpatrol-roster-template.xlsx"'})


# --- devices ---------------------------------------------------------------------------

@blp.route("/devices", methods=["GET"])
@steward_required()
@blp.arguments(DeviceArgs, location="query")
@blp.response(200, DevicePage)
def list_devices(args):
    """Devices of the people you manage: last seen, last push, held ops, revoked."""
    return admin_users.list_devices(current_caller(), args.get("user"))


@blp.route("/devices/<device_id>/revoke", methods=["POST"])
@steward_required()
@blp.response(200, AdminDevice)
def revoke_device(device_id):
    """Cut off a lost phone: its token stops working at once (its next push gets 401)."""
    out = admin_users.revoke_device(current_caller(), device_id)
    db.session.commit()
    return out


@blp.route("/devices/<device_id>/release", methods=["POST"])
@steward_required()
@blp.response(200, AdminDevice)
def release_device(device_id):
    """Free a phone for another user (its owner is signed out on it)."""
    out = admin_users.release_device(current_caller(), device_id)
    db.session.commit()
    return out


# --- grid layers -----------------------------------------------------------------------

@blp.route("/layers", methods=["GET"])
@steward_required("admin")
@blp.response(200, LayerList)
def list_layers():
    """Every version of every grid layer, and which is active."""
    return {"layers": layers.list_versions()}


@blp.route("/layers/import", methods=["POST"])
@steward_required("admin")
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "GeoJSON, a zipped Shapefile, or a GeoPackage"},
        "datum": {"type": "string", "enum": ["wgs84", "cgcs2000", "gcj02", "bd09"]},
        "layer": {"type": "string", "default": "default"},
        "encoding": {"type": "string"},
        "map": {"type": "string", "description": "code=FIELD,name=FIELD,…"},
        "dry_run": {"type": "boolean", "default": True}}}}}})
@blp.response(200, description="the same JSON as `grids import --report-json`")
def import_layer():
    """Validate (and with ``dry_run=false`` import and activate) a grid layer."""
    caller = current_caller()
    filename, data = _upload(MAX_LAYER_BYTES)
    suffix = Path(filename).suffix.lower()
    if suffix not in LAYER_SUFFIXES:
        raise ApiError(415, "unsupported_media_type",
                       "upload a .geojson, a .gpkg, or a Shapefile zipped with its .shp, "
                       ".shx, .dbf (and .prj, .cpg)", {"file": [filename]})
    if suffix == ".zip":
        _check_zip(data)
    datum = request.form.get("datum", "wgs84")
    if datum not in ("wgs84", "cgcs2000", "gcj02", "bd09"):
        raise ApiError(422, "validation", "datum must be wgs84, cgcs2000, gcj02 or bd09",
                       {"datum": [datum]})
    name = request.form.get("layer", "default").strip()
    if not name or len(name) > layers.LAYER_NAME_MAX or "\x00" in name:
        raise ApiError(422, "validation", f"layer must be 1 to {layers.LAYER_NAME_MAX} "
                       "characters", {"layer": [name]})
    encoding = request.form.get("encoding") or None
    dry_run = _flag("dry_run", default=True)
    try:
        field_map = parse_field_map(request.form.get("map") or None)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(data)
            result = layers.fit_columns(read_layer(path, datum=datum, encoding=encoding,
                                                   field_map=field_map))
    except (LayerError, ValueError, KeyError, LookupError) as exc:
        raise ApiError(422, "bad_layer", str(exc.args[0] if exc.args else exc)) from None
    report: dict[str, Any] = report_json(result)
    report.update(dry_run=dry_run, layer=name, source=filename)
    if not dry_run and result.imported:
        _, version = layers.store_layer(result, name)
        report["version"] = version
    audit.record("admin.layer_import", user_id=caller.user_id, username=caller.username,
                 device_id=caller.device_id, object=name,
                 result="ok" if result.imported else "refused",
                 detail={"file": filename, "dry_run": dry_run, "imported": result.imported,
                         "version": report.get("version")})
    db.session.commit()
    return report


@blp.route("/layers/<name>/versions/<int:version>/activate", methods=["POST"])
@steward_required("admin")
@blp.response(200, LayerList)
def activate_layer(name, version):
    """Switch matching to another stored version of a layer (e.g. back to the last one)."""
    caller = current_caller()
    try:
        layers.activate(name, version)
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc.args[0])) from None
    audit.record("admin.layer_activate", user_id=caller.user_id, username=caller.username,
                 device_id=caller.device_id, object=f"{name} v{version}")
    db.session.commit()
    return {"layers": layers.list_versions()}


# --- uploads ---------------------------------------------------------------------------

def _upload(limit: int) -> tuple[str, bytes]:
    """The multipart ``file``: its name and bytes, or a 4xx that says what is wrong."""
    if (request.content_length or 0) > limit + 64 * 1024:
        raise ApiError(413, "too_large", f"the file must be at most {limit // (1024 * 1024)} MB",
                       {"limit": limit})
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(400, "bad_request", "send the file as multipart/form-data field 'file'",
                       {"file": ["missing"]})
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "too_large", f"the file must be at most {limit // (1024 * 1024)} MB",
                       {"limit": limit})
    if not data:
        raise ApiError(422, "validation", "the file is empty", {"file": ["empty"]})
    return (upload.filename or "upload").replace("\x00", ""), data


def _flag(name: str, *, default: bool) -> bool:
    value = request.form.get(name, request.args.get(name))
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("false", "0", "no", "off"):
        return False
    raise ApiError(422, "validation", f"{name} must be true or false", {name: [value]})


def _check_zip(data: bytes) -> None:
    """Refuse a broken zip, a zip bomb, or a zip with no .shp before any reader opens it."""
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise ApiError(422, "bad_layer", f"the .zip cannot be read: {exc}") from None
    inflated = sum(i.file_size for i in infos)
    if inflated > MAX_LAYER_UNZIPPED:
        raise ApiError(413, "too_large", f"the .zip inflates to {inflated} bytes; at most "
                       f"{MAX_LAYER_UNZIPPED} (is it a zip bomb?)")
    names = [i.filename.lower() for i in infos]
    if not any(n.endswith((".shp", ".gpkg", ".geojson", ".json")) for n in names):
        raise ApiError(422, "bad_layer", "the .zip holds no .shp (nor .gpkg or .geojson): zip "
                       "the Shapefile's .shp, .shx and .dbf together",
                       {"file": sorted(names)[:20]})
