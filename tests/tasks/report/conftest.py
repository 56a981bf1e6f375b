"""Shared report fixtures: the triangulation tests' tiny frames (loaded by path: importlib mode),
the tiny study's configuration, the tables and figures a report reads, and the built report."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest
import yaml

from schemas.datasets.qualitative import (
    AREA_RANKING,
    CASE_SELECTION,
    FRAMEWORK,
    QUOTES,
    RELIABILITY,
    THEME_PRESENCE,
)
from schemas.datasets.survey import CHANGE, COVERAGE, ESTIMATES
from schemas.datasets.triangulation import (
    CONVERGENCE,
    JOINT_DISPLAYS,
    META_MATRIX,
    REVIEW,
    SENSITIVITY,
)
from schemas.study_config import StudyConfig, load_study_config
from tasks.report.content import Provenance, Report, build_report
from tasks.step import Blob
from tasks.triangulation.displays import triangulate
from tasks.triangulation.review import join_review, review_table

# The researcher's note on the first proposition, with markup, quotes and a line break.
REVIEW_NOTE = 'Checked <b>twice</b>; "partial" at most,\nsee memo 3'
REVIEW_ROWS = pl.DataFrame({"proposition_id": ["p1_constrained", "dropped_p"], "status": ["confirmed", "confirmed"],
                            "category": ["partial agreement", "agreement"], "note": [REVIEW_NOTE, "kept"]})

FRAMES = Path(__file__).resolve().parents[1] / "triangulation" / "tiny_frames.py"
SVG = (b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
       b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg" '
       b'xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><rect width="10" height="10"/></svg>')
PNG = b"\x89PNG\r\n\x1a\n-not-a-real-png-"
PROPOSITIONS: list[dict[str, Any]] = [
    {"id": "p1_constrained", "statement": "CCGs are constrained by <other> bodies", "themes": ["Political context"],
     "quantitative": {"variable": "influence", "compare_waves": True}, "expect": "majority"},
]


@pytest.fixture(scope="session")
def tf() -> ModuleType:
    """Factories of codebook, matrix, quotes, survey rows, variables, propositions and study.yaml."""
    spec = importlib.util.spec_from_file_location("report_tiny_frames", FRAMES)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def external() -> re.Pattern[str]:
    """An attribute loading something from another host."""
    return re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture()
def config_path(tf: ModuleType, tmp_path: Path) -> Path:
    """The tiny study's study.yaml, with one proposition."""
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(tf.study_config(PROPOSITIONS)), encoding="utf-8")
    return path


@pytest.fixture()
def config(config_path: Path) -> StudyConfig:
    """The tiny study's configuration."""
    return load_study_config(config_path)


