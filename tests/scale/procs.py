"""Stopping the services the scale-out tests start (nginx, PgBouncer)."""

from __future__ import annotations

import subprocess


def stop(proc: subprocess.Popen | None) -> None:
    """Terminate ``proc`` if it still runs; kill it after 10 s."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
