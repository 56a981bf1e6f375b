"""Fixtures for the qualitative tests: the hand-made mini study run through both phase steps."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import qual_mini_study  # noqa: E402

from schemas.study_config import load_study_config  # noqa: E402
from tasks.context import RunContext  # noqa: E402
from tasks.phase import PhaseResult  # noqa: E402
from tasks.storage.runs import ingest_inputs  # noqa: E402
from tasks.storage.store import open_store  # noqa: E402


@dataclass(frozen=True)
class MiniRun:
    """A run of the scoping and case-study steps on the mini study."""

    root: Path
    ctx: RunContext
    scoping: PhaseResult
    cases: PhaseResult
    fmt: str

    def case_name(self, case: str) -> str:
        """A planted case's published name (coded-segment CSVs name a case by its first site)."""
        return case if self.fmt == "qdpx" else qual_mini_study.CASES[case].split(";")[0]

    def table(self, dataset: str) -> pl.DataFrame:
        """A published table by dataset name."""
        outputs = {**self.scoping.by_dataset(), **self.cases.by_dataset()}
        return self.ctx.read_table(outputs[dataset])


def run_mini(root: Path, fmt: str = "qdpx", **selection: object) -> MiniRun:
    """Write the mini study under root, ingest it into a file store and run both steps."""
    from tasks.qualitative.steps import case_studies_step, scoping_step

    study = qual_mini_study.write_study(root / "study", fmt, **selection)
    store = open_store(str(root / "store"))
    records = ingest_inputs(store, load_study_config(study))
    ctx = RunContext(store_url=str(root / "store"), run_id="t", config_path=str(study), inputs=tuple(records))
    scoping = scoping_step(ctx)
    cases = case_studies_step(ctx, scoping.by_dataset())
    return MiniRun(root, ctx, scoping, cases, fmt)


@pytest.fixture(scope="session", params=["qdpx", "csv"])
def mini_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> MiniRun:
    """The mini study (REFI-QDA projects, then coded-segment CSVs) through both steps."""
    return run_mini(tmp_path_factory.mktemp(f"mini_{request.param}"), request.param)
