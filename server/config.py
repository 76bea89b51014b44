"""Configuration from the environment, with the contract's defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


DEFAULT_PG_OPTIONS = "-c jit=off -c max_parallel_workers_per_gather=0"


def _prepare_threshold() -> int | None:
    """psycopg's ``prepare_threshold``: an integer (its default is 5), or ``none``."""
    value = os.environ.get("DB_PREPARE_THRESHOLD", "5").strip().lower()
    return None if value in ("none", "off", "") else int(value)


def load_config() -> dict[str, Any]:
    """Read settings from the environment (docs/protocol.md "Configuration and CLI")."""
    return {
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/gridpatrol"
        ),
        # Every statement here is short (a tile, a page, a push) and many run at once.
        # PostgreSQL's JIT, which the planner picks for tiles over tens of thousands of
        # rows, spent 50 ms compiling a 10 ms tile and 2.4 s on a 0.2 s statistics query;
        # parallel workers made a zoom-16 tile 35 ms instead of 19 (ST_AsMVT's partial
        # states are merged at the end) and the full rollup rebuild slower too.
        # PG_OPTIONS="" keeps the server's defaults.
        # No pool_pre_ping: server.dbconn.watch_pool checks connections on checkout
        # without a round trip, and pings those idle for longer than this.
        # DB_PREPARE_THRESHOLD=none: no server-side prepared statements, for PgBouncer
        # in transaction mode before 1.21 (docs/operations.md "Scaling out").
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {
            "options": os.environ.get("PG_OPTIONS", DEFAULT_PG_OPTIONS),
            "prepare_threshold": _prepare_threshold()}},
        "DB_PING_IDLE_SECONDS": _float("DB_PING_IDLE_SECONDS", 30.0),
        # A random key per process would log everyone out on restart; it is only the
        # fallback for a developer's first run, and README says to set it.
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        "TOKEN_TTL_DAYS": _int("TOKEN_TTL_DAYS", 30),
        # Sign-in throttling (server/services/signin.py): failures per username and per
        # client address within the window, counted in the database for every node.
        "SIGNIN_WINDOW_SECONDS": _int("SIGNIN_WINDOW_SECONDS", 15 * 60),
        "SIGNIN_MAX_USER_FAILURES": _int("SIGNIN_MAX_USER_FAILURES", 10),
        "SIGNIN_MAX_IP_FAILURES": _int("SIGNIN_MAX_IP_FAILURES", 50),
        # How many proxies in front set X-Forwarded-For/-Proto/-Host (werkzeug ProxyFix).
        # 0 (the default) trusts no such header: otherwise anyone could pick the address
        # the throttle and the audit log see. Behind nginx, set 1.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "MATCH_EDGE_M": _float("MATCH_EDGE_M", 3.0),
        "MATCH_NEAREST_M": _float("MATCH_NEAREST_M", 50.0),
        "MATCH_MAX_POINTS": _int("MATCH_MAX_POINTS", 10_000),
        "SYNC_MAX_OPS": _int("SYNC_MAX_OPS", 500),
        "SYNC_HOLD_SECONDS": _int("SYNC_HOLD_SECONDS", 86_400),
        "PULL_MAX_LIMIT": _int("PULL_MAX_LIMIT", 1000),
        "MAX_ATTACHMENT_BYTES": _int("MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024),
        # Pushes of 500 ops with tracks are large; attachments have their own limit.
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 32 * 1024 * 1024),
        "ATTACHMENT_DIR": os.environ.get("ATTACHMENT_DIR", str(ROOT / "var" / "attachments")),
        "PWA_DIST": os.environ.get("PWA_DIST", str(ROOT / "pwa" / "dist")),
        # tianditu | amap | an http(s) style URL | file:PATH (.mbtiles/.pmtiles served at
        # /api/v1/basemap/); see server/services/basemap.py. Unset: BASEMAP_STYLE as before.
        "BASEMAP": os.environ.get("BASEMAP") or None,
        "TIANDITU_KEY": os.environ.get("TIANDITU_KEY") or None,
        "BASEMAP_STYLE": os.environ.get("BASEMAP_STYLE") or None,
        # The pages' Content-Security-Policy lets them reach BASEMAP_STYLE's origin; a
        # style whose tiles, sprites or glyphs live elsewhere names those origins here
        # (space-separated, e.g. "https://t0.tianditu.gov.cn https://t1.tianditu.gov.cn").
        "BASEMAP_ORIGINS": os.environ.get("BASEMAP_ORIGINS", ""),
        # The datum the basemap is drawn in: a point picked on an AMap/Tencent basemap is
        # GCJ-02, on Baidu BD-09. The PWA sends it as location_datum.
        "BASEMAP_DATUM": os.environ.get("BASEMAP_DATUM", "wgs84"),
        "CATEGORIES_FILE": os.environ.get("CATEGORIES_FILE") or None,
        "COMPRESS_ALGORITHM": ["gzip"],
        "COMPRESS_MIN_SIZE": 512,
        # Level 4 keeps most of level 6's savings at a third of its CPU per large answer.
        "COMPRESS_LEVEL": 4,
        "COMPRESS_MIMETYPES": [
            "text/html", "text/css", "text/javascript", "application/javascript",
            "application/json", "application/geo+json", "application/manifest+json",
            "image/svg+xml", "application/vnd.mapbox-vector-tile", "text/csv",
        ],
        # The supervisors' console.
        "DEPARTMENTS": [d.strip() for d in os.environ.get(
            "DEPARTMENTS", "城管,市政,公安,消防,环保,住建").split(",") if d.strip()],
        "CONSOLE_TIMEZONE": os.environ.get("CONSOLE_TIMEZONE", "Asia/Shanghai"),
        "TILES_MAX_AGE": _int("TILES_MAX_AGE", 30),
        # A zoom 14–15 tile with more raw points than this is sent as fine clusters.
        "TILES_MAX_POINTS": _int("TILES_MAX_POINTS", 3000),
        "API_TITLE": "GridPatrol",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
