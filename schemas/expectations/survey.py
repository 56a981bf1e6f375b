"""Checks of a survey wave: respondents against the roster, answers against the instrument.

Cross-table checks run on small frames derived here in polars (per-site and per-role counts,
distinct answer codes, distinct Likert scores) so failures name the site, role or code.
"""

from __future__ import annotations

import polars as pl

from schemas.datasets import Dataset
from schemas.datasets.quality import (
    ANSWER_CODES,
    LIKERT_SCORES,
    RESPONDENT_LINKS,
    ROLE_MIX,
    SITE_COUNTS,
)
from schemas.datasets.survey import ANSWERS, RESPONDENTS
from schemas.expectations import Check, Deriver, SuiteBuilder, SuiteContext
from schemas.study_config import Variable

# Largest acceptable gap between a role's share of respondents and its share of the roster.
ROLE_MIX_TOLERANCE = 0.15


def _wave_variables(ctx: SuiteContext) -> dict[str, Variable]:
    if ctx.config is None or ctx.wave is None:
        return {}
    return {
        key: var
        for key, var in ctx.config.survey.variables.items()
        if ctx.wave in var.waves and var.type != "free_text"
    }


def likert_scores(variable: Variable) -> dict[str, float]:
    """Score per Likert code: the code itself when every code is a number, else its 1-based rank."""
    try:
        return {code: float(code) for code in variable.labels}
    except ValueError:
        return {code: float(i) for i, code in enumerate(variable.labels, start=1)}


def respondents_suite(ctx: SuiteContext) -> list[Check]:
    """Kept submissions: unique people, known roles, at most as many as the roster lists."""
    roster = ctx.sibling("roster")
    roles = sorted(ctx.config.roles) if ctx.config else []
    return [
        Check(
            "survey.respondents_present", "ExpectTableRowCountToBeBetween",
            {"min_value": 1, "max_value": None},
            "A wave with no kept submission means the export or the cleaning rules are wrong.",
        ),
        Check(
            "survey.respondents_within_roster", "ExpectTableRowCountToBeBetween",
            {"min_value": 0, "max_value": roster.height if roster is not None else None},
            "More respondents than people on the roster means duplicates or a roster from another wave.",
            requires=("roster",),
        ),
        Check(
            "survey.respondent_id_unique", "ExpectColumnValuesToBeUnique", {"column": "respondent_id"},
            "Answers join to respondents by id; a repeated id merges two submissions.",
        ),
        Check(
            "survey.member_id_unique", "ExpectColumnValuesToBeUnique", {"column": "member_id"},
            "One roster member should count once: repeat submissions must be resolved by cleaning.",
        ),
        Check(
            "survey.respondent_role_known", "ExpectColumnValuesToBeInSet",
            {"column": "role", "value_set": roles},
            "Roles drive weighting and breakdowns: only study.yaml `roles` are valid.",
        ),
        Check(
            "survey.respondent_site_in_roster", "ExpectColumnValuesToBeInSet",
            {"column": "site_id", "value_set": ctx.values("roster", "site_id")},
            "Roster coverage: a respondent's site must be on the roster, or it has no denominator.",
            requires=("roster",),
        ),
    ]


def links_suite(ctx: SuiteContext) -> list[Check]:
    """Derived: each respondent with a member id, and whether the roster lists that member."""
    return [
        Check(
            "survey.respondent_member_in_roster", "ExpectColumnValuesToBeInSet",
            {"column": "member_in_roster", "value_set": [True]},
            "Roster coverage: a pseudonymous member link that matches nobody on the roster is a "
            "linking error (wrong key, wrong roster or a typo in the export).",
            severity="warn",
        ),
    ]


def site_counts_suite(ctx: SuiteContext) -> list[Check]:
    """Derived: respondents and roster members per site."""
    return [
        Check(
            "survey.site_responses_within_roster", "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "roster", "column_B": "respondents", "or_equal": True,
             "ignore_row_if": "either_value_is_missing"},
            "A site cannot have more respondents than people on its roster: response rates above "
            "100% mean duplicates or misattributed sites.",
        ),
    ]


def role_mix_suite(ctx: SuiteContext) -> list[Check]:
    """Derived: each role's share of respondents against its share of the roster."""
    return [
        Check(
            "survey.role_mix_within_tolerance", "ExpectColumnValuesToBeBetween",
            {"column": "difference", "min_value": -ROLE_MIX_TOLERANCE,
             "max_value": ROLE_MIX_TOLERANCE},
            f"Respondent role mix should match the roster within ±{ROLE_MIX_TOLERANCE:.0%} points; "
            "a larger gap makes unweighted results unrepresentative and strains raking.",
            severity="warn",
        ),
    ]


def answers_suite(ctx: SuiteContext) -> list[Check]:
    """Recoded answers: one row per respondent and item (per chosen code for multiple choice)."""
    respondents = ctx.sibling("respondents")
    variables = _wave_variables(ctx)
    low = high = None
    if respondents is not None:
        n = respondents.height
        low = n * len(variables)
        high = n * sum(len(v.labels) if v.type == "multiple_choice" else 1 for v in variables.values())
    return [
        Check(
            "survey.answers_row_count", "ExpectTableRowCountToBeBetween",
            {"min_value": low, "max_value": high},
            "Each respondent has one row per item (one per chosen code, or one missing row, for "
            "multiple choice): fewer or more rows mean items were lost or duplicated.",
            requires=("respondents",),
        ),
        Check(
            "survey.answer_keys_unique", "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["respondent_id", "variable", "code"]},
            "A respondent answers an item (or chooses a code) once; duplicates double-count.",
        ),
    ]


