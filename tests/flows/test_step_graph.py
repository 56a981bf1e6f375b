"""Steps as Prefect tasks: counted, cached by content and run on Dask, through the Prefect API."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from schemas.study_config import load_study_config
from tasks.pipeline import all_steps, steps_of

pytestmark = pytest.mark.usefixtures("prefect_harness")

RUN_DEPENDENT = ("quality.", "report.")


def _flip_one_wave2_answer(config_path: Path) -> None:
    """Change the last wave-2 respondent's answer to the influence question, nothing else."""
    cfg = load_study_config(config_path)
    export = cfg.resolve(cfg.survey.waves[cfg.survey.wave_for_phase("survey_w2")].export)[0]
    column = cfg.survey.variables["influence_body"].column
    data = export.read_bytes()
    header = next(csv.reader(io.StringIO(data.split(b"\n", 1)[0].decode("cp1252"))))
    lines = data.split(b"\n")
    last = max(i for i, line in enumerate(lines) if line.strip(b",\r"))
    # The leading fields (dates, status, ids, site) hold no commas: split them safely.
    fields = lines[last].split(b",")
    i = header.index(column)
    fields[i] = b"2" if fields[i] == b"1" else b"1"
    lines[last] = b",".join(fields)
    export.write_bytes(b"\n".join(lines))


def _phase_task_runs(flow_run_id: Any) -> dict[str, list[Any]]:
    """Per phase flow run under a study run: its step task runs."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
        TaskRunFilter,
        TaskRunFilterFlowRunId,
    )

    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
        )
        out: dict[str, list[Any]] = {}
        for child in children:
            phase = next(t.split(":", 1)[1] for t in child.tags if t.startswith("phase:"))
            runs = client.read_task_runs(
                task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[child.id]))
            )
            out[phase] = [r for r in runs if _step_of(r.name) is not None]
        return out


def _step_of(task_run_name: str) -> str | None:
    """The step a task run ran ("survey.estimates[w2016]" -> "survey.estimates"), None for others."""
    name = task_run_name.split("[", 1)[0]
    return name if name in {s.name for s in all_steps()} else None


def _by_state(runs: list[Any]) -> dict[str, set[str]]:
    states: dict[str, set[str]] = {}
    for r in runs:
        states.setdefault(r.state.name, set()).add(str(_step_of(r.name)))
    return states


def _run(config: Path, store: str, **kwargs: Any) -> tuple[Any, Any]:
    from flows.study import study_flow

    state = study_flow(str(config), store, return_state=True, **kwargs)
    return state.result(), _phase_task_runs(state.state_details.flow_run_id)


@pytest.fixture(scope="module")
def study_runs(demo_run: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The session's first run, a re-run after one changed wave-2 answer, then a config-only edit."""
    config, store = demo_run.copy(tmp_path_factory.mktemp("graph"))
    runs = {"first": (demo_run.manifest, _phase_task_runs(demo_run.flow_run_id))}
    _flip_one_wave2_answer(config)
    runs["changed_export"] = _run(config, store)
    # A comment changes the file's hash (every phase is due) but no section a step reads.
    config.write_text(config.read_text() + "\n# reviewed by the study team\n")
    runs["config_edit"] = _run(config, store)
    runs["store"] = store
    return runs


def test_a_survey_wave_run_shows_each_step_as_a_task(study_runs: dict[str, Any]) -> None:
    manifest, phases = study_runs["first"]
    assert manifest.complete
    for phase in ("survey_w1", "survey_w2"):
        states = _by_state(phases[phase])
        assert len(phases[phase]) >= 8
        assert set(states) == {"Completed"}, states
    # The change step runs only for the later wave.
    assert "survey.change" not in _by_state(phases["survey_w1"])["Completed"]
    assert "survey.change" in _by_state(phases["survey_w2"])["Completed"]
    assert set(phases) == {"scoping", "survey_w1", "case_studies", "survey_w2", "triangulation"}


