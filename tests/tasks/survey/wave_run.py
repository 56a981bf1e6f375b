"""Running a survey wave's steps as the flow does, without Prefect.

`run_wave` takes the step list through the step runner on a store (inputs read and validated,
outputs written, records handed on); `run_in_memory` chains the pure step functions by dataset
name, each seeing only what it declares. Other strands' tests that need a wave's outputs upstream
can use `run_wave` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.datasets import Dataset
from schemas.manifest import OutputRecord
from schemas.study_config import StudyConfig, load_study_config
from tasks.context import RunContext
from tasks.phase import PhaseResult, phase_result
from tasks.quality.contracts import validate
from tasks.step import RawFile, Step, StepInput, StepOutput
from tasks.step_io import StepResult, execute_step, records_of, selected_waves, waves_in_order
from tasks.storage.runs import ingest_inputs
from tasks.storage.store import open_store
from tasks.survey.pipeline import STEPS


def wave_context(config: Path, store: Path | str, run_id: str = "test-run") -> RunContext:
    """A run context with the study's inputs ingested into a store."""
    cfg = load_study_config(config)
    records = ingest_inputs(open_store(str(store)), cfg)
    return RunContext(
        store_url=str(store), run_id=run_id, config_path=str(config), inputs=tuple(records)
    )


@dataclass(frozen=True)
class WaveRun:
    """The step results of one wave run through the step runner."""

    ctx: RunContext
    wave: str
    results: list[StepResult]

    @property
    def records(self) -> dict[str, OutputRecord]:
        """Every output by dataset name (a figure's last format wins)."""
        return records_of(self.results)

    @property
    def outputs(self) -> list[OutputRecord]:
        """Every output record, figures in both formats."""
        return [o for r in self.results for o in r.outputs]

    @property
    def phase(self) -> PhaseResult:
        """The phase result the flow builds from the steps' results."""
        phase = self.ctx.config().survey.waves[self.wave].phase
        return phase_result(phase, self.results, self.ctx.run_id)

    def table(self, dataset: Dataset) -> pl.DataFrame:
        """A table of this wave, read back through its contract."""
        return self.ctx.read_table(self.records[dataset.resolve(wave=self.wave)])


def run_wave(
    ctx: RunContext, wave: str, upstream: Mapping[str, OutputRecord] | None = None
) -> WaveRun:
    """Run the wave's steps in list order through `execute_step`, accumulating their records."""
    config = ctx.config()
    available = dict(upstream or {})
    results = []
    for step in STEPS:
        if step.applies(config, wave):
            result = execute_step(ctx, step, wave, available)
            available.update(records_of([result]))
            results.append(result)
    return WaveRun(ctx, wave, results)


def _declared(
    step: Step, config: StudyConfig, wave: str, tables: Mapping[str, pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    wanted = {
        use.dataset.resolve(**({"wave": w} if w else {}))
        for use in step.uses
        for w in selected_waves(use, config, wave)
    }
    return {name: frame for name, frame in tables.items() if name in wanted}


def _raw(step: Step, wave: str, files: Mapping[str, RawFile]) -> dict[str, RawFile]:
    prefixes = step.raw_prefixes(wave)
    return {
        n: f for n, f in files.items()
        if any(n == p or (p.endswith(".") and n.startswith(p)) for p in prefixes)
    }


def run_in_memory(
    config: StudyConfig,
    wave: str,
    files: Mapping[str, RawFile],
    key: bytes,
    upstream: Mapping[str, pl.DataFrame] | None = None,
) -> tuple[dict[str, pl.DataFrame], dict[str, StepOutput]]:
    """Every applicable step's function, fed only its declared tables and files; outputs validated."""
    tables = dict(upstream or {})
    outputs: dict[str, StepOutput] = {}
    for step in STEPS:
        if not step.applies(config, wave):
            continue
        inp = StepInput(
            config=config,
            wave=wave,
            tables=_declared(step, config, wave, tables),
            files=_raw(step, wave, files),
            key=key if step.needs_key else None,
            waves=waves_in_order(config),
        )
        out = step.fn(inp)
        for dataset, frame in out.tables.items():
            name = dataset.resolve(wave=wave)
            tables[name] = validate(frame, name)
        outputs[step.name] = out
    return tables, outputs
