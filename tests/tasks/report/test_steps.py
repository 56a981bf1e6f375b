"""The report step: a pure function of the tables, figures and run facts it is given."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from schemas.datasets import model_for
from schemas.datasets.qualitative import QUOTES
from schemas.datasets.survey import CHANGE, COVERAGE, ESTIMATES, FIGURES
from schemas.datasets.triangulation import (
    CONVERGENCE,
    JOINT_DISPLAYS,
    REPORT_CONTENTS,
    REPORT_HTML,
    REPORT_MD,
)
from schemas.study_config import StudyConfig
from tasks.context import RunContext
from tasks.report.steps import report, this_phase
from tasks.step import Blob, RunFacts, StepInput
from tasks.step_io import execute_step
from tasks.triangulation.pipeline import REPORT_STEP

FACTS = RunFacts(
    run_id="run-7", code_version="0.1.0+feedfacecafe", config_sha256="c" * 64,
    inputs=(("sites", "sites.csv", "a" * 64), ("qual.codebook", "codebook.qdc", "b" * 64)),
    phases=({"phase": "scoping", "status": "completed", "run_id": "run-6", "summary": {"sites": 15}},
            {"phase": "survey_w1", "status": "inherited", "run_id": "run-5", "summary": {}},
            {"phase": "triangulation", "status": "skipped", "run_id": "run-7", "summary": {}}),
    inputs_per_phase={"scoping": 3, "triangulation": 1},
    outputs_per_phase={"scoping": (8, 588), "triangulation": (5, 126)},
)


def _input(config: StudyConfig, tables: dict[str, pl.DataFrame], blobs: list[Blob]) -> StepInput:
    return StepInput(config=config, tables=tables, blobs={b.dataset: b for b in blobs}, waves=("w1", "w2"), run=FACTS)


def test_report_step_returns_the_three_registry_outputs(
    config: StudyConfig, report_tables: dict[str, pl.DataFrame], figure_blobs: list[Blob], external: re.Pattern[str],
) -> None:
    out = report(_input(config, report_tables, figure_blobs))
    assert set(out.files) == {REPORT_HTML, REPORT_MD} and set(out.tables) == {REPORT_CONTENTS}
    assert set(out.files) | set(out.tables) == set(REPORT_STEP.outputs)
    html, md = out.files[REPORT_HTML].decode(), out.files[REPORT_MD].decode()
    assert not external.search(html)
    assert html.count("<img ") == 2  # the SVG and the PNG figure; the .qdpx is not a figure
    model_for(REPORT_CONTENTS.name).validate(out.tables[REPORT_CONTENTS])
    assert out.summary == {"report_sections": out.tables[REPORT_CONTENTS].height, "report_figures": 2,
                           "report_html_bytes": len(out.files[REPORT_HTML])}
    assert out.markdown.startswith("## Study report\n`report.html` (")
    assert "62.0% (55.0–69.0%)" in html and "62.0% (55.0–69.0%)" in md


def test_run_facts_name_the_run(
    config: StudyConfig, report_tables: dict[str, pl.DataFrame], figure_blobs: list[Blob],
) -> None:
    md = report(_input(config, report_tables, figure_blobs)).files[REPORT_MD].decode()
    assert "Study `tiny`, run `run-7`." in md
    assert "code version `0.1.0+feedfacecafe`; study.yaml sha256 `" + "c" * 64 in md
    # Inputs in name order, whatever order the run listed them in.
    assert md.index("| qual.codebook | codebook.qdc |") < md.index("| sites | sites.csv |")
    # Triangulation is finishing now: completed, with its codes; counts in and out from the run.
    assert "| Triangulation | not stated | completed | 1 | 5 | 126 | agreement: 1; propositions: 1 |" in md
    assert "| Scoping | 2013-04-01 to 2014-02-28 | completed | 3 | 8 | 588 | sites: 15 |" in md
    assert "| Survey wave 1 | 2014-03-01 to 2014-07-31 | inherited | 0 | 0 | 0 |  |" in md


def test_absent_tables_give_empty_sections(config: StudyConfig, report_tables: dict[str, pl.DataFrame]) -> None:
    only = {CONVERGENCE.name: report_tables[CONVERGENCE.name]}
    out = report(_input(config, only, []))
    md = out.files[REPORT_MD].decode()
    assert "No figures." in md and "No quotes." in md
    rows = dict(zip(out.tables[REPORT_CONTENTS]["title"], out.tables[REPORT_CONTENTS]["rows"], strict=True))
    assert rows["Coverage"] == 0 and rows["Convergence"] == 1


def test_this_phase_replaces_the_triangulation_record() -> None:
    conv = pl.DataFrame({"convergence": ["agreement", "partial agreement", "agreement"]})
    records = this_phase(FACTS.phases, "run-7", conv)
    assert [r["phase"] for r in records] == ["scoping", "survey_w1", "triangulation"]
    assert records[-1] == {"phase": "triangulation", "status": "completed", "run_id": "run-7",
                           "summary": {"propositions": 3, "agreement": 2, "partial_agreement": 1}}
    assert this_phase((), "run-7", None)[-1]["summary"] == {}


def test_report_step_through_the_runner(
    tmp_path: Path, config_path: Path, report_tables: dict[str, pl.DataFrame], svg: bytes,
) -> None:
    up = RunContext(store_url=str(tmp_path / "store"), run_id="run-up", config_path=str(config_path))
    # The tables whose tiny frames meet their contracts (the rest are left out: optional inputs).
    shown = [ESTIMATES.resolve(wave="w1"), ESTIMATES.resolve(wave="w2"), CHANGE.resolve(wave="w2"),
             COVERAGE.resolve(wave="w1"), QUOTES.name, CONVERGENCE.name, JOINT_DISPLAYS.name]
    available = {name: up.write_table(name, report_tables[name], "survey_w1") for name in shown}
    figure = FIGURES.resolve(wave="w1", figure="fig_influence")
    available[figure] = up.write_bytes(figure, svg, "svg", "image/svg+xml", "survey_w1")
    ctx = up.model_copy(update={"run_id": "run-7"})
    result = execute_step(ctx, REPORT_STEP, None, available, FACTS)
    out = {o.dataset: o for o in result.outputs}
    assert set(out) == {REPORT_HTML.name, REPORT_MD.name, REPORT_CONTENTS.name}
    assert {o.phase for o in result.outputs} == {"triangulation"}
    assert out[REPORT_HTML.name].key == "runs/run-7/report/html.html"
    assert out[REPORT_HTML.name].media_type.startswith("text/html")
    assert out[REPORT_MD.name].media_type.startswith("text/markdown")
    html = ctx.store().get(out[REPORT_HTML.name].key).decode("utf-8")
    assert html.count('<img src="data:image/svg+xml;base64,') == 1
    assert result.summary["report_figures"] == 1
    md = ctx.store().get(out[REPORT_MD.name].key).decode("utf-8")
    assert "62.0% (55.0–69.0%)" in md and "166 of 210" in md and "No rows." in md
    again = execute_step(ctx, REPORT_STEP, None, available, FACTS)
    assert {o.dataset: o.sha256 for o in again.outputs} == {o.dataset: o.sha256 for o in result.outputs}
    assert REPORT_STEP.cacheable is False
