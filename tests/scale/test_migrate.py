"""``flask --app server attachments migrate --to s3://…``: copy, skip, verify."""

from __future__ import annotations

import os
import subprocess
import sys

from server.services import storage
from server.services.storage import FileStore
from tests.scale.conftest import s3_config
from tests.sync.test_attachments import JPEG, sha

PHOTOS = [JPEG + bytes([i]) * 3 for i in range(3)]


def test_migrate_copies_skips_and_verifies(tmp_path, seaweed, database_url, app):
    source = FileStore(tmp_path / "files")
    for data in PHOTOS:
        source.put(sha(data), data)
    (tmp_path / "files" / "ab").mkdir()
    (tmp_path / "files" / "ab" / ".upload-half").write_bytes(b"x")  # a crash's leftover
    config = s3_config(seaweed)
    target_location = config["ATTACHMENT_STORE"]
    target = storage.store_for(target_location, config)
    target.put(sha(PHOTOS[0]), PHOTOS[0])  # already there: skipped

    # The real command, configured the way a deployment is: by the environment.
    env = {**os.environ, **config, "DATABASE_URL": database_url,
           "ATTACHMENT_STORE": f"file:{tmp_path / 'files'}"}
    run = subprocess.run([sys.executable, "-m", "flask", "--app", "server", "attachments",
                          "migrate", "--to", target_location], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "copied=2 skipped=1 verified=3 mismatched=0"
    for data in PHOTOS:
        assert b"".join(target.stream(sha(data))) == data

    runner = app.test_cli_runner()
    args = ["attachments", "migrate", "--from", f"file:{tmp_path / 'files'}",
            "--to", target_location]
    again = runner.invoke(args=args)
    assert again.exit_code == 0, again.output
    assert "copied=0 skipped=3 verified=3 mismatched=0" in again.output

    # An object damaged in the bucket: found by the verification, exit 1.
    target.put(sha(PHOTOS[1]), b"damaged")
    bad = runner.invoke(args=args)
    assert bad.exit_code == 1
    assert f"mismatch: {sha(PHOTOS[1])}" in bad.output
    assert "copied=0 skipped=3 verified=2 mismatched=1" in bad.output


def test_migrate_refuses_bad_targets(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["attachments", "migrate", "--to", "ftp://x"]).exit_code == 2
    same = storage.location_from_config(app.config)
    assert runner.invoke(args=["attachments", "migrate", "--to", same]).exit_code == 2
