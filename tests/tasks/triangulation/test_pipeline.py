"""Triangulation's step list: names from the registry, dependency order, and a run on a local store."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import polars as pl
import yaml

from schemas.datasets import Dataset, registry
from schemas.datasets import triangulation as triangulation_datasets
from schemas.datasets.qualitative import CASES, CASES_CODEBOOK, MATRIX, QUOTES
from schemas.datasets.survey import ANSWERS, CHANGE, ESTIMATES, RESPONDENTS
from schemas.datasets.triangulation import (
    CONVERGENCE,
    JOINT_DISPLAYS,
    META_MATRIX,
    REPORT_CONTENTS,
    REPORT_HTML,
    REPORT_MD,
    REVIEW,
    SENSITIVITY,
)
from schemas.manifest import InputRecord
from tasks.context import RunContext
from tasks.phase import phase_result
from tasks.step import RunFacts
from tasks.step_io import StepResult, execute_step, records_of
from tasks.storage.catalog import review_key
from tasks.triangulation.pipeline import TRIANGULATION_STEPS

PROPOSITIONS = [
    {"id": "p1_constrained", "statement": "CCGs are constrained by other bodies", "themes": ["Political context"],
     "quantitative": {"variable": "influence", "compare_waves": True}, "expect": "majority"},
    {"id": "p2_managers", "statement": "Managers gained influence", "themes": ["Time pressure"],
     "quantitative": {"variable": "influence"}, "expect": "increase"},
]
REVIEW_CSV = (b"\xef\xbb\xbfproposition_id,status,category,note\np2_managers,disputed,partial agreement,small change\n"
              b"p1_constrained,confirmed,,\n")


def test_step_names_are_the_registry_producers() -> None:
    names = [s.name for s in TRIANGULATION_STEPS]
    assert names == ["triangulation.joint_displays", "triangulation.convergence", "triangulation.meta_matrix",
                     "triangulation.summary", "report"]
    produced = {d for s in TRIANGULATION_STEPS for d in s.outputs}
    declared = {d for d in vars(triangulation_datasets).values() if isinstance(d, Dataset)}
    assert produced == declared == {JOINT_DISPLAYS, CONVERGENCE, SENSITIVITY, REVIEW, META_MATRIX, REPORT_HTML,
                                    REPORT_MD, REPORT_CONTENTS}
    # Every stored dataset of the family comes from a step of this list (the gate's derived frames do not).
    assert {d for d in registry() if d.family == "triangulation" and d.kind != "derived"} == produced
    assert all(s.family == "triangulation" for s in TRIANGULATION_STEPS)


def test_steps_only_read_what_earlier_steps_or_phases_publish() -> None:
    earlier: set[str] = set()
    for step in TRIANGULATION_STEPS:
        for use in step.uses:
            if use.dataset.family == "triangulation":
                assert use.dataset.producer in earlier, (step.name, use.dataset.name)
        earlier.add(step.name)


def test_review_is_a_raw_input_and_the_report_is_never_cached() -> None:
    by_name = {s.name: s for s in TRIANGULATION_STEPS}
    assert by_name["triangulation.convergence"].raw == ("review.",)
    assert by_name["triangulation.summary"].raw == ("review.",)
    assert [s.name for s in TRIANGULATION_STEPS if not s.cacheable] == ["report"]
    assert all(not s.needs_key for s in TRIANGULATION_STEPS)


def _store(tmp_path: Path, tf: ModuleType) -> tuple[RunContext, dict]:
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(tf.study_config(PROPOSITIONS)), encoding="utf-8")
    up = RunContext(store_url=str(tmp_path / "store"), run_id="run-up", config_path=str(config))
    frames = {
        CASES_CODEBOOK.name: tf.codebook(), MATRIX.name: tf.matrix(), QUOTES.name: tf.quotes(),
        ESTIMATES.resolve(wave="w1"): pl.DataFrame([tf.estimate("w1", "influence", "key", "1", 0.62, 0.55, 0.69)]),
        ESTIMATES.resolve(wave="w2"): pl.DataFrame([tf.estimate("w2", "influence", "key", "1", 0.58, 0.52, 0.64)]),
        CHANGE.resolve(wave="w2"): pl.DataFrame([tf.change("influence", 0.05, 0.01, 0.09)]),
        CASES.name: tf.cases_table(),
        **{RESPONDENTS.resolve(wave=w): tf.respondents(w) for w in ("w1", "w2")},
        **{ANSWERS.resolve(wave=w): tf.answers(w) for w in ("w1", "w2")},
    }
    available = {name: up.write_table(name, frame, "case_studies" if name.startswith("cases") else "survey_w1")
                 for name, frame in frames.items()}
    # The researcher's review lives in the store; ingestion records it as the input "review.triangulation".
    store = up.store()
    info = store.put(review_key("triangulation.csv"), REVIEW_CSV)
    review = InputRecord(name="review.triangulation", key=info.key, sha256=info.sha256, version=info.version,
                         size=info.size, original_name="triangulation.csv")
    return up.model_copy(update={"run_id": "run-tri", "inputs": (review,)}), available


def _run_all(ctx: RunContext, available: dict) -> list[StepResult]:
    facts = RunFacts(run_id=ctx.run_id, code_version="0.1.0+test", config_sha256="c" * 64,
                     inputs=tuple((r.name, r.original_name, r.sha256) for r in ctx.inputs))
    results: list[StepResult] = []
    for step in TRIANGULATION_STEPS:
        results.append(execute_step(ctx, step, None, {**available, **records_of(results)}, facts))
    return results


def test_the_whole_list_runs_through_the_step_runner(tmp_path: Path, tf: ModuleType) -> None:
    ctx, available = _store(tmp_path, tf)
    before = ctx.store().head(review_key("triangulation.csv")).sha256
    results = _run_all(ctx, available)
    outputs = records_of(results)
    assert set(outputs) == {JOINT_DISPLAYS.name, CONVERGENCE.name, SENSITIVITY.name, REVIEW.name, META_MATRIX.name,
                            REPORT_HTML.name, REPORT_MD.name, REPORT_CONTENTS.name}
    assert all(o.key.startswith("runs/run-tri/") and o.phase == "triangulation" for o in outputs.values())
    conv = ctx.read_table(outputs[CONVERGENCE.name])
    # p2's theme is coded in one case of four: too few → absent → silence.
    assert conv["convergence"].to_list() == ["agreement", "silence"]
    assert conv["reviewer_status"].to_list() == ["confirmed", "disputed"]
    assert conv["review_flag"].to_list() == ["category not recorded: add the category you confirmed (agreement is "
                                             "proposed now)", "needs re-review: disputed as partial agreement, "
                                             "now proposed silence"]
    assert outputs[META_MATRIX.name].rows == 8 and outputs[SENSITIVITY.name].rows == 12
    # The pipeline reads the review and never writes it.
    assert ctx.store().head(review_key("triangulation.csv")).sha256 == before
    assert not any(o.key.startswith("review/") for o in outputs.values())
    html = ctx.store().get(outputs[REPORT_HTML.name].key).decode("utf-8")
    assert "run-tri" in html and "62.0% (55.0–69.0%)" in html and "small change" in html
    assert "needs re-review" in html


def test_the_phase_summary_keeps_its_keys(tmp_path: Path, tf: ModuleType) -> None:
    ctx, available = _store(tmp_path, tf)
    phase = phase_result("triangulation", _run_all(ctx, available), ctx.run_id)
    assert list(phase.summary) == ["propositions", "agreement", "partial_agreement", "silence", "dissonance",
                                   "reviewed", "needs_rereview", "unstable_verdicts", "review_file",
                                   "report_sections", "report_figures", "report_html_bytes"]
    assert phase.summary["reviewed"] == 2 and phase.summary["review_file"] == "present"
    assert phase.summary["needs_rereview"] == 1
    assert phase.markdown.startswith("## Triangulation\n2 propositions: 1 agreement, 0 partial agreement, 1 silence")
    # The phase artifact (flows/artifacts.py publishes this markdown) names the row to re-review.
    assert "- **p2_managers**: needs re-review: disputed as partial agreement, now proposed silence" in phase.markdown
    assert "## Study report" in phase.markdown
    assert [r["proposition_id"] for r in phase.table] == ["p1_constrained", "p2_managers"]