def test_one_changed_wave2_answer_executes_only_its_downstream(study_runs: dict[str, Any]) -> None:
    manifest, phases = study_runs["changed_export"]
    assert {p.phase: p.status for p in manifest.phases} == {
        "scoping": "inherited", "survey_w1": "inherited", "case_studies": "inherited",
        "survey_w2": "completed", "triangulation": "completed",
    }
    # Only the two phases downstream of the file get a flow run at all.
    assert set(phases) == {"survey_w2", "triangulation"}
    wave2 = _by_state(phases["survey_w2"])
    # Intake reads the file; steps whose inputs came out identical are served from the cache.
    assert wave2["Completed"] == {
        "survey.intake", "survey.weights", "survey.answers", "survey.estimates",
        "survey.associations", "survey.change", "survey.freetext", "survey.analysis_file",
        "survey.summary", "survey.figures",
    }
    assert wave2.get("Cached", set()) == {"survey.coverage"}
    # The flipped answer moves the survey evidence, not the convergence codes. The meta-matrix reads
    # the wave's answers (each case site's own respondents), so it runs again; influence_body is no
    # proposition's variable, its tables come out identical and the summary comes from the cache.
    triangulation = _by_state(phases["triangulation"])
    assert triangulation["Completed"] == {"triangulation.joint_displays", "triangulation.convergence",
                                          "triangulation.meta_matrix", "report"}
    assert triangulation["Cached"] == {"triangulation.summary"}


def test_a_config_edit_outside_every_step_s_sections_is_served_from_the_cache(
    study_runs: dict[str, Any],
) -> None:
    manifest, phases = study_runs["config_edit"]
    assert {p.status for p in manifest.phases} == {"completed"}
    executed = {p: _by_state(runs).get("Completed", set()) for p, runs in phases.items()}
    cached = {p: _by_state(runs).get("Cached", set()) for p, runs in phases.items()}
    # Only the report, which names its run, is computed again.
    assert executed == {"scoping": set(), "survey_w1": set(), "case_studies": set(),
                        "survey_w2": set(), "triangulation": {"report"}}
    assert cached["survey_w1"] == {s.name for s in steps_of("survey_w1") if s.name != "survey.change"}
    assert cached["case_studies"] == {s.name for s in steps_of("case_studies")}
    # Cached outputs are the earlier runs' objects, referenced, never copied.
    first, _ = study_runs["first"]
    before = {o.dataset: (o.key, o.run_id) for o in first.outputs if o.phase == "case_studies"}
    after = {o.dataset: (o.key, o.run_id) for o in manifest.outputs if o.dataset in before}
    # The quality gate runs again (it is not a step); every step output is the first run's.
    assert {d: v for d, v in after.items() if not d.startswith("quality.")} == {
        d: v for d, v in before.items() if not d.startswith("quality.")
    }
    assert all(after[d][1] == manifest.run_id for d in after if d.startswith("quality."))


def test_the_parent_run_lists_what_came_from_the_cache(study_runs: dict[str, Any]) -> None:
    from prefect.client.orchestration import get_client

    manifest, _ = study_runs["config_edit"]
    first, _ = study_runs["first"]
    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts(limit=200)
    summary = next(a for a in artifact if a.key == f"{manifest.study_id.replace('_', '-')}-run-summary")
    assert f"Study run `{manifest.run_id}`" in summary.data
    assert f"- `cases.matrices`: cached from run {first.run_id}" in summary.data
    links = {a.key: a.data for a in artifact if a.key and a.key.endswith(("-report-html", "-run-folder"))}
    assert any("file://" in v and "/report/html.html" in v for v in links.values()), links


# A local Dask cluster is a started service: `make test-integration` (CI runs it after `make test`).
@pytest.mark.integration
@pytest.mark.server
def test_dask_cluster_gives_byte_identical_tables(demo_run: Any, demo_study: Path, tmp_path: Path) -> None:
    manifest, phases = _run(demo_study, str(tmp_path / "store"), task_runner="dask")
    first = demo_run.manifest
    assert manifest.complete and len(phases["survey_w1"]) >= 8

    def tables(m: Any) -> dict[str, str]:
        return {o.dataset: o.sha256 for o in m.outputs
                if o.key.endswith(".parquet") and not o.dataset.startswith(RUN_DEPENDENT)}

    assert tables(manifest) == tables(first)
    assert len(tables(first)) >= 60
