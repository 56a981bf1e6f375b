"""Serve the study's deployments: a weekly full run, a watcher, one event-triggered run per phase.

`python -m deployments.serve --config PATH --store URL` runs them with no worker or work pool;
`prefect.yaml` declares the same deployments for a work pool in production.
"""

from __future__ import annotations

import argparse
from typing import cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger

from flows.study import study_flow
from flows.watch import watch_flow
from schemas.phases import PHASES
from tasks.storage.steps import DATA_ARRIVED
from tasks.storage.store import DEFAULT_STORE


def phase_trigger(phase: str, study_id: str) -> DeploymentEventTrigger:
    """Run a phase (and what depends on it) when data for it arrives for this study."""
    return DeploymentEventTrigger(
        expect={DATA_ARRIVED},
        match={"studyflow.study": study_id, "studyflow.phase": phase},
        parameters={"phases": [phase]},
    )


def build_deployments(config_path: str, store_url: str, study_id: str) -> list[RunnerDeployment]:
    """A weekly full run, a watcher every 10 minutes, and one triggered deployment per phase."""
    common = {"config_path": config_path, "store_url": store_url}
    full = study_flow.to_deployment(
        name=f"{study_id}-full",
        cron="0 6 * * 1",
        parameters={**common, "phases": None},
        tags=[f"study:{study_id}", "schedule:weekly"],
        description="Every Monday 06:00: re-run whatever changed since the last complete run.",
    )
    per_phase = [
        study_flow.to_deployment(
            name=f"{study_id}-{phase.replace('_', '-')}",
            parameters={**common, "phases": [phase]},
            triggers=[phase_trigger(phase, study_id)],
            tags=[f"study:{study_id}", f"phase:{phase}"],
            description=f"Re-run {phase} and its downstream phases when its data arrives.",
        )
        for phase in PHASES
    ]
    watcher = watch_flow.to_deployment(
        name=f"{study_id}-watch",
        interval=600,
        parameters=common,
        tags=[f"study:{study_id}", "watcher"],
        description="Every 10 minutes: announce changed input files as studyflow.data.arrived events.",
    )
    return cast(list[RunnerDeployment], [full, watcher, *per_phase])


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="path to the study's study.yaml")
    parser.add_argument("--store", default=DEFAULT_STORE, help="object store URL")
    args = parser.parse_args()
    from schemas.study_config import load_study_config

    study_id = load_study_config(args.config).study.id
    serve(*build_deployments(args.config, args.store, study_id))


if __name__ == "__main__":
    main()
