"""Large, generated responses gzipped at level 1 by the view itself.

Flask-Compress (``COMPRESS_LEVEL``, 4) suits the PWA's static files, which are compressed
once and cached. A 10,000-point match answer or a 250 KiB vector tile is compressed on
every request: level 1 is two to six times faster and within a few percent of the size
(measured in ``bench/RESULTS.md``). Flask-Compress leaves encoded responses alone.
"""

from __future__ import annotations

import gzip

from flask import Response, request

MIN_SIZE = 512


def gzip_fast(data: bytes, mimetype: str, status: int = 200,
              headers: dict[str, str] | None = None) -> Response:
    """``data`` gzipped at level 1 when the client accepts gzip and it is worth it."""
    if len(data) < MIN_SIZE or not request.accept_encodings["gzip"]:
        response = Response(data, status=status, mimetype=mimetype, headers=headers)
    else:
        response = Response(gzip.compress(data, compresslevel=1), status=status,
                            mimetype=mimetype, headers=headers)
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response
