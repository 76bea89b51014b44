"""The password rule (PROTOCOL v1.1 "Sign-in, devices and passwords"), written once.

Every path that sets a password (``users create``, the sign-in's forced change, the admin
API) calls :func:`password_problem`; none repeats the rule. It imports no Flask and no
SQLAlchemy so that it stays a pure function of its arguments.
"""

from __future__ import annotations

from collections.abc import Container
from functools import cache
from pathlib import Path

MIN_LENGTH = 10
# Longer than any passphrase anyone types; argon2 would hash a megabyte, but nobody needs it.
MAX_LENGTH = 1024
COMMON_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of well-known weak passwords, lower-cased (read once per process)."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("# "))


def character_classes(password: str) -> int:
    """How many of letters, digits and symbols ``password`` uses (spaces count for none).

    >>> character_classes("abcdefghij"), character_classes("abc123"), character_classes("网格-2026")
    (1, 2, 3)
    """
    letters = any(c.isalpha() for c in password)
    digits = any(c.isdigit() for c in password)
    symbols = any(not c.isalnum() and not c.isspace() for c in password)
    return letters + digits + symbols


def password_problem(password: str, common: Container[str] | None = None) -> str | None:
    """Why ``password`` may not be used, or None if it may.

    At least 10 characters, at least two of letters / digits / symbols, not only
    whitespace, no NUL or other control character, and not in the list of common
    passwords (compared case-insensitively, so ``WoAiNi1314`` is as weak as
    ``woaini1314``). ``common`` defaults to the bundled list.

    >>> password_problem("gridpatrol-demo") is None
    True
    >>> password_problem("pw-123456")
    'the password must be at least 10 characters'
    >>> password_problem("abcdefghijkl")
    'the password must use at least two of: letters, digits, symbols'
    >>> password_problem("WoAiNi1314")
    'this password is too common; choose another'
    >>> password_problem("a123456789"), password_problem("1qaz2wsx3edc") is not None
    ('this password is too common; choose another', True)
    >>> password_problem(" " * 12)
    'the password must not be only spaces'
    >>> password_problem("gridpatrol\\x00-demo")
    'the password must not contain control characters'
    >>> password_problem("my-own-pass-1", common={"my-own-pass-1"})
    'this password is too common; choose another'
    """
    if not password.strip():
        return "the password must not be only spaces"
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        # NUL cannot even reach PostgreSQL as text; tabs and newlines are typos, not secrets.
        return "the password must not contain control characters"
    if len(password) < MIN_LENGTH:
        return f"the password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must be at most {MAX_LENGTH} characters"
    if character_classes(password) < 2:
        return "the password must use at least two of: letters, digits, symbols"
    if password.lower() in (common_passwords() if common is None else common):
        return "this password is too common; choose another"
    return None
