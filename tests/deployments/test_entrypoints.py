"""Smoke test: every deployment entrypoint imports and builds its deployments."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_prefect_yaml_entrypoints_import() -> None:
    spec = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    names = [d["name"] for d in spec["deployments"]]
    assert names == [
        "study-full", "watch-inputs", "phase-scoping", "phase-survey-w1", "phase-case-studies",
        "phase-survey-w2", "phase-triangulation",
    ]
    for dep in spec["deployments"]:
        path, attr = dep["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, attr)
        assert flow.name == ("watch-inputs" if dep["name"] == "watch-inputs" else "study")


def test_served_deployments_have_schedule_and_phase_triggers() -> None:
    from deployments.serve import build_deployments

    deps = build_deployments("/s/study.yaml", "s3://bucket/study", "ccg")
    assert [d.name for d in deps] == [
        "ccg-full", "ccg-watch", "ccg-scoping", "ccg-survey-w1", "ccg-case-studies",
        "ccg-survey-w2", "ccg-triangulation",
    ]
    assert deps[0].schedules and deps[0].schedules[0].schedule.cron == "0 6 * * 1"
    assert deps[1].schedules[0].schedule.interval.total_seconds() == 600
    trigger = deps[5].triggers[0]
    assert trigger.expect == {"studyflow.data.arrived"}
    assert trigger.match.model_dump() == {"studyflow.study": "ccg", "studyflow.phase": "survey_w2"}
    assert deps[5].parameters["phases"] == ["survey_w2"]
