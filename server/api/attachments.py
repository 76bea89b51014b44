from __future__ import annotations

import hashlib
import re

from flask import Response, current_app, request, send_file
from sqlalchemy import text

from server.api.blueprint import Blueprint
from server.auth import current_caller, login_required
from server.errors import ApiError
from server.extensions import db
from server.scope import record_filter
from server.services.storage import FileStore

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


def store() -> FileStore:
    return FileStore(current_app.config["ATTACHMENT_DIR"])


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
    caller = current_caller()
    files = store()
    if not files.exists(sha256):
        files.put(sha256, data)
    inserted = db.session.execute(text("""
        INSERT INTO attachment (sha256, size, content_type, created_by)
        VALUES (:h, :s, :t, :u) ON CONFLICT (sha256) DO NOTHING RETURNING sha256
    """), {"h": sha256, "s": len(data), "t": content_type, "u": caller.user_id}).first()
    db.session.commit()
    status = 201 if inserted else 200
    return {"sha256": sha256, "size": len(data), "content_type": content_type}, status


@blp.route("/<sha256>", methods=["HEAD"])
@blp.doc(responses={"200": {"description": "stored (no body)", "content": IMAGE_CONTENT}})
@login_required
def head_attachment(sha256: str):
    """200 if the server has these bytes, 404 if not."""
    _check_name(sha256)
    row = db.session.execute(text("SELECT size, content_type FROM attachment WHERE sha256 = :h"),
                             {"h": sha256}).first()
    if row is None:  # the error shape's headers; HEAD sends no body
        raise ApiError(404, "not_found", "no such photo")
    return Response(status=200, headers={"Content-Length": str(row.size),
                                         "Content-Type": row.content_type})


@blp.route("/<sha256>", methods=["GET"])
@blp.doc(responses={"200": {"description": "the photo's bytes", "content": IMAGE_CONTENT}})
@login_required
def get_attachment(sha256: str):
    """The photo, if a record the caller may see names it (or the caller uploaded it)."""
    _check_name(sha256)
    caller = current_caller()
    where, params = record_filter(caller)
    params["h"] = sha256
    row = db.session.execute(text(f"""
        SELECT a.content_type FROM attachment a WHERE a.sha256 = :h AND (
            a.created_by = :me OR EXISTS (
                SELECT 1 FROM record r LEFT JOIN grid g ON g.id = r.grid_id
                WHERE r.data->'photos' ? :h AND {where}))
    """), {**params, "me": caller.user_id}).first()
    if row is None:
        raise ApiError(404, "not_found", "no such photo in your scope")
    response = send_file(store().open(sha256), mimetype=row.content_type)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
