"""Association tests from the estimates' counts, and wave change, against scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from schemas.survey import Associations, Change
from tasks.survey.change import change_table
from tasks.survey.crosstabs import association_table
from tasks.survey.stats import two_proportion_test
from tests.reference_stats import ProportionEstimate, weighted_difference

ATOL = 1e-9


def _estimates(
    rows: list[tuple[str, str, str, str, str, int, int]], wave: str = "w1"
) -> pl.DataFrame:
    """Estimate rows from (variable, type, code, breakdown, group, n, count)."""
    frame = pl.DataFrame(
        rows, schema=["variable", "type", "code", "breakdown", "group", "n", "count"], orient="row"
    )
    return frame.with_columns(
        pl.lit(wave).alias("wave"),
        pl.lit("code").alias("kind"),
        pl.format("label {}", "code").alias("label"),
        (pl.col("count") / pl.col("n")).alias("proportion"),
        (pl.col("count") / pl.col("n")).alias("weighted_proportion"),
        ((pl.col("count") / pl.col("n")) * (1 - pl.col("count") / pl.col("n")) / pl.col("n"))
        .sqrt()
        .alias("weighted_se"),
    )


def test_chi_square_from_counts_matches_scipy() -> None:
    table = np.array([[30, 20, 10], [15, 25, 20]])
    rows = [
        ("v", "single_choice", str(c), "role", g, int(table[i].sum()), int(table[i, c]))
        for i, g in enumerate(("a", "b"))
        for c in range(3)
    ]
    out = association_table(_estimates(rows), "w1")
    Associations.validate(out, lazy=True)
    row = out.row(0, named=True)
    chi2, p, dof, expected = stats.chi2_contingency(table, correction=False)
    assert row["method"] == "chi_square" and row["dof"] == dof == 2
    assert row["statistic"] == pytest.approx(chi2, abs=ATOL) and row["p_value"] == pytest.approx(
        p, abs=ATOL
    )
    assert row["cramers_v"] == pytest.approx(
        stats.contingency.association(table, method="cramer"), abs=ATOL
    )
    assert row["min_expected"] == pytest.approx(expected.min(), abs=ATOL)


def test_small_tables_use_fisher_and_multiple_choice_per_code() -> None:
    rows = [
        ("m", "multiple_choice", "x", "role", "a", 6, 1),
        ("m", "multiple_choice", "x", "role", "b", 5, 4),
        ("m", "multiple_choice", "y", "role", "a", 6, 0),
        ("m", "multiple_choice", "y", "role", "b", 5, 0),
    ]
    out = association_table(_estimates(rows), "w1").sort("code")
    x, y = out.row(0, named=True), out.row(1, named=True)
    assert x["code"] == "x" and x["method"] == "fisher"
    assert x["p_value"] == pytest.approx(stats.fisher_exact([[1, 5], [4, 1]]).pvalue, abs=ATOL)
    assert y["method"] == "not testable" and y["statistic"] is None and y["p_value"] is None


def test_change_matches_two_proportion_and_weighted_difference() -> None:
    w1 = _estimates(
        [
            ("v", "single_choice", "1", "all", "all", 400, 200),
            ("v", "single_choice", "2", "all", "all", 400, 0),
            ("v", "single_choice", "1", "role", "gp", 100, 60),
            ("v", "single_choice", "1", "region", "N", 9, 3),
        ]
    )
    w2 = _estimates(
        [
            ("v", "single_choice", "1", "all", "all", 380, 150),
            ("v", "single_choice", "2", "all", "all", 380, 0),
            ("v", "single_choice", "1", "role", "gp", 90, 40),
            ("v", "single_choice", "1", "region", "N", 9, 5),
            ("new", "single_choice", "1", "all", "all", 10, 5),
        ],
        wave="w2",
    )
    out = change_table(w1, w2, wave="w2", previous_wave="w1")
    Change.validate(out, lazy=True)
    # Only shared variables, codes and groups, and only the overall and role breakdowns.
    assert out.select("variable", "code", "breakdown").rows() == [
        ("v", "1", "all"),
        ("v", "2", "all"),
        ("v", "1", "role"),
    ]
    for row in out.iter_rows(named=True):
        ref = two_proportion_test(
            int(row["proportion1"] * row["n1"]),
            row["n1"],
            int(row["proportion2"] * row["n2"]),
            row["n2"],
        )
        for mine, theirs in (
            ("difference", ref.estimate),
            ("lower", ref.lower),
            ("upper", ref.upper),
            ("statistic", ref.statistic),
            ("p_value", ref.p_value),
        ):
            assert (
                (row[mine] is None)
                if math.isnan(theirs)
                else row[mine] == pytest.approx(theirs, abs=ATOL)
            )
    first = out.row(0, named=True)
    z, p = proportions_ztest([200, 150], [400, 380])
    assert first["p_value"] == pytest.approx(p, abs=ATOL) and -first["statistic"] == pytest.approx(
        z, abs=ATOL
    )
    e1 = ProportionEstimate(0.5, math.sqrt(0.25 / 400), 0, 1, 400, 1, 400, 1, 0.95)
    e2 = ProportionEstimate(
        150 / 380, math.sqrt((150 / 380) * (230 / 380) / 380), 0, 1, 380, 1, 380, 1, 0.95
    )
    ref = weighted_difference(e1, e2)
    assert first["weighted_difference"] == pytest.approx(ref.estimate, abs=ATOL)
    assert (first["weighted_lower"], first["weighted_upper"]) == pytest.approx(
        (ref.lower, ref.upper), abs=ATOL
    )
    assert first["weighted_p_value"] == pytest.approx(ref.p_value, abs=ATOL)
    assert first["significant"] is (ref.p_value < 0.05)
    # A code nobody chose in either wave: no test is possible, nothing is flagged.
    zero = out.row(1, named=True)
    assert zero["difference"] == 0.0 and zero["p_value"] is None and zero["significant"] is False
