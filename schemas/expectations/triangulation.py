"""Checks of the triangulation: every proposition assessed, with evidence from both strands."""

from __future__ import annotations

import polars as pl

from schemas.datasets import Dataset
from schemas.datasets.quality import STRANDS
from schemas.datasets.triangulation import (
    CONVERGENCE,
    JOINT_DISPLAYS,
    META_MATRIX,
    REVIEW,
    SENSITIVITY,
)
from schemas.expectations import Check, Deriver, SuiteBuilder, SuiteContext


def convergence_suite(ctx: SuiteContext) -> list[Check]:
    """One assessment per proposition declared in study.yaml."""
    declared = (
        [] if ctx.config is None else [p.id for p in ctx.config.triangulation.propositions]
    )
    checks = [
        Check(
            "tri.proposition_unique", "ExpectColumnValuesToBeUnique", {"column": "proposition_id"},
            "A proposition assessed twice would appear twice, perhaps with two verdicts, in the report.",
        ),
    ]
    if ctx.documenting or declared:
        checks.append(
            Check(
                "tri.every_proposition_assessed", "ExpectColumnDistinctValuesToEqualSet",
                {"column": "proposition_id", "value_set": sorted(declared)},
                "Every proposition in study.yaml must be assessed; a missing one is a silent gap "
                "in the joint displays.",
            )
        )
    return checks


def strands_suite(ctx: SuiteContext) -> list[Check]:
    """Derived: per proposition, the number of qualitative and quantitative evidence rows."""
    return [
        Check(
            "tri.qualitative_evidence", "ExpectColumnValuesToBeBetween",
            {"column": "qual_rows", "min_value": 1, "max_value": None},
            "A joint display without its qualitative side is not a triangulation.",
        ),
        Check(
            "tri.quantitative_evidence", "ExpectColumnValuesToBeBetween",
            {"column": "quant_rows", "min_value": 1, "max_value": None},
            "A joint display without its survey result is not a triangulation.",
        ),
    ]


def joint_displays_suite(ctx: SuiteContext) -> list[Check]:
    """Evidence rows: intervals are ordered."""
    return [
        Check(
            "tri.interval_ordered", "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "upper", "column_B": "lower", "or_equal": True,
             "ignore_row_if": "either_value_is_missing"},
            "An interval whose upper bound is below its lower bound was computed wrongly.",
        ),
    ]


def meta_matrix_suite(ctx: SuiteContext) -> list[Check]:
    """Proposition × case cells are unique."""
    return [
        Check(
            "tri.meta_matrix_cells_unique", "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["proposition_id", "case"]},
            "Each proposition × case cell of the meta-matrix must be counted once.",
        ),
    ]


def sensitivity_suite(ctx: SuiteContext) -> list[Check]:
    """Each verdict re-derived once per neighbouring setting."""
    return [
        Check(
            "tri.sensitivity_cells_unique", "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["proposition_id", "setting"]},
            "A verdict re-derived twice under one setting would make the stability column ambiguous.",
        ),
        Check(
            "tri.sensitivity_settings_known", "ExpectColumnValuesToBeInSet",
            {"column": "case_prevalence", "value_set": ["1/3", "1/2", "2/3", *sorted(_study_prevalence(ctx))]},
            "Sensitivity uses the documented neighbouring thresholds (1/3, 1/2, 2/3) and the study's own.",
        ),
    ]


def _study_prevalence(ctx: SuiteContext) -> set[str]:
    if ctx.config is None:
        return set()
    from fractions import Fraction

    return {str(Fraction(ctx.config.triangulation.case_prevalence).limit_denominator(1000))}


def review_suite(ctx: SuiteContext) -> list[Check]:
    """The review stays true: verdicts confirmed earlier still hold, removed propositions are noticed."""
    return [
        Check(
            "tri.review_still_holds", "ExpectColumnValuesToBeNull", {"column": "flag"},
            "A reviewed proposition whose proposed category changed (or whose proposition left "
            "study.yaml) needs the researcher's eyes again; reported, not an error.",
            severity="warn",
        ),
    ]


def derive_strands(ctx: SuiteContext) -> dict[str, pl.DataFrame]:
    """Per proposition, how many evidence rows each strand contributes to its joint display."""
    frame = ctx.frames[ctx.dataset]
    counts = (
        frame.group_by("proposition_id")
        .agg(
            (pl.col("strand") == "qual").sum().cast(pl.Int64).alias("qual_rows"),
            (pl.col("strand") == "quant").sum().cast(pl.Int64).alias("quant_rows"),
        )
        .sort("proposition_id")
    )
    return {ctx.sibling_name("strands"): counts}


SUITES: dict[Dataset, SuiteBuilder] = {
    CONVERGENCE: convergence_suite,
    STRANDS: strands_suite,
    JOINT_DISPLAYS: joint_displays_suite,
    META_MATRIX: meta_matrix_suite,
    SENSITIVITY: sensitivity_suite,
    REVIEW: review_suite,
}
DERIVED: dict[Dataset, tuple[Deriver, ...]] = {JOINT_DISPLAYS: (derive_strands,)}
ROW_KEYS: dict[Dataset, tuple[str, ...]] = {
    CONVERGENCE: ("proposition_id",),
    STRANDS: ("proposition_id",),
    JOINT_DISPLAYS: ("proposition_id", "item"),
    META_MATRIX: ("proposition_id", "case"),
    SENSITIVITY: ("proposition_id", "setting"),
    REVIEW: ("proposition_id",),
}
