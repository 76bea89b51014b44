"""The audit log: one entry per security-relevant act (等级保护 2.0 level 3, PIPL).

Every path that signs in, revokes, reads personal data unmasked, acts on the desk,
resolves a conflict, exports, imports grids or changes a user or device calls
:func:`record` inside its own transaction, so the entry commits (or rolls back) with the
act it describes. Failed acts that write nothing else (a refused sign-in) commit the
entry themselves.

Entry fields (``docs/protocol.md``, "Audit log"): ``at``, ``user``, ``device_id``, ``ip``,
``action``, ``object``, ``result``.

Entries are hash-chained by a BEFORE INSERT trigger (migration 0007) that locks the chain
head until the transaction commits. So that this lock is held for one round trip rather
than for the rest of a push or pull, :func:`record` only queues the entry on the session;
the queue is inserted (in one statement) just before COMMIT, after the session's own
flush, so the head is always the last lock a transaction takes and no lock-order cycle
can form. On a connection in autocommit (a ``read_only`` view) there is no COMMIT to
wait for: the entry is inserted at once, as its own transaction.
"""

from __future__ import annotations

import base64
import csv
import getpass
import io
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction

from server.errors import ApiError
from server.extensions import db
from sync.audit_chain import Entry, Finding, verify_chain

if TYPE_CHECKING:
    from server.auth import Caller

PENDING = "audit_pending"
MIN_RETENTION_DAYS = 180
FIELD_ROLES = ("patroller", "grid_leader")
# Columns of the API and of the CSV, in this order.
COLUMNS = ("seq", "at", "user", "device_id", "ip", "action", "object", "result", "entity",
           "record_ids", "detail", "hash")


def client_ip() -> str | None:
    """The caller's address as this node saw it (a proxy in front sets ``ProxyFix``)."""
    return request.remote_addr if has_request_context() else None


