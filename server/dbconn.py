"""How requests use their database connection: liveness on checkout, and read-only views.

Every round trip to PostgreSQL costs 0.13 ms back to back and 0.3–0.9 ms after the vCPUs
of a small VM have idled between requests, and a light map tile needs 1–2 ms of SQL, so
the connection handling around it matters:

* ``pool_pre_ping`` sends ``SELECT 1`` on every checkout. :func:`watch_pool` replaces it
  with a check that costs no round trip: a pooled connection that has been idle is only
  readable when the server has closed it (a restart, ``pg_terminate_backend``,
  ``idle_session_timeout``), so a readable socket, or one idle for longer than
  ``DB_PING_IDLE_SECONDS``, is pinged and replaced if dead.
* psycopg prepares a statement the fifth time a connection runs it, and after five more
  executions PostgreSQL may switch it to a generic plan, made without the parameters'
  values. For a bounding box that plan expects two rows: a zoom-12 incidents tile over
  the district centre (12,800 incidents) went from 57 ms to 123 ms with nested loops.
  Statements whose best plan depends on their values (a low-zoom tile, a bbox, a date
  range) run with the execution option :data:`CUSTOM_PLAN`, unprepared, so they are
  planned with their values every time (0.4–4 ms of planning). The rest, such as the
  token lookup, keep their prepared plans: planning it every time would cost 0.7 ms on
  every request.
* psycopg wraps every statement outside autocommit in ``BEGIN`` … ``ROLLBACK``, two
  round trips for a request that only reads. :func:`read_only` runs a view on a
  connection in autocommit instead; :func:`leave_read_only` gives it a transaction back
  when it must write after all (a rollup refresh).
"""

from __future__ import annotations

import select
import time
from functools import wraps
from typing import Any

from flask import g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

from server.extensions import db

CUSTOM_PLAN = {"custom_plan": True}


def plan_with_values(engine: Engine) -> None:
    """Run statements executed with :data:`CUSTOM_PLAN` unprepared (see the module)."""

    @event.listens_for(engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        if not context.execution_options.get("custom_plan"):
            return False
        cursor.execute(statement, parameters, prepare=False)
        return True


def watch_pool(engine: Engine, idle_seconds: float) -> None:
    """Check pooled connections on checkout without a round trip while they are busy."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        idle = time.monotonic() - record.info.get("checked_in", 0.0)
        if idle < idle_seconds and not _readable(dbapi_conn):
            return
        try:
            _ping(dbapi_conn)
        except Exception as exc:
            # The pool discards this connection and checks out another (a fresh one).
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


def _readable(dbapi_conn: Any) -> bool:
    """An idle connection has nothing to read unless the server closed it (or sent a
    NOTIFY, which we do not use): either way the ping decides."""
    try:
        ready, _, _ = select.select([dbapi_conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


def _ping(dbapi_conn: Any) -> None:
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        dbapi_conn.execute("SELECT 1")
    finally:
        if not dbapi_conn.closed:
            dbapi_conn.autocommit = autocommit


def read_only(view):
    """Run ``view`` without a transaction: each statement sees the latest committed data.

    For views that only read. Their statements need not see one snapshot: a tile's ETag
    is computed from state read *before* the tile, so the tile is never older than its
    validator. Apply it outside ``login_required`` so that authentication runs on the
    autocommit connection too.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not db.session().in_transaction():
            db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            g.read_only = True
        return view(*args, **kwargs)

    return wrapper


def leave_read_only() -> None:
    """Give a read-only view a transaction for what follows (its next statement checks
    out a connection with the pool's default isolation). A no-op elsewhere."""
    if g.pop("read_only", False):
        db.session.close()
