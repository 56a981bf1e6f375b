"""Tests for tasks.survey.stats against scipy / statsmodels references and closed forms."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from tasks.survey.stats import (
    AssociationTest,
    chi_square_test,
    fisher_monte_carlo_p_value,
    kish_design_effect,
    rake_weights,
    two_proportion_test,
)

ATOL = 1e-9


# --- chi_square_test ---------------------------------------------------------------------------


def test_chi_square_known_value() -> None:
    res = chi_square_test(np.array([[20, 30], [30, 20]]))
    # All expected counts are 25, so chi2 = 4·25/25 = 4 and V = sqrt(4/100) = 0.2.
    assert res.method == "chi_square" and not res.small_expected
    assert res.statistic == pytest.approx(4.0, abs=ATOL)
    assert res.p_value == pytest.approx(0.04550026389635842, abs=ATOL)
    assert res.cramers_v == pytest.approx(0.2, abs=ATOL)
    assert (res.dof, res.n, res.min_expected) == (1, 100, 25.0)


@pytest.mark.parametrize("seed", range(6))
def test_chi_square_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(2, 5)), int(rng.integers(2, 6)))
    table = rng.integers(6, 60, shape)
    res = chi_square_test(table)
    ref = stats.chi2_contingency(table, correction=False)
    assert res.method == "chi_square"
    assert res.statistic == pytest.approx(ref.statistic, abs=ATOL)
    assert res.p_value == pytest.approx(ref.pvalue, abs=ATOL)
    assert res.dof == ref.dof
    assert res.min_expected == pytest.approx(ref.expected_freq.min(), abs=ATOL)
    v = stats.contingency.association(table, method="cramer", correction=False)
    assert res.cramers_v == pytest.approx(v, abs=ATOL)


def test_chi_square_drops_empty_rows_and_columns() -> None:
    table = np.array([[12, 0, 30, 9], [0, 0, 0, 0], [25, 0, 18, 14]])
    res = chi_square_test(table)
    ref = stats.chi2_contingency(table[[0, 2]][:, [0, 2, 3]], correction=False)
    assert (res.dropped_rows, res.dropped_columns) == (1, 1)
    assert res.statistic == pytest.approx(ref.statistic, abs=ATOL)
    assert res.dof == 2


def test_chi_square_not_testable() -> None:
    res = chi_square_test(np.array([[5, 0], [7, 0], [0, 0]]))
    assert res.method == "not testable"
    assert math.isnan(res.statistic) and math.isnan(res.p_value) and math.isnan(res.cramers_v)
    assert (res.dropped_rows, res.dropped_columns, res.n) == (1, 1, 12)
    assert chi_square_test(np.zeros((2, 2))).method == "not testable"


def test_chi_square_small_2x2_uses_fisher() -> None:
    table = np.array([[6, 2], [1, 4]])
    res = chi_square_test(table)
    assert res.method == "fisher" and res.small_expected
    assert res.p_value == pytest.approx(0.10256410256410257, abs=ATOL)
    assert res.p_value == pytest.approx(stats.fisher_exact(table).pvalue, abs=ATOL)
    # The statistic stays Pearson's chi-square, for reporting alongside V.
    assert res.statistic == pytest.approx(
        stats.chi2_contingency(table, correction=False).statistic, abs=ATOL
    )


def test_chi_square_small_rxc_uses_seeded_monte_carlo_fisher() -> None:
    table = np.array([[3, 1, 0], [1, 4, 2], [0, 1, 5]])
    res = chi_square_test(table, n_resamples=2000, seed=11)
    ref = stats.fisher_exact(
        table, method=stats.MonteCarloMethod(n_resamples=2000, rng=np.random.default_rng(11))
    )
    assert res.method == "fisher_monte_carlo" and res.small_expected
    assert res.p_value == pytest.approx(ref.pvalue, abs=ATOL)
    assert res == chi_square_test(table, n_resamples=2000, seed=11)
    assert isinstance(res, AssociationTest)


@pytest.mark.parametrize("order", ["C", "F"])
def test_monte_carlo_fisher_is_scipys_p_value_exactly(order: str) -> None:
    rng = np.random.default_rng(2016)
    checked = 0
    for _ in range(80):
        r, c = rng.integers(2, 6, size=2)
        table = np.asarray(rng.integers(0, 7, size=(r, c)), order=order)
        if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
            continue
        mc = stats.MonteCarloMethod(n_resamples=999, rng=np.random.default_rng(5))
        ref = float(np.asarray(stats.fisher_exact(table, method=mc).pvalue).item())
        assert fisher_monte_carlo_p_value(table, n_resamples=999, seed=5) == ref, table
        checked += 1
    assert checked > 60


def _table_probability(table: np.ndarray) -> float:
    """Multivariate hypergeometric probability of a table given its margins, cell by cell."""
    n = int(table.sum())
    log_p = sum(math.lgamma(int(x) + 1) for x in (*table.sum(axis=1), *table.sum(axis=0)))
    log_p -= math.lgamma(n + 1) + sum(math.lgamma(int(x) + 1) for x in table.ravel())
    return math.exp(log_p)


def test_monte_carlo_fisher_on_a_national_table_with_one_rare_category() -> None:
    # 600,003 respondents, one category of 3: an expected count below 5, so Fisher's test; scipy
    # 1.17's fisher_exact cannot take a table with more units than its random tables hold cells.
    table = np.array([[2, 100_000], [1, 200_000], [0, 300_000]])
    mc = stats.MonteCarloMethod(n_resamples=999, rng=np.random.default_rng(3))
    with pytest.raises(ValueError, match="cannot reshape"):
        stats.fisher_exact(table, method=mc)
    res = chi_square_test(table, n_resamples=999, seed=3)
    assert (res.method, res.small_expected) == ("fisher_monte_carlo", True)
    # The same random tables, each table's probability computed on its own.
    distribution = stats.random_table(table.sum(axis=1), table.sum(axis=0), seed=np.random.default_rng(3))
    observed = _table_probability(table)
    null = [_table_probability(t) for t in distribution.rvs(size=999)]
    extreme = sum(p <= observed * (1 + 1e-12) for p in null)
    assert res.p_value == pytest.approx((extreme + 1) / 1000, abs=ATOL)
    assert 0.0 < res.p_value < 1.0


def test_chi_square_rejects_bad_tables() -> None:
    with pytest.raises(ValueError):
        chi_square_test(np.array([1, 2, 3]))
    with pytest.raises(ValueError):
        chi_square_test(np.array([[1, -1], [2, 3]]))
    with pytest.raises(ValueError):
        chi_square_test(np.array([[1.5, 1], [2, 3]]))


# --- two_proportion_test -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(3, 20, 9, 25), (40, 100, 55, 120), (0, 30, 4, 31), (12, 12, 10, 15), (1, 2, 1, 3)],
)
def test_two_proportion_matches_statsmodels(x1: int, n1: int, x2: int, n2: int) -> None:
    res = two_proportion_test(x1, n1, x2, n2, confidence=0.9)
    low, upp = confint_proportions_2indep(x2, n2, x1, n1, method="wald", compare="diff", alpha=0.1)
    z, p = proportions_ztest([x2, x1], [n2, n1])
    assert res.estimate == pytest.approx(x2 / n2 - x1 / n1, abs=ATOL)
    assert (res.lower, res.upper) == pytest.approx((low, upp), abs=ATOL)
    assert res.statistic == pytest.approx(z, abs=ATOL)
    assert res.p_value == pytest.approx(p, abs=ATOL)


def test_two_proportion_degenerate_inputs_give_nan_not_errors() -> None:
    zeros = two_proportion_test(0, 10, 0, 12)
    assert (zeros.estimate, zeros.se, zeros.lower, zeros.upper) == (0.0, 0.0, 0.0, 0.0)
    assert math.isnan(zeros.statistic) and math.isnan(zeros.p_value)
    ones = two_proportion_test(10, 10, 12, 12)
    assert ones.estimate == 0.0 and math.isnan(ones.p_value)
    empty = two_proportion_test(0, 0, 3, 10)
    assert all(math.isnan(v) for v in (empty.estimate, empty.se, empty.lower, empty.p_value))
    with pytest.raises(ValueError):
        two_proportion_test(5, 4, 1, 2)


# --- raking ------------------------------------------------------------------------------------


def _frame(seed: int = 3, n: int = 400) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "site": rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]),
            "role": rng.choice(["teacher", "leader", "support"], n, p=[0.6, 0.1, 0.3]),
            "year": rng.choice([1, 2], n),
            "design": rng.uniform(0.8, 1.5, n),
        }
    )


MARGINS = {
    "site": {"north": 900.0, "south": 700.0, "east": 400.0},
    "role": {"teacher": 1100.0, "leader": 300.0, "support": 600.0},
    "year": {"1": 1050.0, "2": 950.0},
}


def _weighted_totals(frame: pl.DataFrame, weights: np.ndarray, column: str) -> dict[str, float]:
    grouped = (
        frame.with_columns(w=pl.Series(weights), key=pl.col(column).cast(pl.String))
        .group_by("key")
        .agg(pl.col("w").sum())
    )
    return dict(grouped.iter_rows())


def test_rake_hits_every_margin() -> None:
    frame = _frame()
    res = rake_weights(frame, MARGINS, base_weight="design", tol=1e-13)
    assert res.converged and res.max_relative_error <= 1e-13
    assert res.weights.shape == (frame.height,)
    for column, totals in MARGINS.items():
        got = _weighted_totals(frame, res.weights, column)
        for category, target in totals.items():
            assert got[category] == pytest.approx(target, abs=ATOL)
    assert res.design_effect == pytest.approx(
        frame.height * np.sum(res.weights**2) / np.sum(res.weights) ** 2, abs=ATOL
    )


def test_rake_default_tolerance_is_relative() -> None:
    res = rake_weights(_frame(), MARGINS)
    assert res.converged and res.max_relative_error <= 1e-10
    assert 1 <= res.iterations <= 100


def test_one_margin_rake_equals_post_stratification() -> None:
    frame = _frame()
    margin = {"site": MARGINS["site"]}
    res = rake_weights(frame, margin, base_weight="design")
    base = frame.get_column("design").to_numpy()
    site = frame.get_column("site").to_numpy()
    expected = np.array(
        [b * MARGINS["site"][s] / base[site == s].sum() for b, s in zip(base, site, strict=True)]
    )
    np.testing.assert_allclose(res.weights, expected, rtol=0, atol=ATOL)
    assert res.iterations == 1 and res.trim_rounds == 0


def test_rake_trimming_bounds_weights_and_keeps_margins() -> None:
    frame = _frame(seed=5)
    untrimmed = rake_weights(frame, MARGINS)
    mean = 2000.0 / frame.height
    assert untrimmed.weights.max() > 2.2 * mean  # so trimming has work to do
    assert untrimmed.within_trim_bounds and untrimmed.trim_rounds == 0
    res = rake_weights(frame, MARGINS, trim=(0.5, 2.2), tol=1e-12, max_trim_rounds=200)
    assert res.converged and res.within_trim_bounds and res.trim_rounds >= 1
    assert res.weights.max() <= 2.2 * mean * (1 + 1e-9)
    assert res.weights.min() >= 0.5 * mean * (1 - 1e-9)
    assert res.design_effect < untrimmed.design_effect
    for column, totals in MARGINS.items():
        got = _weighted_totals(frame, res.weights, column)
        for category, target in totals.items():
            assert got[category] == pytest.approx(target, abs=1e-8)


def test_rake_infeasible_trim_is_reported_not_hidden() -> None:
    # These margins force some weight above 2.06 × mean, so a 1.6 cap cannot hold.
    frame = _frame(seed=5)
    res = rake_weights(frame, MARGINS, trim=(0.5, 1.6), max_trim_rounds=15)
    assert res.trim_rounds == 15 and not res.within_trim_bounds
    assert res.converged  # margins are still met; only the bound gives way
    assert res.weights.max() > 1.6 * 2000.0 / frame.height


def test_rake_errors_name_the_problem() -> None:
    frame = _frame()
    with pytest.raises(ValueError, match=r"'site'.*'east'"):
        rake_weights(frame, {"site": {"north": 1.0, "south": 1.0}})
    with pytest.raises(ValueError, match=r"'site'.*'west'"):
        rake_weights(frame, {"site": {**MARGINS["site"], "west": 10.0}})
    with pytest.raises(ValueError, match="population total"):
        rake_weights(frame, {"site": MARGINS["site"], "year": {"1": 1.0, "2": 1.0}})
    with pytest.raises(ValueError, match="nowhere"):
        rake_weights(frame, {"nowhere": {"a": 1.0}})
    with pytest.raises(ValueError, match="trim"):
        rake_weights(frame, MARGINS, trim=(1.2, 3.0))
    with pytest.raises(ValueError, match="missing"):
        rake_weights(pl.DataFrame({"site": ["north", None]}), {"site": {"north": 5.0}})


def test_rake_result_is_read_only() -> None:
    res = rake_weights(_frame(), {"year": MARGINS["year"]})
    with pytest.raises(ValueError):
        res.weights[0] = 1.0


def test_kish_design_effect() -> None:
    assert kish_design_effect([2.0, 2.0, 2.0]) == pytest.approx(1.0, abs=ATOL)
    assert kish_design_effect([1.0, 2.0, 3.0]) == pytest.approx(7 / 6, abs=ATOL)
    assert math.isnan(kish_design_effect([]))
    with pytest.raises(ValueError):
        kish_design_effect([1.0, -1.0])


def test_no_runtime_warnings_on_edge_cases() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        two_proportion_test(0, 10, 0, 10)
        two_proportion_test(0, 0, 0, 0)
        chi_square_test(np.zeros((3, 3)))


def test_monte_carlo_fisher_on_a_sparse_4x5_table() -> None:
    """SciPy hands back a one-element array here; the test still yields a float p-value."""
    table = np.array([[0, 1, 0, 0, 0], [1, 0, 0, 1, 1], [0, 1, 1, 1, 1], [2, 0, 0, 0, 1]])
    result = chi_square_test(table)
    expected = stats.fisher_exact(
        table, method=stats.MonteCarloMethod(n_resamples=9999, rng=np.random.default_rng(20240611))
    ).pvalue
    assert result.method == "fisher_monte_carlo"
    assert isinstance(result.p_value, float)
    assert result.p_value == pytest.approx(float(np.asarray(expected).item()), abs=1e-12)
