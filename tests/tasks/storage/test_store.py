"""One contract, both backends: the local folder and S3 over a real loopback HTTP server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tasks.storage.store import (
    FileStore,
    ObjectExists,
    ObjectMissing,
    ObjectStore,
    S3Store,
    StoreError,
    VersionConflict,
    open_store,
    sha256_hex,
)


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "file":
        return open_store(str(tmp_path / "store"))
    bucket = request.getfixturevalue("s3_bucket")
    return open_store(f"s3://{bucket}/study")


def test_put_get_head_round_trip(store: ObjectStore) -> None:
    info = store.put("raw/abc/wave1.csv", b"a,b\n1,2\n", metadata={"original-name": "wave 1.csv"})
    assert info.size == 8
    assert info.sha256 == sha256_hex(b"a,b\n1,2\n")
    assert store.get("raw/abc/wave1.csv") == b"a,b\n1,2\n"
    head = store.head("raw/abc/wave1.csv")
    assert (head.size, head.sha256) == (8, info.sha256)
    assert head.metadata == {"original-name": "wave 1.csv"}
    assert head.version


def test_objects_are_write_once(store: ObjectStore) -> None:
    store.put("runs/r1/a.parquet", b"one")
    # The same content again is an idempotent no-op …
    assert store.put("runs/r1/a.parquet", b"one").sha256 == sha256_hex(b"one")
    # … other content is refused and the original survives.
    with pytest.raises(ObjectExists, match="runs/r1/a.parquet already exists"):
        store.put("runs/r1/a.parquet", b"two")
    assert store.get("runs/r1/a.parquet") == b"one"


def test_list_exists_and_missing(store: ObjectStore) -> None:
    for key in ("runs/r2/b.parquet", "runs/r1/a.parquet", "raw/x/y.csv"):
        store.put(key, key.encode())
    # Run objects are staged: readable by their key, listed under runs/ once published.
    assert store.list("runs/") == []
    assert store.list("staging/") == ["staging/runs/r1/a.parquet", "staging/runs/r2/b.parquet"]
    assert store.get("runs/r1/a.parquet") == b"runs/r1/a.parquet"
    assert store.exists("runs/r1/a.parquet") and not store.is_published("runs/r1/a.parquet")
    assert [store.publish(k) for k in ("runs/r2/b.parquet", "runs/r1/a.parquet")] == [True, True]
    assert store.publish("runs/r1/a.parquet") is False
    assert store.list("runs/") == ["runs/r1/a.parquet", "runs/r2/b.parquet"]
    assert store.head("runs/r1/a.parquet").sha256 == sha256_hex(b"runs/r1/a.parquet")
    assert store.exists("raw/x/y.csv") and not store.exists("raw/x/z.csv")
    with pytest.raises(ObjectMissing, match="no object 'raw/x/z.csv'"):
        store.get("raw/x/z.csv")
    with pytest.raises(ObjectMissing):
        store.head("raw/x/z.csv")


def test_swap_is_compare_and_swap(store: ObjectStore) -> None:
    first = store.swap("latest.json", b'{"run": 1}', expected_version=None)
    with pytest.raises(VersionConflict):
        store.swap("latest.json", b'{"run": 9}', expected_version=None)
    second = store.swap("latest.json", b'{"run": 2}', expected_version=first.version)
    assert store.get("latest.json") == b'{"run": 2}'
    # A writer holding the stale version loses and changes nothing.
    with pytest.raises(VersionConflict):
        store.swap("latest.json", b'{"run": 3}', expected_version=first.version)
    assert store.get("latest.json") == b'{"run": 2}'
    assert store.head("latest.json").version == second.version


def test_concurrent_swaps_have_exactly_one_winner(store: ObjectStore) -> None:
    base = store.swap("latest.json", b"0", expected_version=None)
    wins: list[int] = []
    errors: list[Exception] = []

    def attempt(i: int) -> None:
        try:
            store.swap("latest.json", str(i).encode(), expected_version=base.version)
            wins.append(i)
        except VersionConflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(errors) == 5
    assert store.get("latest.json") == str(wins[0]).encode()


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", ".meta/x"])
def test_invalid_keys_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(StoreError, match="key"):
        store.put(key, b"x")


def test_url_selects_backend(tmp_path: Path, s3_bucket: str) -> None:
    assert isinstance(open_store(str(tmp_path / "a")), FileStore)
    assert isinstance(open_store((tmp_path / "b").as_uri()), FileStore)
    s3 = open_store(f"s3://{s3_bucket}/p")
    assert isinstance(s3, S3Store) and s3.url == f"s3://{s3_bucket}/p"
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store("ftp://host/x")


def test_s3_prefix_isolates_studies(s3_bucket: str) -> None:
    a, b = open_store(f"s3://{s3_bucket}/a"), open_store(f"s3://{s3_bucket}/b")
    a.put("raw/k.txt", b"A")
    assert b.list() == []
    assert a.list() == ["raw/k.txt"]


def test_published_object_stays_write_once(store: ObjectStore) -> None:
    store.put("runs/r1/a.parquet", b"one")
    store.publish("runs/r1/a.parquet")
    assert store.put("runs/r1/a.parquet", b"one").sha256 == sha256_hex(b"one")
    with pytest.raises(ObjectExists, match="runs/r1/a.parquet already exists"):
        store.put("runs/r1/a.parquet", b"two")


def test_publish_of_an_unknown_object_is_refused(store: ObjectStore) -> None:
    with pytest.raises(ObjectMissing, match="neither published nor staged"):
        store.publish("runs/r1/none.parquet")


@pytest.mark.parametrize("key", ["raw/abc/wave1.csv", "review/notes.csv", "inbox/x.csv", "latest.json"])
def test_inputs_reviews_and_latest_are_never_deleted(store: ObjectStore, key: str) -> None:
    store.put(key, b"x") if key != "latest.json" else store.swap(key, b"x", expected_version=None)
    with pytest.raises(StoreError, match="never deleted"):
        store.delete(key)
    assert store.get(key) == b"x"


def test_delete_removes_a_staged_object(store: ObjectStore) -> None:
    store.put("runs/r1/a.parquet", b"one")
    store.delete("staging/runs/r1/a.parquet")
    assert not store.exists("runs/r1/a.parquet") and store.list() == []


def _raw_head(bucket: str, key: str) -> dict[str, object]:
    import boto3

    return boto3.client("s3").head_object(Bucket=bucket, Key=key)


def test_s3_writes_request_sse_s3_by_default(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.storage.store import clear_store_cache

    monkeypatch.delenv("STUDYFLOW_S3_KMS_KEY_ID", raising=False)
    clear_store_cache()
    st = open_store(f"s3://{s3_bucket}/study")
    st.put("raw/a/x.csv", b"x")
    st.put("runs/r1/y.parquet", b"y")
    st.publish("runs/r1/y.parquet")
    st.swap("latest.json", b"{}", expected_version=None)
    for key in ("raw/a/x.csv", "staging/runs/r1/y.parquet", "runs/r1/y.parquet", "latest.json"):
        assert _raw_head(s3_bucket, f"study/{key}")["ServerSideEncryption"] == "AES256", key


def test_s3_writes_request_sse_kms_when_a_key_is_configured(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from tasks.storage.store import clear_store_cache

    key_id = boto3.client("kms").create_key(Description="studyflow test")["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("STUDYFLOW_S3_KMS_KEY_ID", key_id)
    clear_store_cache()
    st = open_store(f"s3://{s3_bucket}/study")
    st.put("raw/a/x.csv", b"x")
    head = _raw_head(s3_bucket, "study/raw/a/x.csv")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert str(head["SSEKMSKeyId"]).endswith(key_id)
    assert st.get("raw/a/x.csv") == b"x"


def test_s3_missing_bucket_is_one_clear_error(s3_env: str) -> None:
    st = open_store("s3://no-such-bucket-studyflow/p")
    with pytest.raises(StoreError, match=r"the bucket 'no-such-bucket-studyflow' does not exist") as info:
        st.put("raw/a/x.csv", b"x")
    assert not isinstance(info.value, ObjectMissing)


def test_s3_unreachable_store_is_retried_then_reported(
    s3_env: str, monkeypatch: pytest.MonkeyPatch, free_port
) -> None:
    import botocore.endpoint

    from tasks.storage.store import StoreUnavailable, clear_store_cache, is_transient

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("STUDYFLOW_S3_MAX_ATTEMPTS", "3")
    clear_store_cache()
    sends: list[int] = []
    original = botocore.endpoint.Endpoint._send

    def counting(self, request):  # type: ignore[no-untyped-def]
        sends.append(1)
        return original(self, request)

    monkeypatch.setattr(botocore.endpoint.Endpoint, "_send", counting)
    st = open_store("s3://any-bucket/p")
    with pytest.raises(StoreUnavailable, match=r"could not be reached to get_object raw/a/x.csv after 3 attempts") as info:
        st.get("raw/a/x.csv")
    assert len(sends) == 3
    assert is_transient(info.value)


def test_attempts_setting_is_checked(monkeypatch: pytest.MonkeyPatch, s3_env: str) -> None:
    from tasks.storage.store import clear_store_cache

    monkeypatch.setenv("STUDYFLOW_S3_MAX_ATTEMPTS", "lots")
    clear_store_cache()
    with pytest.raises(StoreError, match=r"STUDYFLOW_S3_MAX_ATTEMPTS='lots': expected a whole number from 1 to 20"):
        open_store("s3://b/p")
