"""Every deployment entrypoint imports, and serve and prefect.yaml come from one definition."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployments.definitions import TIMEZONE, study_deployments
from deployments.render import DEMO_STUDY_ID, render

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["ccg-full", "ccg-watch", "ccg-arrivals", "ccg-scoping", "ccg-survey-w1", "ccg-case-studies", "ccg-survey-w2",
         "ccg-triangulation"]


def test_committed_prefect_yaml_is_the_generators_output() -> None:
    committed = (ROOT / "prefect.yaml").read_text()
    assert committed == render(DEMO_STUDY_ID), (
        "prefect.yaml is stale: run `python -m deployments.render > prefect.yaml`"
    )
    assert not (ROOT / "deployments" / "prefect.yaml").exists(), "one prefect.yaml, at the root"


def test_prefect_yaml_entrypoints_import() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    for dep in spec["deployments"]:
        path, attr = dep["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, attr)
        assert flow.name == ("watch-inputs" if dep["name"].endswith("-watch") else "study")
        assert flow.fn.__name__ == attr  # a served deployment's entrypoint loads the same flow
    pull = spec["pull"]
    assert list(pull[0]) == ["prefect.deployments.steps.git_clone"]
    assert pull[0]["prefect.deployments.steps.git_clone"]["repository"] == (
        "{{ prefect.variables.studyflow_repository }}"
    )
    assert list(pull[1]) == ["prefect.deployments.steps.set_working_directory"]


def test_served_and_rendered_deployments_agree() -> None:
    from deployments.serve import build_deployments

    served = build_deployments("/s/study.yaml", "s3://bucket/study", "ccg")
    rendered: list[dict[str, Any]] = yaml.safe_load(render("ccg"))["deployments"]
    assert [d.name for d in served] == [d["name"] for d in rendered] == NAMES
    for s, r in zip(served, rendered, strict=True):
        assert s.tags == r["tags"]
        assert s.entrypoint == r["entrypoint"]
        assert {k: v for k, v in s.parameters.items() if k not in ("config_path", "store_url")} == r["parameters"]
        assert s.parameters["config_path"] == "/s/study.yaml"
        assert "config_path" not in r["parameters"]  # read from a Variable when the run starts
        assert [sch.schedule.timezone for sch in s.schedules] == [x["timezone"] for x in r.get("schedules", [])]
        assert len(s.triggers) == len(r.get("triggers", []))
        for st, rt in zip(s.triggers, r.get("triggers", []), strict=True):
            assert st.match.model_dump() == rt["match"]
            assert st.expect == set(rt["expect"])
            assert st.parameters == rt["parameters"]
            assert st.within.total_seconds() == rt["within"] and st.posture == rt["posture"] == "Reactive"
        # Collisions wait in line (ENQUEUE), served and deployed alike.
        assert r["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
        assert s.concurrency_limit == 1 and s.concurrency_options is not None
        assert s.concurrency_options.collision_strategy.value == "ENQUEUE"
    assert served[0].schedules[0].schedule.cron == "0 6 * * 1"
    assert served[0].schedules[0].schedule.timezone == TIMEZONE == "UTC"
    assert served[1].schedules[0].schedule.interval.total_seconds() == 600
    arrivals = served[2]
    trigger = arrivals.triggers[0]
    assert trigger.expect == {"studyflow.data.arrived"}
    # Scoped to the study, any phase: one run per burst of arrivals, which re-plans every phase.
    assert trigger.match.model_dump() == {"studyflow.study": "ccg"}
    assert (trigger.threshold, trigger.within.total_seconds()) == (1, 120)
    assert trigger.parameters == {"arrived_at": "{{ event.occurred.isoformat() }}"}
    assert arrivals.parameters["phases"] is None
    assert served[6].parameters["phases"] == ["survey_w2"] and served[6].triggers == []
    assert all(d.concurrency_limit == 1 for d in served)
    assert build_deployments("/s/study.yaml", "s3://b/p", "ccg", 15)[2].triggers[0].within.total_seconds() == 15
    assert [s.name for s in study_deployments("x")][0] == "x-full"


def test_missing_or_empty_study_parameters_are_rejected_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.variables import Variable

    from deployments.entrypoints import MissingStudyParameter, resolve_parameter

    values: dict[str, Any] = {"studyflow_config": "/s/study.yaml", "studyflow_store": "  "}
    monkeypatch.setattr(Variable, "get", lambda name, default=None: values.get(name, default))
    assert resolve_parameter("/given.yaml", "studyflow_config", "config_path") == "/given.yaml"
    assert resolve_parameter(None, "studyflow_config", "config_path") == "/s/study.yaml"
    with pytest.raises(MissingStudyParameter, match="Variable studyflow_store is empty"):
        resolve_parameter(None, "studyflow_store", "store_url")
    with pytest.raises(MissingStudyParameter, match="Variable studyflow_other is not set"):
        resolve_parameter(None, "studyflow_other", "store_url")
    with pytest.raises(MissingStudyParameter, match="parameter config_path is empty"):
        resolve_parameter("", "studyflow_config", "config_path")


def test_failure_artifact_names_phase_step_and_first_error_line() -> None:
    from flows.artifacts import failure_markdown

    text = failure_markdown(
        "r1",
        {"survey_w2": "ValueError: survey.weights: no respondents\nTraceback ...", "scoping": ""},
        {"survey_w2": ["survey.intake", "survey.weights"], "scoping": ["scoping.segments"]},
    )
    assert "| survey_w2 | `survey.weights` | ValueError: survey.weights: no respondents |" in text
    assert "| scoping | (not named in the error) | (no error message) |" in text
    assert "Traceback" not in text


def test_alert_automation_matches_failed_study_runs_of_this_study() -> None:
    from uuid import uuid4

    from deployments.alerts import alert_automation

    block = uuid4()
    auto = alert_automation("ccg", block)
    assert auto.trigger.expect == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}
    related = [m.model_dump() for m in auto.trigger.match_related]  # type: ignore[union-attr]
    assert {"prefect.resource.role": "flow", "prefect.resource.name": "study"} in related
    assert {"prefect.resource.role": "tag", "prefect.resource.id": "prefect.tag.study:ccg"} in related
    assert auto.actions[0].block_document_id == block  # type: ignore[union-attr]
