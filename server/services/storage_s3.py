"""Photos in an S3-compatible object store (AWS S3, MinIO, SeaweedFS, Aliyun OSS, …).

Objects are keyed ``PREFIX/ab/abcdef…`` like the file store's paths. Timeouts are short
and retries few on purpose: a phone's upload waits on this, and a store that does not
answer in a few seconds is answered 503 + ``Retry-After`` (the phone's outbox retries),
never left hanging until gunicorn's worker timeout kills it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from server.services.storage import CHUNK, StoreUnavailable

MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Store:
    def __init__(self, *, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, addressing_style: str = "path",
                 access_key: str | None = None, secret_key: str | None = None,
                 connect_timeout: float = 2.0, read_timeout: float = 10.0,
                 max_attempts: int = 2) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.endpoint_url = endpoint_url
        config = Config(
            region_name=region, connect_timeout=connect_timeout, read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": addressing_style},
            # botocore ≥1.36 adds CRC checksums to every PUT by default; several
            # S3-compatible stores (older MinIO, Aliyun OSS) refuse or ignore them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # Credentials: given, else boto3's own chain (AWS_ACCESS_KEY_ID/… in the env).
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, config=config)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, sha256: str) -> str:
        name = f"{sha256[:2]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
            return True
        except ClientError as exc:
            if _code(exc) in MISSING:
                return False
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    def put(self, sha256: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key(sha256), Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc

    def open(self, sha256: str) -> BinaryIO:
        """The object's body (file-like, streamed from the store); FileNotFoundError if
        the store lacks it, as for the file store."""
        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _code(exc) in MISSING:
                raise FileNotFoundError(self.key(sha256)) from exc
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        body: BinaryIO = got["Body"]
        return body

    def stream(self, sha256: str) -> Iterator[bytes]:
        body = self.open(sha256)
        return _chunks(body)

    def names(self) -> Iterator[str]:
        """Every stored hash under the prefix."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else "")
        for page in pages:
            for obj in page.get("Contents", []):
                yield obj["Key"].rsplit("/", 1)[-1]

    def ensure_bucket(self) -> None:
        """Create the bucket if it is not there (the migration and tests; deployments
        usually create it with their provider's tools)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in MISSING | {"NoSuchBucket"}:
                raise _unavailable(exc) from exc
            self.client.create_bucket(Bucket=self.bucket)


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        while chunk := body.read(CHUNK):
            yield chunk
    except BotoCoreError as exc:
        # Mid-body: the status line is gone; the client sees a short response and its
        # SHA-256 check fails, which is what a phone does with any photo it fetches.
        raise StoreUnavailable(str(exc)) from exc
    finally:
        body.close()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unavailable(exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"{type(exc).__name__}: {exc}")
