"""Fixtures for the qualitative tests: the hand-made mini study run through both step lists."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import qual_mini_study  # noqa: E402

from schemas.datasets import Dataset  # noqa: E402
from schemas.manifest import OutputRecord  # noqa: E402
from schemas.study_config import load_study_config  # noqa: E402
from tasks.context import RunContext  # noqa: E402
from tasks.phase import PhaseResult, phase_result  # noqa: E402
from tasks.step import Step  # noqa: E402
from tasks.step_io import StepResult, execute_step, records_of  # noqa: E402
from tasks.storage.runs import ingest_inputs  # noqa: E402
from tasks.storage.store import open_store  # noqa: E402


def run_steps(
    ctx: RunContext, steps: Sequence[Step], available: Mapping[str, OutputRecord], wave: str | None = None
) -> list[StepResult]:
    """Run a step list in order through the step runner, each step seeing what the earlier ones wrote."""
    seen = dict(available)
    results = []
    for step in steps:
        result = execute_step(ctx, step, wave, seen)
        seen.update(records_of([result]))
        results.append(result)
    return results


def mini_context(study: Path, root: Path, run_id: str = "t") -> RunContext:
    """A run context on a file store under root with the study's inputs ingested."""
    store = open_store(str(root / "store"))
    records = ingest_inputs(store, load_study_config(study))
    return RunContext(store_url=str(root / "store"), run_id=run_id, config_path=str(study), inputs=tuple(records))


@dataclass(frozen=True)
class MiniRun:
    """A run of the scoping and case-study step lists on the mini study."""

    root: Path
    ctx: RunContext
    scoping_steps: list[StepResult]
    case_steps: list[StepResult]
    fmt: str

    @property
    def scoping(self) -> PhaseResult:
        """The scoping phase as the flow composes it from its steps."""
        return phase_result("scoping", self.scoping_steps, self.ctx.run_id)

    @property
    def cases(self) -> PhaseResult:
        """The case-study phase as the flow composes it from its steps."""
        return phase_result("case_studies", self.case_steps, self.ctx.run_id)

    def records(self) -> dict[str, OutputRecord]:
        """Every output of both phases by dataset name."""
        return records_of([*self.scoping_steps, *self.case_steps])

    def case_name(self, case: str) -> str:
        """A planted case's published name (coded-segment CSVs name a case by its first site)."""
        return case if self.fmt == "qdpx" else qual_mini_study.CASES[case].split(";")[0]

    def table(self, dataset: Dataset) -> pl.DataFrame:
        """A written table, read back through its contract."""
        return self.ctx.read_table(self.records()[dataset.resolve()])


def run_mini(root: Path, fmt: str = "qdpx", **selection: object) -> MiniRun:
    """Write the mini study under root, ingest it into a file store and run both step lists."""
    from tasks.qualitative.pipeline import CASE_STEPS, SCOPING_STEPS

    ctx = mini_context(qual_mini_study.write_study(root / "study", fmt, **selection), root)
    scoping = run_steps(ctx, SCOPING_STEPS, {})
    cases = run_steps(ctx, CASE_STEPS, records_of(scoping))
    return MiniRun(root, ctx, scoping, cases, fmt)


@pytest.fixture(scope="session", params=["qdpx", "csv"])
def mini_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> MiniRun:
    """The mini study (REFI-QDA projects, then coded-segment CSVs) through both step lists."""
    return run_mini(tmp_path_factory.mktemp(f"mini_{request.param}"), request.param)
