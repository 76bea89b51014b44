"""The audit log's hash chain: the canonical serialisation of an entry and its hash.

Written twice on purpose: PostgreSQL's ``audit_entry_hash`` (migration 0007) computes the
hash as entries are inserted, and :func:`entry_hash` recomputes it for ``audit verify``,
so that a verifier does not trust the database's own functions. A test keeps the two in
step.

Each field is one token, ``<octets>:<text>`` or ``~`` for NULL, so that no choice of
values can make two different entries serialise alike. ``detail`` enters as PostgreSQL
prints ``jsonb`` (normalised: keys sorted, one spacing), which the verifier reads back
as text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = "0" * 64
VERSION = "gridpatrol-audit-v1"


def token(value: str | None) -> str:
    """One field: its length in UTF-8 octets, a colon and the text; ``~`` for NULL.

    >>> token("网格"), token(""), token(None)
    ('6:网格', '0:', '~')
    """
    return "~" if value is None else f"{len(value.encode())}:{value}"


def utc_text(at: datetime) -> str:
    """A timestamp as the chain writes it, in UTC to the microsecond.

    >>> from datetime import timedelta, timezone
    >>> utc_text(datetime(2026, 12, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))))
    '2026-12-01T00:00:00.000000Z'
    """
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Entry:
    """An audit entry as stored; ``detail`` is the text PostgreSQL prints for the jsonb."""

    seq: int
    at: datetime
    user_id: int | None
    username: str | None
    device_id: str | None
    ip: str | None
    action: str
    object: str | None
    result: str
    entity: str | None
    record_ids: Sequence[str | None]
    detail: str
    prev_hash: str
    hash: str


def entry_hash(prev_hash: str, e: Entry) -> str:
    """SHA-256 (hex) over the previous hash and the entry's canonical serialisation.

    >>> e = Entry(1, datetime(2026, 12, 1, tzinfo=UTC), 7, "wang", "dev-1", "10.0.0.1",
    ...           "desk.transition", "incident:x", "ok", None, [], "{}", GENESIS, "")
    >>> h = entry_hash(GENESIS, e)
    >>> len(h), h == entry_hash(GENESIS, e), h == entry_hash("1" * 64, e)
    (64, True, False)
    """
    fields = [str(e.seq), utc_text(e.at), None if e.user_id is None else str(e.user_id),
              e.username, e.device_id, e.ip, e.action, e.object, e.result, e.entity,
              str(len(e.record_ids)), *e.record_ids, e.detail]
    canonical = token(prev_hash) + VERSION + "".join(token(f) for f in fields)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Finding:
    """The first entry that breaks the chain, and how."""

    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry seq {self.seq}" if self.seq is not None else "the chain"
        return f"{where}: {self.problem}"


def verify_chain(entries: Iterable[Entry], anchor_seq: int, anchor_hash: str,
                 head_seq: int, head_hash: str) -> tuple[int, Finding | None]:
    """Check entries in ``seq`` order from the anchor (the last pruned entry) to the
    head: the number of good entries, and the first :class:`Finding` or None.

    A changed entry no longer matches its hash; one inserted out of chain, or a removed
    one, breaks the seq sequence or the link to its predecessor; removed newest entries
    leave the stored head unmatched.

    >>> def mk(seq, prev, at=datetime(2026, 1, 1, tzinfo=UTC)):
    ...     e = Entry(seq, at, None, "li", None, None, "a", None, "ok", None, [], "{}", prev, "")
    ...     return Entry(**{**e.__dict__, "hash": entry_hash(prev, e)})
    >>> a = mk(1, GENESIS); b = mk(2, a.hash); c = mk(3, b.hash)
    >>> verify_chain([a, b, c], 0, GENESIS, 3, c.hash)
    (3, None)
    >>> n, f = verify_chain([a, c], 0, GENESIS, 3, c.hash); n, str(f)
    (1, 'entry seq 3: seq 2 is missing (an entry was removed)')
    >>> n, f = verify_chain([a, b], 0, GENESIS, 3, c.hash); n, str(f)
    (2, 'the chain: the head is seq 3 but the last entry is seq 2 (newest entries removed)')
    >>> bad = Entry(**{**b.__dict__, "username": "zhao"})
    >>> n, f = verify_chain([a, bad, c], 0, GENESIS, 3, c.hash); n, str(f)
    (1, 'entry seq 2: its hash does not match its contents (changed)')
    >>> n, f = verify_chain([b, c], 1, a.hash, 3, c.hash); n, f
    (2, None)
    """
    expect_seq, prev = anchor_seq + 1, anchor_hash
    count = 0
    for e in entries:
        if e.seq != expect_seq:
            problem = (f"seq {expect_seq} is missing (an entry was removed)"
                       if e.seq > expect_seq else f"seq {e.seq} is out of order")
            return count, Finding(e.seq, problem)
        if e.prev_hash != prev:
            return count, Finding(e.seq, "its prev_hash does not match the entry before it")
        if entry_hash(prev, e) != e.hash:
            return count, Finding(e.seq, "its hash does not match its contents (changed)")
        prev, expect_seq = e.hash, expect_seq + 1
        count += 1
    last = expect_seq - 1
    if last != head_seq or prev != head_hash:
        why = " (newest entries removed)" if last < head_seq else " (the head does not match)"
        return count, Finding(None, f"the head is seq {head_seq} but the last entry is "
                                    f"seq {last}{why}")
    return count, None
