"""Only complete runs are visible under runs/; `study gc` removes what incomplete runs left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.manifest import InputRecord, Manifest, OutputRecord, PhaseRecord
from schemas.phases import PHASES
from tasks.storage.runs import (
    collect_garbage,
    list_manifests,
    publish_run,
    read_latest,
    run_started,
)
from tasks.storage.store import ObjectStore, open_store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OLD = "20260201T090000Z-aaaaaa"  # a month before NOW
OLDER = "20260115T090000Z-bbbbbb"
YOUNG = "20260301T113000Z-cccccc"  # half an hour before NOW
INPUTS = [InputRecord(name="sites", key="raw/s1/f", sha256="s1", version="v", size=1, original_name="f")]


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "file":
        return open_store(str(tmp_path / "store"))
    return open_store(f"s3://{request.getfixturevalue('s3_bucket')}/study")


def _write(store: ObjectStore, run_id: str, name: str, producer: str | None = None) -> OutputRecord:
    info = store.put(f"runs/{run_id}/{name}", f"{run_id}/{name}".encode())
    return OutputRecord(dataset=name.replace("/", ".").rsplit(".", 1)[0], phase="scoping", key=info.key,
                        sha256=info.sha256, size=info.size, media_type="x", run_id=producer or run_id)


def _manifest(run_id: str, outputs: list[OutputRecord], complete: bool) -> Manifest:
    status = "completed" if complete else "failed"
    return Manifest(study_id="s", run_id=run_id, created="2026-01-01T00:00:00+00:00", code_version="c",
                    config_sha256="cfg", inputs=INPUTS, outputs=outputs, complete=complete,
                    phases=[PhaseRecord(phase=p, status=status, run_id=run_id) for p in PHASES])


def test_a_failed_run_leaves_nothing_under_runs(store: ObjectStore) -> None:
    outputs = [_write(store, OLD, "scoping/a.parquet"), _write(store, OLD, "docs/index.html")]
    publish_run(store, _manifest(OLD, outputs, complete=False), None)
    assert store.list("runs/") == []
    assert read_latest(store) == (None, None)
    # Its manifest is kept in staging, and listed as the incomplete run it is.
    assert [(m.run_id, m.complete) for m in list_manifests(store)] == [(OLD, False)]
    assert store.get(f"runs/{OLD}/scoping/a.parquet") == f"{OLD}/scoping/a.parquet".encode()


def test_a_complete_run_is_published_whole_and_its_staging_emptied(store: ObjectStore) -> None:
    outputs = [_write(store, YOUNG, "scoping/a.parquet")]
    store.put(f"runs/{YOUNG}/docs/index.html", b"<html/>")  # written by the run, not an output record
    publish_run(store, _manifest(YOUNG, outputs, complete=True), None)
    assert store.list("runs/") == [
        f"runs/{YOUNG}/docs/index.html", f"runs/{YOUNG}/manifest.json", f"runs/{YOUNG}/scoping/a.parquet"
    ]
    assert store.list("staging/") == []
    latest, _ = read_latest(store)
    assert latest is not None and latest.run_id == YOUNG


def test_gc_removes_old_incomplete_runs_and_keeps_what_complete_runs_reuse(store: ObjectStore) -> None:
    # OLDER failed after its scoping step; a later complete run reused that cached step's output.
    reused = _write(store, OLDER, "scoping/reused.parquet")
    dropped = _write(store, OLDER, "scoping/dropped.parquet")
    store.put(f"quarantine/{OLDER}/survey/w1/rows.parquet", b"bad rows")
    publish_run(store, _manifest(OLDER, [reused, dropped], complete=False), None)
    own = _write(store, OLD, "survey/w1/x.parquet")
    publish_run(store, _manifest(OLD, [own, reused], complete=True), None)
    # YOUNG is still running (or just failed): younger than the limit, it is left alone.
    _write(store, YOUNG, "scoping/b.parquet")
    # A kill while publishing left a stray published object without a manifest.
    store.put("runs/20260110T000000Z-dddddd/scoping/c.parquet", b"c")
    store.publish("runs/20260110T000000Z-dddddd/scoping/c.parquet")

    report = collect_garbage(store, timedelta(days=7), now=NOW)

    assert report.removed == {
        OLDER: sorted([
            f"quarantine/{OLDER}/survey/w1/rows.parquet",
            f"staging/runs/{OLDER}/manifest.json",
            f"staging/runs/{OLDER}/scoping/dropped.parquet",
            f"staging/runs/{OLDER}/scoping/reused.parquet",  # its published copy is kept
        ]),
        "20260110T000000Z-dddddd": [
            "runs/20260110T000000Z-dddddd/scoping/c.parquet", "staging/runs/20260110T000000Z-dddddd/scoping/c.parquet"
        ],
    }
    assert report.kept_recent == [YOUNG]
    assert store.get(reused.key) == f"{OLDER}/scoping/reused.parquet".encode()
    assert store.is_published(reused.key)
    assert not store.exists(dropped.key)
    assert store.exists(f"runs/{YOUNG}/scoping/b.parquet")
    assert all(store.exists(o.key) for m in list_manifests(store) if m.complete for o in m.outputs)
    assert [m.run_id for m in list_manifests(store)] == [OLD]
    assert report.lines()[-1] == "6 object(s) removed"
    # A second pass has nothing left to do.
    assert collect_garbage(store, timedelta(days=7), now=NOW).lines()[-1] == "nothing to remove"


def test_gc_dry_run_removes_nothing(store: ObjectStore) -> None:
    _write(store, OLD, "scoping/a.parquet")
    report = collect_garbage(store, timedelta(days=1), now=NOW, dry_run=True)
    assert report.removed == {OLD: [f"staging/runs/{OLD}/scoping/a.parquet"]}
    assert store.exists(f"runs/{OLD}/scoping/a.parquet")


def test_run_start_is_read_from_the_run_id() -> None:
    assert run_started(OLD) == datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    assert run_started("hand-made") is None
