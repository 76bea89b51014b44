"""``flask --app server audit verify|prune``: check the audit chain; apply retention."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

audit_cli = AppGroup("audit", help="Verify the audit log's hash chain; prune old entries.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Recompute the chain; exit 1 at the first changed, foreign or missing entry."""
    from server.services import audit

    count, finding, chain = audit.verify()
    click.echo(f"entries={count} anchor_seq={chain['anchor_seq']} "
               f"head_seq={chain['head_seq']} head_hash={chain['head_hash']}")
    if finding is not None:
        click.echo(f"FAILED: first bad entry: {finding}", err=True)
        sys.exit(1)
    click.echo("ok: the chain verifies")


@audit_cli.command("prune")
@click.option("--days", default=180, show_default=True, type=int,
              help="Delete entries older than this many days (at least 180).")
def prune_command(days: int) -> None:
    """Delete old entries, oldest first; the chain stays verifiable from its anchor."""
    from server.services import audit

    if days < audit.MIN_RETENTION_DAYS:
        raise click.BadParameter(f"entries are kept at least {audit.MIN_RETENTION_DAYS} days",
                                 param_hint="--days")
    out = audit.prune(days)
    click.echo(f"removed={out['removed']} anchor_seq={out['anchor_seq']} "
               f"anchor_hash={out['anchor_hash']}")
