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
    assert store.list("runs/") == ["runs/r1/a.parquet", "runs/r2/b.parquet"]
    assert store.list() == ["raw/x/y.csv", "runs/r1/a.parquet", "runs/r2/b.parquet"]
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
