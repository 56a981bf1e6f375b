"""A step's Prefect task: named, tagged, retried only on store trouble, timed, cached in the store."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from flows.steps import _retry_on_store_trouble, step_task
from tasks.context import RunContext
from tasks.pipeline import step_named
from tasks.quality.contracts import ContractError
from tasks.storage.store import ObjectExists, StoreError, is_transient

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _failed_with(exc: BaseException) -> SimpleNamespace:
    return SimpleNamespace(result=lambda raise_on_failure=True: exc)


def test_retries_only_passing_store_trouble() -> None:
    assert is_transient(StoreError("put x failed: connection reset"))
    assert is_transient(ConnectionError("refused")) and is_transient(TimeoutError())
    assert not is_transient(ObjectExists("x exists with other content"))
    assert not is_transient(ValueError("bad data"))
    assert _retry_on_store_trouble(None, None, _failed_with(StoreError("503 Slow Down")))
    assert not _retry_on_store_trouble(None, None, _failed_with(ContractError("d", "w", pl.DataFrame())))


def test_step_task_options_come_from_study_yaml(demo_copy: Path, tmp_path: Path) -> None:
    text = demo_copy.read_text() + (
        "\norchestration:\n  retries: 4\n  retry_delay_seconds: 2\n  step_timeout_seconds: 90\n"
    )
    demo_copy.write_text(text)
    ctx = RunContext(store_url=str(tmp_path / "store"), run_id="r1", config_path=str(demo_copy))
    task = step_task(step_named("survey.estimates"), ctx, "w2016", ctx.config().orchestration)
    assert task.name == "survey.estimates"
    assert task.task_run_name == "survey.estimates[w2016]"
    assert set(task.tags) == set()  # untagged: no tag concurrency request per task run
    assert task.retries == 4
    # Exponential backoff: each delay doubles the last.
    assert list(task.retry_delay_seconds) == [2, 4, 8, 16]
    assert task.timeout_seconds == 90
    assert task.result_storage.store_url == str(tmp_path / "store")
