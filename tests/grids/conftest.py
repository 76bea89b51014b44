"""Fixtures for the grid-layer tests: a far-away patch, a unique layer, the CLI."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import unique
from tests.grids.helpers import Patch


@pytest.fixture
def patch() -> Patch:
    return Patch()


@pytest.fixture
def layer(db) -> Iterator[str]:
    """A unique layer name; the layer is deactivated when the test ends."""
    name = unique("t_layer_")
    yield name
    db.execute("UPDATE grid_layer SET active_version_id = NULL WHERE name = %s", (name,))


@pytest.fixture
def grids_cli(app) -> Callable[..., Any]:
    """Run ``flask grids …`` through the real CLI; never lets a traceback through."""
    def run(*args: Any) -> Any:
        result = app.test_cli_runner().invoke(args=["grids", *map(str, args)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            pytest.fail(f"traceback from grids {args}:\n{result.output}\n"
                        + "".join(traceback.format_exception(result.exception)))
        return result
    return run


@pytest.fixture
def active_version(db) -> Callable[[str], int | None]:
    def get(name: str) -> int | None:
        row = db.execute("SELECT v.version FROM grid_layer l JOIN grid_layer_version v "
                         "ON v.id = l.active_version_id WHERE l.name = %s", (name,)).fetchone()
        return row[0] if row else None
    return get
