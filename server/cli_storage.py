"""``flask --app server attachments …``: move photos between stores (file → S3)."""

from __future__ import annotations

import hashlib
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from server.extensions import db
from server.services import audit, storage
from server.services.storage import StoreUnavailable

attachments_cli = AppGroup("attachments", help="Photo storage maintenance.")


def digest(store: storage.AttachmentStore, sha256: str) -> str:
    """The SHA-256 of what ``store`` holds under ``sha256``, streamed (never whole)."""
    h = hashlib.sha256()
    for chunk in store.stream(sha256):
        h.update(chunk)
    return h.hexdigest()


@attachments_cli.command("migrate")
@click.option("--to", "target_location", required=True, help="s3://BUCKET/PREFIX or file:DIR")
@click.option("--from", "source_location", default=None,
              help="Default: the configured store (ATTACHMENT_STORE, else ATTACHMENT_DIR).")
@click.option("--create-bucket", is_flag=True, help="Create the target bucket if missing.")
def migrate(target_location: str, source_location: str | None, create_bucket: bool) -> None:
    """Copy every photo into another store (skipping what is there), then check the
    SHA-256 of every copied or skipped object in the target. Exits 1 on any mismatch or
    missing object, 2 if a store cannot be reached; run it again to resume."""
    config = current_app.config
    try:
        source = storage.store_for(source_location or storage.location_from_config(config), config)
        target = storage.store_for(target_location, config)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if source.describe() == target.describe():
        raise click.UsageError("the source and the target are the same store")
    names = getattr(source, "names", None)
    if names is None:
        raise click.UsageError(f"cannot list {source.describe()}")
    copied = skipped = verified = 0
    bad: list[str] = []
    try:
        if create_bucket and hasattr(target, "ensure_bucket"):
            target.ensure_bucket()
        todo = list(names())
        for name in todo:
            if target.exists(name):
                skipped += 1
            else:
                with source.open(name) as fh:
                    target.put(name, fh.read())
                copied += 1
        # Verify all of them, skipped ones too: "there" is not "intact".
        for name in todo:
            try:
                ok = digest(target, name) == name
            except FileNotFoundError:
                ok = False
            if ok:
                verified += 1
            else:
                bad.append(name)
    except StoreUnavailable as exc:
        click.echo(f"error: store unavailable: {exc}", err=True)
        click.echo(f"copied={copied} skipped={skipped} verified={verified} mismatched={len(bad)}")
        sys.exit(2)
    for name in bad:
        click.echo(f"mismatch: {name}", err=True)
    click.echo(f"copied={copied} skipped={skipped} verified={verified} mismatched={len(bad)}")
    audit.record("attachments.migrate", result="ok" if not bad else "mismatch",
                 object=target.describe(),
                 detail=audit.cli_detail(source=source.describe(), copied=copied,
                                         skipped=skipped, mismatched=len(bad)))
    db.session.commit()
    if bad:
        sys.exit(1)
