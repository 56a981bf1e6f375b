"""Checks of the qualitative strand: codebook, sources and coded segments (scoping and cases).

Cross-table checks run on small frames derived here in polars (segment offsets next to their
source's length, code usage counts, coders per source) so failures name the segment or code.
"""

from __future__ import annotations

import polars as pl

from schemas.datasets import Dataset
from schemas.datasets.qualitative import (
    CASES_CODEBOOK,
    CASES_SEGMENTS,
    CASES_SOURCES,
    SCOPING_CODEBOOK,
    SCOPING_SEGMENTS,
    SCOPING_SOURCES,
)
from schemas.datasets.quality import (
    CASES_CODE_USAGE,
    CASES_SEGMENT_BOUNDS,
    SCOPING_CODE_USAGE,
    SCOPING_SEGMENT_BOUNDS,
    SOURCE_CODING,
)
from schemas.expectations import Check, Deriver, SuiteBuilder, SuiteContext

DEFAULT_DOUBLE_CODED_SHARE_MIN = 0.1


def codebook_suite(ctx: SuiteContext) -> list[Check]:
    """The codebook: theme → category → code, one row per code."""
    return [
        Check(
            "qual.codebook_row_count", "ExpectTableRowCountToBeBetween",
            {"min_value": 1, "max_value": None},
            "Coding needs a codebook; an empty one means the .qdc or project codebook was not read.",
        ),
        Check(
            "qual.code_id_unique", "ExpectColumnValuesToBeUnique", {"column": "code_id"},
            "Segments refer to codes by id (REFI GUID); a repeated id makes codings ambiguous.",
        ),
        Check(
            "qual.code_path_unique", "ExpectColumnValuesToBeUnique", {"column": "path"},
            "Themes and matrices are labelled by code path; two codes with one path merge in reports.",
        ),
    ]


def sources_suite(ctx: SuiteContext) -> list[Check]:
    """Coded sources (interviews, documents, observations)."""
    return [
        Check(
            "qual.sources_row_count", "ExpectTableRowCountToBeBetween",
            {"min_value": 1, "max_value": None},
            "A qualitative phase with no sources read nothing from its projects.",
        ),
        Check(
            "qual.source_id_unique", "ExpectColumnValuesToBeUnique", {"column": "source_id"},
            "Segments refer to sources by id; a repeated id mixes two transcripts' offsets.",
        ),
    ]


def segments_suite(ctx: SuiteContext) -> list[Check]:
    """Coded segments: one row per (span, code) coding."""
    return [
        Check(
            "qual.segments_row_count", "ExpectTableRowCountToBeBetween",
            {"min_value": 1, "max_value": None},
            "No coded segment means the projects were exported before coding, or not read.",
        ),
        Check(
            "qual.segment_keys_unique", "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["segment_id", "code_id"]},
            "A span coded twice with one code double-counts it in every matrix.",
        ),
        Check(
            "qual.segment_code_in_codebook", "ExpectColumnValuesToBeInSet",
            {"column": "code_id", "value_set": ctx.values("codebook", "code_id")},
            "Codebook coverage: every code used must exist in the codebook, or its segments drop out "
            "of themes and matrices.",
            requires=("codebook",),
        ),
        Check(
            "qual.segment_source_known", "ExpectColumnValuesToBeInSet",
            {"column": "source_id", "value_set": ctx.values("sources", "source_id")},
            "Every segment must belong to a known source (its site, role and case come from there).",
            requires=("sources",),
        ),
    ]


def bounds_suite(ctx: SuiteContext) -> list[Check]:
    """Derived: each segment's offsets next to the length of its source text."""
    return [
        Check(
            "qual.segment_inside_source", "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "source_length", "column_B": "end", "or_equal": True,
             "ignore_row_if": "either_value_is_missing"},
            "Segment offsets (0-based, end-exclusive) must fall inside the source text; an offset "
            "past the end means the text changed after coding and quotes would be wrong.",
        ),
    ]


def code_usage_suite(ctx: SuiteContext) -> list[Check]:
    """Derived: how many segments use each codable code of the codebook."""
    return [
        Check(
            "qual.codes_used", "ExpectColumnValuesToBeBetween",
            {"column": "n_segments", "min_value": 1, "max_value": None},
            "Codebook coverage: a code never applied may be obsolete or missed by coders; flagged "
            "for review, not an error.",
            severity="warn",
        ),
    ]


