"""The study's deployments, defined once: `serve.py` serves them and `render.py` writes prefect.yaml.

Names are `<study-id>-full`, `<study-id>-watch` and `<study-id>-<phase with dashes>`; the flows are
`study` and `watch-inputs`, so the full names are `study/<study-id>-survey-w2` and so on. Schedules
are in UTC (study.yaml has no time zone). Phase triggers match the `studyflow.study` label, so one
study's data-arrival events never start another study's runs.
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


@dataclass(frozen=True)
class PhaseTrigger:
    """Start the deployment when `studyflow.data.arrived` names this study and phase."""

    study_id: str
    phase: str

    @property
    def match(self) -> dict[str, str | list[str]]:
        return {"studyflow.study": self.study_id, "studyflow.phase": self.phase}

    @property
    def parameters(self) -> dict[str, Any]:
        return {"phases": [self.phase]}


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
    trigger: PhaseTrigger | None = None

    @property
    def entrypoint(self) -> str:
        return STUDY_ENTRYPOINT if self.flow == "study" else WATCH_ENTRYPOINT

    @property
    def flow_name(self) -> str:
        return "study" if self.flow == "study" else "watch-inputs"


def phase_deployment_name(study_id: str, phase: str) -> str:
    return f"{study_id}-{phase.replace('_', '-')}"


def study_deployments(study_id: str) -> list[DeploymentSpec]:
    """A weekly full run, a watcher every 10 minutes, and one triggered deployment per phase."""
    full = DeploymentSpec(
        name=f"{study_id}-full",
        flow="study",
        description="Every Monday 06:00 UTC: re-run whatever changed since the last complete run.",
        tags=(f"study:{study_id}", "schedule:weekly"),
        parameters={"phases": None},
        cron=WEEKLY_CRON,
    )
    watcher = DeploymentSpec(
        name=f"{study_id}-watch",
        flow="watch",
        description="Every 10 minutes: announce changed input files as studyflow.data.arrived events.",
        tags=(f"study:{study_id}", "watcher"),
        interval=WATCH_INTERVAL,
    )
    per_phase = [
        DeploymentSpec(
            name=phase_deployment_name(study_id, phase),
            flow="study",
            description=f"Re-run {phase} and its downstream phases when its data arrives.",
            tags=(f"study:{study_id}", f"phase:{phase}"),
            parameters={"phases": [phase]},
            trigger=PhaseTrigger(study_id, phase),
        )
        for phase in PHASES
    ]
    return [full, watcher, *per_phase]


__all__ = ["DATA_ARRIVED", "DeploymentSpec", "PhaseTrigger", "study_deployments"]
