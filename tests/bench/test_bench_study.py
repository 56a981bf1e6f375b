"""Benchmarks of the study at scale (`make bench`): the demo generator and a survey wave."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.study_config import load_study_config
from tasks.context import RunContext
from tasks.demo.generator import generate_demo_study
from tasks.storage.runs import ingest_inputs
from tasks.storage.store import open_store
from tests.tasks.survey.wave_run import run_wave as run_wave_steps

pytestmark = pytest.mark.bench
SCALE = 10


@pytest.fixture(scope="module")
def scaled_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(generate_demo_study(tmp_path_factory.mktemp("scaled"), scale=SCALE).config_path)


def test_bench_generate_demo_scale_10(benchmark, tmp_path: Path) -> None:
    demo = benchmark.pedantic(
        generate_demo_study, args=(tmp_path / "g",), kwargs={"scale": SCALE}, rounds=1, iterations=1
    )
    assert demo.counts["sites"] == 210 * SCALE


def test_bench_survey_wave_scale_10(benchmark, scaled_study: Path, tmp_path: Path) -> None:
    cfg = load_study_config(scaled_study)
    store = open_store(str(tmp_path / "store"))
    inputs = tuple(ingest_inputs(store, cfg))
    wave = cfg.survey.wave_for_phase("survey_w1")
    counter = iter(range(100))

    def run_wave() -> int:
        ctx = RunContext(
            store_url=str(tmp_path / "store"), run_id=f"bench-{next(counter)}",
            config_path=str(scaled_study), inputs=inputs,
        )
        return len(run_wave_steps(ctx, wave).phase.outputs)

    assert benchmark.pedantic(run_wave, rounds=2, iterations=1) > 20
