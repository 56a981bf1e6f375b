"""The one storage seam: an object store with two backends chosen by URL.

`file:///abs/path` or a plain path selects a local folder (the embedded default);
`s3://bucket/prefix` selects S3 or any S3-compatible server through boto3, configured from the
standard AWS environment (AWS_ENDPOINT_URL, AWS_REGION, credentials, config files).

Objects are write-once: `put` refuses to replace an object with different content. The only
mutable objects are pointers, changed with `swap`, a compare-and-swap on the object's version.

Run outputs are staged: an object put under `runs/` is written under `staging/runs/…` and is
readable by its own key at once, but is listed under `runs/` only once `publish` has copied it
there (a run publishes its objects, then its manifest, when it completes). A run that fails or is
killed therefore leaves nothing under `runs/`; `study gc` removes what it left in staging.

S3 writes request server-side encryption (SSE-S3, or SSE-KMS with STUDYFLOW_S3_KMS_KEY_ID), and
S3 calls retry passing trouble (connection errors, throttling, 5xx) with exponential backoff.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

_META_DIR = ".meta"
# Run outputs are written here first and published under their own key when the run completes.
STAGING_PREFIX = "staging/"
_STAGED = "runs/"
# Keys a store never deletes, whatever asks: inputs, researchers' files, the `latest` pointer.
_UNDELETABLE = ("raw/", "review/", "inbox/", "latest.json")
# Environment: the KMS key for SSE-KMS (else SSE-S3), and how often an S3 call is tried.
KMS_KEY_ENV = "STUDYFLOW_S3_KMS_KEY_ID"
ATTEMPTS_ENV = "STUDYFLOW_S3_MAX_ATTEMPTS"
DEFAULT_ATTEMPTS = 5


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

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StoreUnavailable(StoreError):
    """The store could not be reached, even after retries (worth trying again later)."""


def staged_key(key: str) -> str:
    """Where an unpublished run object lives: `staging/<key>` for keys under runs/."""
    return f"{STAGING_PREFIX}{key}" if key.startswith(_STAGED) else key


def is_staged(key: str) -> bool:
    """Whether a key is written to staging until its run is published."""
    return key.startswith(_STAGED)


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

    def publish(self, key: str) -> bool:
        """Make a staged run object visible under its own key; False if it was already."""
        ...

    def is_published(self, key: str) -> bool:
        """Whether an object is at its own key (published), not only staged."""
        ...

    def publish_prefix(self, prefix: str, last: str) -> int:
        """Publish every staged object under a runs/ prefix, `last` after all others; returns how many."""
        ...

    def delete(self, key: str) -> None:
        """Remove one stored object by the key `list` gave (never raw/, review/, inbox/, latest)."""
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


class _StagingStore(ABC):
    """The staging rules, shared by both backends over their physical-key operations."""

    url: str

    @abstractmethod
    def _put_at(self, key: str, data: bytes, meta: dict[str, str]) -> ObjectInfo:
        """Create-only write at a physical key."""

    def _same_as_existing(self, key: str, digest: str) -> ObjectInfo:
        """A create-only write found `key` taken: fine if it holds the same bytes, else ObjectExists."""
        existing = self._head_at(key)
        if existing.sha256 != digest:
            raise ObjectExists(
                f"{key} already exists with other content; published objects are never overwritten"
            ) from None  # called while handling the backend's "exists" error
        return existing

    @abstractmethod
    def _get_at(self, key: str) -> bytes:
        """Bytes at a physical key (ObjectMissing if absent)."""

    @abstractmethod
    def _head_at(self, key: str) -> ObjectInfo:
        """What is at a physical key (ObjectMissing if absent)."""

    @abstractmethod
    def _exists_at(self, key: str) -> bool:
        """Whether a physical key holds an object."""

    @abstractmethod
    def _copy_at(self, source: str, target: str) -> None:
        """Copy one object to another physical key (create-only)."""

    @abstractmethod
    def _delete_at(self, key: str) -> None:
        """Remove the object at a physical key (absent is fine)."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys under a prefix, sorted."""

    def put(self, key: str, data: bytes, *, metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Create an object; same content again is a no-op, different content raises."""
        _check_key(key)
        if is_staged(key) and self._exists_at(key):
            # Already published: write-once applies to the published object.
            existing = self._head_at(key)
            if existing.sha256 != sha256_hex(data):
                raise ObjectExists(
                    f"{key} already exists with other content; published objects are never "
                    "overwritten"
                )
            return existing
        info = self._put_at(staged_key(key), data, dict(metadata or {}))
        return ObjectInfo(key, info.size, info.sha256, info.version, info.metadata)

    def _located(self, key: str) -> str:
        """The physical key an object is at: its own, else its staging place."""
        _check_key(key)
        if is_staged(key) and not self._exists_at(key):
            return staged_key(key)
        return key

    def get(self, key: str) -> bytes:
        """The object's bytes (a staged run object is read from staging)."""
        _check_key(key)
        try:
            return self._get_at(key)
        except ObjectMissing:
            if not is_staged(key):
                raise
        try:
            return self._get_at(staged_key(key))
        except ObjectMissing:
            raise ObjectMissing(f"no object {key!r} in {self.url}") from None

    def head(self, key: str) -> ObjectInfo:
        """Size, content hash, version and metadata of an object."""
        info = self._head_at(self._located(key))
        return ObjectInfo(key, info.size, info.sha256, info.version, info.metadata)

    def exists(self, key: str) -> bool:
        """Whether an object exists (published or staged)."""
        return self._exists_at(self._located(key))

    def is_published(self, key: str) -> bool:
        """Whether an object is at its own key (published), not only staged."""
        return self._exists_at(_check_key(key))

    def publish(self, key: str) -> bool:
        """Make a staged run object visible under its own key; False if it was already."""
        if not is_staged(_check_key(key)) or self._exists_at(key):
            return False
        source = staged_key(key)
        if not self._exists_at(source):
            raise ObjectMissing(f"no object {key!r} in {self.url} (neither published nor staged)")
        self._copy_at(source, key)
        return True

    def publish_prefix(self, prefix: str, last: str) -> int:
        """Publish every staged object under a runs/ prefix, `last` after all others; returns how many.

        Readers take a run to exist once its manifest (`last`) is published, so a process killed
        part-way leaves objects no manifest names, which `study gc` removes.
        """
        staged = [k.removeprefix(STAGING_PREFIX) for k in self.list(staged_key(prefix))]
        ordered = sorted(k for k in staged if k != last) + [k for k in staged if k == last]
        return sum(1 for key in ordered if self.publish(key))

    def delete(self, key: str) -> None:
        """Remove one stored object by the key `list` gave (never raw/, review/, inbox/, latest)."""
        _check_key(key)
        if key.startswith(_UNDELETABLE):
            raise StoreError(f"{key} is never deleted (inputs, review files and `latest` are kept)")
        self._delete_at(key)


class FileStore(_StagingStore):
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

    def _put_at(self, key: str, data: bytes, meta: dict[str, str]) -> ObjectInfo:
        path = self._path(key)
        digest = sha256_hex(data)
        self._write_meta(key, meta)
        tmp = self._write_temp(path, data)
        try:
            # os.link fails if the target exists: an atomic create-only write.
            os.link(tmp, path)
        except FileExistsError:
            return self._same_as_existing(key, digest)
        finally:
            tmp.unlink(missing_ok=True)
        return ObjectInfo(key, len(data), digest, digest[:16], meta)

    def _write_meta(self, key: str, meta: dict[str, str]) -> None:
        mpath = self._meta_path(key)
        if meta and not mpath.exists():
            tmp = self._write_temp(mpath, json.dumps(meta, sort_keys=True).encode())
            os.replace(tmp, mpath)

    def _get_at(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectMissing(f"no object {key!r} in {self.url}") from None

    def _head_at(self, key: str) -> ObjectInfo:
        data = self._get_at(key)
        digest = sha256_hex(data)
        mpath = self._meta_path(key)
        meta = json.loads(mpath.read_text()) if mpath.exists() else {}
        # Local objects are immutable except pointers, so the content hash is the version.
        return ObjectInfo(key, len(data), digest, digest[:16], meta)

    def _exists_at(self, key: str) -> bool:
        return self._path(key).is_file()

    def _copy_at(self, source: str, target: str) -> None:
        src, dst = self._path(source), self._path(target)
        dst.parent.mkdir(parents=True, exist_ok=True)
        meta = self._meta_path(source)
        if meta.exists():
            self._write_meta(target, json.loads(meta.read_text()))
        try:
            # A hard link publishes the same bytes without copying them, atomically.
            os.link(src, dst)
        except FileExistsError:
            if sha256_hex(src.read_bytes()) != sha256_hex(dst.read_bytes()):
                raise ObjectExists(f"{target} already exists with other content") from None
        except FileNotFoundError:
            raise ObjectMissing(f"no object {source!r} in {self.url}") from None

    def publish_prefix(self, prefix: str, last: str) -> int:
        """Publish a staged run folder with one rename when nothing of it is published yet: the
        run then appears whole or not at all, whenever the process dies."""
        _check_key(prefix.rstrip("/"))
        source, target = self._path(staged_key(prefix.rstrip("/"))), self._path(prefix.rstrip("/"))
        if source.is_dir() and not target.exists():
            count = sum(1 for _ in self.list(staged_key(prefix)))
            meta_source = self._meta_path(staged_key(prefix.rstrip("/"))).with_suffix("")
            target.parent.mkdir(parents=True, exist_ok=True)
            if meta_source.is_dir():
                meta_target = self._meta_path(prefix.rstrip("/")).with_suffix("")
                meta_target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(meta_source, meta_target)
            os.rename(source, target)
            return count
        return super().publish_prefix(prefix, last)

    def _delete_at(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)
        # Empty folders left behind are removed up to the store's root.
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

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
            current = self._head_at(key).version if path.exists() else None
            if current != expected_version:
                raise VersionConflict(
                    f"{key} is at version {current}, expected {expected_version}"
                )
            tmp = self._write_temp(path, data)
            os.replace(tmp, path)
        digest = sha256_hex(data)
        return ObjectInfo(key, len(data), digest, digest[:16], {})


class S3Store(_StagingStore):
    """An S3 bucket (with optional key prefix) through boto3; any S3-compatible server works."""

    def __init__(self, bucket: str, prefix: str = "", client: Any | None = None) -> None:
        import boto3  # only the S3 backend needs boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.attempts = _attempts()
        # Every write asks for encryption at rest: SSE-KMS with the named key, else SSE-S3.
        self.kms_key = os.environ.get(KMS_KEY_ENV, "").strip()
        self.sse = "aws:kms" if self.kms_key else "AES256"
        # boto3 reads AWS_ENDPOINT_URL(_S3), AWS_REGION and credentials from env/config files.
        # "when_required" keeps boto3's newer default CRC checksums off, which some
        # S3-compatible servers reject. botocore's "standard" retry mode retries connection
        # errors, throttling and 5xx answers with exponential backoff and jitter.
        self.client = client or boto3.client(
            "s3",
            config=Config(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"total_max_attempts": self.attempts, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )

    def _k(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _error_code(self, exc: Exception) -> str:
        resp = getattr(exc, "response", {}) or {}
        return str(resp.get("Error", {}).get("Code", ""))

    def _failed(self, op: str, key: str, exc: Exception) -> StoreError:
        """One clear StoreError for an S3 failure that retries did not cure."""
        from botocore.exceptions import BotoCoreError

        code = self._error_code(exc)
        if code == "NoSuchBucket":
            return StoreError(
                f"store {self.url}: the bucket {self.bucket!r} does not exist (create it, or fix "
                "--store / STUDYFLOW_STORE)"
            )
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return StoreError(f"store {self.url}: access denied to {op} {key} ({code}); check the credentials and policy")
        if isinstance(exc, BotoCoreError) or code in ("500", "502", "503", "504", "SlowDown", "InternalError"):
            endpoint = getattr(self.client.meta, "endpoint_url", "")
            return StoreUnavailable(
                f"store {self.url} ({endpoint}) could not be reached to {op} {key} after "
                f"{self.attempts} attempts: {exc}"
            )
        return StoreError(f"{op} {key} in {self.url} failed: {exc}")

    def _kms(self) -> dict[str, str]:
        """The KMS key argument of a write, when SSE-KMS is configured."""
        return {"SSEKMSKeyId": self.kms_key} if self.kms_key else {}

    def _call(self, op: str, key: str, call: Callable[[], Any]) -> Any:
        """One S3 call (botocore retries it); errors other than definite answers become StoreError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except ClientError as exc:
            if self._error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                raise ObjectMissing(f"no object {key!r} in {self.url}") from None
            if self._error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise
            raise self._failed(op, key, exc) from exc
        except BotoCoreError as exc:
            raise self._failed(op, key, exc) from exc

    def _put_at(self, key: str, data: bytes, meta: dict[str, str]) -> ObjectInfo:
        from botocore.exceptions import ClientError

        digest = sha256_hex(data)
        full = {**meta, "sha256": digest}
        try:
            kms = self._kms()
            resp = self._call("put_object", key, lambda: self.client.put_object(
                Bucket=self.bucket, Key=self._k(key), Body=data, Metadata=full, IfNoneMatch="*",
                ServerSideEncryption=self.sse, **kms,
            ))
        except ClientError:
            return self._same_as_existing(key, digest)
        version = resp.get("VersionId") or resp["ETag"].strip('"')
        return ObjectInfo(key, len(data), digest, version, meta)

    def _get_at(self, key: str) -> bytes:
        resp = self._call("get_object", key, lambda: self.client.get_object(Bucket=self.bucket, Key=self._k(key)))
        return bytes(resp["Body"].read())

    def _head_at(self, key: str) -> ObjectInfo:
        resp = self._call("head_object", key, lambda: self.client.head_object(Bucket=self.bucket, Key=self._k(key)))
        meta = dict(resp.get("Metadata", {}))
        digest = meta.pop("sha256", None) or sha256_hex(self._get_at(key))
        # Pointers are compared by ETag, which changes with every write, versioned or not.
        version = resp["ETag"].strip('"')
        return ObjectInfo(key, int(resp["ContentLength"]), digest, version, meta)

    def _exists_at(self, key: str) -> bool:
        try:
            self._call("head_object", key, lambda: self.client.head_object(Bucket=self.bucket, Key=self._k(key)))
        except ObjectMissing:
            return False
        return True

    def _copy_at(self, source: str, target: str) -> None:
        # A server-side copy: the bytes never leave the store; metadata (sha256) comes along.
        kms = self._kms()
        self._call("copy_object", target, lambda: self.client.copy_object(
            Bucket=self.bucket, Key=self._k(target), CopySource={"Bucket": self.bucket, "Key": self._k(source)},
            MetadataDirective="COPY", ServerSideEncryption=self.sse, **kms,
        ))

    def _delete_at(self, key: str) -> None:
        self._call("delete_object", key, lambda: self.client.delete_object(Bucket=self.bucket, Key=self._k(key)))

    def list(self, prefix: str = "") -> list[str]:
        """Keys under a prefix, sorted."""
        from botocore.exceptions import BotoCoreError, ClientError

        # A prefix is any leading string of a key, so it is not checked like a key.
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        cut = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            ):
                keys.extend(obj["Key"][cut:] for obj in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("list", prefix or "/", exc) from exc
        return sorted(keys)

    def swap(self, key: str, data: bytes, *, expected_version: str | None) -> ObjectInfo:
        """Replace a pointer only if its version is still `expected_version` (None: absent)."""
        from botocore.exceptions import ClientError

        digest = sha256_hex(data)
        cond: dict[str, str] = (
            {"IfNoneMatch": "*"} if expected_version is None else {"IfMatch": f'"{expected_version}"'}
        )
        try:
            kms = self._kms()
            resp = self._call("put_object", key, lambda: self.client.put_object(
                Bucket=self.bucket, Key=self._k(key), Body=data, Metadata={"sha256": digest},
                ServerSideEncryption=self.sse, **cond, **kms,
            ))
        except (ClientError, ObjectMissing):
            raise VersionConflict(
                f"{key} changed since version {expected_version}: another run published first"
            ) from None
        return ObjectInfo(key, len(data), digest, resp["ETag"].strip('"'), {})


def _attempts() -> int:
    """How many times an S3 call is tried (STUDYFLOW_S3_MAX_ATTEMPTS, default 5)."""
    raw = os.environ.get(ATTEMPTS_ENV, "").strip()
    if not raw:
        return DEFAULT_ATTEMPTS
    if not raw.isdigit() or not 1 <= int(raw) <= 20:
        raise StoreError(f"{ATTEMPTS_ENV}={raw!r}: expected a whole number from 1 to 20")
    return int(raw)


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
    if isinstance(exc, StoreUnavailable):
        return True
    if isinstance(exc, StoreError | ConnectionError | TimeoutError):
        return True
    # botocore's connection errors are not builtin ConnectionErrors; match them by module.
    return type(exc).__module__.startswith(("botocore", "urllib3")) and "Connect" in type(exc).__name__


def object_url(store: ObjectStore, key: str) -> str:
    """A URL a person can open for one object: file:///… for a folder, s3://bucket/… for S3."""
    return f"{store.url.rstrip('/')}/{key}"
