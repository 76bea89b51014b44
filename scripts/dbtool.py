"""Create or drop a database given a full SQLAlchemy URL, with PostGIS enabled.

Usage: python -m scripts.dbtool create|drop URL [--if-missing]
"""

from __future__ import annotations

import sys

import psycopg
from psycopg import sql


def _split(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    return base.replace("postgresql+psycopg://", "postgresql://") + "/postgres", name


def create(url: str, if_missing: bool = False) -> None:
    admin, name = _split(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and if_missing:
            return
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def drop(url: str) -> None:
    admin, name = _split(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    action, target = sys.argv[1], sys.argv[2]
    if action == "create":
        create(target, "--if-missing" in sys.argv)
    elif action == "drop":
        drop(target)
    else:
        sys.exit(f"unknown action {action!r}")
