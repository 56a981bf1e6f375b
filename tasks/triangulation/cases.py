"""Case-level convergence: each proposition's survey indicator among the respondents of a case's sites.

The indicator is the proposition's own survey number (the share choosing its codes, or mentioning
its free-text category) in the latest wave that asked it, computed with the survey strand's
functions: `cell_sums` and `proportions` (tasks/survey/estimates.py), a case being a domain
(breakdown group) of the whole sample. The case's estimate and interval are the unweighted share
and its Wilson interval: a case covers one to three sites, and a design-based (cluster-robust) SE
resting on so few clusters is degenerate (zero for a one-site case). The raked, design-based
point estimate is carried beside it (site_weighted_estimate) for reference.
The case's sites are compared with the other sites by the strand's `chi_square_test` on the 2×2
table of counts (case sites / other sites × counted / not counted): Pearson chi-square, or
Fisher's exact test when an expected count is below 5. The direction says whether the case
sites' unweighted share lies above or below the other sites' when p < alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from schemas.study_config import Proposition, Variable
from tasks.survey.estimates import ALL, cell_sums, proportions
from tasks.survey.stats import chi_square_test
from tasks.triangulation.convergence import Setting
from tasks.triangulation.qualitative import LIST_SEPARATOR, PropositionError
from tasks.triangulation.quantitative import QuantEvidence, pct

CASE_BREAKDOWN = "case"
CHOSEN = "counted"

SITE_SCHEMA: dict[str, pl.DataType] = {
    "case": pl.String(), "case_sites": pl.String(), "site_wave": pl.String(), "site_n": pl.Int64(),
    "site_count": pl.Int64(), "site_estimate": pl.Float64(), "site_lower": pl.Float64(),
    "site_upper": pl.Float64(), "site_weighted_estimate": pl.Float64(), "small_n": pl.Boolean(),
    "national_estimate": pl.Float64(),
    "site_test": pl.String(), "site_p_value": pl.Float64(), "site_direction": pl.String(),
    "site_vs_national": pl.String(),
}


@dataclass(frozen=True)
class CaseSurvey:
    """The survey rows the case-level indicator needs, every wave concatenated."""

    respondents: pl.DataFrame  # wave, respondent_id, site_id, role, weight
    answers: pl.DataFrame  # wave, respondent_id, variable, code, missing
    freetext_coded: pl.DataFrame  # wave, dictionary, respondent_id, category
    freetext_uncoded: pl.DataFrame  # wave, dictionary, variable, respondent_id
    case_sites: pl.DataFrame  # case, site_id (one row per site of a case)


def case_sites(cases: pl.DataFrame) -> pl.DataFrame:
    """(case, site_id) pairs from the cases table's `site_ids` ("a;b")."""
    return (
        cases.select("case", pl.col("site_ids").str.split(";").alias("site_id"))
        .explode("site_id")
        .with_columns(pl.col("site_id").str.strip_chars())
        .filter(pl.col("site_id").is_not_null() & (pl.col("site_id") != ""))
        .unique(maintain_order=True)
    )


