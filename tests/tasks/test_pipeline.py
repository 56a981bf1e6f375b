"""The phase graph and the phase inputs are derived from the steps, not written by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tasks.pipeline import (
    all_steps,
    phase_downstream,
    phase_inputs,
    phase_stages,
    phase_upstream,
    step_named,
    steps_of,
)
from tests.fresh_interpreter import step_modules_loaded_by


def test_phase_graph_follows_the_datasets_steps_read() -> None:
    assert phase_upstream() == {
        "scoping": (),
        "survey_w1": (),
        "case_studies": ("scoping", "survey_w1"),
        "survey_w2": ("survey_w1",),
        "triangulation": ("scoping", "survey_w1", "case_studies", "survey_w2"),
    }
    assert phase_downstream("survey_w1") == ("case_studies", "survey_w2", "triangulation")
    assert phase_downstream("survey_w2") == ("triangulation",)
    # Scoping runs beside wave 1, case studies beside wave 2.
    assert phase_stages() == [("scoping", "survey_w1"), ("case_studies", "survey_w2"), ("triangulation",)]


def test_steps_read_only_what_earlier_steps_or_phases_publish() -> None:
    for phase in ("scoping", "survey_w1", "case_studies", "triangulation"):
        produced: set[str] = set()
        earlier = {d.name for p in phase_upstream()[phase] for s in steps_of(p) for d in s.outputs}
        for step in steps_of(phase):
            for use in step.uses:
                name = use.dataset.name
                assert name in produced or name in earlier or use.wave == "previous", (
                    f"{step.name} reads {name} before it is produced"
                )
            produced |= {d.name for d in step.outputs}


def test_a_survey_wave_has_at_least_eight_steps() -> None:
    assert len(steps_of("survey_w1")) >= 8
    assert steps_of("survey_w1") == steps_of("survey_w2")
    assert len({s.name for s in all_steps()}) == len(all_steps())
    assert step_named(steps_of("scoping")[0].name) is steps_of("scoping")[0]


def test_phase_inputs_name_each_phase_s_own_files(demo_study: Path) -> None:
    from schemas.study_config import load_study_config

    inputs = phase_inputs(load_study_config(demo_study))
    assert inputs["survey_w1"] == (
        "sites", "survey.w2014.roster", "survey.w2014.export", "survey.w2014.dictionary", "survey.site_lookup",
        "survey.freetext.",
    )
    assert inputs["survey_w2"] == (
        "sites", "survey.w2016.roster", "survey.w2016.export", "survey.w2016.dictionary", "survey.site_lookup",
        "survey.freetext.",
    )
    assert inputs["scoping"] == ("qual.codebook", "sites", "qual.scoping.", "qual.site_map.scoping")
    assert inputs["case_studies"] == ("qual.codebook", "sites", "qual.cases.", "qual.site_map.case_studies")
    assert inputs["triangulation"] == ("review.",)


def test_every_step_names_a_function_of_its_module() -> None:
    for step in all_steps():
        module, _, name = step.function.partition(":")
        assert step.module == module and step.fn.__name__ == name and step.fn.__module__ == module, step.name


def test_planning_a_run_imports_no_step_module(demo_study: Path) -> None:
    # A run is planned (phase graph, inputs per phase) from the declarations alone: the step
    # modules, and scipy and matplotlib with them, load when a step first runs.
    code = (
        "import sys\n"
        "from schemas.study_config import load_study_config\n"
        "from tasks.pipeline import phase_inputs, phase_stages, phase_upstream\n"
        f"phase_inputs(load_study_config({str(demo_study)!r})); phase_stages(); phase_upstream()\n"
        "loaded = sorted(m for m in sys.modules if m.endswith('.steps') and m.startswith('tasks.')"
        " or m.split('.')[0] in ('scipy', 'matplotlib', 'great_expectations'))\n"
        "print(','.join(loaded))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "", out.stdout


def test_load_steps_imports_the_step_modules_of_the_phases_asked_for_only(demo_study: Path) -> None:
    loaded = step_modules_loaded_by("from tasks.pipeline import load_steps\nload_steps(['triangulation'])")
    assert loaded == "tasks.report.steps,tasks.triangulation.steps"