def source_coding_suite(ctx: SuiteContext) -> list[Check]:
    """Derived: coded sources with their number of coders (double_coded = 1 when two or more)."""
    share = (
        ctx.config.qualitative.double_coded_share_min
        if ctx.config is not None
        else DEFAULT_DOUBLE_CODED_SHARE_MIN
    )
    return [
        Check(
            "qual.double_coded_share", "ExpectColumnMeanToBeBetween",
            {"column": "double_coded", "min_value": share, "max_value": 1.0},
            "Inter-coder reliability needs enough double-coded material: the share of coded sources "
            "coded by two or more coders must reach study.yaml "
            "`qualitative.double_coded_share_min`.",
        ),
    ]


def derive_segments(ctx: SuiteContext) -> dict[str, pl.DataFrame]:
    """Segment bounds against source lengths, and code usage against the codebook."""
    segments = ctx.frames.get(ctx.dataset)
    if segments is None:
        return {}
    out: dict[str, pl.DataFrame] = {}
    sources = ctx.sibling("sources")
    if sources is not None:
        out[ctx.sibling_name("segment_bounds")] = (
            segments.select("segment_id", "source_id", "code_id", "start", "end")
            .join(sources.select("source_id", pl.col("length").alias("source_length")),
                  on="source_id", how="left")
            .sort("source_id", "start", "segment_id")
        )
    codebook = ctx.sibling("codebook")
    if codebook is not None:
        used = segments.group_by("code_id").agg(pl.len().cast(pl.Int64).alias("n_segments"))
        out[ctx.sibling_name("code_usage")] = (
            codebook.filter(pl.col("is_codable"))
            .select("code_id", "path")
            .join(used, on="code_id", how="left")
            .with_columns(pl.col("n_segments").fill_null(0))
            .sort("path")
        )
    return out


def derive_source_coding(ctx: SuiteContext) -> dict[str, pl.DataFrame]:
    """Coders per coded source of the case studies."""
    segments = ctx.frames.get(ctx.dataset)
    if segments is None:
        return {}
    coding = (
        segments.group_by("source_id")
        .agg(pl.col("coder").n_unique().cast(pl.Int64).alias("n_coders"))
        .with_columns((pl.col("n_coders") >= 2).cast(pl.Float64).alias("double_coded"))
        .sort("source_id")
    )
    return {ctx.sibling_name("source_coding"): coding}


SUITES: dict[Dataset, SuiteBuilder] = {
    SCOPING_CODEBOOK: codebook_suite,
    CASES_CODEBOOK: codebook_suite,
    SCOPING_SOURCES: sources_suite,
    CASES_SOURCES: sources_suite,
    SCOPING_SEGMENTS: segments_suite,
    CASES_SEGMENTS: segments_suite,
    SCOPING_SEGMENT_BOUNDS: bounds_suite,
    CASES_SEGMENT_BOUNDS: bounds_suite,
    SCOPING_CODE_USAGE: code_usage_suite,
    CASES_CODE_USAGE: code_usage_suite,
    SOURCE_CODING: source_coding_suite,
}
DERIVED: dict[Dataset, tuple[Deriver, ...]] = {
    SCOPING_SEGMENTS: (derive_segments,),
    CASES_SEGMENTS: (derive_segments, derive_source_coding),
}
ROW_KEYS: dict[Dataset, tuple[str, ...]] = {
    SCOPING_CODEBOOK: ("code_id", "path"),
    CASES_CODEBOOK: ("code_id", "path"),
    SCOPING_SOURCES: ("source_id",),
    CASES_SOURCES: ("source_id",),
    SCOPING_SEGMENTS: ("segment_id", "source_id"),
    CASES_SEGMENTS: ("segment_id", "source_id"),
    SCOPING_SEGMENT_BOUNDS: ("segment_id", "source_id", "start"),
    CASES_SEGMENT_BOUNDS: ("segment_id", "source_id", "start"),
    SCOPING_CODE_USAGE: ("path",),
    CASES_CODE_USAGE: ("path",),
    SOURCE_CODING: ("source_id",),
}
