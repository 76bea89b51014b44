from __future__ import annotations

import hashlib
import re

from flask import Response, current_app, request

from server.api.blueprint import Blueprint
from server.auth import current_caller, login_required
from server.errors import RETRY_AFTER_SECONDS, ApiError, error_body
from server.extensions import db
from server.services import photos, storage
from server.services.storage import AttachmentStore, StoreUnavailable

PREFIX = "/attachments"
blp = Blueprint("attachments", __name__, description="Photos, addressed by their SHA-256")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAGIC = {
    "image/jpeg": lambda b: b[:3] == b"\xff\xd8\xff",
    "image/png": lambda b: b[:8] == b"\x89PNG\r\n\x1a\n",
    "image/webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
}


IMAGE_CONTENT = {t: {"schema": {"type": "string", "format": "binary"}} for t in MAGIC}
STORED = {"application/json": {"schema": {"type": "object", "properties": {
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "size": {"type": "integer"},
    "content_type": {"type": "string", "enum": list(MAGIC)}}}}}


def store() -> AttachmentStore:
    """``ATTACHMENT_STORE`` (file or S3), else the ``ATTACHMENT_DIR`` file store."""
    return storage.from_app(current_app)


@blp.errorhandler(StoreUnavailable)
def _store_unavailable(exc: StoreUnavailable):
    # Nothing was recorded (the row is written only after the bytes are stored), so the
    # phone's outbox simply retries; the push that names the photo never waits on S3.
    current_app.logger.warning("attachment store unavailable: %s", exc)
    body = error_body("storage_unavailable", "photo storage is unavailable; try again later")
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _check_name(sha256: str) -> None:
    if not SHA256.match(sha256):
        raise ApiError(400, "bad_request", "the name must be a lowercase sha256 hex string")


@blp.route("/<sha256>", methods=["PUT"])
@blp.doc(requestBody={"required": True, "content": IMAGE_CONTENT}, responses={
    "200": {"description": "already stored", "content": STORED},
    "201": {"description": "stored", "content": STORED}})
@blp.errors((413, "more than MAX_ATTACHMENT_BYTES"),
            (415, "not JPEG, PNG or WebP (by Content-Type or by the bytes)"),
            (422, "hash_mismatch: the bytes do not hash to the name"))
@login_required
def put_attachment(sha256: str):
    """Upload a photo's bytes. 201 stored, 200 already there."""
    _check_name(sha256)
    content_type = (request.mimetype or "").lower()
    if content_type not in MAGIC:
        raise ApiError(415, "unsupported_media_type", "only JPEG, PNG or WebP images",
                       {"content_type": [request.content_type or "missing"]})
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    if (request.content_length or 0) > limit:
        raise ApiError(413, "too_large", f"at most {limit} bytes", {"limit": limit})
    data = request.get_data(cache=False)
    if len(data) > limit:
        raise ApiError(413, "too_large", f"at most {limit} bytes", {"limit": limit})
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ApiError(422, "hash_mismatch", "the bytes do not hash to the name")
    if not MAGIC[content_type](data):
        raise ApiError(415, "unsupported_media_type", f"the bytes are not {content_type}")
    files = store()
    if not files.exists(sha256):
        files.put(sha256, data)
    inserted = photos.record_upload(sha256, len(data), content_type, current_caller().user_id)
    db.session.commit()
    status = 201 if inserted else 200
    return {"sha256": sha256, "size": len(data), "content_type": content_type}, status


def _readable(sha256: str):
    """The photo's row, or the same 404 whether it is not stored or not the caller's."""
    _check_name(sha256)
    row = photos.readable(current_caller(), sha256)
    if row is None:
        raise ApiError(404, "not_found", "no such photo")
    return row


def _headers(sha256: str) -> dict[str, str]:
    # no-store, not "private, no-cache": Chromium serves a no-cache response to a
    # fetch(url, {cache: "force-cache"}) without asking, even after sign-out
    # (tests/browser/test_trust_edges.py). The hash is still a perfect validator for
    # clients that keep photos themselves.
    return {"ETag": f'"{sha256}"', "Cache-Control": "no-store"}


def _not_modified(sha256: str) -> bool:
    tags = request.headers.get("If-None-Match", "")
    return any(t.strip().removeprefix("W/").strip('"') in (sha256, "*") for t in tags.split(","))


@blp.route("/<sha256>", methods=["HEAD"])
@blp.doc(responses={"200": {"description": "stored (no body)", "content": IMAGE_CONTENT}})
@login_required
def head_attachment(sha256: str):
    """200 if the caller may read the photo (see GET), else 404."""
    row = _readable(sha256)
    return Response(status=200, headers={**_headers(sha256),
                                         "Content-Length": str(row.size),
                                         "Content-Type": row.content_type})


@blp.route("/<sha256>", methods=["GET"])
@blp.doc(responses={"200": {"description": "the photo's bytes", "content": IMAGE_CONTENT}})
@login_required
def get_attachment(sha256: str):
    """The photo, if the caller uploaded these bytes, or a record the caller may see names
    it and whoever named it there uploaded them too; else 404 (as for a photo the server
    lacks). ``no-store``, with the hash as ETag; ``If-None-Match`` gets a 304."""
    row = _readable(sha256)
    if _not_modified(sha256):
        return Response(status=304, headers=_headers(sha256))
    # Streamed in chunks, from disk or S3 alike; the size is the database's.
    try:
        chunks = store().stream(sha256)
    except FileNotFoundError:
        # Recorded but not in the store: a node pointed at the wrong store, or bytes lost.
        # The same 404 as for bytes the server never had, never a 500.
        current_app.logger.error("attachment %s is recorded but not in %s", sha256,
                                 store().describe())
        raise ApiError(404, "not_found", "no such photo") from None
    return Response(chunks, mimetype=row.content_type,
                    headers={**_headers(sha256), "Content-Length": str(row.size)})
