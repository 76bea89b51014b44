"""Named points where a fault test stops the server dead, at a known moment.

With ``GRIDPATROL_FAULT_POINT=push.before_commit`` and ``GRIDPATROL_FAULT_DIR=DIR`` in
its environment, a worker that reaches that point writes ``DIR/<point>.<pid>`` and waits
there (up to a minute) for the test to ``kill -9`` it; the test kills on that signal
instead of on a timer, so it cannot pass without hitting a push. Unset, as in
production, :func:`reached` is one comparison.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

POINTS = ("push.before_commit", "push.after_commit")
_POINT = os.environ.get("GRIDPATROL_FAULT_POINT")
_DIR = os.environ.get("GRIDPATROL_FAULT_DIR")


def reached(point: str) -> None:
    """Signal and wait at ``point`` if a fault test asked for it."""
    if point != _POINT or not _DIR:
        return
    Path(_DIR, f"{point}.{os.getpid()}").touch()
    time.sleep(60)
