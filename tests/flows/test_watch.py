"""The watcher announces exactly the phases whose input files changed since `latest`."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.study_config import load_study_config

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_watch_announces_changed_phases_only(demo_run, tmp_path: Path) -> None:
    from flows.watch import watch_flow

    before_any_run = watch_flow(str(demo_run.config), str(tmp_path / "empty-store"))
    assert [e["studyflow.phase"] for e in before_any_run] == [
        "scoping", "survey_w1", "case_studies", "survey_w2"
    ]
    demo_copy, store = demo_run.copy(tmp_path / "copy")
    assert watch_flow(str(demo_copy), store) == []

    cfg = load_study_config(demo_copy)
    wave2 = cfg.resolve(cfg.survey.waves[cfg.survey.wave_for_phase("survey_w2")].export)[0]
    wave2.write_bytes(wave2.read_bytes() + b"\r\n")
    due = watch_flow(str(demo_copy), store)
    assert [(e["studyflow.phase"], e["studyflow.inputs"]) for e in due] == [
        ("survey_w2", f"survey.{cfg.survey.wave_for_phase('survey_w2')}.export")
    ]
    assert due[0]["studyflow.study"] == cfg.study.id and len(due[0]["studyflow.sha256"]) == 64
