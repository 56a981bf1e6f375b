"""Tests for tasks.demo.qda_project: building a QdaProject from plain rows."""

from __future__ import annotations

import polars as pl
import pytest

from tasks.demo.qda_project import project_from_rows
from tests.tasks.ingest.qdpx.samples import LEAF, S1, g, sample_project


def test_from_rows_derives_paths_depths_and_selection_text() -> None:
    project = sample_project()
    codes = project.codes.sort("depth")
    assert codes["path"].to_list() == [
        "Wellbeing",
        "Support",
        "Wellbeing/Stress",
        "Wellbeing/Stress/Workload",
    ]
    assert codes["depth"].to_list() == [1, 1, 2, 3]
    texts = dict(zip(project.selections["guid"], project.selections["text"], strict=True))
    assert texts[g(41)] == "café"
    assert texts[g(44)] == "日本語"
    assert project.selections.schema["start"] == pl.Int64


def test_from_rows_normalises_guids_and_rejects_bad_selection() -> None:
    project = project_from_rows(
        "p",
        sources=[{"guid": "{" + S1.upper() + "}", "name": "s", "text": "abc"}],
    )
    assert project.sources["guid"].to_list() == [S1]
    with pytest.raises(
        ValueError, match=r"selections row 0: need 0 <= start <= end <= 3, got start=1, end=9"
    ):
        project_from_rows(
            "p",
            codes=[{"guid": LEAF, "name": "c"}],
            sources=[{"guid": S1, "name": "s", "text": "abc"}],
            selections=[
                {"guid": g(41), "source_guid": S1, "start": 1, "end": 9, "code_guid": LEAF}
            ],
        )
