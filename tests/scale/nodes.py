"""Several real gunicorn nodes on one database and one S3 bucket, behind a real nginx."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import requests

from tests.browser.conftest import LiveServer
from tests.scale import procs
from tests.scale.seaweed import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """
{user}worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$request_method $uri $status $upstream_addr';
    access_log {tmp}/access.log upstreams;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 20m;
    # Pushes and photos are kept in memory rather than in client_body_temp_path.
    client_body_buffer_size 20m;
    upstream gridpatrol {{
{servers}
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://gridpatrol;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # A dead node refuses the connection: try the next one. A POST that reached
            # a node is never sent twice by nginx (non_idempotent is not set): the phone
            # resends it, and op_id makes that safe.
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, tmp: Path, upstreams: list[LiveServer]) -> None:
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        servers = "\n".join(f"        server 127.0.0.1:{u.port} max_fails=1 fail_timeout=5s;"
                            for u in upstreams)
        self.conf = tmp / "nginx.conf"
        # As root, nginx's workers would run as nobody and could not write into the test's
        # private temp directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.conf.write_text(CONF.format(tmp=tmp, servers=servers, port=self.port, user=user))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        if not Path(NGINX).exists():
            raise RuntimeError("nginx is missing: apt-get install nginx-light")
        self.proc = subprocess.Popen(
            [NGINX, "-c", str(self.conf), "-p", str(self.tmp), "-g", "daemon off;"],
            stdout=(self.tmp / "stdout.log").open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.tmp / "error.log").read_text()[-2000:])
            try:
                requests.get(self.url + "/api/v1/meta", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("nginx did not start")

    def log(self) -> list[str]:
        """``METHOD URI STATUS UPSTREAMS`` per request; UPSTREAMS lists each node tried."""
        path = self.tmp / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    def stop(self) -> None:
        procs.stop(self.proc)
