"""``flask --app server basemap build OUT.pmtiles``: the demo vector basemap (docs/gis.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

basemap_cli = AppGroup("basemap", help="The server-side basemap.")


@basemap_cli.command("build")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--minzoom", default=10, show_default=True, type=click.IntRange(0, 18))
@click.option("--maxzoom", default=16, show_default=True, type=click.IntRange(0, 18))
@click.option("--if-missing", is_flag=True, help="Do nothing when OUT already exists.")
def build_command(out: Path, minzoom: int, maxzoom: int, if_missing: bool) -> None:
    """Cut the district, streets, communities and grids of the active layer into a
    PMTiles file (replaced atomically). Serve it with BASEMAP=file:OUT."""
    if if_missing and out.is_file():
        click.echo(json.dumps({"path": str(out), "skipped": "exists"}))
        return
    if minzoom > maxzoom:
        raise click.BadParameter("minzoom must not exceed maxzoom")
    from server.services import basemap_build

    summary = basemap_build.build(out, minzoom, maxzoom,
                                  progress=lambda m: click.echo(m, err=True))
    click.echo(json.dumps(summary, ensure_ascii=False))
