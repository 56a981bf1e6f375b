"""Data Docs with GX's templates compiled once per process: the same pages, no second compile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from schemas.study_config import StudyConfig
from tests.tasks.quality.conftest import w1

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _gate(study: StudyConfig, frames: dict[str, pl.DataFrame], docs: Path, name: str = "p") -> Any:
    from schemas.expectations import build_suites, derive_frames, row_keys
    from tasks.quality.gx import run_checkpoint

    frames = {**frames, **derive_frames(frames, study)}
    suites, _ = build_suites(frames, study)
    report = run_checkpoint(name, {d: frames[d] for d in suites}, suites, docs,
                            row_keys={d: row_keys(d) for d in suites}, run_time=WHEN)
    return report, suites


def _tree(docs: Path) -> dict[str, bytes]:
    return {p.relative_to(docs).as_posix(): p.read_bytes() for p in docs.rglob("*") if p.is_file()}


def test_second_build_compiles_no_template_and_gives_the_same_pages(
    study: StudyConfig, clean_frames: Callable[..., dict[str, pl.DataFrame]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import jinja2

    from tasks.quality.gx_views import TEMPLATE_CODE

    compiled: list[str | None] = []
    original = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: Any, name: str | None = None, *a: Any, **k: Any) -> Any:
        compiled.append(name)
        return original(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    TEMPLATE_CODE.clear()
    first, suites = _gate(study, clean_frames(), tmp_path / "first")
    assert "page.j2" in compiled and "index_page.j2" in compiled
    assert len(TEMPLATE_CODE) == len(set(compiled))
    compiled.clear()
    second, _ = _gate(study, clean_frames(), tmp_path / "second")
    # Only templates given as strings (never loaded by name) may compile again.
    assert [n for n in compiled if n is not None] == []
    assert _tree(tmp_path / "first") == _tree(tmp_path / "second")
    assert first.results.equals(second.results)
    assert len(suites) == first.results["dataset"].n_unique()


def test_index_lists_every_validation_page(
    study: StudyConfig, clean_frames: Callable[..., dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    report, suites = _gate(study, clean_frames(), tmp_path, name="survey_w1")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "validations").rglob("*.html"))
    assert len(pages) == len(suites)
    for suite in suites:
        stem = suite.replace(".", "/")
        page = f"validations/{stem}/survey_w1/20260102T030405.000000Z/studyflow-{suite}.html"
        assert page in pages, suite
        assert f"'_table_row_link_path': '{page}'" in index, suite
    assert report.passed


def test_a_failing_check_is_still_reported_through_the_definition_run(
    study: StudyConfig, clean_frames: Callable[..., dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    from schemas.datasets.survey import RESPONDENTS

    name = w1(RESPONDENTS)
    frames = clean_frames()
    respondents = frames[name]
    # A repeated respondent breaks the uniqueness of respondent and member ids.
    frames[name] = pl.concat([respondents, respondents.head(1)])
    report, _ = _gate(study, frames, tmp_path)
    row = report.results.filter(
        (pl.col("dataset") == name) & (pl.col("check") == "survey.respondent_id_unique")
    ).row(0, named=True)
    assert row["success"] is False and row["severity"] == "error"
    assert (row["unexpected_count"], row["element_count"]) == (2, respondents.height + 1)
    assert not report.passed
