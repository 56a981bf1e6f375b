"""Contracts of the survey strand's published tables, one wave at a time.

Every table is long (variable, code, breakdown, group as rows), so the same models serve any
instrument. Shares are 0–1 floats, counts integers; an undefined statistic (a standard error
from one cluster, a test on a one-row table) is null, never NaN. Respondents appear only
under keyed pseudonyms: `R` + 12 hex digits for a submission, `P` + 12 hex for a roster member.
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl

RESPONDENT_PATTERN = r"^R[0-9a-f]{12}$"
MEMBER_PATTERN = r"^P[0-9a-f]{12}$"
VARIABLE_TYPES = ["single_choice", "multiple_choice", "likert", "numeric", "free_text"]
CATEGORICAL_TYPES = ["single_choice", "multiple_choice", "likert"]
# Recoded items in the wide responses table are stored under this prefix (`item:<variable>`).
ITEM_PREFIX = "item:"
RESPONSE_ATTRIBUTES = (
    "respondent_id",
    "member_id",
    "site_id",
    "role",
    "role_group",
    "finished",
    "progress",
    "partial",
    "items",
    "answered",
    "item_missing_share",
    "straightlined",
    "straightlined_grids",
)


class _Table(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = True


def _count() -> Any:
    return pa.Field(ge=0)


def _share(nullable: bool = True) -> Any:
    return pa.Field(ge=0.0, le=1.0, nullable=nullable)


def _stat() -> Any:
    return pa.Field(nullable=True)


class Respondents(_Table):
    """Kept submissions: pseudonymised, mapped to site and role, with missingness and weight."""

    wave: str
    respondent_id: str = pa.Field(unique=True, str_matches=RESPONDENT_PATTERN)
    member_id: str = pa.Field(nullable=True, str_matches=MEMBER_PATTERN)
    site_id: str
    role: str
    role_group: str
    finished: bool = pa.Field(nullable=True)
    progress: float = pa.Field(nullable=True, ge=0.0, le=100.0)
    partial: bool
    items: int = _count()
    answered: int = _count()
    item_missing_share: float = _share(nullable=False)
    straightlined: bool
    straightlined_grids: str = pa.Field(nullable=True)
    weight: float = pa.Field(gt=0.0)

    @pa.dataframe_check
    @classmethod
    def answered_within_items(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A respondent cannot answer more items than were asked."""
        return data.lazyframe.select(pl.col("answered") <= pl.col("items"))


