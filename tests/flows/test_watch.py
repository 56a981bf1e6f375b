"""The watcher announces changed inputs once, as one event per study, and reads the store inbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.study_config import load_study_config
from tasks.storage.catalog import inbox_upload_key
from tasks.storage.store import open_store, sha256_hex

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_watch_announces_changed_inputs_once(demo_run, tmp_path: Path) -> None:
    from flows.watch import watch_flow

    before_any_run = watch_flow(str(demo_run.config), str(tmp_path / "empty-store"))
    assert before_any_run is not None
    assert before_any_run["studyflow.phases"] == "scoping,survey_w1,case_studies,survey_w2"
    # Announced already and no run yet: the next tick waits (and says why in its log).
    assert watch_flow(str(demo_run.config), str(tmp_path / "empty-store")) is None

    demo_copy, store = demo_run.copy(tmp_path / "copy")
    assert watch_flow(str(demo_copy), store) is None

    cfg = load_study_config(demo_copy)
    wave = cfg.survey.wave_for_phase("survey_w2")
    wave2 = cfg.resolve(cfg.survey.waves[wave].export)[0]
    wave2.write_bytes(wave2.read_bytes() + b"\r\n")
    labels = watch_flow(str(demo_copy), store)
    assert labels is not None
    assert (labels["studyflow.inputs"], labels["studyflow.phases"]) == (f"survey.{wave}.export", "survey_w2")
    assert labels["studyflow.study"] == cfg.study.id and labels["studyflow.attempt"] == "1"
    assert len(labels["studyflow.sha256"]) == 64


def test_watch_reads_an_upload_to_the_store_inbox(demo_run, tmp_path: Path) -> None:
    from flows.watch import watch_flow

    demo_copy, store = demo_run.copy(tmp_path / "copy")
    cfg = load_study_config(demo_copy)
    wave = cfg.survey.wave_for_phase("survey_w1")
    upload = cfg.resolve(cfg.survey.waves[wave].export)[0].read_bytes() + b"\r\n"
    open_store(store).put(inbox_upload_key(f"survey.{wave}.export", "wave1.csv"), upload)
    labels = watch_flow(str(demo_copy), store)
    assert labels is not None and labels["studyflow.inputs"] == f"survey.{wave}.export"
    assert labels["studyflow.phases"] == "survey_w1"
    assert open_store(store).exists(f"raw/{sha256_hex(upload)}/wave1.csv")
    assert watch_flow(str(demo_copy), store) is None
