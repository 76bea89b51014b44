"""Sign-in throttling: failed attempts counted in PostgreSQL (``signin_failure``).

The counters live in the database so that every app node behind a load balancer sees the
same counts: an attacker spreading guesses over nodes gains nothing.

- After ``SIGNIN_MAX_USER_FAILURES`` (10) failures for one username within
  ``SIGNIN_WINDOW_SECONDS`` (15 minutes), or ``SIGNIN_MAX_IP_FAILURES`` (50) from one
  client address, every attempt is refused with 429 until enough failures have left the
  window (a sliding window: ``Retry-After`` is when the count drops below the limit) or an
  admin runs ``users unlock NAME``.
- A refused attempt is checked with one indexed query before any argon2 hashing, and is
  not itself counted: otherwise an attacker could keep the owner locked out forever by
  trying once every few minutes.
- A successful sign-in clears that username's failures (the owner proved the password;
  the next 10 guesses start over), but not the address's: one valid account must not let
  an attacker reset the counter of the address they guess from.
- Usernames are counted as typed (they are case-sensitive; a failure for ``Admin`` cannot
  sign ``admin`` in either). Concurrent failures may overshoot a limit by a few: the
  check and the insert are not serialised, which costs nothing that matters.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import text

from server.extensions import db

# Expired rows are deleted in batches of at most this many, on one failure in PRUNE_EVERY.
PRUNE_BATCH = 1000
PRUNE_EVERY = 16


@dataclass(frozen=True)
class Lock:
    """Why attempts are refused now, and for how many more seconds."""

    by: str  # "username" or "ip"
    retry_after: int


def _limits() -> tuple[int, int, int]:
    cfg = current_app.config
    return (cfg["SIGNIN_WINDOW_SECONDS"], cfg["SIGNIN_MAX_USER_FAILURES"],
            cfg["SIGNIN_MAX_IP_FAILURES"])


def check(username: str, ip: str | None) -> Lock | None:
    """The lock on this username or address, if any, in one cheap query.

    Each subquery walks its ``(key, at)`` index backwards and stops at the limit-th newest
    failure in the window: while that one is in the window, the count is at the limit.
    """
    window, user_max, ip_max = _limits()
    row = db.session.execute(text("""
        SELECT (SELECT at FROM signin_failure
                WHERE username = :u AND at > now() - make_interval(secs => :w)
                ORDER BY at DESC OFFSET :um - 1 LIMIT 1) AS user_at,
               (SELECT at FROM signin_failure
                WHERE ip = :ip AND at > now() - make_interval(secs => :w)
                ORDER BY at DESC OFFSET :im - 1 LIMIT 1) AS ip_at,
               now() AS now
    """), {"u": username, "ip": ip, "w": window, "um": user_max, "im": ip_max}).one()
    locks = [Lock(by, math.ceil((at - row.now).total_seconds() + window))
             for by, at in (("username", row.user_at), ("ip", row.ip_at)) if at is not None]
    if not locks:
        return None
    lock = max(locks, key=lambda k: k.retry_after)
    return Lock(lock.by, max(lock.retry_after, 1))


def record_failure(username: str, ip: str | None) -> None:
    """Count one failure; now and then prune what has left the window (set-based)."""
    db.session.execute(text("INSERT INTO signin_failure (username, ip) VALUES (:u, :ip)"),
                       {"u": username[:64], "ip": ip[:64] if ip else None})
    if random.randrange(PRUNE_EVERY) == 0:
        prune()


def prune() -> int:
    """Delete up to PRUNE_BATCH failures older than the window, oldest first (ids grow
    with time, so the primary key finds them without a scan of the rest)."""
    window, _, _ = _limits()
    return db.session.execute(text("""
        DELETE FROM signin_failure WHERE id IN (
            SELECT id FROM signin_failure WHERE at < now() - make_interval(secs => :w)
            ORDER BY id LIMIT :n)
    """), {"w": window, "n": PRUNE_BATCH}).rowcount


def clear_username(username: str) -> int:
    """Forget a username's failures (a successful sign-in, or ``users unlock``).

    The rows stay, without their username: they still count for the addresses they came
    from, which only ``users unlock --ip`` or the window clears.
    """
    return db.session.execute(text(
        "UPDATE signin_failure SET username = NULL WHERE username = :u"),
        {"u": username}).rowcount


def clear_ip(ip: str) -> int:
    """Forget an address's failures (``users unlock --ip``); they still count for the
    usernames they name."""
    return db.session.execute(text("UPDATE signin_failure SET ip = NULL WHERE ip = :ip"),
                              {"ip": ip}).rowcount
