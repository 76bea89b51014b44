"""Checks that `make` runs before it does anything, so a fault is one clear line.

Run with the machine's python3 (standard library only, so it works before the venv exists
and on a Python too old for GridPatrol, which is the first thing it reports):

    python3 scripts/preflight.py python            # exit 1 unless Python >= 3.11
    python3 scripts/preflight.py node              # exit 1 unless `node` fits pwa's Vite
    python3 scripts/preflight.py port 8000         # exit 1 if something listens there
    python3 scripts/preflight.py wait-db URL       # bounded wait until PostgreSQL answers
    python3 scripts/preflight.py fetch pypi -- pip install …   # registry failure -> one line

Exit status: 0 fine, 1 the check failed (the message says what to do), 3 a registry could
not be reached (`fetch`), or the command's own status when it failed otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_PYTHON = (3, 11)
EXIT_UNREACHABLE = 3


def say(message: str) -> None:
    # "make:" when make runs it; the container entrypoint and systemd name themselves.
    print(f"{os.environ.get('PREFLIGHT_NAME', 'make')}: {message}", file=sys.stderr)


# ---- Python ------------------------------------------------------------------------

def python_problem(version: tuple[int, ...], executable: str) -> str | None:
    """Why this Python cannot run GridPatrol, or None when it can.

    >>> python_problem((3, 11, 2), "/usr/bin/python3") is None
    True
    >>> print(python_problem((3, 9, 2), "/usr/bin/python3"))
    GridPatrol needs Python >= 3.11, but /usr/bin/python3 is 3.9.2. On Debian 12: apt-get install python3 python3-venv; elsewhere install Python 3.11 or newer and run make PYTHON=python3.11 (then rm -rf .venv)
    """
    if tuple(version[:2]) >= MIN_PYTHON:
        return None
    have = ".".join(str(part) for part in version[:3])
    need = ".".join(str(part) for part in MIN_PYTHON)
    return (f"GridPatrol needs Python >= {need}, but {executable} is {have}. "
            "On Debian 12: apt-get install python3 python3-venv; elsewhere install "
            f"Python {need} or newer and run make PYTHON=python{need} (then rm -rf .venv)")


# ---- Node.js -----------------------------------------------------------------------

def _version(text: str) -> tuple[int, int, int]:
    parts = [int(p) for p in re.findall(r"\d+", text)[:3]]
    major, minor, patch = [*parts, 0, 0, 0][:3]
    return major, minor, patch


def satisfies(version: str, spec: str) -> bool:
    """Whether a Node.js version fits an npm `engines` range (the forms Vite uses:
    `^x.y.z`, `>=x.y.z`, `x`, alternatives joined by `||`).

    >>> spec = "^20.19.0 || >=22.12.0"
    >>> [satisfies(v, spec) for v in ("v18.19.0", "v20.18.1", "v20.19.0", "v21.7.3",
    ...                                "v22.11.0", "v22.12.0", "v24.19.0")]
    [False, False, True, False, False, True, True]
    """
    have = _version(version)
    for alternative in spec.split("||"):
        alternative = alternative.strip().replace(">= ", ">=")
        if alternative.startswith("^"):
            want = _version(alternative[1:])
            if have[0] == want[0] and have >= want:
                return True
        elif alternative.startswith(">="):
            if have >= _version(alternative[2:]):
                return True
        elif re.fullmatch(r"\d+", alternative) and have[0] == int(alternative):
            return True
    return False


def node_requirement() -> str:
    """The Node.js range the PWA build needs: Vite's `engines`, read from the lockfile
    (so it is known before `npm ci` and follows Vite upgrades)."""
    lock = json.loads((ROOT / "pwa" / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"]["node_modules/vite"]["engines"]["node"]


def node_problem(version: str | None, where: str | None, spec: str) -> str | None:
    """Why this `node` cannot build the PWA, or None when it can.

    >>> node_problem("v20.20.2", "/usr/bin/node", "^20.19.0 || >=22.12.0") is None
    True
    >>> print(node_problem("v18.19.0", "/usr/bin/node", "^20.19.0 || >=22.12.0"))
    /usr/bin/node is v18.19.0; the PWA build (Vite) needs Node.js ^20.19.0 || >=22.12.0
    >>> print(node_problem(None, None, ">=22.12.0"))
    no node on PATH; the PWA build (Vite) needs Node.js >=22.12.0
    """
    if version is None:
        return f"no node on PATH; the PWA build (Vite) needs Node.js {spec}"
    if satisfies(version, spec):
        return None
    return f"{where} is {version}; the PWA build (Vite) needs Node.js {spec}"


def check_node() -> int:
    where = shutil.which("node")
    version = None
    if where:
        try:
            version = subprocess.run([where, "--version"], capture_output=True, text=True,
                                     timeout=30).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            version = None
    problem = node_problem(version, where, node_requirement())
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


# ---- a port for `make run` ---------------------------------------------------------

def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` (any address), from /proc/net/tcp{,6}."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(inode)
    return inodes


def port_owner(port: int) -> tuple[int, str] | None:
    """(pid, command name) of the process listening on `port`, or None if nobody does.
    The pid is 0 when the socket is there but its process is not visible to us."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in targets:
                    name = (proc / "comm").read_text().strip()
                    return int(proc.name), name
        except OSError:
            continue
    return 0, "?"