def _units(prop: Proposition, var: Variable, ev: QuantEvidence, survey: CaseSurvey, wave: str,
           dictionary: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Respondent ids answering the item and those counted (choosing the codes / the category)."""
    codes = list(prop.quantitative.codes) or list(var.key_codes)
    if var.type == "free_text":
        coded = survey.freetext_coded.filter((pl.col("wave") == wave) & (pl.col("dictionary") == dictionary))
        uncoded = survey.freetext_uncoded.filter((pl.col("wave") == wave) & (pl.col("dictionary") == dictionary))
        # Every non-empty answer is either coded (≥ 1 category) or uncoded: together, the denominator.
        answering = pl.concat([coded.select("respondent_id"), uncoded.select("respondent_id")]).unique()
        counted = coded.filter(pl.col("category") == codes[0]).select("respondent_id").unique()
        return answering, counted
    given = survey.answers.filter(
        (pl.col("wave") == wave) & (pl.col("variable") == prop.quantitative.variable) & ~pl.col("missing")
    )
    answering = given.select("respondent_id").unique()
    counted = given.filter(pl.col("code").is_in(codes)).select("respondent_id").unique()
    return answering, counted


def _design(units: pl.DataFrame, respondents: pl.DataFrame) -> pl.DataFrame:
    return units.join(respondents.select("respondent_id", "site_id", "role", "weight"), on="respondent_id").sort(
        "respondent_id"
    )


def _comparison(count: int, n: int, total_count: int, total_n: int, alpha: float) -> tuple[str, float | None, str, str]:
    """(test method, p, direction, sentence) for the case sites against every other site."""
    rest_count, rest_n = total_count - count, total_n - n
    if n == 0:
        return "not testable", None, "not tested", "no respondents at the case's sites: not tested"
    if rest_n == 0:
        return "not testable", None, "not tested", "no respondents at other sites: not tested"
    test = chi_square_test(np.array([[count, n - count], [rest_count, rest_n - rest_count]]))
    p = None if math.isnan(test.p_value) else test.p_value
    share, rest = count / n, rest_count / rest_n
    if p is None:
        return test.method, None, "not tested", f"{count} of {n} ({pct(share)}) vs other sites {pct(rest)}: not testable"
    direction = ("higher" if share > rest else "lower") if p < alpha else "no clear difference"
    return test.method, p, direction, (f"{count} of {n} ({pct(share)}) vs other sites {pct(rest)}: {direction} "
                                       f"({test.method}, p = {p:.3g})")


def site_indicators(
    prop: Proposition, var: Variable, ev: QuantEvidence, survey: CaseSurvey, setting: Setting, small_n: int,
    dictionary: str | None = None,
) -> pl.DataFrame:
    """Per case: the indicator among its sites' respondents, interval, n, small-n flag and the test."""
    cases = survey.case_sites.get_column("case").unique(maintain_order=True).to_list()
    waves = [w for w in ev.waves if w in set(ev.overall.get_column("wave").to_list())]
    if not waves or not cases:
        return pl.DataFrame(schema=SITE_SCHEMA)
    wave = waves[-1]
    if var.type == "free_text" and dictionary is None:
        raise PropositionError(f"triangulation proposition {prop.id!r}: free-text variable "
                               f"{prop.quantitative.variable!r} has no coding dictionary (survey.freetext)")
    answering, counted = _units(prop, var, ev, survey, wave, dictionary)
    resp = survey.respondents.filter(pl.col("wave") == wave)
    name = prop.quantitative.variable
    denom = cell_sums(_design(answering, resp).with_columns(pl.lit(name).alias("variable")), ["variable"])
    numer = cell_sums(_design(counted, resp).with_columns(pl.lit(name).alias("variable"),
                                                          pl.lit(CHOSEN).alias("code")), ["variable", "code"])
    cells = resp.select("site_id", "role").unique().sort("site_id", "role")
    mapping = pl.concat([
        cells.with_columns(pl.lit(ALL).alias("breakdown"), pl.lit(ALL).alias("group")),
        cells.join(survey.case_sites, on="site_id").select(
            "site_id", "role", pl.lit(CASE_BREAKDOWN).alias("breakdown"), pl.col("case").alias("group")),
    ])
    est = proportions(denom, numer, pl.DataFrame({"variable": [name], "code": [CHOSEN]}), mapping,
                      setting.confidence)
    national = est.filter(pl.col("breakdown") == ALL)
    nat = national.row(0, named=True) if national.height else {"n": 0, "count": 0, "proportion": None,
                                                                "weighted_proportion": None}
    rows = []
    for case in cases:
        sites = survey.case_sites.filter(pl.col("case") == case).get_column("site_id").to_list()
        hit = est.filter((pl.col("breakdown") == CASE_BREAKDOWN) & (pl.col("group") == case))
        r = hit.row(0, named=True) if hit.height else {}
        n, count = int(r.get("n") or 0), int(r.get("count") or 0)
        method, p, direction, sentence = _comparison(count, n, int(nat["count"] or 0), int(nat["n"] or 0),
                                                     setting.alpha)
        weighted = r.get("weighted_proportion") if var.type != "free_text" else None
        flag = n < small_n
        if flag and n:
            sentence += f"; small n ({n} < {small_n})"
        rows.append({
            "case": case, "case_sites": LIST_SEPARATOR.join(sites), "site_wave": wave, "site_n": n,
            "site_count": count, "site_estimate": r.get("proportion") if n else None,
            "site_lower": r.get("lower") if n else None, "site_upper": r.get("upper") if n else None,
            "site_weighted_estimate": weighted if n else None, "small_n": flag,
            "national_estimate": nat["proportion"],
            "site_test": method, "site_p_value": p, "site_direction": direction, "site_vs_national": sentence,
        })
    return pl.DataFrame(rows, schema=SITE_SCHEMA)
