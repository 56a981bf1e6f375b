"""The watcher: read the store inbox and announce changed inputs, so the study re-runs."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from tasks.storage.steps import announce_task, detect_new_data_task
from tasks.storage.store import DEFAULT_STORE


@flow(
    name="watch-inputs",
    flow_run_name=lambda: f"watch-{datetime.now(UTC):%Y-%m-%d-%H%M%S}",
    log_prints=True,
)
def watch_flow(config_path: str, store_url: str = DEFAULT_STORE) -> dict[str, str] | None:
    """Emit one `studyflow.data.arrived` for the inputs changed since `latest` (none: nothing due)."""
    tick = detect_new_data_task(config_path, store_url)
    for note in tick.notes:
        print(note)
    announce_task(config_path, store_url, tick)
    return tick.labels
