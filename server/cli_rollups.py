"""``flask --app server rollups refresh``: fold record changes into the rollups (cron-able)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

rollups_cli = AppGroup("rollups", help="Statistics and map rollups.")


@rollups_cli.command("refresh")
@click.option("--full", is_flag=True, help="Rebuild everything from the records.")
def refresh_command(full: bool) -> None:
    """Fold in every record change since the last refresh (or rebuild with --full)."""
    from server.services import rollups

    click.echo(json.dumps(rollups.refresh(full=full)))
