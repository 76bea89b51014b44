"""Security and caching headers on every response (PROTOCOL v1.1 "Responses and headers").

One place decides them, so that a new endpoint is safe by default:

- every response: ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``
  (URLs of records and photos never leak to the basemap's servers);
- HTML pages: a ``Content-Security-Policy`` with no inline script, no plugins, no
  framing (``frame-ancestors 'none'``, and ``X-Frame-Options`` for old WebViews);
- everything else under ``/api/``: ``default-src 'none'`` (a JSON answer or a photo opened
  as a page runs nothing) and ``Cache-Control: no-store``, because nearly every answer
  carries personal data and must not be read back from a browser cache after sign-out.
  Only the endpoints in :data:`OWN_CACHING` keep the caching they set themselves.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request

REFERRER_POLICY = "same-origin"

# Endpoints that set their own Cache-Control, and why it is acceptable after sign-out:
# tiles are "private, max-age=TILES_MAX_AGE" (30 s) with "Vary: Authorization": a tile
# holds points, kinds and counts but no names or phones, the browser keeps it only for
# the token that fetched it, and the short max-age keeps panning cheap. (A page script
# replaying the old token with fetch(…, {cache: "force-cache"}) could read a tile back
# until the browser evicts it; photos, which are personal, are no-store for that reason.)
# The basemap's style, tiles and glyphs (server/api/basemap.py) are public, the same for
# everyone and without personal data: the browser and the service worker keep them.
OWN_CACHING = frozenset({"tiles.tile", "basemap.style", "basemap.tile", "basemap.glyphs"})

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def _origin(url: str | None) -> str | None:
    """The origin of an http(s) URL, for a CSP source list.

    >>> _origin("https://tiles.example.cn:8443/styles/basic.json?key=x")
    'https://tiles.example.cn:8443'
    >>> _origin("/basemap/style.json") is None, _origin(None) is None
    (True, True)
    """
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def page_csp(config: dict[str, Any]) -> str:
    """The pages' policy. MapLibre draws in a blob: worker and sets inline styles on its
    elements; photos are shown from blob: URLs; the basemap (``BASEMAP_STYLE``, plus any
    tile, sprite or glyph hosts in ``BASEMAP_ORIGINS``) may live on other origins.

    >>> csp = page_csp({"BASEMAP_STYLE": "https://map.example.cn/style.json"})
    >>> "script-src 'self';" in csp and "connect-src 'self' https://map.example.cn" in csp
    True
    """
    from server.services.basemap import csp_origins

    extra = [o for o in [_origin(config.get("BASEMAP_STYLE")),
                         *(_origin(u) for u in csp_origins(config)),
                         *(_origin(u) for u in (config.get("BASEMAP_ORIGINS") or "").split())]
             if o]
    hosts = "".join(f" {o}" for o in dict.fromkeys(extra))
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob:{hosts}",
        f"connect-src 'self'{hosts}",
        f"font-src 'self' data:{hosts}",
        "worker-src 'self' blob:",
        "child-src 'self' blob:",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def init_app(app: Flask) -> None:
    csp = page_csp(app.config)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        if response.mimetype == "text/html":
            headers["Content-Security-Policy"] = csp
            headers["X-Frame-Options"] = "DENY"
        elif request.path.startswith("/api/"):
            headers.setdefault("Content-Security-Policy", API_CSP)
        if request.path.startswith("/api/") and not (
                request.endpoint in OWN_CACHING and "Cache-Control" in headers):
            headers["Cache-Control"] = "no-store"
        return response