def port_problem(port: int, owner: tuple[int, str] | None) -> str | None:
    """The message for a port that is taken.

    >>> port_problem(8000, None) is None
    True
    >>> print(port_problem(8000, (4242, "gunicorn")))
    port 8000 is in use by PID 4242 (gunicorn); stop it, or run with PORT=8001 make run
    >>> print(port_problem(8000, (0, "?")))
    port 8000 is in use (by a process not visible here); stop it, or run with PORT=8001 make run
    """
    if owner is None:
        return None
    pid, name = owner
    who = f"by PID {pid} ({name})" if pid else "(by a process not visible here)"
    return f"port {port} is in use {who}; stop it, or run with PORT={port + 1} make run"


def check_port(port: int) -> int:
    problem = port_problem(port, port_owner(port))
    if problem:
        say(problem)
        return 1
    return 0


# ---- the database at start ---------------------------------------------------------

def wait_db(url: str, seconds: float) -> int:
    """Wait up to `seconds` for PostgreSQL to accept a connection (bounded, so a wrong
    URL fails with one line instead of hanging or printing a stack trace)."""
    import psycopg  # only here: the other checks run before the venv exists

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    deadline = time.monotonic() + seconds
    said = False
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=3).close()
            return 0
        except psycopg.OperationalError as exc:
            # psycopg's first line says what failed ("connection to server at … failed:
            # Connection refused"); the hint lines after it add nothing here.
            lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
            last = lines[0] if lines else repr(exc)
            if time.monotonic() >= deadline:
                where = re.sub(r"//[^@/]*@", "//", dsn)  # never print a password
                say(f"the database {where} did not accept connections within {seconds:g} s "
                    f"({last}); start PostgreSQL or fix DATABASE_URL, or wait longer with "
                    "DB_WAIT_SECONDS=…")
                return 1
            if not said:
                say("waiting for the database to accept connections…")
                said = True
            time.sleep(1)


# ---- registries --------------------------------------------------------------------

REGISTRIES = {
    "pypi": ("PyPI (pip)", "check the network or proxy (https_proxy), or point pip at a "
                           "mirror with PIP_INDEX_URL, then run make again"),
    "npm": ("the npm registry (npm)", "check the network or proxy (https_proxy), or point "
                                      "npm at a mirror with npm_config_registry, then run "
                                      "make again"),
    "apt": ("the Debian mirror (apt-get)", "check the network and /etc/apt/sources.list*, "
                                           "then run make again"),
}

