"""Smoke-test a running GridPatrol as a phone would: sign in, upload a photo, push a
household that names it, pull it back, fetch the photo. Standard library only, so it runs
from any python3 (against a container, behind nginx, on another machine).

    python3 scripts/smoke.py http://127.0.0.1:8000 [--user patrol01 --password …] [--insecure]

Needs a user whose scope holds Jianye grid 320105001001001 (the demo's patrol01, whose
password is the demo one unless --password says otherwise). Prints one line per step;
exit 0 when every step did what the contract says.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import ssl
import struct
import sys
import urllib.error
import urllib.request
import uuid
import zlib

# A point inside grid 320105001001001 (WGS-84), from demo/jianye-points-truth.json.
POINT = {"type": "Point", "coordinates": [118.7008808, 32.0290378]}


def tiny_png(seed: str) -> bytes:
    """A valid 1x1 PNG whose colour comes from `seed`, so each run uploads new bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rgb = hashlib.sha256(seed.encode()).digest()[:3]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" + rgb)) + chunk(b"IEND", b""))


class Client:
    def __init__(self, base: str, insecure: bool) -> None:
        self.base, self.token = base.rstrip("/"), ""
        self.context = ssl._create_unverified_context() if insecure else None

    def call(self, method: str, path: str, body: bytes | dict | None = None,
             content_type: str = "application/json") -> tuple[int, dict]:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(request, timeout=60, context=self.context) as response:
                raw, status = response.read(), response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        try:
            return status, json.loads(raw) if raw else {}
        except ValueError:
            return status, {"raw": raw[:80].decode(errors="replace")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--user", default="patrol01")
    parser.add_argument("--password", default="gridpatrol-demo")
    parser.add_argument("--insecure", action="store_true", help="accept a self-signed cert")
    args = parser.parse_args()
    client, device = Client(args.base, args.insecure), f"smoke-{uuid.uuid4()}"
    failures = 0

    def step(name: str, ok: bool, detail: object) -> None:
        nonlocal failures
        failures += not ok
        print(f"smoke: {'ok  ' if ok else 'FAIL'} {name}: {detail}")

    status, _ = client.call("GET", "/api/v1/meta")
    step("meta", status == 200, status)
    status, body = client.call("POST", "/api/v1/auth/token", {
        "username": args.user, "password": args.password, "device_id": device})
    step("sign-in", status == 200 and "token" in body, status)
    if status != 200:
        return 1
    client.token = body["token"]

    photo = tiny_png(device)
    sha = hashlib.sha256(photo).hexdigest()
    status, _ = client.call("PUT", f"/api/v1/attachments/{sha}", photo, "image/png")
    step("photo upload", status == 201, status)

    record = str(uuid.uuid4())
    status, body = client.call("POST", "/api/v1/sync/push", {"device_id": device, "ops": [{
        "op_id": str(uuid.uuid4()), "device_seq": 1, "entity": "household", "id": record,
        "action": "create", "base_version": None,
        "data": {"address": "江东中路 1 号 (smoke)", "head_name": "王芳", "members": 2,
                 "location": POINT, "photos": [sha]}}]})
    result = (body.get("results") or [{}])[0]
    step("push", status == 200 and result.get("status") == "applied"
         and not result.get("missing_attachments"),
         f"{status} {result.get('status')} grid {result.get('grid_code')}")

    found, cursor = None, ""
    for _ in range(100):  # bounded: a demo database pulls in a few pages
        status, page = client.call("GET", "/api/v1/sync/pull?limit=500" + cursor)
        if status != 200:
            break
        found = found or next((c for c in page["changes"] if c["id"] == record), None)
        if found or not page.get("more"):
            break
        cursor = "&cursor=" + page["cursor"]
    step("pull", bool(found) and sha in (found or {}).get("data", {}).get("photos", []),
         f"{status} {'found' if found else 'missing'}")
    status, _ = client.call("GET", f"/api/v1/attachments/{sha}")
    step("photo download", status == 200, status)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
