"""Run bookkeeping: raw ingestion, re-run planning, manifests and the `latest` pointer."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.manifest import InputRecord, Manifest, PhaseRecord
from schemas.phases import PHASES
from tasks.storage.catalog import dataset_key, raw_key, safe_name
from tasks.storage.runs import (
    LostLatestRace,
    ingest_file,
    new_run_id,
    plan_phases,
    publish_run,
    read_latest,
)
from tasks.storage.store import VersionConflict, open_store

PREFIXES = {
    "scoping": ("sites", "qual.codebook", "qual.scoping."),
    "survey_w1": ("sites", "survey.w1.", "survey.freetext."),
    "case_studies": ("sites", "qual.codebook", "qual.cases."),
    "survey_w2": ("sites", "survey.w2.", "survey.freetext."),
    "triangulation": ("review.",),
}


def _inp(name: str, sha: str) -> InputRecord:
    return InputRecord(
        name=name, key=f"raw/{sha}/f", sha256=sha, version="v", size=1, original_name="f"
    )


INPUTS = [
    _inp("sites", "s1"),
    _inp("qual.codebook", "c1"),
    _inp("qual.scoping.000", "q1"),
    _inp("qual.cases.000", "k1"),
    _inp("survey.w1.export", "w1"),
    _inp("survey.w1.roster", "r1"),
    _inp("survey.w2.export", "w2"),
    _inp("survey.w2.roster", "r2"),
]


def _manifest(run_id: str, inputs: list[InputRecord], complete: bool = True) -> Manifest:
    return Manifest(
        parameters={"pseudonym_key_fingerprint": "K1"},
        study_id="s",
        run_id=run_id,
        created="2026-01-01T00:00:00+00:00",
        code_version="c",
        config_sha256="cfg",
        inputs=inputs,
        phases=[PhaseRecord(phase=p, status="completed", run_id=run_id) for p in PHASES],
        outputs=[],
        complete=complete,
    )


def test_keys_follow_the_catalog() -> None:
    assert raw_key("ab" * 32, "Wave 1 (2014).csv") == f"raw/{'ab' * 32}/Wave_1_2014_.csv"
    assert dataset_key("R", "survey.w1.responses") == "runs/R/survey/w1/responses.parquet"
    assert safe_name("../../etc/passwd") == "passwd"
    with pytest.raises(ValueError, match="invalid dataset name"):
        dataset_key("R", "Survey/../x")


def test_first_run_runs_everything() -> None:
    assert plan_phases(
        INPUTS, None, phase_prefixes=PREFIXES, code="c", config_sha256="cfg", key_fingerprint="K1"
    ) == {p: "run" for p in PHASES}


def test_a_new_wave2_file_reruns_wave2_and_downstream_only() -> None:
    prev = _manifest("R1", INPUTS)
    changed = [*INPUTS[:-2], _inp("survey.w2.export", "w2-new"), INPUTS[-1]]
    plan = plan_phases(
        changed, prev, phase_prefixes=PREFIXES, code="c", config_sha256="cfg", key_fingerprint="K1"
    )
    assert plan == {
        "scoping": "inherit",
        "survey_w1": "inherit",
        "case_studies": "inherit",
        "survey_w2": "run",
        "triangulation": "run",
    }


def test_a_new_wave1_file_reruns_its_dependants() -> None:
    prev = _manifest("R1", INPUTS)
    changed = [_inp(i.name, "new") if i.name == "survey.w1.export" else i for i in INPUTS]
    plan = plan_phases(
        changed, prev, phase_prefixes=PREFIXES, code="c", config_sha256="cfg", key_fingerprint="K1"
    )
    assert plan["scoping"] == "inherit"
    assert [p for p, v in plan.items() if v == "run"] == [
        "survey_w1",
        "case_studies",
        "survey_w2",
        "triangulation",
    ]


def test_changed_code_or_config_reruns_everything() -> None:
    prev = _manifest("R1", INPUTS)
    assert set(
        plan_phases(
            INPUTS,
            prev,
            phase_prefixes=PREFIXES,
            code="other",
            config_sha256="cfg",
            key_fingerprint="K1",
        ).values()
    ) == {"run"}
    assert set(
        plan_phases(
            INPUTS,
            prev,
            phase_prefixes=PREFIXES,
            code="c",
            config_sha256="new",
            key_fingerprint="K1",
        ).values()
    ) == {"run"}


def test_requested_phase_is_rerun_with_downstream() -> None:
    prev = _manifest("R1", INPUTS)
    plan = plan_phases(
        INPUTS,
        prev,
        phase_prefixes=PREFIXES,
        code="c",
        config_sha256="cfg",
        key_fingerprint="K1",
        requested=["scoping"],
    )
    assert plan == {
        "scoping": "run",
        "survey_w1": "inherit",
        "case_studies": "run",
        "survey_w2": "inherit",
        "triangulation": "run",
    }


def test_incomplete_run_never_moves_latest(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "st"))
    good = _manifest("R1", INPUTS)
    publish_run(store, good, None)
    latest, version = read_latest(store)
    assert latest is not None and latest.run_id == "R1"
    publish_run(store, _manifest("R2", INPUTS, complete=False), version)
    latest2, version2 = read_latest(store)
    assert latest2 is not None and latest2.run_id == "R1" and version2 == version
    assert store.exists("runs/R2/manifest.json")


def test_stale_publish_loses_and_leaves_latest(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "st"))
    publish_run(store, _manifest("R1", INPUTS), None)
    _, v1 = read_latest(store)
    publish_run(store, _manifest("R2", INPUTS), v1)
    with pytest.raises(VersionConflict, match=r"another run \(R2\) published meanwhile") as lost:
        publish_run(store, _manifest("R3", INPUTS), v1)
    assert isinstance(lost.value, LostLatestRace)
    assert (lost.value.winner, lost.value.manifest_key) == ("R2", "runs/R3/manifest.json")
    latest, _ = read_latest(store)
    assert latest is not None and latest.run_id == "R2"


def test_ingest_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "st"))
    a = ingest_file(store, "sites", b"id\n1\n", "sites.csv")
    b = ingest_file(store, "sites", b"id\n1\n", "sites.csv")
    assert a == b and a.key.startswith("raw/") and a.sha256 in a.key
    assert store.head(a.key).metadata == {"original-name": "sites.csv"}


def test_run_ids_sort_by_time() -> None:
    from datetime import UTC, datetime

    early = new_run_id(datetime(2026, 1, 1, tzinfo=UTC))
    late = new_run_id(datetime(2026, 1, 2, tzinfo=UTC))
    assert early < late and early.startswith("20260101T000000Z-")


def test_edited_review_file_reruns_triangulation_only() -> None:
    prev = _manifest("R1", [*INPUTS, _inp("review.triangulation", "v1")])
    now = [*INPUTS, _inp("review.triangulation", "v2")]
    plan = plan_phases(
        now, prev, phase_prefixes=PREFIXES, code="c", config_sha256="cfg", key_fingerprint="K1"
    )
    assert [p for p, v in plan.items() if v == "run"] == ["triangulation"]


def test_review_files_are_recorded_in_place_not_copied(tmp_path: Path) -> None:
    from schemas.study_config import load_study_config
    from tasks.demo.generator import generate_demo_study
    from tasks.storage.runs import ingest_inputs

    cfg = load_study_config(generate_demo_study(tmp_path / "demo").config_path)
    store = open_store(str(tmp_path / "st"))
    store.put("review/triangulation.csv", b"proposition_id,status,note\n")
    records = {r.name: r for r in ingest_inputs(store, cfg)}
    review = records["review.triangulation"]
    assert review.key == "review/triangulation.csv"
    assert review.sha256 == store.head("review/triangulation.csv").sha256
    assert not any(k.endswith("/triangulation.csv") for k in store.list("raw/"))


def test_a_new_pseudonym_key_reruns_everything() -> None:
    prev = _manifest("R1", INPUTS)
    plan = plan_phases(
        INPUTS, prev, phase_prefixes=PREFIXES, code="c", config_sha256="cfg", key_fingerprint="K2"
    )
    assert set(plan.values()) == {"run"}


def test_failed_phase_errors_are_redacted_in_the_manifest(tmp_path: Path) -> None:
    from tasks.context import RunContext
    from tasks.demo.generator import generate_demo_study
    from tasks.storage.steps import RunPlan, phase_records

    config = generate_demo_study(tmp_path / "demo").config_path
    ctx = RunContext(store_url=str(tmp_path / "st"), run_id="R", config_path=str(config))
    run = RunPlan(ctx=ctx, study_id="s", plan={p: "run" for p in PHASES}, key_fingerprint="K",
                  code_version="c", config_sha256="cfg")
    failure = "interview 'Dr Sarah Patel, 3 May' (a.qdpx): selection ends past the text"
    records = {r.phase: r for r in phase_records(run, {}, {"scoping": failure})}
    assert records["scoping"].error == "interview '[name], 3 May' (a.qdpx): selection ends past the text"
    assert records["survey_w1"].status == "skipped"
