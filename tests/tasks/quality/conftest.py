"""Fixtures of the quality tests: a tiny study, clean frames of both strands, one Data Docs build.

The clean frames pass every declared check; tests break one thing at a time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from schemas.datasets import Dataset
from schemas.datasets.qualitative import CASES_CODEBOOK, CASES_SEGMENTS, CASES_SOURCES
from schemas.datasets.sites import ROSTER, SITES
from schemas.datasets.survey import ANSWERS, RESPONDENTS
from schemas.datasets.triangulation import (
    CONVERGENCE,
    JOINT_DISPLAYS,
    META_MATRIX,
    REVIEW,
    SENSITIVITY,
)
from schemas.study_config import StudyConfig, load_study_config

_ROSTER = {"path": "r.csv", "id_column": "id", "site_column": "urn", "role_column": "role"}
STUDY: dict[str, Any] = {
    "study": {"id": "schools", "title": "Leadership in schools"},
    "roles": {"head": {"label": "Head teacher", "group": "leader"},
              "teacher": {"label": "Teacher", "group": "staff"}},
    "sites": {"path": "sites.csv", "id_column": "urn", "attributes": {"phase": "phase"}},
    "survey": {
        "waves": {
            "w1": {"label": "Wave 1", "year": 2020, "phase": "survey_w1", "export": "w1.csv",
                   "format": "csv", "roster": _ROSTER},
            "w2": {"label": "Wave 2", "year": 2022, "phase": "survey_w2", "export": "w2.csv",
                   "format": "csv", "roster": _ROSTER},
        },
        "respondent": {"id_column": "rid", "site_column": "urn", "role_column": "q1",
                       "role_codes": {"1": "head", "2": "teacher"}},
        "variables": {
            "mood": {"type": "single_choice", "question": "Mood?", "column": "q2",
                     "labels": {"1": "good", "2": "bad"}, "waves": ["w1", "w2"]},
            "trust": {"type": "likert", "question": "Trust?", "column": "q3",
                      "labels": {"1": "low", "2": "mid", "3": "high"}, "waves": ["w1"]},
            "tools": {"type": "multiple_choice", "question": "Tools?", "column": "q4_{code}",
                      "labels": {"a": "A", "b": "B"}, "waves": ["w1"]},
            "note": {"type": "free_text", "question": "Anything?", "column": "q5", "waves": ["w1"]},
        },
    },
    "qualitative": {
        "codebook": "codes.qdc",
        "scoping": {"projects": ["scoping/*.csv"], "format": "segments_csv"},
        "case_studies": {"projects": ["cases/*.csv"], "format": "segments_csv"},
        "area_theme": "Areas",
        "case_selection": {"n": 2, "attributes": ["phase"]},
        "double_coded_share_min": 0.5,
    },
}


PROPOSITIONS: list[dict[str, Any]] = [
    {"id": p, "statement": f"Proposition {p}", "themes": ["T"], "quantitative": {"variable": "mood"}}
    for p in ("p1", "p2")
]


def write_study(tmp: Path, quality: dict[str, Any] | None = None) -> Path:
    """study.yaml for the tiny study, optionally with a quality section."""
    data = copy.deepcopy(STUDY)
    data["triangulation"] = {"propositions": copy.deepcopy(PROPOSITIONS)}
    if quality is not None:
        data["quality"] = quality
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def w1(dataset: Dataset) -> str:
    """The wave-1 instance of a survey dataset."""
    return dataset.resolve(wave="w1")


def rid(i: int) -> str:
    """A respondent pseudonym."""
    return f"R{i:012x}"


def pid(i: int) -> str:
    """A roster member pseudonym."""
    return f"P{i:012x}"


def survey_frames() -> dict[str, pl.DataFrame]:
    """A clean wave: 2 sites, 4 roster members, 4 respondents (one unlinked), their answers."""
    sites = pl.DataFrame({"site_id": ["s1", "s2"], "phase": ["primary", "secondary"]})
    roster = pl.DataFrame({
        "wave": ["w1"] * 4, "member_id": [pid(i) for i in range(4)],
        "site_id": ["s1", "s1", "s2", "s2"], "role": ["head", "teacher", "head", "teacher"],
        "role_group": ["leader", "staff", "leader", "staff"],
    })
    respondents = pl.DataFrame({
        "wave": ["w1"] * 4, "respondent_id": [rid(i) for i in range(4)],
        "member_id": [pid(0), pid(1), pid(2), None], "site_id": ["s1", "s1", "s2", "s2"],
        "role": ["head", "teacher", "head", "teacher"],
        "role_group": ["leader", "staff", "leader", "staff"], "weight": [1.0] * 4,
    })
    rows = []
    for i in range(4):
        rows += [(rid(i), "mood", "single_choice", "1", 1.0), (rid(i), "trust", "likert", "2", 2.0),
                 (rid(i), "tools", "multiple_choice", "a", None)]
    answers = pl.DataFrame(rows, schema=["respondent_id", "variable", "type", "code", "value"],
                           orient="row").with_columns(pl.lit("w1").alias("wave"))
    return {w1(SITES): sites, w1(ROSTER): roster, w1(RESPONDENTS): respondents, w1(ANSWERS): answers}


def case_frames() -> dict[str, pl.DataFrame]:
    """Clean case-study tables: 3 codable codes all used, 2 sources, one double-coded."""
    codebook = pl.DataFrame({
        "code_id": ["c0", "c1", "c2", "c3"], "path": ["T", "T/a", "T/b", "T/c"],
        "is_codable": [False, True, True, True],
    })
    sources = pl.DataFrame({"source_id": ["d1", "d2"], "length": [100, 50]})
    segments = pl.DataFrame({
        "segment_id": ["g1", "g2", "g3", "g4"], "source_id": ["d1", "d1", "d2", "d1"],
        "start": [0, 10, 5, 0], "end": [10, 100, 50, 10], "code_id": ["c1", "c2", "c3", "c1"],
        "coder": ["ann", "ann", "ann", "bob"],
    })
    return {CASES_CODEBOOK.name: codebook, CASES_SOURCES.name: sources, CASES_SEGMENTS.name: segments}


def triangulation_frames() -> dict[str, pl.DataFrame]:
    """Clean triangulation tables: both propositions with evidence from both strands."""
    joint = pl.DataFrame({
        "proposition_id": ["p1", "p1", "p2", "p2"], "strand": ["qual", "quant", "qual", "quant"],
        "item": ["T", "mood", "T", "mood"], "value": [3.0, 0.5, 2.0, 0.4],
        "lower": [None, 0.4, None, 0.3], "upper": [None, 0.6, None, 0.5],
    })
    convergence = pl.DataFrame({"proposition_id": ["p1", "p2"], "convergence": ["agreement", "silence"]})
    meta = pl.DataFrame({"proposition_id": ["p1", "p1", "p2"], "case": ["A", "B", "A"]})
    sensitivity = pl.DataFrame({"proposition_id": ["p1", "p1", "p2"],
                                "setting": ["study setting", "case prevalence 1/3", "study setting"],
                                "case_prevalence": ["1/2", "1/3", "1/2"]})
    review = pl.DataFrame({"proposition_id": ["p1", "p2"], "flag": [None, None]}, schema_overrides={"flag": pl.String})
    return {JOINT_DISPLAYS.name: joint, CONVERGENCE.name: convergence, META_MATRIX.name: meta,
            SENSITIVITY.name: sensitivity, REVIEW.name: review}


@pytest.fixture()
def clean_frames() -> Callable[[], dict[str, pl.DataFrame]]:
    """A factory of fresh clean frames of every strand."""
    return lambda: {**survey_frames(), **case_frames(), **triangulation_frames()}


@pytest.fixture()
def study_file(tmp_path: Path) -> Callable[[dict[str, Any] | None], Path]:
    """A factory writing the tiny study.yaml (optionally with a quality section)."""

    def write(quality: dict[str, Any] | None = None) -> Path:
        return write_study(tmp_path, quality)

    return write


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> StudyConfig:
    """The tiny study's validated configuration."""
    return load_study_config(write_study(tmp_path_factory.mktemp("study")))


@dataclass(frozen=True)
class Built:
    """One Data Docs build of clean survey and case frames."""

    report: Any
    docs_dir: Path
    suites: dict[str, Any]


@pytest.fixture(scope="session")
def built_docs(study: StudyConfig, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """run_checkpoint once over clean frames of both strands (GX is slow to import)."""
    from schemas.expectations import build_suites, derive_frames, row_keys
    from tasks.quality.gx import run_checkpoint

    frames = {**survey_frames(), **case_frames(), **triangulation_frames()}
    frames = {**frames, **derive_frames(frames, study)}
    suites, _ = build_suites(frames, study)
    docs = tmp_path_factory.mktemp("docs")
    report = run_checkpoint("test", {d: frames[d] for d in suites}, suites, docs,
                            row_keys={d: row_keys(d) for d in suites})
    return Built(report, docs, suites)
