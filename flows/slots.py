"""One study run at a time: the study's run slot, and the wait that gathers a burst of arrivals.

The slot is a Prefect global concurrency limit named after the study id (limit 1, created on
first use). A run that finds it taken waits in line (it is queued, never cancelled), so runs of
one study started by schedules, arrivals or CI never plan against each other's half-published
state. A run started by a data arrival first waits until the arrival window has passed, so the
files of one burst are read by one run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from schemas.study_config import load_study_config

# A waiting run re-asks for the slot this often; a run may wait up to a day behind others.
SLOT_TIMEOUT_SECONDS = 86400.0


def study_slot_name(study_id: str) -> str:
    """Name of the study's global concurrency limit."""
    return f"studyflow-study-{study_id}"


def ensure_study_slot(study_id: str) -> str:
    """Create the study's one-run limit if it does not exist yet; returns its name."""
    name = study_slot_name(study_id)
    with get_client(sync_client=True) as client:
        # Look first: creating one that exists makes the server log a traceback on every run.
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another run created it in between
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    return name


@contextmanager
def study_slot(study_id: str) -> Iterator[None]:
    """Hold the study's run slot for the body; other runs of the study wait in line."""
    name = ensure_study_slot(study_id)
    with concurrency(name, occupy=1, strict=True, timeout_seconds=SLOT_TIMEOUT_SECONDS):
        yield


@task(name="study-id", cache_policy=NO_CACHE)
def study_id_task(config_path: str) -> str:
    """The study's id from its study.yaml."""
    return load_study_config(config_path).study.id


@task(name="gather-arrivals", cache_policy=NO_CACHE)
def gather_arrivals_task(config_path: str, arrived_at: str) -> float:
    """Wait until the arrival window after `arrived_at` has passed; returns the seconds waited."""
    window = load_study_config(config_path).orchestration.arrival_window_seconds
    arrived = datetime.fromisoformat(arrived_at.replace("Z", "+00:00"))
    if arrived.tzinfo is None:
        arrived = arrived.replace(tzinfo=UTC)
    wait = (arrived + timedelta(seconds=window) - datetime.now(UTC)).total_seconds()
    if wait > 0:
        get_run_logger().info(
            "data arrived at %s: waiting %.0f s (arrival window %.0f s) so this run reads "
            "everything that arrives with it", arrived.isoformat(timespec="seconds"), wait, window,
        )
        time.sleep(wait)
    return max(wait, 0.0)
