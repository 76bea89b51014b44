"""``flask --app server …`` commands (docs/protocol.md "Configuration and CLI")."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from geo.attributes import parse_field_map
from geo.layer import LayerError, format_report, read_layer, report_json
from server import auth
from server.config import ROOT
from server.errors import ApiError
from server.extensions import db
from server.models import ROLES
from server.services import audit, layers, signin, users

grids_cli = AppGroup("grids", help="Import and compare grid layers.")
users_cli = AppGroup("users", help="Create users and set their scopes.")
devices_cli = AppGroup("devices", help="Manage signed-in devices.")
sync_cli = AppGroup("sync", help="Sync maintenance.")
demo_cli = AppGroup("demo", help="Demo data for trying GridPatrol.")

DEMO_DIR = ROOT / "demo"
DEMO_PASSWORD = "gridpatrol-demo"
DEMO_USERS = [
    ("admin", "admin", [], [], None),
    ("leader01", "grid_leader", ["320105001001001", "320105001001002"], [], None),
    ("patrol01", "patroller", ["320105001001001", "320105001001002", "320105001001003"], [], None),
    ("super01", "supervisor", [], ["320105001"], None),
    ("super02", "supervisor", [], ["320105002"], None),
    ("chengguan", "department", [], [], "城管"),
]


def init_app(app: Flask) -> None:
    for group in (grids_cli, users_cli, devices_cli, sync_cli, demo_cli):
        app.cli.add_command(group)
    app.cli.add_command(__import__("server.cli_rollups", fromlist=["x"]).rollups_cli)
    app.cli.add_command(__import__("server.cli_audit", fromlist=["x"]).audit_cli)
    app.cli.add_command(__import__("server.cli_basemap", fromlist=["x"]).basemap_cli)
    app.cli.add_command(__import__("server.cli_storage", fromlist=["x"]).attachments_cli)


def _fail(message: str) -> None:
    raise click.ClickException(message)


@grids_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--datum", default="wgs84", show_default=True,
              type=click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"]))
@click.option("--encoding", default=None, help="Attribute encoding (default: .cpg, else detect).")
@click.option("--layer", "layer_name", default="default", show_default=True,
              callback=lambda ctx, param, value: _layer_name(value))
@click.option("--map", "field_map", default=None, help="code=FIELD,name=FIELD,…")
@click.option("--snap", "snap_m", default=0.0, type=click.FloatRange(0, 50),
              help="Fix overlaps and gaps narrower than this many metres.")
@click.option("--dry-run", is_flag=True, help="Print the report; import nothing.")
@click.option("--report-json", "report_json_path", default=None,
              type=click.Path(dir_okay=False, path_type=Path))
def import_grids(path: Path, datum: str, encoding: str | None, layer_name: str,
                 field_map: str | None, snap_m: float, dry_run: bool,
                 report_json_path: Path | None) -> None:
    """Import a grid layer (GeoJSON, Shapefile, GeoPackage or a .zip of one)."""
    try:
        result = layers.fit_columns(read_layer(path, datum=datum, encoding=encoding,
                                               field_map=parse_field_map(field_map),
                                               snap_m=snap_m))
    except (LayerError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        click.echo("imported=0 repaired=0 refused=0 total=0")
        sys.exit(2)
    lines = format_report(result)
    if report_json_path:
        try:
            report_json_path.write_text(json.dumps(report_json(result), ensure_ascii=False,
                                                   indent=1), encoding="utf-8")
        except OSError as exc:
            click.echo(f"error: cannot write the report to {report_json_path}: {exc}", err=True)
            click.echo("imported=0 repaired=0 refused=0 total=0")
            sys.exit(2)
    if not dry_run and result.imported:
        try:
            _, version = layers.store_layer(result, layer_name)
            db.session.commit()
        except SQLAlchemyError as exc:
            db.session.rollback()
            for line in lines[:-1]:
                click.echo(line)
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            click.echo(f"error: the database refused the layer, nothing was imported: {reason}",
                       err=True)
            click.echo(f"imported=0 repaired=0 refused={result.total} total={result.total}")
            sys.exit(3)
        lines.insert(-1, f"layer {layer_name!r}: version {version} is now active")
    elif dry_run:
        lines.insert(-1, "dry run: nothing was imported")
    for line in lines:
        click.echo(line)
    if not result.imported:
        sys.exit(1)


def _layer_name(value: str) -> str:
    if not value.strip() or len(value) > layers.LAYER_NAME_MAX:
        raise click.BadParameter(f"give a name of 1 to {layers.LAYER_NAME_MAX} characters")
    return value


@grids_cli.command("diff")
@click.option("--layer", "layer_name", default="default", show_default=True)
@click.option("--from", "old", type=int, default=None, help="Old version (default: previous).")
@click.option("--to", "new", type=int, default=None, help="New version (default: active).")
def diff_grids(layer_name: str, old: int | None, new: int | None) -> None:
    """Grids added, removed and reshaped between two versions of a layer."""
    try:
        out = layers.diff_versions(layer_name, old, new)
    except LookupError as exc:
        _fail(str(exc.args[0]))
    click.echo(f"layer {out['layer']!r}: version {out['from']} -> {out['to']}")
    for code in out["added"]:
        click.echo(f"added    {code}")
    for code in out["removed"]:
        click.echo(f"removed  {code}")
    for item in out["reshaped"]:
        click.echo(f"reshaped {item['code']} ({item['area_changed_m2']} m² changed)")
    click.echo(f"added={len(out['added'])} removed={len(out['removed'])} "
               f"reshaped={len(out['reshaped'])}")


@grids_cli.command("list")
def list_layers() -> None:
    """Layers, their versions and which is active."""
    for r in layers.list_versions():
        click.echo(f"{r['layer']}\tv{r['version']}\t{r['grids']} grids\t"
                   f"{'active' if r['active'] else ''}\t{r['created_at']:%Y-%m-%d %H:%M}")


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if password.endswith("\r"):
        password = password[:-1]
    return password


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--grid", "grids", multiple=True, help="A grid code (repeatable).")
@click.option("--area", "areas", multiple=True, help="A street or community code (repeatable).")
@click.option("--dept", default=None, help="A department user's department.")
def create_user(username: str, role: str, grids: tuple[str, ...], areas: tuple[str, ...],
                dept: str | None) -> None:
    """Create a user; the password is read from stdin as one line."""
    password = _read_password()
    unknown = users.unknown_grids(list(grids))
    if unknown:
        _fail(f"unknown grid codes: {', '.join(unknown)}")
    try:
        users.create_user(username, role, password, list(grids), list(areas), dept)
    except ApiError as exc:
        _fail(exc.message)
    audit.record("users.create", object=f"user:{username}", detail=audit.cli_detail(role=role))
    db.session.commit()
    click.echo(f"created {role} {username!r}")


@users_cli.command("set-grids")
@click.argument("username")
@click.option("--grid", "grids", multiple=True, required=True)
def set_grids(username: str, grids: tuple[str, ...]) -> None:
    """Replace a field user's grids."""
    unknown = users.unknown_grids(list(grids))
    if unknown:
        _fail(f"unknown grid codes: {', '.join(unknown)}")
    _set_scope(username, "grids", grids)