@pytest.fixture()
def report_tables(tf: ModuleType) -> dict[str, pl.DataFrame]:
    """Every table the report shows, by concrete dataset name (waves w1 and w2)."""
    est = {w: pl.DataFrame([tf.estimate(w, "influence", "key", "1", p, lo, hi)])
           for w, p, lo, hi in (("w1", 0.62, 0.55, 0.69), ("w2", 0.667, 0.6, 0.73))}
    change = pl.DataFrame([tf.change("influence", 0.05, 0.01, 0.09, p1=0.62)])
    coverage = pl.DataFrame([{"wave": "w1", "breakdown": "all", "group": "all", "sites": 210, "sites_covered": 166,
                              "sites_share": 166 / 210, "roster": 3800, "respondents": 471,
                              "response_rate": 471 / 3800}])
    ranking = pl.DataFrame([{"rank": 1, "area": "Frail older people", "code_id": "a1", "path": "Areas/Frail",
                             "n_sites": 12, "n_sources": 30, "n_segments": 87, "sites": "S1; S2", "is_target": True}])
    selection = pl.DataFrame([{"site_id": "S1", "in_pool": True, "eligible": True, "selected": True, "pinned": False,
                               "order": 1, "actual_case": "A", "target_areas": "Frail", "quotas": "", "profile": "",
                               "nearest_distance": 0.4, "reason": "most distant from the chosen"}])
    framework = tf.matrix().group_by("case", "theme").agg(pl.col("n_segments").sum())
    presence = pl.DataFrame([{"theme": "Political context", "n_cases": 3, "n_cases_total": 4, "cases": "A; B; C",
                              "n_segments": 10, "n_sources": 7}])
    pair = {"comparison": "pair", "coders": "ann vs bob", "coder_a": "ann", "coder_b": "bob", "n_coders": 2,
            "code_id": "__pooled__", "path": "(all codes)", "n_sources": 12, "kappa_sources": 12, "kappa_type": "Cohen"}
    reliability = pl.DataFrame([
        {**pair, "unit": "presence", "n_units": 240, "both": 50, "first_only": 6, "second_only": 4, "neither": 180,
         "agreement": 0.9583, "kappa": 0.8712, "kappa_low": 0.7904, "kappa_high": 0.9311, "alpha": 0.8715,
         "alpha_low": 0.7911, "alpha_high": 0.9313},
        {**pair, "unit": "character", "n_units": 90000, "both": 5000, "first_only": 600, "second_only": 400,
         "neither": 84000, "agreement": 0.9889, "kappa": 0.9012, "kappa_low": None, "kappa_high": None,
         "alpha": 0.9013, "alpha_low": None, "alpha_high": None},
        {"comparison": "all coders", "coders": "ann, bob, cy", "coder_a": None, "coder_b": None, "n_coders": 3,
         "code_id": "__pooled__", "path": "(all codes)", "n_sources": 12, "kappa_sources": 5, "kappa_type": "Fleiss",
         "unit": "segment", "n_units": 300, "both": None, "first_only": None, "second_only": None, "neither": None,
         "agreement": 0.9, "kappa": 0.7512, "kappa_low": 0.6, "kappa_high": 0.84, "alpha": 0.7533, "alpha_low": 0.61,
         "alpha_high": 0.85},
    ], schema_overrides={c: pl.Int64 for c in ("both", "first_only", "second_only", "neither")}
       | {c: pl.Float64 for c in ("kappa_low", "kappa_high", "alpha_low", "alpha_high")}
       | {c: pl.String for c in ("coder_a", "coder_b")})
    props = [tf.proposition(p["id"], p["themes"], **p["quantitative"]) for p in PROPOSITIONS]
    props = [props[0].model_copy(update={"statement": PROPOSITIONS[0]["statement"]})]
    survey = tf.survey_tables([*est["w1"].to_dicts(), *est["w2"].to_dicts()], change.to_dicts())
    tri = triangulate(props, tf.variables(), tf.qual_tables(), survey, tf.case_survey(),
                      roles={"chair": "CCG chair (GP)", "gp": "GP member"})
    convergence, _ = join_review(tri.convergence, REVIEW_ROWS)
    return {
        ESTIMATES.resolve(wave="w1"): est["w1"], ESTIMATES.resolve(wave="w2"): est["w2"],
        CHANGE.resolve(wave="w2"): change, COVERAGE.resolve(wave="w1"): coverage, AREA_RANKING.name: ranking,
        CASE_SELECTION.name: selection, FRAMEWORK.name: framework, THEME_PRESENCE.name: presence,
        RELIABILITY.name: reliability, QUOTES.name: tf.quotes(), CONVERGENCE.name: convergence,
        META_MATRIX.name: tri.meta_matrix, SENSITIVITY.name: tri.sensitivity,
        REVIEW.name: review_table(tri.convergence, REVIEW_ROWS),
        JOINT_DISPLAYS.name: tri.joint_displays,
    }


@pytest.fixture(scope="session")
def svg() -> bytes:
    """A tiny SVG figure."""
    return SVG


@pytest.fixture()
def figure_blobs() -> list[Blob]:
    """Two figures (SVG, PNG) and a document that is not a figure."""
    return [Blob("survey.w1.proportions_influence", "image/svg+xml", SVG, "runs/r1/survey/w1/p.svg"),
            Blob("survey.w1.coverage_fig", "image/png", PNG, "runs/r1/survey/w1/coverage_fig.png"),
            Blob("cases.project", "application/zip", b"PK", "runs/r1/cases/project.qdpx")]


@pytest.fixture()
def report(config: StudyConfig, report_tables: dict[str, pl.DataFrame], figure_blobs: list[Blob]) -> Report:
    """The report of the tiny study."""
    phases = [{"phase": "scoping", "status": "completed", "run_id": "r1", "summary": {"sites": 15, "segments": 420}},
              {"phase": "survey_w1", "status": "inherited", "run_id": "r0",
               "summary": {"respondents": 471, "member_response_rate": 0.124}}]
    prov = Provenance("run-42", "0.1.0+abc123def456", "c" * 64, (("sites", "sites.csv", "a" * 64),))
    return build_report(config, phases, report_tables, figure_blobs, prov, {"scoping": 2}, {"scoping": (6, 1234)})