def _clean(value: Any) -> Any:
    """Text without NUL characters, which PostgreSQL cannot store (in text or jsonb).

    >>> _clean({"a\\x00": ["x\\x00y", 1, None]})
    {'a': ['xy', 1, None]}
    """
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_clean(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _cut(value: Any, size: int) -> str | None:
    return None if value is None else _clean(str(value))[:size]


def record(action: str, *, result: str = "ok", object: str | None = None,
           user_id: int | None = None, username: str | None = None,
           device_id: str | None = None, detail: dict[str, Any] | None = None,
           entity: str | None = None, record_ids: list[str] | None = None,
           caller: Caller | None = None, ip: str | None = None) -> None:
    """Append one audit entry in the current transaction.

    ``action`` is a dotted verb such as ``auth.signin`` or ``desk.transition``;
    ``result`` is ``ok`` or a refusal code (``invalid_credentials``, ``forbidden``…).
    The user and device default to ``caller`` (or the request's signed-in caller), the
    address to the request's; the trigger fills in the username for a bare ``user_id``.
    Like any write, the entry is kept only if the caller commits its transaction.
    """
    if caller is None and user_id is None and username is None and has_app_context():
        caller = g.get("caller")
    if caller is not None:
        user_id = caller.user_id if user_id is None else user_id
        username = username or caller.username
        device_id = device_id or caller.device_id
    entry = {
        "user_id": user_id, "username": _cut(username, 64), "device_id": _cut(device_id, 128),
        "ip": _cut(ip or client_ip(), 64), "action": _cut(action, 64),
        "object": _cut(object, 256), "result": _cut(result, 64) or "ok",
        "entity": _cut(entity, 16), "record_ids": [_cut(x, 200) for x in record_ids or []],
        "detail": _clean(detail or {}),
    }
    session = db.session()
    connection = session.connection()
    if connection.connection.dbapi_connection.autocommit:
        _insert(session, [entry])
    else:
        session.info.setdefault(PENDING, []).append(entry)


def _insert(session: Session, entries: list[dict[str, Any]]) -> None:
    session.execute(text("""
        INSERT INTO audit_log (user_id, username, device_id, ip, action, object, result,
                               entity, record_ids, detail)
        SELECT (e->>'user_id')::integer, e->>'username', e->>'device_id', e->>'ip',
               e->>'action', e->>'object', e->>'result', e->>'entity',
               ARRAY(SELECT jsonb_array_elements_text(e->'record_ids')), e->'detail'
        FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS x(e, n)
        ORDER BY x.n
    """), {"rows": json.dumps(entries, ensure_ascii=False, default=str)})


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    entries = session.info.pop(PENDING, None)
    if entries:
        session.flush()  # the chain head is the last lock this transaction takes
        _insert(session, entries)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    # Entries of a transaction that rolled back never happened, like their act.
    if transaction.parent is None:
        session.info.pop(PENDING, None)


# --- verify and prune (flask --app server audit …) -----------------------------------

VERIFY_SQL = """
    SELECT seq, at, user_id, username, device_id, ip, action, object, result, entity,
           record_ids, detail::text AS detail, prev_hash, hash
    FROM audit_log ORDER BY seq
"""


def verify() -> tuple[int, Finding | None, dict[str, Any]]:
    """Recompute the whole chain in one snapshot: (good entries, first finding, chain)."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            chain = conn.execute(text("SELECT * FROM audit_chain WHERE id = 1")).one()
            rows = conn.execution_options(stream_results=True, yield_per=2000).execute(
                text(VERIFY_SQL))
            entries = (Entry(**row._mapping) for row in rows)
            count, finding = verify_chain(entries, chain.anchor_seq, chain.anchor_hash,
                                          chain.head_seq, chain.head_hash)
            rows.close()
    return count, finding, dict(chain._mapping)


def prune(days: int = MIN_RETENTION_DAYS) -> dict[str, Any]:
    """Delete the entries older than ``days`` (at least 180), oldest first, keeping the
    chain verifiable from its anchor; the prune is itself an entry. Commits."""
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"audit entries are kept at least {MIN_RETENTION_DAYS} days")
    # The oldest entries, in chain order, up to the first one that is still young (the
    # chain is in commit order, and ``at`` is when each act's transaction began).
    db.session.execute(text("SET LOCAL gridpatrol.audit_prune = 'on'"))
    # Walks the seq index from the oldest entry, so it reads only what goes.
    row = db.session.execute(text("""
        SELECT coalesce(
            (SELECT seq FROM audit_log WHERE at >= now() - make_interval(days => :days)
             ORDER BY seq LIMIT 1) - 1,
            (SELECT max(seq) FROM audit_log)) AS last
    """), {"days": days}).one()
    removed = 0
    if row.last is not None:
        removed = db.session.execute(text("DELETE FROM audit_log WHERE seq <= :last"),
                                     {"last": row.last}).rowcount
    db.session.execute(text("RESET gridpatrol.audit_prune"))
    chain = db.session.execute(text("SELECT anchor_seq, anchor_hash FROM audit_chain")).one()
    record("audit.prune", object="audit_log", detail={
        "days": days, "removed": removed, "anchor_seq": chain.anchor_seq,
        "anchor_hash": chain.anchor_hash})
    db.session.commit()
    return {"removed": removed, "anchor_seq": chain.anchor_seq,
            "anchor_hash": chain.anchor_hash}


# --- GET /api/v1/audit ----------------------------------------------------------------

def encode_cursor(seq: int) -> str:
    """An opaque cursor: the last entry's seq.

    >>> decode_cursor(encode_cursor(42))
    42
    """
    return base64.urlsafe_b64encode(f"a{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw[:1] != "a" or not raw[1:].isdigit():
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_cursor", "the cursor is not one this server issued",
                       {"cursor": [cursor[:64]]}) from exc


def scope_filter(caller: Caller) -> tuple[str, dict[str, Any]]:
    """Admins see every entry; supervisors those of the field users whose grids lie in
    their areas; everyone else gets 403."""
    if caller.is_admin:
        return "TRUE", {}
    if caller.role != "supervisor":
        raise ApiError(403, "forbidden", "the audit log is for admins and supervisors")
    from server.scope import AREA_SQL

    return (f"""a.user_id IN (
        SELECT ug.user_id FROM user_grid ug
        JOIN app_user u ON u.id = ug.user_id AND u.role = ANY(:field_roles)
        JOIN grid g ON g.code = ug.grid_code
        WHERE {AREA_SQL.format(g="g")})""",
            {"areas": caller.areas, "field_roles": list(FIELD_ROLES)})


def list_entries(caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
    """Newest first; ``cursor`` continues after the last entry of the previous page."""
    where, params = scope_filter(caller)
    conditions = [where]
    after = decode_cursor(args.get("cursor"))
    if after is not None:
        conditions.append("a.seq < :after")
        params["after"] = after
    if args.get("from_") is not None:
        conditions.append("a.at >= :from_")
        params["from_"] = args["from_"]
    if args.get("to") is not None:
        conditions.append("a.at < :to")
        params["to"] = args["to"]
    if args.get("user"):
        conditions.append("a.username = :user")
        params["user"] = args["user"]
    action = args.get("action")
    if action and action.endswith("*"):
        conditions.append("a.action LIKE :action")
        params["action"] = action[:-1].replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
    elif action:
        conditions.append("a.action = :action")
        params["action"] = action
    params["limit"] = args["limit"] + 1
    rows = db.session.execute(text(f"""
        SELECT a.seq, a.at, a.username AS user, a.device_id, a.ip, a.action, a.object,
               a.result, a.entity, a.record_ids, a.detail, a.hash
        FROM audit_log a WHERE {" AND ".join(conditions)}
        ORDER BY a.seq DESC LIMIT :limit
    """), params).all()
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    entries = [dict(r._mapping) for r in rows]
    cursor = encode_cursor(rows[-1].seq) if rows else args.get("cursor")
    return {"entries": entries, "cursor": cursor, "more": more}


def to_csv(entries: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens Chinese names right.

    >>> to_csv([])[:3] == b"\\xef\\xbb\\xbf"
    True
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for e in entries:
        writer.writerow([_csv_value(e.get(c)) for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode()


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False) if value else ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # Excel would run it as a formula
    return "" if value is None else value



def cli_detail(**detail: Any) -> dict[str, Any]:
    """``detail`` for an act done with ``flask --app server …``: the OS account behind it
    (the CLI has no signed-in user)."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        os_user = None
    return {"via": "cli", "os_user": os_user, **detail}
