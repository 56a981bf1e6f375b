"""The study's deployments, defined once: `serve.py` serves them and `render.py` writes prefect.yaml.

Names are `<study-id>-full`, `<study-id>-watch`, `<study-id>-arrivals` and
`<study-id>-<phase with dashes>`; the flows are `study` and `watch-inputs`, so the full names are
`study/<study-id>-survey-w2` and so on. Schedules are in UTC (study.yaml has no time zone).

Data arrivals start one deployment, `<study-id>-arrivals`, whatever the phase: its trigger fires on
the first `studyflow.data.arrived` event naming this study (the `studyflow.study` label, so one
study's events never start another's runs) and ignores further ones for the arrival window; the
run waits out the window, then re-runs every phase whose inputs changed. The phase deployments
have no trigger: they are for CI and people (`prefect deployment run study/<id>-survey-w2`).
Every study deployment queues its own collisions (limit 1, ENQUEUE), and the flow holds the
study's run slot, so runs of one study never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.phases import PHASES
from tasks.storage.steps import DATA_ARRIVED

TIMEZONE = "UTC"
WEEKLY_CRON = "0 6 * * 1"  # Monday 06:00 UTC
WATCH_INTERVAL = 600  # seconds
STUDY_ENTRYPOINT = "deployments/entrypoints.py:study"
WATCH_ENTRYPOINT = "deployments/entrypoints.py:watch"
# Prefect Variables read when a prefect.yaml deployment's run starts (see entrypoints.py).
CONFIG_VARIABLE = "studyflow_config"
STORE_VARIABLE = "studyflow_store"
REPOSITORY_VARIABLE = "studyflow_repository"
BRANCH_VARIABLE = "studyflow_branch"
WORK_POOL = "studyflow"


ARRIVAL_WINDOW = 120  # seconds; study.yaml orchestration.arrival_window_seconds overrides


@dataclass(frozen=True)
class ArrivalTrigger:
    """Start the deployment on the first `studyflow.data.arrived` naming this study in a window."""

    study_id: str
    window: int = ARRIVAL_WINDOW

    @property
    def match(self) -> dict[str, str | list[str]]:
        return {"studyflow.study": self.study_id}

    @property
    def parameters(self) -> dict[str, Any]:
        # The event's time: the run waits until the window after it has passed.
        return {"arrived_at": "{{ event.occurred.isoformat() }}"}


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment, independent of how it is run (served or through a work pool)."""

    name: str
    flow: str  # "study" or "watch"
    description: str
    tags: tuple[str, ...]
    parameters: dict[str, Any] = field(default_factory=dict)  # besides config_path / store_url
    cron: str | None = None
    interval: int | None = None
    trigger: ArrivalTrigger | None = None
    # At most one run of this deployment at a time; further runs wait (ENQUEUE), never cancelled.
    concurrency_limit: int | None = None

    @property
    def entrypoint(self) -> str:
        return STUDY_ENTRYPOINT if self.flow == "study" else WATCH_ENTRYPOINT

    @property
    def flow_name(self) -> str:
        return "study" if self.flow == "study" else "watch-inputs"


def phase_deployment_name(study_id: str, phase: str) -> str:
    return f"{study_id}-{phase.replace('_', '-')}"


def study_deployments(study_id: str, window: int = ARRIVAL_WINDOW) -> list[DeploymentSpec]:
    """A weekly full run, a watcher every 10 minutes, one run per burst of arrivals, and one
    deployment per phase for CI."""
    full = DeploymentSpec(
        name=f"{study_id}-full",
        flow="study",
        description="Every Monday 06:00 UTC: re-run whatever changed since the last complete run.",
        tags=(f"study:{study_id}", "schedule:weekly"),
        parameters={"phases": None},
        cron=WEEKLY_CRON,
        concurrency_limit=1,
    )
    watcher = DeploymentSpec(
        name=f"{study_id}-watch",
        flow="watch",
        description="Every 10 minutes: read the store inbox and announce changed input files as "
        "one studyflow.data.arrived event.",
        tags=(f"study:{study_id}", "watcher"),
        interval=WATCH_INTERVAL,
        concurrency_limit=1,
    )
    arrivals = DeploymentSpec(
        name=f"{study_id}-arrivals",
        flow="study",
        description=f"When data arrives: wait {window} s for the rest of the burst, then re-run "
        "every phase whose inputs changed.",
        tags=(f"study:{study_id}", "trigger:arrival"),
        parameters={"phases": None},
        trigger=ArrivalTrigger(study_id, window),
        concurrency_limit=1,
    )
    per_phase = [
        DeploymentSpec(
            name=phase_deployment_name(study_id, phase),
            flow="study",
            description=f"Re-run {phase} and its downstream phases (for CI and people).",
            tags=(f"study:{study_id}", f"phase:{phase}"),
            parameters={"phases": [phase]},
            concurrency_limit=1,
        )
        for phase in PHASES
    ]
    return [full, watcher, arrivals, *per_phase]


__all__ = ["DATA_ARRIVED", "ArrivalTrigger", "DeploymentSpec", "study_deployments"]