@users_cli.command("set-areas")
@click.argument("username")
@click.option("--area", "areas", multiple=True, required=True)
def set_areas(username: str, areas: tuple[str, ...]) -> None:
    """Replace a supervisor's areas."""
    _set_scope(username, "areas", areas)


def _set_scope(username: str, kind: str, codes: tuple[str, ...]) -> None:
    try:
        users.set_scope(username, kind, list(codes))
    except ApiError as exc:
        _fail(exc.message)
    audit.record(f"users.set_{kind}", object=f"user:{username}", detail=audit.cli_detail(**{kind: list(codes)}))
    db.session.commit()
    click.echo(f"{username}: {kind} = {', '.join(codes)}")


@users_cli.command("unlock")
@click.argument("username", required=False)
@click.option("--ip", "ips", multiple=True,
              help="Also clear the failures counted for this client address (repeatable).")
def unlock_user(username: str | None, ips: tuple[str, ...]) -> None:
    """Lift the sign-in lock: clear USERNAME's failed sign-ins (and --ip addresses')."""
    if not username and not ips:
        _fail("give a USERNAME, an --ip ADDRESS, or both")
    cleared = signin.clear_username(username) if username else 0
    for ip in ips:
        cleared += signin.clear_ip(ip)
    audit.record("users.unlock", username=username, object=username or None,
                 detail={"ips": list(ips), "cleared": cleared})
    db.session.commit()
    names = [n for n in (username, *ips) if n]
    click.echo(f"unlocked {', '.join(names)}: cleared={cleared}")


@devices_cli.command("release")
@click.argument("device_id")
def release_device(device_id: str) -> None:
    """Free a device for another user: its owner's tokens are revoked, their held ops
    applied, and the next user to sign in on it takes it (its sequence goes on)."""
    owner = auth.release_device(device_id)
    if owner is None:
        _fail(f"no device {device_id!r}")
    audit.record("devices.release", object=device_id, device_id=device_id,
                 detail={"owner_id": owner})
    db.session.commit()
    click.echo(f"released device {device_id}")


@devices_cli.command("revoke")
@click.argument("device_id")
def revoke_device(device_id: str) -> None:
    """Revoke a device's tokens at once."""
    found = db.session.execute(text(
        "UPDATE device SET revoked_at = now() WHERE id = :d RETURNING id"), {"d": device_id}).first()
    if found is None:
        _fail(f"no device {device_id!r}")
    db.session.execute(text(
        "UPDATE token SET revoked_at = now() WHERE device_id = :d AND revoked_at IS NULL"),
        {"d": device_id})
    audit.record("devices.revoke", object=f"device:{device_id}", detail=audit.cli_detail())
    db.session.commit()
    click.echo(f"revoked device {device_id}")


@sync_cli.command("release-held")
def release_held() -> None:
    """Apply held ops older than SYNC_HOLD_SECONDS, giving up on their gaps."""
    from server.services.push import release_held as release

    count = release(current_app.config["SYNC_HOLD_SECONDS"])
    db.session.commit()
    click.echo(f"released={count}")


@demo_cli.command("load")
def load_demo() -> None:
    """Load the Jianye demo grids and the demo users (idempotent)."""
    has_layer = db.session.execute(text("SELECT 1 FROM grid_layer WHERE name = 'jianye'")).first()
    if has_layer is None:
        result = read_layer(DEMO_DIR / "jianye-grids-gcj02.geojson", datum="gcj02")
        layers.store_layer(result, "jianye")
        click.echo(f"grids: imported={result.imported} into layer 'jianye'")
    for name, role, grids, areas, dept in DEMO_USERS:
        exists = db.session.execute(text("SELECT 1 FROM app_user WHERE username = :u"),
                                    {"u": name}).first()
        if exists is None:
            users.create_user(name, role, DEMO_PASSWORD, grids, areas, dept)
            click.echo(f"user {name} ({role})")
    db.session.commit()