def answer_codes_suite(ctx: SuiteContext) -> list[Check]:
    """Derived: every distinct (variable, code) answered, with its count."""
    variables = _wave_variables(ctx)
    items = sorted(
        f"{key}={code}"
        for key, var in variables.items()
        if var.type in ("single_choice", "multiple_choice", "likert")
        for code in var.labels
    )
    return [
        Check(
            "survey.answer_variables_in_instrument", "ExpectColumnValuesToBeInSet",
            {"column": "variable", "value_set": sorted(variables)},
            "Only variables study.yaml declares for this wave may appear in its answers.",
        ),
        Check(
            "survey.answer_codes_in_instrument", "ExpectColumnValuesToBeInSet",
            {"column": "item", "value_set": items},
            "Every answered code must be one of the variable's labels in study.yaml; anything else "
            "is a recoding error or an instrument change between waves.",
        ),
    ]


def likert_suite(ctx: SuiteContext) -> list[Check]:
    """Derived: every distinct Likert score per variable, placed on its scale (0 lowest, 1 highest)."""
    return [
        Check(
            "survey.likert_within_scale", "ExpectColumnValuesToBeBetween",
            {"column": "scale_position", "min_value": 0.0, "max_value": 1.0},
            "Likert scores must lie within the scale their labels define; a score outside it breaks "
            "means and comparisons between waves.",
        ),
    ]


def derive_respondents(ctx: SuiteContext) -> dict[str, pl.DataFrame]:
    """Member links, per-site counts and role mix of respondents against the roster."""
    respondents, roster = ctx.frames.get(ctx.dataset), ctx.sibling("roster")
    if respondents is None or roster is None:
        return {}
    members = roster.select(pl.col("member_id").unique(), pl.lit(True).alias("member_in_roster"))
    links = (
        respondents.filter(pl.col("member_id").is_not_null())
        .select("respondent_id", "member_id")
        .join(members, on="member_id", how="left")
        .with_columns(pl.col("member_in_roster").fill_null(False))
    )
    counts = (
        roster.group_by("site_id").agg(pl.len().cast(pl.Int64).alias("roster"))
        .join(
            respondents.group_by("site_id").agg(pl.len().cast(pl.Int64).alias("respondents")),
            on="site_id", how="full", coalesce=True,
        )
        .with_columns(pl.col("roster", "respondents").fill_null(0))
        .sort("site_id")
    )
    mix = (
        roster.group_by("role").agg(pl.len().alias("roster"))
        .join(respondents.group_by("role").agg(pl.len().alias("respondents")),
              on="role", how="full", coalesce=True)
        .with_columns(pl.col("roster", "respondents").fill_null(0).cast(pl.Int64))
        .with_columns(
            (pl.col("respondents") / pl.col("respondents").sum().clip(1)).alias("respondent_share"),
            (pl.col("roster") / pl.col("roster").sum().clip(1)).alias("roster_share"),
        )
        .with_columns((pl.col("respondent_share") - pl.col("roster_share")).round(6).alias("difference"))
        .sort("role")
    )
    return {
        ctx.sibling_name("respondent_links"): links,
        ctx.sibling_name("site_counts"): counts,
        ctx.sibling_name("role_mix"): mix,
    }


def derive_answers(ctx: SuiteContext) -> dict[str, pl.DataFrame]:
    """Distinct answered codes, and distinct Likert scores placed on their scales."""
    answers = ctx.frames.get(ctx.dataset)
    if answers is None:
        return {}
    codes = (
        answers.filter(pl.col("code").is_not_null())
        .group_by("variable", "code").agg(pl.len().cast(pl.Int64).alias("n"))
        .with_columns(pl.format("{}={}", "variable", "code").alias("item"))
        .sort("variable", "code")
    )
    scales = [
        (key, min(s.values()), max(s.values()))
        for key, var in _wave_variables(ctx).items()
        if var.type == "likert" and (s := likert_scores(var))
    ]
    scale = pl.DataFrame(scales, schema={"variable": pl.String, "scale_min": pl.Float64,
                                         "scale_max": pl.Float64}, orient="row")
    span = pl.col("scale_max") - pl.col("scale_min")
    likert = (
        answers.filter((pl.col("type") == "likert") & pl.col("value").is_not_null())
        .group_by("variable", "value").agg(pl.len().cast(pl.Int64).alias("n"))
        .join(scale, on="variable", how="left")
        .with_columns(
            pl.when(span > 0).then((pl.col("value") - pl.col("scale_min")) / span)
            .otherwise(pl.when(pl.col("value") == pl.col("scale_min")).then(0.0).otherwise(None))
            .alias("scale_position")
        )
        .sort("variable", "value")
    )
    return {ctx.sibling_name("answer_codes"): codes, ctx.sibling_name("likert_scores"): likert}


SUITES: dict[Dataset, SuiteBuilder] = {
    RESPONDENTS: respondents_suite,
    RESPONDENT_LINKS: links_suite,
    SITE_COUNTS: site_counts_suite,
    ROLE_MIX: role_mix_suite,
    ANSWERS: answers_suite,
    ANSWER_CODES: answer_codes_suite,
    LIKERT_SCORES: likert_suite,
}
DERIVED: dict[Dataset, tuple[Deriver, ...]] = {
    RESPONDENTS: (derive_respondents,),
    ANSWERS: (derive_answers,),
}
ROW_KEYS: dict[Dataset, tuple[str, ...]] = {
    RESPONDENTS: ("respondent_id",),
    RESPONDENT_LINKS: ("respondent_id", "member_id"),
    SITE_COUNTS: ("site_id",),
    ROLE_MIX: ("role",),
    ANSWERS: ("respondent_id", "variable"),
    ANSWER_CODES: ("variable", "code", "n"),
    LIKERT_SCORES: ("variable", "value", "scale_min", "scale_max"),
}
