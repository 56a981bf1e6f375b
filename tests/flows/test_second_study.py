"""Generality: a different study (schools, REDCap, coded-segment CSVs) runs with no code change."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from schemas.phases import PHASES

pytestmark = pytest.mark.usefixtures("prefect_harness")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_study" / "make_small_study.py"


def _make_small_study(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_small_study", FIXTURE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Path(module.make_small_study(out))


def test_small_study_runs_end_to_end(tmp_path: Path) -> None:
    from flows.study import study_flow

    config = _make_small_study(tmp_path / "study")
    manifest = study_flow(str(config), str(tmp_path / "store"))
    assert manifest.complete
    assert [p.status for p in manifest.phases] == ["completed"] * len(PHASES)
    assert {o.phase for o in manifest.outputs} == set(PHASES)
