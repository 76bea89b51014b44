"""Where photo bytes live: files on disk (default) or any S3-compatible object store.

``ATTACHMENT_STORE`` chooses (PROTOCOL v1.1 "Storage and scale"): ``file:DIR`` or
``s3://BUCKET/PREFIX``; without it, ``ATTACHMENT_DIR`` names a file store, as before. The
interface is small on purpose: ``exists``, ``put``, ``open`` and ``stream`` (chunks, for
GET, whose size the database already knows). A store that cannot be reached raises
:class:`StoreUnavailable`, which the attachment routes answer 503 with ``Retry-After``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol

CHUNK = 64 * 1024


class StoreUnavailable(Exception):
    """The store did not answer (down, slow, or failing on its side): try again later."""


class AttachmentStore(Protocol):
    def exists(self, sha256: str) -> bool: ...

    def put(self, sha256: str, data: bytes) -> None: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def stream(self, sha256: str) -> Iterator[bytes]: ...

    def describe(self) -> str: ...


class FileStore:
    """Content-addressed files, written atomically (temp file, fsync, rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"file:{self.root}"

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def stream(self, sha256: str) -> Iterator[bytes]:
        fh = self.open(sha256)
        return _chunks(fh)

    def names(self) -> Iterator[str]:
        """Every stored hash (the migration's source); temp files are skipped."""
        for path in sorted(self.root.glob("??/*")):
            if path.is_file() and not path.name.startswith("."):
                yield path.name


def _chunks(fh: Any) -> Iterator[bytes]:
    try:
        while chunk := fh.read(CHUNK):
            yield chunk
    finally:
        fh.close()


def parse_location(location: str) -> tuple[str, str, str]:
    """``("file", DIR, "")`` or ``("s3", BUCKET, PREFIX)``.

    >>> parse_location("s3://photos/gridpatrol/")
    ('s3', 'photos', 'gridpatrol')
    >>> parse_location("s3://photos")
    ('s3', 'photos', '')
    >>> parse_location("file:/var/lib/gridpatrol/attachments")
    ('file', '/var/lib/gridpatrol/attachments', '')
    >>> parse_location("ftp://x")
    Traceback (most recent call last):
    ...
    ValueError: ATTACHMENT_STORE must be file:DIR or s3://BUCKET/PREFIX, not 'ftp://x'
    """
    if location.startswith("file:") and len(location) > 5:
        return "file", location[5:], ""
    if location.startswith("s3://"):
        bucket, _, prefix = location[5:].partition("/")
        if bucket:
            return "s3", bucket, prefix.strip("/")
    raise ValueError(f"ATTACHMENT_STORE must be file:DIR or s3://BUCKET/PREFIX, not {location!r}")


def _setting(config: Mapping[str, Any], key: str, default: str = "") -> str:
    # The app's config first (tests, factories), then the environment (deployments).
    return str(config.get(key) or os.environ.get(key) or default)


def store_for(location: str, config: Mapping[str, Any] | None = None) -> AttachmentStore:
    """The store at ``location``, with S3 settings from ``config`` or the environment."""
    config = config or {}
    kind, where, prefix = parse_location(location)
    if kind == "file":
        return FileStore(where)
    from server.services.storage_s3 import S3Store

    style = _setting(config, "S3_ADDRESSING_STYLE", "path")
    if style not in ("path", "virtual"):
        raise ValueError(f"S3_ADDRESSING_STYLE must be path or virtual, not {style!r}")
    return S3Store(
        bucket=where, prefix=prefix,
        endpoint_url=_setting(config, "S3_ENDPOINT_URL") or None,
        region=_setting(config, "S3_REGION") or None, addressing_style=style,
        access_key=_setting(config, "AWS_ACCESS_KEY_ID") or None,
        secret_key=_setting(config, "AWS_SECRET_ACCESS_KEY") or None,
        connect_timeout=float(_setting(config, "S3_CONNECT_TIMEOUT", "2")),
        read_timeout=float(_setting(config, "S3_READ_TIMEOUT", "10")),
        max_attempts=int(_setting(config, "S3_MAX_ATTEMPTS", "2")))


def location_from_config(config: Mapping[str, Any]) -> str:
    """``ATTACHMENT_STORE``, else ``file:`` + ``ATTACHMENT_DIR`` (the older setting)."""
    return _setting(config, "ATTACHMENT_STORE") or f"file:{config['ATTACHMENT_DIR']}"


def from_app(app: Any) -> AttachmentStore:
    """The app's store, made once per location (a boto3 client is costly to build and
    thread-safe to share)."""
    location = location_from_config(app.config)
    cache = app.extensions.setdefault("attachment_store", {})
    if location not in cache:
        cache[location] = store_for(location, app.config)
    return cache[location]
