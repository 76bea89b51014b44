"""The audit log: one entry per security-relevant act (等级保护 2.0 level 3, PIPL).

Every path that signs in, revokes, reads personal data unmasked, acts on the desk,
resolves a conflict, exports, imports grids or changes a user or device calls
:func:`record` inside its own transaction, so the entry commits (or rolls back) with the
act it describes. Failed acts that write nothing else (a refused sign-in) commit the
entry themselves.

Entry fields (``docs/protocol.md``, "Audit log"): ``at``, ``user``, ``device_id``, ``ip``,
``action``, ``object``, ``result``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import has_request_context, request
from sqlalchemy import text

from server.extensions import db


def client_ip() -> str | None:
    """The caller's address as this node saw it (a proxy in front sets ``ProxyFix``)."""
    return request.remote_addr if has_request_context() else None


def record(action: str, *, result: str = "ok", object: str | None = None,
           user_id: int | None = None, username: str | None = None,
           device_id: str | None = None, detail: dict[str, Any] | None = None,
           entity: str | None = None, record_ids: list[str] | None = None) -> None:
    """Append one audit entry in the current transaction.

    ``action`` is a dotted verb such as ``auth.signin`` or ``desk.transition``;
    ``result`` is ``ok`` or a refusal code (``invalid_credentials``, ``forbidden``…).
    """
    body = dict(detail or {})
    body.update({k: v for k, v in (("username", username), ("device_id", device_id),
                                   ("ip", client_ip()), ("object", object),
                                   ("result", result)) if v is not None})
    db.session.execute(text("""
        INSERT INTO audit_log (user_id, action, entity, record_ids, detail)
        VALUES (:u, :a, :e, :ids, CAST(:d AS jsonb))
    """), {"u": user_id, "a": action[:32], "e": entity, "ids": record_ids or [],
           "d": json.dumps(body, ensure_ascii=False)})
