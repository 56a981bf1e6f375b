"""The one storage seam: an object store with two backends chosen by URL.

`file:///abs/path` or a plain path selects a local folder (the embedded default);
`s3://bucket/prefix` selects S3 or any S3-compatible server through boto3, configured from the
standard AWS environment (AWS_ENDPOINT_URL, AWS_REGION, credentials, config files).

Objects are write-once: `put` refuses to replace an object with different content. The only
mutable objects are pointers, changed with `swap`, a compare-and-swap on the object's version.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

_META_DIR = ".meta"


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about one object."""

    key: str
    size: int
    sha256: str
    version: str
    metadata: dict[str, str] = field(default_factory=dict)


class StoreError(RuntimeError):
    """A storage operation failed."""


class ObjectExists(StoreError):
    """A write-once object already exists with different content."""


class VersionConflict(StoreError):
    """A pointer changed since it was read (compare-and-swap lost)."""


class ObjectMissing(StoreError, KeyError):
    """No object at that key."""


class ObjectStore(Protocol):
    """Put / get / list / exists / head, plus compare-and-swap for pointers."""

    url: str

    def put(self, key: str, data: bytes, *, metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Create an object; same content again is a no-op, different content raises."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """Size, content hash, version and metadata of an object."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object exists."""
        ...

    def list(self, prefix: str = "") -> list[str]:
        """Keys under a prefix, sorted."""
        ...

    def swap(self, key: str, data: bytes, *, expected_version: str | None) -> ObjectInfo:
        """Replace a pointer only if its version is still `expected_version` (None: absent)."""
        ...


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StoreError(f"invalid object key {key!r}")
    if parts[0] == _META_DIR:
        raise StoreError(f"object key {key!r} uses the reserved prefix {_META_DIR}/")
    return key


class FileStore:
    """A local folder as the object store; writes are atomic (temp file + link/rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def _meta_path(self, key: str) -> Path:
        return self.root / _META_DIR / (key + ".json")

    def _write_temp(self, target: Path, data: bytes) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return Path(tmp)

    def put(self, key: str, data: bytes, *, metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Create an object; same content again is a no-op, different content raises."""
        path = self._path(key)
        digest = sha256_hex(data)
        meta = dict(metadata or {})
        self._write_meta(key, meta)
        tmp = self._write_temp(path, data)
        try:
            # os.link fails if the target exists: an atomic create-only write.
            os.link(tmp, path)
        except FileExistsError:
            existing = self.head(key)
            if existing.sha256 != digest:
                raise ObjectExists(
                    f"{key} already exists with other content; published objects are never "
                    "overwritten"
                ) from None
            return existing
        finally:
            tmp.unlink(missing_ok=True)
        return ObjectInfo(key, len(data), digest, digest[:16], meta)

    def _write_meta(self, key: str, meta: dict[str, str]) -> None:
        mpath = self._meta_path(key)
        if meta and not mpath.exists():
            tmp = self._write_temp(mpath, json.dumps(meta, sort_keys=True).encode())
            os.replace(tmp, mpath)

    def get(self, key: str) -> bytes:
        """The object's bytes."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectMissing(f"no object {key!r} in {self.url}") from None

    def head(self, key: str) -> ObjectInfo:
        """Size, content hash, version and metadata of an object."""
        data = self.get(key)
        digest = sha256_hex(data)
        mpath = self._meta_path(key)
        meta = json.loads(mpath.read_text()) if mpath.exists() else {}
        # Local objects are immutable except pointers, so the content hash is the version.
        return ObjectInfo(key, len(data), digest, digest[:16], meta)

    def exists(self, key: str) -> bool:
        """Whether an object exists."""
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        """Keys under a prefix, sorted."""
        keys = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d != _META_DIR]
                rel_dir = ""
            for name in filenames:
                if name.startswith((".tmp-", ".lock-")):
                    continue
                key = f"{rel_dir}/{name}" if rel_dir else name
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def swap(self, key: str, data: bytes, *, expected_version: str | None) -> ObjectInfo:
        """Replace a pointer only if its version is still `expected_version` (None: absent)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.parent / f".lock-{path.name}"
        with open(lock, "a+b") as lh:
            fcntl.flock(lh, fcntl.LOCK_EX)
            current = self.head(key).version if path.exists() else None
            if current != expected_version:
                raise VersionConflict(
                    f"{key} is at version {current}, expected {expected_version}"
                )
            tmp = self._write_temp(path, data)
            os.replace(tmp, path)
        digest = sha256_hex(data)
        return ObjectInfo(key, len(data), digest, digest[:16], {})


class S3Store:
    """An S3 bucket (with optional key prefix) through boto3; any S3-compatible server works."""

    def __init__(self, bucket: str, prefix: str = "", client: Any | None = None) -> None:
        import boto3  # only the S3 backend needs boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        # boto3 reads AWS_ENDPOINT_URL(_S3), AWS_REGION and credentials from env/config files.
        from botocore.config import Config

        # "when_required" keeps boto3's newer default CRC checksums off, which some
        # S3-compatible servers reject.
        self.client = client or boto3.client(
            "s3",
            config=Config(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def _k(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _error_code(self, exc: Exception) -> str:
        resp = getattr(exc, "response", {}) or {}
        return str(resp.get("Error", {}).get("Code", ""))

    def put(self, key: str, data: bytes, *, metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Create an object; same content again is a no-op, different content raises."""
        from botocore.exceptions import ClientError

        digest = sha256_hex(data)
        meta = {**(metadata or {}), "sha256": digest}
        try:
            resp = self.client.put_object(
                Bucket=self.bucket, Key=self._k(key), Body=data, Metadata=meta, IfNoneMatch="*"
            )
        except ClientError as exc:
            if self._error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                existing = self.head(key)
                if existing.sha256 != digest:
                    raise ObjectExists(
                        f"{key} already exists with other content; published objects are never "
                        "overwritten"
                    ) from None
                return existing
            raise StoreError(f"put {key} to {self.url} failed: {exc}") from exc
        version = resp.get("VersionId") or resp["ETag"].strip('"')
        return ObjectInfo(key, len(data), digest, version, {k: v for k, v in meta.items() if k != "sha256"})

    def get(self, key: str) -> bytes:
        """The object's bytes."""
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._k(key))["Body"].read()
        except ClientError as exc:
            if self._error_code(exc) in ("NoSuchKey", "404"):
                raise ObjectMissing(f"no object {key!r} in {self.url}") from None
            raise StoreError(f"get {key} from {self.url} failed: {exc}") from exc

    def head(self, key: str) -> ObjectInfo:
        """Size, content hash, version and metadata of an object."""
        from botocore.exceptions import ClientError

        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=self._k(key))
        except ClientError as exc:
            if self._error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                raise ObjectMissing(f"no object {key!r} in {self.url}") from None
            raise StoreError(f"head {key} in {self.url} failed: {exc}") from exc
        meta = dict(resp.get("Metadata", {}))
        digest = meta.pop("sha256", None) or sha256_hex(self.get(key))
        # Pointers are compared by ETag, which changes with every write, versioned or not.
        version = resp["ETag"].strip('"')
        return ObjectInfo(key, int(resp["ContentLength"]), digest, version, meta)

    def exists(self, key: str) -> bool:
        """Whether an object exists."""
        try:
            self.head(key)
        except ObjectMissing:
            return False
        return True

    def list(self, prefix: str = "") -> list[str]:
        """Keys under a prefix, sorted."""
        # A prefix is any leading string of a key, so it is not checked like a key.
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        cut = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=full
        ):
            keys.extend(obj["Key"][cut:] for obj in page.get("Contents", []))
        return sorted(keys)

    def swap(self, key: str, data: bytes, *, expected_version: str | None) -> ObjectInfo:
        """Replace a pointer only if its version is still `expected_version` (None: absent)."""
        from botocore.exceptions import ClientError

        digest = sha256_hex(data)
        cond: dict[str, str] = (
            {"IfNoneMatch": "*"} if expected_version is None else {"IfMatch": f'"{expected_version}"'}
        )
        try:
            resp = self.client.put_object(
                Bucket=self.bucket, Key=self._k(key), Body=data, Metadata={"sha256": digest}, **cond
            )
        except ClientError as exc:
            if self._error_code(exc) in (
                "PreconditionFailed", "412", "ConditionalRequestConflict", "NoSuchKey", "404"
            ):
                raise VersionConflict(
                    f"{key} changed since version {expected_version}: another run published first"
                ) from None
            raise StoreError(f"swap {key} in {self.url} failed: {exc}") from exc
        return ObjectInfo(key, len(data), digest, resp["ETag"].strip('"'), {})


DEFAULT_STORE = "./.studyflow/store"


@lru_cache(maxsize=16)
def open_store(url: str = DEFAULT_STORE) -> ObjectStore:
    """Open the store a URL names: `s3://bucket/prefix`, `file:///path` or a plain path."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StoreError(f"store URL {url!r} names no bucket")
        return S3Store(parsed.netloc, parsed.path)
    if parsed.scheme == "file":
        return FileStore(Path(unquote(parsed.path)))
    if parsed.scheme in ("", None) or (len(parsed.scheme) == 1 and os.name == "nt"):
        return FileStore(Path(url))
    raise StoreError(f"unsupported store URL {url!r}: use s3://bucket/prefix, file:///path or a path")


def clear_store_cache() -> None:
    """Forget opened stores (tests that change the AWS environment call this)."""
    open_store.cache_clear()


def is_transient(exc: BaseException) -> bool:
    """Whether a failure looks like passing trouble with the store (worth a retry).

    Connection and time-out errors, and store errors other than the definite answers (an object
    exists, is missing, or a pointer moved), are transient; data errors are not.
    """
    if isinstance(exc, ObjectExists | ObjectMissing | VersionConflict):
        return False
    if isinstance(exc, StoreError | ConnectionError | TimeoutError):
        return True
    # botocore's connection errors are not builtin ConnectionErrors; match them by module.
    return type(exc).__module__.startswith(("botocore", "urllib3")) and "Connect" in type(exc).__name__


def object_url(store: ObjectStore, key: str) -> str:
    """A URL a person can open for one object: file:///… for a folder, s3://bucket/… for S3."""
    return f"{store.url.rstrip('/')}/{key}"