class Responses(pa.DataFrameModel):
    """Kept submissions between steps, wide: pseudonyms, what cleaning derived, recoded items.

    An intermediate of the wave's steps, not an analysis table. Item columns depend on the
    instrument, so the model is not strict; every column besides the attributes must be an item.
    """

    respondent_id: str = pa.Field(unique=True, str_matches=RESPONDENT_PATTERN)
    member_id: str = pa.Field(nullable=True, str_matches=MEMBER_PATTERN)
    site_id: str
    role: str
    role_group: str
    finished: bool = pa.Field(nullable=True)
    progress: float = pa.Field(nullable=True, ge=0.0, le=100.0)
    partial: bool
    items: int = _count()
    answered: int = _count()
    item_missing_share: float = _share(nullable=False)
    straightlined: bool
    straightlined_grids: str = pa.Field(nullable=True)

    class Config:
        strict = False
        coerce = True

    @pa.dataframe_check
    @classmethod
    def only_items_besides_the_attributes(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """No export column rides along: every other column is a recoded item."""
        names = data.lazyframe.collect_schema().names()
        ok = all(n in RESPONSE_ATTRIBUTES or n.startswith(ITEM_PREFIX) for n in names)
        return data.lazyframe.select(pl.lit(ok).alias("only_items"))


class Answers(_Table):
    """Recoded answers, long: one row per respondent and item (per chosen code for multiple choice)."""

    wave: str
    respondent_id: str = pa.Field(str_matches=RESPONDENT_PATTERN)
    variable: str
    type: str = pa.Field(isin=[t for t in VARIABLE_TYPES if t != "free_text"])
    code: str = pa.Field(nullable=True)
    label: str = pa.Field(nullable=True)
    value: float = pa.Field(nullable=True)
    missing: bool

    class Config:
        unique = ["respondent_id", "variable", "code"]


class Removed(_Table):
    """Export rows removed by cleaning, with the step and reason (never identifying values)."""

    wave: str
    row: int = pa.Field(ge=1, unique=True)
    respondent_id: str = pa.Field(nullable=True, str_matches=RESPONDENT_PATTERN)
    step: str
    reason: str
    detail: str = pa.Field(nullable=True)


class Cleaning(_Table):
    """The cleaning report: rows in, removed and out (and rows flagged) for each step, in order."""

    wave: str
    order: int = pa.Field(ge=0, unique=True)
    step: str
    description: str
    rows_in: int = _count()
    removed: int = _count()
    rows_out: int = _count()
    flagged: int = _count()

    @pa.dataframe_check
    @classmethod
    def rows_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """rows_out = rows_in - removed in every step."""
        return data.lazyframe.select(pl.col("rows_out") == pl.col("rows_in") - pl.col("removed"))


class Coverage(_Table):
    """Sites with at least one respondent and members responding, overall and per breakdown group."""

    wave: str
    breakdown: str
    group: str
    sites: int = _count()
    sites_covered: int = _count()
    sites_share: float = _share()
    roster: int = _count()
    respondents: int = _count()
    response_rate: float = _stat()

    class Config:
        unique = ["breakdown", "group"]


class Profile(_Table):
    """Respondent profile against the roster's, by role and by role group."""

    wave: str
    breakdown: str = pa.Field(isin=["role", "role_group"])
    group: str
    label: str
    respondents: int = _count()
    respondent_share: float = _share()
    roster: int = _count()
    roster_share: float = _share()
    difference: float = _stat()

    class Config:
        unique = ["breakdown", "group"]


class WeightMargins(_Table):
    """Raking margins: population totals from the roster against raw and weighted respondents."""

    wave: str
    margin: str
    category: str
    population: float = pa.Field(ge=0.0)
    population_share: float = _share()
    respondents: int = _count()
    sample_share: float = _share()
    weighted_total: float = pa.Field(ge=0.0)
    weighted_share: float = _share()

    class Config:
        unique = ["margin", "category"]


class WeightSummary(_Table):
    """How unequal the wave's weights are: range, CV, Kish design effect and effective n."""

    wave: str = pa.Field(unique=True)
    respondents: int = _count()
    total: float = pa.Field(ge=0.0)
    minimum: float = _stat()
    maximum: float = _stat()
    ratio: float = _stat()
    mean: float = _stat()
    cv: float = _stat()
    design_effect: float = _stat()
    effective_n: float = pa.Field(ge=0.0)


class AnalysisTable(pa.DataFrameModel):
    """A wave's analysis-ready table: respondents × variables with weights and pseudonyms.

    Variable columns depend on the instrument, so the model is not strict; the identifying
    columns are pseudonyms only.
    """

    wave: str
    respondent_id: str = pa.Field(unique=True, str_matches=RESPONDENT_PATTERN)
    member_id: str = pa.Field(nullable=True, str_matches=MEMBER_PATTERN)
    site_id: str
    role: str
    role_group: str
    weight: float = pa.Field(gt=0.0)

    class Config:
        strict = False
        coerce = True


class AnalysisLabels(_Table):
    """Variable labels of the analysis table's columns and value labels of their codes."""

    wave: str
    column: str
    variable_label: str
    value: int = pa.Field(nullable=True)
    value_label: str = pa.Field(nullable=True)

    class Config:
        unique = ["column", "value"]


class Estimates(_Table):
    """Proportions per code (and of the key codes together), unweighted (Wilson) and weighted."""

    wave: str
    variable: str
    type: str = pa.Field(isin=CATEGORICAL_TYPES)
    kind: str = pa.Field(isin=["code", "key"])
    code: str
    label: str
    breakdown: str
    group: str
    n: int = _count()
    count: int = _count()
    proportion: float = _share()
    lower: float = _share()
    upper: float = _share()
    weighted_proportion: float = _share()
    weighted_se: float = pa.Field(nullable=True, ge=0.0)
    weighted_lower: float = _share()
    weighted_upper: float = _share()
    design_effect: float = _stat()
    effective_n: float = _stat()
    n_clusters: int = _count()

    class Config:
        unique = ["variable", "kind", "code", "breakdown", "group"]


class Means(_Table):
    """Means of Likert scores and numeric items, unweighted and weighted (clustered by site)."""

    wave: str
    variable: str
    type: str = pa.Field(isin=["likert", "numeric"])
    breakdown: str
    group: str
    n: int = _count()
    mean: float = _stat()
    sd: float = _stat()
    se: float = _stat()
    lower: float = _stat()
    upper: float = _stat()
    weighted_mean: float = _stat()
    weighted_se: float = _stat()
    weighted_lower: float = _stat()
    weighted_upper: float = _stat()
    design_effect: float = _stat()
    n_clusters: int = _count()

    class Config:
        unique = ["variable", "breakdown", "group"]


class Associations(_Table):
    """Tests of independence between a variable (or one code of it) and a breakdown."""

    wave: str
    variable: str
    type: str = pa.Field(isin=CATEGORICAL_TYPES)
    kind: str = pa.Field(isin=["code", "key"])
    code: str = pa.Field(nullable=True)
    breakdown: str
    method: str = pa.Field(isin=["chi_square", "fisher", "fisher_monte_carlo", "not testable"])
    n: int = _count()
    statistic: float = _stat()
    dof: int = _count()
    p_value: float = _share()
    # sqrt(p(1 - p)/B) of a Monte-Carlo Fisher p-value; null for the other methods.
    monte_carlo_se: float = pa.Field(nullable=True, ge=0.0)
    # Benjamini–Hochberg, over every test of the wave's table.
    q_value: float = _share()
    cramers_v: float = _stat()
    min_expected: float = _stat()
    small_expected: bool
    # Second-order Rao–Scott F test on the weighted table, sites as clusters.
    rs_f: float = pa.Field(nullable=True, ge=0.0)
    rs_df_num: float = pa.Field(nullable=True, gt=0.0)
    rs_df_den: float = pa.Field(nullable=True, gt=0.0)
    rs_p_value: float = _share()
    rs_q_value: float = _share()
    rs_mean_deff: float = pa.Field(nullable=True, ge=0.0)
    n_clusters: int = _count()

    class Config:
        unique = ["variable", "kind", "code", "breakdown"]


class Change(_Table):
    """Difference in proportions between waves (this wave minus the earlier one), with tests."""

    wave: str
    previous_wave: str
    variable: str
    type: str = pa.Field(isin=CATEGORICAL_TYPES)
    kind: str = pa.Field(isin=["code", "key"])
    code: str
    label: str
    breakdown: str
    group: str
    n1: int = _count()
    proportion1: float = _share()
    n2: int = _count()
    proportion2: float = _share()
    difference: float = pa.Field(nullable=True, ge=-1.0, le=1.0)
    lower: float = _stat()
    upper: float = _stat()
    statistic: float = _stat()
    p_value: float = _share()
    weighted_proportion1: float = _share()
    weighted_proportion2: float = _share()
    weighted_difference: float = pa.Field(nullable=True, ge=-1.0, le=1.0)
    weighted_lower: float = _stat()
    weighted_upper: float = _stat()
    weighted_p_value: float = _share()
    # Benjamini–Hochberg over every change of the wave's table, on the p-value `significant` uses.
    q_value: float = _share()
    significant: bool
    # Members answering the item in both waves (matched by pseudonym), whole-sample rows only.
    panel_n: int = _count()
    panel_difference: float = pa.Field(nullable=True, ge=-1.0, le=1.0)
    panel_statistic: float = pa.Field(nullable=True, ge=0.0)
    panel_p_value: float = _share()
    overlap_se: float = pa.Field(nullable=True, ge=0.0)
    overlap_p_value: float = _share()

    class Config:
        unique = ["variable", "kind", "code", "breakdown", "group"]


class FreeTextCategories(_Table):
    """Free-text category frequencies (multi-label) among non-empty answers, per breakdown group."""

    wave: str
    dictionary: str
    variable: str
    category: str
    label: str
    breakdown: str
    group: str
    answers: int = _count()
    count: int = _count()
    share: float = _share()
    lower: float = _share()
    upper: float = _share()

    class Config:
        unique = ["dictionary", "category", "breakdown", "group"]


class FreeTextCoded(_Table):
    """Which dictionary categories each free-text answer matched (one row per match)."""

    wave: str
    dictionary: str
    respondent_id: str = pa.Field(str_matches=RESPONDENT_PATTERN)
    category: str

    class Config:
        unique = ["dictionary", "respondent_id", "category"]


class FreeTextUncoded(_Table):
    """Answers no category matched, left for a human coder."""

    wave: str
    dictionary: str
    variable: str
    respondent_id: str = pa.Field(str_matches=RESPONDENT_PATTERN)
    text: str

    class Config:
        unique = ["dictionary", "respondent_id"]


class FreeTextAgreement(_Table):
    """Agreement between the dictionary and a human coder per category (Cohen's kappa)."""

    wave: str
    dictionary: str
    category: str
    label: str
    n: int = _count()
    both: int = _count()
    dictionary_only: int = _count()
    human_only: int = _count()
    neither: int = _count()
    agreement: float = _share()
    kappa: float = pa.Field(nullable=True, ge=-1.0, le=1.0)

    class Config:
        unique = ["dictionary", "category"]


class Intake(pa.DataFrameModel):
    """Rows in = rows kept + rows quarantined, for each input table of a wave."""

    wave: str
    input: str = pa.Field(isin=["sites", "roster", "export", "site_lookup"])
    file: str
    rows_in: int = pa.Field(ge=0)
    rows_kept: int = pa.Field(ge=0)
    rows_quarantined: int = pa.Field(ge=0)

    class Config:
        strict = True
        coerce = True

    @pa.dataframe_check
    @classmethod
    def rows_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Every row read is either kept or quarantined."""
        return data.lazyframe.select(
            pl.col("rows_in") == pl.col("rows_kept") + pl.col("rows_quarantined")
        )

