"""A failed phase never corrupts what is published; the same flow runs against S3."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.study_config import load_study_config
from tasks.storage.runs import list_manifests, read_latest
from tasks.storage.store import open_store

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_corrupted_wave2_fails_only_wave2_and_keeps_latest(demo_run, tmp_path: Path) -> None:
    from flows.study import StudyRunFailed, study_flow

    demo_copy, store_url = demo_run.copy(tmp_path)
    good = demo_run.manifest
    store = open_store(store_url)
    report_key = good.output("report.html").key
    report_before = store.get(report_key)

    cfg = load_study_config(demo_copy)
    wave2 = cfg.resolve(cfg.survey.waves[cfg.survey.wave_for_phase("survey_w2")].export)[0]
    # A truncated upload: the header rows survive, the ImportId row is cut mid-way.
    wave2.write_bytes(wave2.read_bytes()[:400])

    with pytest.raises(StudyRunFailed, match=r"survey_w2: .*wave2") as info:
        study_flow(str(demo_copy), store_url)
    assert "`latest` still names the last complete run" in str(info.value)

    latest, _ = read_latest(store)
    assert latest is not None and latest.run_id == good.run_id
    failed = list_manifests(store)[-1]
    assert not failed.complete
    status = {p.phase: p.status for p in failed.phases}
    assert status == {
        "scoping": "inherited", "survey_w1": "inherited", "case_studies": "inherited",
        "survey_w2": "failed", "triangulation": "skipped",
    }
    assert store.get(report_key) == report_before
    # The unreadable file is quarantined with a report naming the rule it broke.
    quarantined = store.list(f"quarantine/{failed.run_id}/")
    report = [k for k in quarantined if k.endswith(".report.json")]
    assert len(report) == 1 and len(quarantined) == 2
    assert failed.quarantine == quarantined  # listed in the run's manifest
    import json

    detail = json.loads(store.get(report[0]))
    assert detail["phase"] == "survey_w2" and detail["original_name"] == wave2.name
    assert store.get(next(k for k in quarantined if k != report[0])) == wave2.read_bytes()
