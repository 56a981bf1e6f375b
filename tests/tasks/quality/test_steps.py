"""quality_gate: results table and Data Docs in the store, errors stop the phase, warnings do not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from schemas.datasets import Dataset, dataset_for
from schemas.datasets.qualitative import CASES_SEGMENTS
from schemas.datasets.quality import DATA_DOCS, QUALITY_RESULTS, SITE_COUNTS, SOURCE_CODING
from schemas.datasets.survey import RESPONDENTS
from schemas.manifest import OutputRecord
from tasks.context import RunContext
from tasks.storage.catalog import docs_prefix
from tasks.storage.store import staged_key
from tasks.storage.tables import parquet_to_table

Frames = dict[str, pl.DataFrame]
RUN_ID = "20260102T030405Z-abc123"


def w1(dataset: Dataset) -> str:
    """The wave-1 instance of a survey dataset."""
    return dataset.resolve(wave="w1")


def _ctx(tmp_path: Path, study: Path, run_id: str = RUN_ID) -> RunContext:
    return RunContext(store_url=str(tmp_path / "store"), run_id=run_id, config_path=str(study))


def _survey(frames: Frames) -> Frames:
    return {k: v for k, v in frames.items() if dataset_for(k).family == "survey"}


def test_gate_publishes_results_and_docs(
    tmp_path: Path, study_file: Callable[..., Path], clean_frames: Callable[[], Frames]
) -> None:
    from tasks.quality.steps import quality_gate

    ctx = _ctx(tmp_path, study_file())
    report, records = quality_gate(ctx, "survey_w1", _survey(clean_frames()))
    assert report.passed and not report.warnings
    results_rec, docs_rec = records
    assert isinstance(results_rec, OutputRecord)
    assert results_rec.dataset == QUALITY_RESULTS.resolve(phase="survey_w1")
    assert docs_rec.dataset == DATA_DOCS.resolve(phase="survey_w1")
    assert results_rec.rows == report.results.height
    table = parquet_to_table(ctx.store().get(results_rec.key))
    assert table.columns == report.results.columns and table["success"].all()
    assert set(table["dataset"]) >= {w1(RESPONDENTS), w1(SITE_COUNTS)}
    assert docs_rec.key == f"{docs_prefix(RUN_ID)}survey_w1/index.html"
    # Until the run is published, its objects live under the staging prefix.
    staging = staged_key(docs_prefix(RUN_ID)).removesuffix(docs_prefix(RUN_ID))
    keys = [k.removeprefix(staging) for k in ctx.store().list(staged_key(f"{docs_prefix(RUN_ID)}survey_w1/"))]
    assert f"{docs_prefix(RUN_ID)}survey_w1/static/vendor/bootstrap/dist/css/bootstrap.min.css" in keys
    page = "/expectations/" + w1(RESPONDENTS).replace(".", "/") + ".html"
    assert any(page in k for k in keys)
    # A retried task publishes the very same bytes: no write-once conflict.
    again, _ = quality_gate(ctx, "survey_w1", _survey(clean_frames()))
    assert again.results.equals(report.results)


def test_error_failure_stops_the_phase_naming_dataset_check_and_value(
    tmp_path: Path, study_file: Callable[..., Path], clean_frames: Callable[[], Frames]
) -> None:
    from tasks.quality.steps import QualityGateError, quality_gate

    frames = _survey(clean_frames())
    frames[w1(RESPONDENTS)] = frames[w1(RESPONDENTS)].with_columns(pl.lit("s1").alias("site_id"))
    ctx = _ctx(tmp_path, study_file())
    with pytest.raises(QualityGateError) as info:
        quality_gate(ctx, "survey_w1", frames)
    msg = str(info.value)
    assert w1(SITE_COUNTS) in msg
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
    frames[w1(RESPONDENTS)] = frames[w1(RESPONDENTS)].with_columns(pl.lit("s1").alias("site_id"))
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

    frames = {CASES_SEGMENTS.name: clean_frames()[CASES_SEGMENTS.name]}
    report, _ = quality_gate(_ctx(tmp_path, study_file()), "case_studies", frames)
    assert f"{CASES_SEGMENTS.name}: qual.segment_code_in_codebook" in report.skipped
    assert set(report.results["dataset"]) == {CASES_SEGMENTS.name, SOURCE_CODING.name}


def test_gate_report_points_at_the_store(
    tmp_path: Path, study_file: Callable[..., Path], clean_frames: Callable[[], Frames]
) -> None:
    from tasks.quality.steps import quality_gate

    frames: dict[str, Any] = {
        k: v for k, v in clean_frames().items() if dataset_for(k).family == "case_studies"
    }
    report, records = quality_gate(_ctx(tmp_path, study_file()), "case_studies", frames)
    assert report.docs_dir is None and report.index_html is None
    assert report.docs_key == f"{docs_prefix(RUN_ID)}case_studies/index.html" == records[1].key
    assert records[0].dataset == QUALITY_RESULTS.resolve(phase="case_studies")
