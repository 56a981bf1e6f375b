"""Generality: a different study (schools, REDCap, coded-segment CSVs) runs with no code change."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.phases import PHASES
from tests.fixtures.studies import make_fixture_study

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_small_study_runs_end_to_end(tmp_path: Path) -> None:
    from flows.study import study_flow

    config = make_fixture_study("small_study", tmp_path / "study")
    manifest = study_flow(str(config), str(tmp_path / "store"))
    assert manifest.complete
    assert [p.status for p in manifest.phases] == ["completed"] * len(PHASES)
    assert {o.phase for o in manifest.outputs} == set(PHASES)
