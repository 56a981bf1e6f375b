"""Triangulation's step functions on tiny frames, each given a StepInput directly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

from schemas.datasets import Dataset
from schemas.datasets.qualitative import CASES, CASES_CODEBOOK, MATRIX, QUOTES
from schemas.datasets.survey import ANSWERS, ASSOCIATIONS, CHANGE, ESTIMATES, RESPONDENTS
from schemas.datasets.triangulation import (
    CONVERGENCE,
    JOINT_DISPLAYS,
    META_MATRIX,
    REVIEW,
    SENSITIVITY,
)
from schemas.study_config import parse_study_config
from tasks.step import RawFile, StepInput
from tasks.triangulation import steps
from tasks.triangulation.displays import base_setting, triangulate
from tasks.triangulation.qualitative import PropositionError
from tasks.triangulation.review import ReviewError

PROPOSITIONS = [
    {"id": "p1_constrained", "statement": "CCGs are constrained by other bodies", "themes": ["Political context"],
     "quantitative": {"variable": "influence", "compare_waves": True}, "expect": "majority"},
    {"id": "p2_managers", "statement": "Managers gained influence", "themes": ["Time pressure"],
     "quantitative": {"variable": "influence"}, "expect": "increase"},
]
# The note of p2 has surrounding spaces, an escaped quote, a comma and a line break: kept verbatim.
NOTE = '  small change, "not convincing"\nsee memo '
REVIEW_CSV = ('\ufeffproposition_id,status,category,note\np2_managers,disputed,silence,"'
              + NOTE.replace('"', '""') + '"\ngone,confirmed,agreement,kept\n').encode("utf-8")


def _upstream(tf: ModuleType) -> dict[str, pl.DataFrame]:
    return {
        CASES_CODEBOOK.name: tf.codebook(), MATRIX.name: tf.matrix(), QUOTES.name: tf.quotes(),
        ESTIMATES.resolve(wave="w1"): pl.DataFrame([tf.estimate("w1", "influence", "key", "1", 0.62, 0.55, 0.69)]),
        ESTIMATES.resolve(wave="w2"): pl.DataFrame([tf.estimate("w2", "influence", "key", "1", 0.58, 0.52, 0.64)]),
        CHANGE.resolve(wave="w2"): pl.DataFrame([tf.change("influence", 0.05, 0.01, 0.09)]),
        CASES.name: tf.cases_table(),
        **{RESPONDENTS.resolve(wave=w): tf.respondents(w) for w in ("w1", "w2")},
        **{ANSWERS.resolve(wave=w): tf.answers(w) for w in ("w1", "w2")},
    }


def _input(tf: ModuleType, tmp_path: Path, tables: dict[str, pl.DataFrame], review: bytes | None = None,
           propositions: list[dict] = PROPOSITIONS) -> StepInput:
    config = parse_study_config(tf.study_config(propositions), tmp_path / "study.yaml")
    files = {} if review is None else {"review.triangulation": RawFile("review.triangulation", review,
                                                                       "triangulation.csv")}
    return StepInput(config=config, tables=tables, files=files, waves=("w1", "w2"))


def _valid(dataset: Dataset, frame: pl.DataFrame) -> pl.DataFrame:
    assert dataset.model is not None
    return dataset.model.validate(frame, lazy=True)


def test_joint_displays_step_reads_every_wave_in_order(tf: ModuleType, tmp_path: Path) -> None:
    out = steps.joint_displays(_input(tf, tmp_path, _upstream(tf)))
    assert set(out.tables) == {JOINT_DISPLAYS}
    joint = _valid(JOINT_DISPLAYS, out.tables[JOINT_DISPLAYS])
    shares = joint.filter((pl.col("proposition_id") == "p1_constrained") & (pl.col("measure") == "proportion"))
    assert shares["wave"].to_list() == ["w1", "w2"] and shares["value"].to_list() == [0.62, 0.58]
    assert joint.filter(pl.col("measure") == "quote").height == 3  # two for p1, one for p2


def test_survey_tables_fill_absent_waves_with_contract_shaped_frames(tf: ModuleType, tmp_path: Path) -> None:
    tables = {k: v for k, v in _upstream(tf).items() if k != ESTIMATES.resolve(wave="w1")}
    survey = steps.survey_tables(_input(tf, tmp_path, tables))
    assert survey.waves == ("w1", "w2")
    assert survey.estimates["wave"].to_list() == ["w2"]
    assert survey.associations.is_empty()
    assert ASSOCIATIONS.model is not None
    assert survey.associations.columns == list(ASSOCIATIONS.model.to_schema().columns)


def test_convergence_step_joins_the_review_file(tf: ModuleType, tmp_path: Path) -> None:
    out = steps.convergence(_input(tf, tmp_path, _upstream(tf), REVIEW_CSV))
    assert set(out.tables) == {CONVERGENCE, SENSITIVITY, REVIEW}
    conv = _valid(CONVERGENCE, out.tables[CONVERGENCE])
    assert conv["convergence"].to_list() == ["agreement", "silence"]
    assert conv["reviewer_status"].to_list() == ["unreviewed", "disputed"]
    assert conv["reviewer_category"].to_list() == [None, "silence"]
    assert conv["review_flag"].to_list() == [None, None]
    # The researcher's note, byte for byte as the file holds it.
    assert conv["reviewer_note"].to_list() == [None, NOTE]
    assert conv.item(1, "reviewer_note").encode("utf-8") in REVIEW_CSV.replace(b'""', b'"')
    review = _valid(REVIEW, out.tables[REVIEW])
    assert review["proposition_id"].to_list() == ["p1_constrained", "p2_managers", "gone"]
    assert review.row(2, named=True)["flag"] == "proposition removed from study.yaml"
    assert out.notes == ("review/triangulation.csv: line 3 names proposition 'gone', which is no longer in "
                         "study.yaml; its review row is kept (see the review table)",)
    _valid(SENSITIVITY, out.tables[SENSITIVITY])


def test_convergence_without_a_review_is_unreviewed(tf: ModuleType, tmp_path: Path) -> None:
    out = steps.convergence(_input(tf, tmp_path, _upstream(tf)))
    assert out.tables[CONVERGENCE]["reviewer_status"].to_list() == ["unreviewed", "unreviewed"]
    assert out.notes == ()


def test_only_the_csv_file_is_the_review(tf: ModuleType, tmp_path: Path) -> None:
    inp = _input(tf, tmp_path, _upstream(tf))
    other = {"review.triangulation": RawFile("review.triangulation", b"PK\x03\x04", "triangulation.xlsx")}
    assert steps.read_review(replace(inp, files=other)) is None
    assert steps.read_review(_input(tf, tmp_path, {}, REVIEW_CSV)) is not None


def test_a_malformed_review_is_refused_naming_the_file(tf: ModuleType, tmp_path: Path) -> None:
    bad = b"proposition_id,status\np1_constrained,maybe\n"
    with pytest.raises(ReviewError, match=r"review/triangulation.csv: line 2 \(p1_constrained\): status 'maybe'"):
        steps.convergence(_input(tf, tmp_path, _upstream(tf), bad))


def test_split_steps_equal_the_whole_triangulation(tf: ModuleType, tmp_path: Path) -> None:
    tables = _upstream(tf)
    out = steps.convergence(_input(tf, tmp_path, tables, REVIEW_CSV))
    conv = out.tables[CONVERGENCE]
    meta = steps.meta_matrix(_input(tf, tmp_path, {**tables, CONVERGENCE.name: conv})).tables[META_MATRIX]
    joint = steps.joint_displays(_input(tf, tmp_path, tables)).tables[JOINT_DISPLAYS]
    inp = _input(tf, tmp_path, tables)
    cfg = inp.config
    whole = triangulate(cfg.triangulation.propositions, dict(cfg.survey.variables), tf.qual_tables(),
                        steps.survey_tables(inp), steps.case_survey(inp), base_setting(cfg.triangulation),
                        cfg.triangulation.small_n, steps.dictionaries(inp), steps.role_titles(inp))
    # The reviewed convergence table gives the same meta-matrix as the unreviewed one.
    assert meta.equals(whole.meta_matrix) and joint.equals(whole.joint_displays)
    review = ["reviewer_status", "reviewer_category", "reviewer_note", "review_flag"]
    assert conv.drop(review).equals(whole.convergence.drop(review))
    assert out.tables[SENSITIVITY].equals(whole.sensitivity)
    _valid(META_MATRIX, meta)
    assert meta.height == 8


def test_summary_step_gives_the_phase_figures_markdown_and_table(tf: ModuleType, tmp_path: Path) -> None:
    tables = _upstream(tf)
    out = steps.convergence(_input(tf, tmp_path, tables, REVIEW_CSV))
    conv = out.tables[CONVERGENCE]
    meta = steps.meta_matrix(_input(tf, tmp_path, {**tables, CONVERGENCE.name: conv})).tables[META_MATRIX]
    done = {CONVERGENCE.name: conv, REVIEW.name: out.tables[REVIEW], META_MATRIX.name: meta}
    summary = steps.summary(_input(tf, tmp_path, done, REVIEW_CSV))
    assert summary.summary == {"propositions": 2, "agreement": 1, "partial_agreement": 0, "silence": 1,
                               "dissonance": 0, "reviewed": 1, "needs_rereview": 0, "unstable_verdicts": 0,
                               "review_file": "present"}
    lines = summary.markdown.splitlines()
    assert lines[0] == "## Triangulation"
    assert lines[1] == ("2 propositions: 1 agreement, 0 partial agreement, 1 silence, 0 dissonance; "
                        "1 reviewed (review/triangulation.csv present).")
    assert lines[3].startswith("- **p1_constrained** (agreement): qualitative supported, quantitative convergent — ")
    assert lines[3].endswith("; sensitivity: stable under case prevalence 1/3, case prevalence 2/3, 90% intervals, "
                             "99% intervals, unweighted")
    assert "- **gone**: proposition removed from study.yaml" in lines
    # Case A's site (11 of 12 in w2) lies above the other sites.
    assert any(line.startswith("- p1_constrained, A (s1): 11 of 12 (91.7%) vs other sites 29.7%: higher")
               for line in lines)
    assert "p2_managers,confirmed,silence," in lines
    assert summary.table[1] == {"proposition_id": "p2_managers", "qual_support": "absent",
                                "quant_result": "convergent", "convergence": "silence",
                                "sensitivity": "stable under case prevalence 1/3, case prevalence 2/3, 90% "
                                               "intervals, 99% intervals, unweighted",
                                "reviewer_status": "disputed", "review_flag": None}
    assert not summary.tables and not summary.files


def test_summary_without_a_review_says_absent(tf: ModuleType, tmp_path: Path) -> None:
    conv = steps.convergence(_input(tf, tmp_path, _upstream(tf))).tables[CONVERGENCE]
    out = steps.summary(_input(tf, tmp_path, {CONVERGENCE.name: conv}))
    assert out.summary["review_file"] == "absent" and out.summary["reviewed"] == 0
    assert "(review/triangulation.csv absent)" in out.markdown and "- note:" not in out.markdown


def test_case_tables_are_required_once_propositions_exist(tf: ModuleType, tmp_path: Path) -> None:
    tables = {k: v for k, v in _upstream(tf).items() if k != CASES_CODEBOOK.name}
    for step in (steps.joint_displays, steps.convergence):
        with pytest.raises(PropositionError, match="triangulation needs 'cases.codebook', which no earlier phase"):
            step(_input(tf, tmp_path, tables))


def test_a_missing_theme_names_the_proposition(tf: ModuleType, tmp_path: Path) -> None:
    bad = [{**PROPOSITIONS[0], "themes": ["Vicious circle"]}]
    with pytest.raises(PropositionError, match="'p1_constrained': theme 'Vicious circle'"):
        steps.joint_displays(_input(tf, tmp_path, _upstream(tf), propositions=bad))


def test_without_propositions_every_table_is_empty_and_valid(tf: ModuleType, tmp_path: Path) -> None:
    inp = _input(tf, tmp_path, {}, propositions=[])
    joint = steps.joint_displays(inp).tables[JOINT_DISPLAYS]
    conv = steps.convergence(inp).tables[CONVERGENCE]
    meta = steps.meta_matrix(_input(tf, tmp_path, {CONVERGENCE.name: conv}, propositions=[])).tables[META_MATRIX]
    for dataset, frame in ((JOINT_DISPLAYS, joint), (CONVERGENCE, conv), (META_MATRIX, meta)):
        assert _valid(dataset, frame).height == 0
    assert steps.summary(_input(tf, tmp_path, {CONVERGENCE.name: conv}, propositions=[])).summary["propositions"] == 0
