"""Run tests with every database connection going through PgBouncer in transaction mode.

    python -m tests.scale.pgbouncer tests/api tests/sync tests/console -x -q

starts Debian's ``pgbouncer`` on a free port in front of the test PostgreSQL server
(``scripts/provision-db.sh``), in **transaction** mode, and runs pytest with
``TEST_DATABASE_SERVER`` pointing at it: the test database is created, migrated, used by
the in-process app and by every gunicorn the tests start, and dropped, all through
PgBouncer. The settings the app needs there (docs/operations.md "Scaling out"):

* ``DB_PREPARE_THRESHOLD=none``: PgBouncer before 1.21 (Debian 12 ships 1.18) does not
  carry a client's prepared statements across server connections, and psycopg prepares
  a statement the fifth time it runs. ``server_reset_query = DEALLOCATE ALL`` with
  ``server_reset_query_always`` below makes any statement still prepared fail at once
  instead of only under load.
* ``PG_OPTIONS=""``: PgBouncer refuses the ``options`` startup parameter; the same
  settings (``jit=off``, no parallel workers) are made by ``connect_query`` on each
  server connection instead (in production: ``ALTER DATABASE … SET``).

The tests' own psycopg connections (assertions, the database fixture) get
``prepare_threshold=None`` from the plugin :mod:`tests.scale.pgbouncer_plugin`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from tests.scale import procs
from tests.scale.seaweed import free_port

ROOT = Path(__file__).resolve().parents[2]
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
SETTINGS = "SET jit = off; SET max_parallel_workers_per_gather = 0"

INI = """
[databases]
* = host={host} port={port} connect_query='{settings}'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {tmp}/users.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 500
server_reset_query = DEALLOCATE ALL
server_reset_query_always = 1
ignore_startup_parameters = extra_float_digits
logfile = {tmp}/pgbouncer.log
pidfile = {tmp}/pgbouncer.pid
admin_users = postgres
"""


class PgBouncer:
    def __init__(self, upstream: str, tmp: Path) -> None:
        parts = urlsplit(upstream.replace("postgresql+psycopg://", "postgresql://"))
        self.user = parts.username or "postgres"
        self.port = free_port()
        self.tmp = tmp
        (tmp / "users.txt").write_text(f'"{self.user}" ""\n')
        self.ini = tmp / "pgbouncer.ini"
        self.ini.write_text(INI.format(host=parts.hostname, port=parts.port or 5432,
                                       listen=self.port, tmp=tmp, settings=SETTINGS))
        self.url = f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        if not Path(PGBOUNCER).exists():
            raise RuntimeError("pgbouncer is missing: apt-get install pgbouncer")
        # pgbouncer refuses to run as root; -u drops to postgres (whose tmp it can read).
        args = [PGBOUNCER, str(self.ini)]
        if os.geteuid() == 0:
            args[1:1] = ["-u", "postgres"]
            shutil.chown(self.tmp, "postgres")
            for path in self.tmp.iterdir():
                shutil.chown(path, "postgres")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.tmp / "pgbouncer.log"
                raise RuntimeError(log.read_text()[-2000:] if log.exists() else "exited")
            try:
                psycopg.connect(self.url.replace("+psycopg", "") + "/postgres",
                                prepare_threshold=None, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("pgbouncer did not start")

    def stop(self) -> None:
        procs.stop(self.proc)


def main(args: list[str]) -> int:
    upstream = os.environ.get("TEST_DATABASE_SERVER") or subprocess.run(
        [str(ROOT / "scripts" / "provision-db.sh")], cwd=ROOT, check=True,
        capture_output=True, text=True).stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    bouncer = PgBouncer(upstream, tmp)
    bouncer.start()
    print(f"pgbouncer {bouncer.url} (transaction mode) -> {upstream}", flush=True)
    # DB_PREPARE_THRESHOLD may be given (=5, psycopg's default, shows why it is needed).
    env = {"DB_PREPARE_THRESHOLD": "none", **os.environ, "TEST_DATABASE_SERVER": bouncer.url,
           "PG_OPTIONS": ""}
    env.pop("DATABASE_URL", None)
    try:
        return subprocess.call([sys.executable, "-m", "pytest", "-p",
                                "tests.scale.pgbouncer_plugin", *args], cwd=ROOT, env=env)
    finally:
        bouncer.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
