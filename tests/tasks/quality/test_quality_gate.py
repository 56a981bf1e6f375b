"""quality_gate: results table and Data Docs in the store, errors stop the phase, warnings do not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from schemas.manifest import OutputRecord
from tasks.context import RunContext
from tasks.storage.catalog import docs_prefix
from tasks.storage.tables import parquet_to_table

Frames = dict[str, pl.DataFrame]
RUN_ID = "20260102T030405Z-abc123"


@pytest.fixture(autouse=True)
def quality_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """schemas.quality in the contract registry (until SCHEMA_MODULES lists it)."""
    from schemas import registry

    if "schemas.quality" not in registry.SCHEMA_MODULES:
        monkeypatch.setattr(registry, "SCHEMA_MODULES", (*registry.SCHEMA_MODULES, "schemas.quality"))
    registry.dataset_models.cache_clear()
    yield
    registry.dataset_models.cache_clear()


def _ctx(tmp_path: Path, study: Path, run_id: str = RUN_ID) -> RunContext:
    return RunContext(store_url=str(tmp_path / "store"), run_id=run_id, config_path=str(study))


def _survey(frames: Frames) -> Frames:
    return {k: v for k, v in frames.items() if k.startswith("survey.")}


def test_gate_publishes_results_and_docs(
    tmp_path: Path, study_file: Callable[..., Path], clean_frames: Callable[[], Frames]
) -> None:
    from tasks.quality.steps import quality_gate

    ctx = _ctx(tmp_path, study_file())
    report, records = quality_gate(ctx, "survey_w1", _survey(clean_frames()))
    assert report.passed and not report.warnings
    results_rec, docs_rec = records
    assert isinstance(results_rec, OutputRecord)
    assert results_rec.dataset == "quality.survey_w1.results"
    assert results_rec.rows == report.results.height
    table = parquet_to_table(ctx.store().get(results_rec.key))
    assert table.columns == report.results.columns and table["success"].all()
    assert set(table["dataset"]) >= {"survey.w1.respondents", "survey.w1.site_counts"}
    assert docs_rec.key == f"{docs_prefix(RUN_ID)}survey_w1/index.html"
    keys = ctx.store().list(f"{docs_prefix(RUN_ID)}survey_w1/")
    assert f"{docs_prefix(RUN_ID)}survey_w1/static/vendor/bootstrap/dist/css/bootstrap.min.css" in keys
    assert any("/expectations/survey/w1/respondents.html" in k for k in keys)
    # A retried task publishes the very same bytes: no write-once conflict.
    again, _ = quality_gate(ctx, "survey_w1", _survey(clean_frames()))
    assert again.results.equals(report.results)


def test_error_failure_stops_the_phase_naming_dataset_check_and_value(
    tmp_path: Path, study_file: Callable[..., Path], clean_frames: Callable[[], Frames]
) -> None:
    from tasks.quality.steps import QualityGateError, quality_gate

    frames = _survey(clean_frames())
    frames["survey.w1.respondents"] = frames["survey.w1.respondents"].with_columns(
        pl.lit("s1").alias("site_id")
    )
    ctx = _ctx(tmp_path, study_file())
    with pytest.raises(QualityGateError) as info:
        quality_gate(ctx, "survey_w1", frames)
    msg = str(info.value)
    assert "survey.w1.site_counts" in msg
    assert "survey.site_responses_within_roster" in msg
    assert "site_id=s1" in msg and "respondents=4" in msg
    assert f"{docs_prefix(RUN_ID)}survey_w1/index.html" in msg
    # The evidence is published before the phase stops.
    assert ctx.store().exists(f"{docs_prefix(RUN_ID)}survey_w1/index.html")
    assert info.value.failures.height >= 1


def test_study_yaml_severity_turns_an_error_into_a_warning(
    tmp_path: Path,
    study_file: Callable[..., Path],
    clean_frames: Callable[[], Frames],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tasks.quality.steps import quality_gate

    frames = _survey(clean_frames())
    frames["survey.w1.respondents"] = frames["survey.w1.respondents"].with_columns(
        pl.lit("s1").alias("site_id")
    )
    path = study_file({"severity": {"survey.site_responses_within_roster": "warn",
                                    "no.such_check": "warn"}})
    report, _ = quality_gate(_ctx(tmp_path, path), "survey_w1", frames)
    row = report.results.filter(pl.col("check") == "survey.site_responses_within_roster")
    assert row["severity"].to_list() == ["warn"] and row["success"].to_list() == [False]
    assert report.passed
    assert "no.such_check" in caplog.text
    assert "survey.site_responses_within_roster" in caplog.text


def test_missing_sibling_tables_are_reported_as_skipped(
    tmp_path: Path, study_file: Callable[..., Path], clean_frames: Callable[[], Frames]
) -> None:
    from tasks.quality.steps import quality_gate

    frames = {"cases.segments": clean_frames()["cases.segments"]}
    report, _ = quality_gate(_ctx(tmp_path, study_file()), "case_studies", frames)
    assert "cases.segments: qual.segment_code_in_codebook" in report.skipped
    assert set(report.results["dataset"]) == {"cases.segments", "cases.source_coding"}


def test_gate_report_points_at_the_store(
    tmp_path: Path, study_file: Callable[..., Path], clean_frames: Callable[[], Frames]
) -> None:
    from tasks.quality.steps import quality_gate

    frames: dict[str, Any] = {k: v for k, v in clean_frames().items() if k.startswith("cases.")}
    report, records = quality_gate(_ctx(tmp_path, study_file()), "case_studies", frames)
    assert report.docs_dir is None and report.index_html is None
    assert report.docs_key == f"{docs_prefix(RUN_ID)}case_studies/index.html" == records[1].key
    assert records[0].dataset == "quality.case_studies.results"
