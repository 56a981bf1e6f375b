"""Arrivals (`study ingest`, the store inbox) and the watcher's announcements with back-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.manifest import InputRecord, Manifest
from schemas.study_config import load_study_config
from tasks.storage.arrivals import (
    UnknownInput,
    announcements_due,
    backoff,
    changed_inputs,
    current_inputs,
    dedupe_key,
    latest_arrivals,
    record_announcements,
    record_arrival,
    scan_inbox,
)
from tasks.storage.catalog import arrival_key, inbox_upload_key, manifest_key
from tasks.storage.runs import ingest_inputs
from tasks.storage.store import open_store, sha256_hex

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BASE = timedelta(minutes=10)


def _wave2(config_path: Path) -> tuple[str, Path]:
    cfg = load_study_config(config_path)
    wave = cfg.survey.wave_for_phase("survey_w2")
    return f"survey.{wave}.export", cfg.resolve(cfg.survey.waves[wave].export)[0]


def test_an_ingested_file_is_stored_once_and_read_by_the_next_run(demo_copy: Path, tmp_path: Path) -> None:
    cfg = load_study_config(demo_copy)
    store = open_store(str(tmp_path / "store"))
    name, folder_file = _wave2(demo_copy)
    new_export = folder_file.read_bytes() + b"\r\n"
    arrival = record_arrival(store, cfg, name, new_export, "wave2-new.csv", now=T0)
    assert arrival is not None
    assert arrival.key == f"raw/{sha256_hex(new_export)}/wave2-new.csv"
    assert store.get(arrival.key) == new_export
    assert arrival.folder_sha256 == sha256_hex(folder_file.read_bytes())
    assert store.exists(arrival_key(name, arrival.sha256))
    # The same content again: nothing new is recorded.
    assert record_arrival(store, cfg, name, new_export, "again.csv", now=T0 + BASE) is None
    assert list(latest_arrivals(store)) == [name]

    current = {c.name: c for c in current_inputs(cfg, store)}
    assert current[name].arrival == arrival and current[name].sha256 == sha256_hex(new_export)
    records = {r.name: r for r in ingest_inputs(store, cfg)}
    assert records[name] == arrival.input_record()
    assert changed_inputs(cfg, store)[name] == arrival.sha256


def test_editing_the_folder_file_after_an_arrival_makes_the_folder_win(demo_copy: Path, tmp_path: Path) -> None:
    cfg = load_study_config(demo_copy)
    store = open_store(str(tmp_path / "store"))
    name, folder_file = _wave2(demo_copy)
    record_arrival(store, cfg, name, folder_file.read_bytes() + b"\r\n", "new.csv", now=T0)
    edited = folder_file.read_bytes() + b"\r\n\r\n"
    folder_file.write_bytes(edited)
    current = {c.name: c for c in current_inputs(cfg, store)}
    assert current[name].arrival is None and current[name].path == folder_file
    assert current[name].sha256 == sha256_hex(edited)


def test_an_arrival_stands_in_for_a_missing_folder_file(demo_copy: Path, tmp_path: Path) -> None:
    cfg = load_study_config(demo_copy)
    store = open_store(str(tmp_path / "store"))
    name, folder_file = _wave2(demo_copy)
    data = folder_file.read_bytes()
    folder_file.unlink()
    arrival = record_arrival(store, cfg, name, data, "export.csv", now=T0)
    assert arrival is not None and arrival.folder_sha256 is None
    assert {c.name: c.sha256 for c in current_inputs(cfg, store)}[name] == sha256_hex(data)


def test_an_unknown_input_name_is_refused_with_the_declared_names(demo_copy: Path, tmp_path: Path) -> None:
    cfg = load_study_config(demo_copy)
    with pytest.raises(UnknownInput, match=r"--input 'survey\.w9\.export' is not an input of study .*sites"):
        record_arrival(open_store(str(tmp_path / "s")), cfg, "survey.w9.export", b"x", "x.csv")


def test_the_inbox_is_read_once_per_upload(demo_copy: Path, tmp_path: Path) -> None:
    cfg = load_study_config(demo_copy)
    store = open_store(str(tmp_path / "store"))
    name, folder_file = _wave2(demo_copy)
    upload = folder_file.read_bytes() + b"\r\n"
    store.put(inbox_upload_key(name, "fieldwork export.csv"), upload)
    store.put("inbox/survey.w9.export/stray.csv", b"a,b\n")
    arrivals, notes = scan_inbox(store, cfg, now=T0)
    assert [(a.input, a.source, a.original_name, a.sha256) for a in arrivals] == [
        (name, "inbox", "fieldwork_export.csv", sha256_hex(upload))
    ]
    assert notes == [
        "inbox/survey.w9.export/stray.csv: not under inbox/<input>/ for a declared input of study "
        f"{cfg.study.id} (declared: " + ", ".join(sorted(c.name for c in current_inputs(cfg, store)))
        + "); left in the inbox, not ingested"
    ]
    again, notes = scan_inbox(store, cfg, now=T0 + BASE)
    assert again == [] and len(notes) == 1  # the stray upload is reported each tick, nothing re-read


def _failed_manifest(run_id: str, created: datetime, inputs: dict[str, str]) -> Manifest:
    return Manifest(
        study_id="s", run_id=run_id, created=created.isoformat(timespec="seconds"), code_version="c",
        config_sha256="x", parameters={},
        inputs=[InputRecord(name=n, key=f"raw/{s}/f", sha256=s, version="v", size=1, original_name="f")
                for n, s in inputs.items()],
        phases=[], outputs=[], previous_run=None, complete=False,
    )


def test_announcements_back_off_after_a_failed_run_and_say_why(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    changed = {"survey.w2.export": "a" * 64, "qual.cases.000": "b" * 64}
    due, waiting = announcements_due(store, changed, base=BASE, now=T0)
    assert due == {"qual.cases.000": (1, "new content"), "survey.w2.export": (1, "new content")}
    assert waiting == []
    assert [a.attempt for a in record_announcements(store, changed, due, now=T0)] == [1, 1]
    # A tick before the first back-off has passed: nothing is announced, and it says why.
    due, waiting = announcements_due(store, changed, base=BASE, now=T0 + timedelta(minutes=5))
    assert due == {}
    assert waiting[1] == (
        "survey.w2.export (aaaaaaaaaaaa): announced 1x, last at 2026-11-30T09:00:00+00:00; no run has "
        "completed with it yet (queued, running or not started); not announced again before "
        "2026-11-30T09:10:00+00:00"
    )
    # The run for it failed: after the back-off it is announced again, naming the failed run.
    failed = _failed_manifest("R1", T0 + timedelta(minutes=2), {"survey.w2.export": "a" * 64})
    store.put(manifest_key("R1"), failed.model_dump_json().encode())
    due, _ = announcements_due(store, changed, base=BASE, now=T0 + BASE)
    assert due["survey.w2.export"] == (2, "announced 1x, its run R1 failed")
    record_announcements(store, changed, due, now=T0 + BASE)
    # The second back-off is twice the first.
    due, waiting = announcements_due(store, changed, base=BASE, now=T0 + BASE + timedelta(minutes=19))
    assert due == {}
    assert "not announced again before 2026-11-30T09:30:00+00:00" in waiting[1]
    assert announcements_due(store, changed, base=BASE, now=T0 + 3 * BASE)[0]["survey.w2.export"][0] == 3


def test_backoff_doubles_up_to_a_day() -> None:
    assert [backoff(n, BASE) for n in (1, 2, 3)] == [BASE, 2 * BASE, 4 * BASE]
    assert backoff(20, BASE) == timedelta(days=1)


def test_the_dedupe_key_is_the_content_not_the_order() -> None:
    a = {"x": "1" * 64, "y": "2" * 64}
    assert dedupe_key(a) == dedupe_key(dict(reversed(list(a.items()))))
    assert dedupe_key(a) != dedupe_key({"x": "1" * 64, "y": "3" * 64})
