"""One study run at a time: the study's run slot, and the wait that gathers a burst of arrivals.

The slot is a Prefect global concurrency limit named after the study id (limit 1, created on
first use). A run that finds it taken waits in line (it is queued, never cancelled), so runs of
one study started by schedules, arrivals or CI never plan against each other's half-published
state. A run started by a data arrival first waits until the arrival window has passed, so the
files of one burst are read by one run.

A run on the API server its own `study` command started (the embedded default) also records
itself as the slot's holder in Prefect's home folder. That server keeps the slot's lease in its
memory and runs no lease-expiry service, so a run killed there (SIGINT, SIGTERM, SIGKILL) would
hold the slot for good; the next run finds the record of a process that is gone and gives the
slot back first. On a standing server the lease of a killed run expires (Prefect's repossessor).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from flows.api_server import is_embedded
from flows.processes import record_this_process, recorded_process_alive
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


def _holder_record(name: str) -> Path:
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home) / "studyflow-slots" / f"{name}.json"


def _on_embedded_server() -> bool:
    from prefect.settings import get_current_settings

    return is_embedded(get_current_settings().api.url)


def reclaim_abandoned_slot(name: str) -> int | None:
    """Give back the slot a killed run left taken on this embedded server; the dead holder's pid."""
    record = _holder_record(name)
    try:
        holder = json.loads(record.read_text())
        pid = int(holder["pid"])
        if recorded_process_alive(holder):
            return None
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        pid = -1  # an unreadable record names no live run
    # Only the run that moves the record aside gives the slot back: two runs starting together
    # must not each release one (the second release would free the first one's new slot).
    claimed = record.with_name(f"{record.name}.{os.getpid()}.reclaimed")
    try:
        record.rename(claimed)
    except FileNotFoundError:
        return None
    try:
        # Held since the holder wrote its record (Prefect keeps an average occupancy per limit).
        held = max(time.time() - claimed.stat().st_mtime, 1.0)
        with get_client(sync_client=True) as client:
            if client.read_global_concurrency_limit_by_name(name).active_slots > 0:
                client.release_concurrency_slots(names=[name], slots=1, occupancy_seconds=held)
    finally:
        claimed.unlink(missing_ok=True)
    _log().warning("run slot %s was still held by process %s, which has ended: released it", name, pid)
    return pid


@contextmanager
def study_slot(study_id: str) -> Iterator[None]:
    """Hold the study's run slot for the body; other runs of the study wait in line."""
    name = ensure_study_slot(study_id)
    embedded = _on_embedded_server()
    if embedded:
        reclaim_abandoned_slot(name)
    with concurrency(name, occupy=1, strict=True, timeout_seconds=SLOT_TIMEOUT_SECONDS):
        record = _holder_record(name)
        if embedded:
            record_this_process(record)
        try:
            yield
        finally:
            if embedded:
                record.unlink(missing_ok=True)


def _log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


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