UNREACHABLE = re.compile(
    r"Failed to establish a new connection|Temporary failure in name resolution|"
    r"Name or service not known|Network is unreachable|Connection refused|"
    r"ConnectTimeoutError|Read timed out|ProxyError|"
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH|network request to|"
    r"Temporary failure resolving|Could not resolve|Could not connect to|Unable to connect to|"
    r"Failed to fetch|Connection timed out")
CERTIFICATE = re.compile(r"CERTIFICATE_VERIFY_FAILED|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT|"
                         r"certificate verify failed|Certificate verification failed")


def registry_problem(registry: str, output: str) -> str | None:
    """One line for a failed install whose output shows an unreachable registry, or None
    when it failed for another reason (then its own output says why).

    >>> print(registry_problem("npm", "npm error code ENOTFOUND\\nnpm error network request"
    ...                        " to https://registry.example/vite failed"))
    could not reach the npm registry (npm); check the network or proxy (https_proxy), or point npm at a mirror with npm_config_registry, then run make again
    >>> print(registry_problem("pypi", "ERROR: ... [SSL: CERTIFICATE_VERIFY_FAILED] ..."))
    could not reach PyPI (pip) over HTTPS: the certificate was not trusted; install ca-certificates (apt-get install ca-certificates) or set PIP_CERT, then run make again
    >>> registry_problem("pypi", "ERROR: No matching distribution found for nothing==9") is None
    True
    """
    name, advice = REGISTRIES[registry]
    if CERTIFICATE.search(output):
        return (f"could not reach {name} over HTTPS: the certificate was not trusted; "
                "install ca-certificates (apt-get install ca-certificates) or set PIP_CERT, "
                "then run make again")
    if UNREACHABLE.search(output):
        return f"could not reach {name}; {advice}"
    return None


def registry_url(registry: str) -> str | None:
    """Where the client will go: a mirror named in the environment, or the public one."""
    if registry == "pypi":
        return os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple/"
    if registry == "npm":
        # npm reads its settings from lower-case npm_config_* variables.
        return (os.environ.get("npm_config_registry")  # noqa: SIM112
                or "https://registry.npmjs.org/")
    return None  # apt: many mirrors, its own messages name them


def reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether a TCP connection to the URL's host (or to the HTTPS proxy) opens."""
    import socket
    from urllib.parse import urlsplit

    proxy = os.environ.get("https_proxy") or os.environ.get("HTTPS_PROXY")
    parts = urlsplit(proxy if proxy and url.startswith("https") else url)
    if parts.scheme == "file":
        return True
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
        return True
    except OSError:
        return False


def fetch(registry: str, command: list[str]) -> int:
    """Run an install command, passing its output through; on failure, end with one line
    naming the registry that could not be reached (exit 3), or the command's status."""
    tail: deque[str] = deque(maxlen=400)
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace")
    except FileNotFoundError:
        say(f"{command[0]} is not installed")
        return 127
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        tail.append(line)
    status = proc.wait()
    if status == 0:
        return 0
    problem = registry_problem(registry, "".join(tail))
    url = registry_url(registry)
    if problem is None and url and not reachable(url):
        # Some failures say only "no matching distribution": ask the network directly.
        problem = registry_problem(registry, f"Could not connect to {url}")
    if problem:
        sys.stdout.flush()
        say(problem)
        return EXIT_UNREACHABLE
    return status


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    what, args = argv[0], argv[1:]
    if what == "python":
        problem = python_problem(tuple(sys.version_info), sys.executable)
        if problem:
            say(problem)
            return 1
        return 0
    if what == "node":
        return check_node()
    if what == "port":
        return check_port(int(args[0]))
    if what == "wait-db":
        return wait_db(args[0], float(os.environ.get("DB_WAIT_SECONDS", "60")))
    if what == "fetch":
        registry, rest = args[0], args[1:]
        if rest and rest[0] == "--":
            rest = rest[1:]
        return fetch(registry, rest)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
