"""pytest plugin for runs through PgBouncer in transaction mode (tests.scale.pgbouncer):
the tests' own psycopg connections prepare no statements either, like the app's with
``DB_PREPARE_THRESHOLD=none``."""

from __future__ import annotations

from typing import Any

import psycopg

_connect = psycopg.Connection.connect.__func__  # type: ignore[attr-defined]


def _unprepared(cls: Any, *args: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("prepare_threshold", None)  # the app passes its own setting
    return _connect(cls, *args, **kwargs)


psycopg.Connection.connect = classmethod(_unprepared)  # type: ignore[assignment,method-assign]
# ``psycopg.connect`` was bound to the original when psycopg was imported.
psycopg.connect = psycopg.Connection.connect  # type: ignore[assignment]

# Tests whose assertion is about PostgreSQL backends themselves, which PgBouncer shares
# between clients on purpose: not app behaviour that PgBouncer could break.
NOT_THROUGH_PGBOUNCER = {
    "tests/api/test_database_connection.py::"
    "test_requests_after_the_pool_is_killed_get_fresh_connections":
        "kills the app's own backends by pid; through PgBouncer they are shared",
    "tests/api/test_database_connection.py::"
    "test_a_locked_table_is_a_503_and_the_next_try_succeeds":
        "sets lock_timeout with the options startup parameter, which PgBouncer refuses",
    "tests/api/test_database_connection.py::test_custom_plan_statements_are_never_prepared":
        "expects prepared statements, which DB_PREPARE_THRESHOLD=none turns off on purpose",
}


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    import pytest

    for item in items:
        reason = NOT_THROUGH_PGBOUNCER.get(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"PgBouncer: {reason}"))
