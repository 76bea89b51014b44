"""The faults `make` meets on a new machine end in one clear line, not a stack trace
(scripts/preflight.py, scripts/run.sh). Each test runs the real script as `make` does."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import preflight

ROOT = Path(__file__).resolve().parent.parent.parent


def _run(*args: str, env: dict[str, str] | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_run_sh_names_the_process_holding_the_port() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _run("scripts/run.sh", env={"PORT": str(port),
                                             "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"})
    assert result.returncode == 1
    assert f"port {port} is in use by PID {os.getpid()} (" in result.stderr
    assert f"run with PORT={port + 1} make run" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_free_port_passes() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert _run(sys.executable, "scripts/preflight.py", "port", str(port)).returncode == 0


@pytest.mark.parametrize(("version", "ok"), [((3, 11, 0), True), ((3, 13, 1), True),
                                             ((3, 10, 12), False), ((2, 7, 18), False)])
def test_python_version_rule(version: tuple[int, int, int], ok: bool) -> None:
    problem = preflight.python_problem(version, "/usr/bin/python3")
    assert (problem is None) is ok
    if not ok:
        assert "needs Python >= 3.11" in problem and "apt-get install python3" in problem


def test_this_python_passes_the_check_make_runs() -> None:
    assert _run(sys.executable, "scripts/preflight.py", "python").returncode == 0


def test_node_range_is_vites_from_the_lockfile() -> None:
    spec = preflight.node_requirement()
    assert preflight.satisfies("v20.19.0", spec) and preflight.satisfies("v24.19.0", spec)
    assert not preflight.satisfies("v18.19.0", spec)  # Debian 12's nodejs


def test_database_wait_is_bounded_and_says_what_to_do() -> None:
    url = "postgresql+psycopg://gridpatrol:s3cret@127.0.0.1:1/gridpatrol"
    result = _run(sys.executable, "scripts/preflight.py", "wait-db", url,
                  env={"DB_WAIT_SECONDS": "1"})
    assert result.returncode == 1
    assert "did not accept connections within 1 s" in result.stderr
    assert "start PostgreSQL or fix DATABASE_URL" in result.stderr
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr


def test_unreachable_registry_is_named() -> None:
    # A mirror on a closed port: pip itself only says "no matching distribution".
    result = _run(sys.executable, "scripts/preflight.py", "fetch", "pypi", "--",
                  sys.executable, "-m", "pip", "install", "-q", "--no-cache-dir",
                  "--retries", "0", "--timeout", "2", "gridpatrol-no-such-package",
                  env={"PIP_INDEX_URL": "http://127.0.0.1:9/simple"})
    assert result.returncode == preflight.EXIT_UNREACHABLE
    assert result.stderr.strip().splitlines()[-1].startswith("make: could not reach PyPI (pip);")


def test_an_install_failing_for_another_reason_keeps_its_status() -> None:
    # apt: no reachability probe, so this holds on a machine without a network too.
    result = _run(sys.executable, "scripts/preflight.py", "fetch", "apt", "--",
                  "sh", "-c", "echo 'E: Unable to locate package nothing'; exit 100")
    assert result.returncode == 100
    assert "could not reach" not in result.stderr


def test_deployment_files_verify() -> None:
    # systemd-analyze verify + nginx -t on deploy/ (make check-deploy installs the tools).
    if not shutil.which("systemd-analyze") or not (shutil.which("nginx")
                                                   or os.path.exists("/usr/sbin/nginx")):
        pytest.skip("systemd-analyze or nginx missing: make check-deploy installs them")
    result = _run("scripts/check-deploy.sh", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "units OK" in result.stderr and "nginx -t" in result.stderr
