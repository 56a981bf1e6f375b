"""The watcher: announce new or changed input files, so their phases' deployments run."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from tasks.storage.steps import detect_new_data_task, emit_data_arrived_task
from tasks.storage.store import DEFAULT_STORE


@flow(name="watch-inputs", flow_run_name=lambda: f"watch-{datetime.now(UTC):%Y-%m-%d-%H%M%S}")
def watch_flow(config_path: str, store_url: str = DEFAULT_STORE) -> list[dict[str, str]]:
    """Emit `studyflow.data.arrived` for each phase whose input files changed since `latest`."""
    due = detect_new_data_task(config_path, store_url)
    for labels in due:
        emit_data_arrived_task(labels)
    return due
