"""Tile caching: the state every tile depends on and the ETag that changes with it."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import text

from server.auth import Caller
from server.extensions import db
from server.services import rollups
from server.services.desk import today
from server.services.tile_base import CLOCKED, Tile


@dataclass(frozen=True)
class TileState:
    """What every tile depends on besides its own rows: the newest ``change_seq``, the
    active grid layer versions, and how far the rollups have folded changes in."""

    seq: int | None
    layers: str | None
    rolled_up: int | None


# Also read by the tile endpoint's authentication statement, saving a round trip.
STATE_COLUMNS = """,
    (SELECT max(change_seq) FROM record) AS seq,
    (SELECT string_agg(id || ':' || coalesce(active_version_id, 0), ',' ORDER BY id)
     FROM grid_layer) AS layers,
    (SELECT last_seq FROM rollup_state WHERE name = :rollup_name) AS rolled_up"""


STATE_PARAMS = {"rollup_name": rollups.NAME}


def tile_state(columns: dict[str, Any] | None = None) -> TileState:
    """The state from ``columns`` read with :data:`STATE_COLUMNS`, else from the database."""
    if columns is not None and {"seq", "layers", "rolled_up"} <= columns.keys():
        return TileState(columns["seq"], columns["layers"], columns["rolled_up"])
    row = db.session.execute(text(f"SELECT {STATE_COLUMNS.lstrip(',')}"), STATE_PARAMS).one()
    return TileState(row.seq, row.layers, row.rolled_up)


def etag(caller: Caller, layer: str, tile: Tile, args: dict[str, Any],
         state: TileState) -> str:
    """A validator that changes when anything the tile shows may have changed.

    It hashes the layer, tile and filters, the caller's scope, the newest ``change_seq``
    (stamped on every record write), the active grid layer versions, and for layers that
    depend on the clock, the current ``TILES_MAX_AGE`` period.
    """
    max_age = current_app.config.get("TILES_MAX_AGE", 30)
    clock = int(time.time() // max(max_age, 1)) if layer in CLOCKED else None
    key = json.dumps([
        layer, tile.z, tile.x, tile.y, sorted((k, str(v)) for k, v in args.items()),
        caller.user_id, caller.role, caller.dept, caller.scope_epoch, caller.grids,
        caller.areas, state.seq, state.layers, clock, str(today()),
    ], ensure_ascii=False, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:32]
