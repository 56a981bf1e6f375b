"""Serve the study's deployments: a weekly full run, a watcher, a run per burst of arrivals, phases.

`python -m deployments.serve --config PATH --store URL [--alert-block TYPE/NAME]` runs them with
no worker or work pool; the root `prefect.yaml` (written by `python -m deployments.render`) declares
the same deployments, from the same definitions (`deployments/definitions.py`), for a work pool.
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from typing import Any, cast

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger
from prefect.events.schemas.automations import Posture
from prefect.schedules import Cron, Interval

from deployments.definitions import TIMEZONE, ArrivalTrigger, DeploymentSpec, study_deployments
from deployments.entrypoints import study, watch
from tasks.storage.steps import DATA_ARRIVED
from tasks.storage.store import DEFAULT_STORE


def arrival_trigger(trigger: ArrivalTrigger) -> DeploymentEventTrigger:
    """Fire on the first data arrival for this study, then not again within the window."""
    return DeploymentEventTrigger(
        expect={DATA_ARRIVED},
        match=dict(trigger.match),
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(seconds=trigger.window),
        parameters=trigger.parameters,
    )


def concurrency_limit(limit: int) -> ConcurrencyLimitConfig:
    """At most `limit` runs of a deployment at once; further runs wait in line."""
    return ConcurrencyLimitConfig(limit=limit, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def runner_deployment(spec: DeploymentSpec, config_path: str, store_url: str) -> RunnerDeployment:
    """One definition as a served deployment, with this machine's study.yaml and store."""
    flow = study if spec.flow == "study" else watch
    options: dict[str, Any] = {}
    if spec.cron:
        options["schedules"] = [Cron(spec.cron, timezone=TIMEZONE)]
    if spec.interval:
        options["schedules"] = [Interval(spec.interval, timezone=TIMEZONE)]
    if spec.trigger:
        options["triggers"] = [arrival_trigger(spec.trigger)]
    if spec.concurrency_limit:
        options["concurrency_limit"] = concurrency_limit(spec.concurrency_limit)
    return cast(
        RunnerDeployment,
        flow.to_deployment(
            name=spec.name,
            parameters={"config_path": config_path, "store_url": store_url, **spec.parameters},
            tags=list(spec.tags),
            description=spec.description,
            **options,
        ),
    )


def build_deployments(
    config_path: str, store_url: str, study_id: str, window: int | None = None
) -> list[RunnerDeployment]:
    """A weekly full run, a watcher every 10 minutes, a run per burst of arrivals, and phases."""
    specs = study_deployments(study_id) if window is None else study_deployments(study_id, window)
    return [runner_deployment(s, config_path, store_url) for s in specs]


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="path to the study's study.yaml")
    parser.add_argument("--store", default=DEFAULT_STORE, help="object store URL")
    parser.add_argument(
        "--alert-block",
        default=os.environ.get("STUDYFLOW_ALERT_BLOCK"),
        help="notification block TYPE/NAME (e.g. custom-webhook/studyflow-alerts) that the failure "
        "alert sends through; default $STUDYFLOW_ALERT_BLOCK; none: no alert",
    )
    args = parser.parse_args()
    from schemas.study_config import load_study_config

    config = load_study_config(args.config)
    study_id = config.study.id
    if args.alert_block:
        from deployments.alerts import ensure_alert

        ensure_alert(study_id, args.alert_block)
    window = round(config.orchestration.arrival_window_seconds)
    serve(*build_deployments(args.config, args.store, study_id, window))


if __name__ == "__main__":
    main()
