"""Who may read a photo (PROTOCOL v1.1 "Photos are private to those who may see them").

Naming a hash in a record opens nothing by itself: a photo counts as a record's only
once the user who named it (``record_photo.named_by``) has uploaded those bytes
themselves (``attachment_upload``). Otherwise anyone who learnt a hash (from a shared
picture, say) could read it back by naming it in a record of their own, and HEAD would
tell anyone whether a photo exists.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from server.auth import Caller
from server.extensions import db
from server.scope import record_filter


def record_upload(sha256: str, size: int, content_type: str, user_id: int) -> bool:
    """Remember the bytes and that this user uploaded them; True if they were new.

    Called only after the bytes were checked to hash to ``sha256``: whoever sent them has
    them, so a second uploader (200) is recorded as much as the first (201).
    """
    inserted = db.session.execute(text("""
        INSERT INTO attachment (sha256, size, content_type, created_by)
        VALUES (:h, :s, :t, :u) ON CONFLICT (sha256) DO NOTHING RETURNING sha256
    """), {"h": sha256, "s": size, "t": content_type, "u": user_id}).first()
    db.session.execute(text("""
        INSERT INTO attachment_upload (sha256, user_id) VALUES (:h, :u)
        ON CONFLICT (sha256, user_id) DO NOTHING
    """), {"h": sha256, "u": user_id})
    return inserted is not None


def readable(caller: Caller, sha256: str) -> Any | None:
    """``(size, content_type)`` of a photo the caller may read, or None.

    None alike for bytes the server lacks and for bytes the caller may not see, so that
    the answer is no oracle. One statement: the caller uploaded them, or a record the
    caller may see (the pull's scope) still names them and its namer uploaded them.
    """
    where, params = record_filter(caller)
    return db.session.execute(text(f"""
        SELECT a.size, a.content_type FROM attachment a
        WHERE a.sha256 = :h AND (
            EXISTS (SELECT 1 FROM attachment_upload u
                    WHERE u.sha256 = a.sha256 AND u.user_id = :caller)
            OR EXISTS (
                SELECT 1 FROM record_photo rp
                JOIN attachment_upload u ON u.sha256 = rp.sha256 AND u.user_id = rp.named_by
                JOIN record r ON r.id = rp.record_id
                LEFT JOIN grid g ON g.id = r.grid_id
                WHERE rp.sha256 = a.sha256 AND NOT r.deleted
                  AND r.data->'photos' ? a.sha256 AND {where}))
    """), {**params, "h": sha256, "caller": caller.user_id}).first()


def name_photos(named: list[tuple[str, str, int]]) -> None:
    """Record ``(record_id, sha256, named_by)`` rows, one statement for a whole push."""
    if not named:
        return
    rows = [{"r": r, "h": h, "u": u} for r, h, u in sorted(set(named))]
    db.session.execute(text("""
        INSERT INTO record_photo (record_id, sha256, named_by)
        SELECT x.r, x.h, x.u FROM jsonb_to_recordset(CAST(:rows AS jsonb))
            AS x(r uuid, h text, u int)
        ON CONFLICT DO NOTHING
    """), {"rows": json.dumps(rows)})


def not_uploaded_by(user_id: int, hashes: list[str]) -> set[str]:
    """Those of ``hashes`` this user has not uploaded (someone else's upload won't do)."""
    if not hashes:
        return set()
    have = set(db.session.execute(text(
        "SELECT sha256 FROM attachment_upload WHERE user_id = :u AND sha256 = ANY(:h)"),
        {"u": user_id, "h": hashes}).scalars())
    return set(hashes) - have
