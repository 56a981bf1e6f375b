"""Tests for tasks.survey.stats against scipy / statsmodels references and closed forms."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from tasks.survey.stats import (
    AssociationTest,
    ProportionEstimate,
    chi_square_test,
    kish_design_effect,
    likert_mean,
    rake_weights,
    two_proportion_test,
    weighted_difference,
    weighted_proportion,
    wilson_interval,
)

ATOL = 1e-9


# --- wilson_interval ---------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=5000),
    frac=st.floats(min_value=0, max_value=1),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_wilson_matches_statsmodels(n: int, frac: float, confidence: float) -> None:
    successes = round(frac * n)
    expected = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    assert wilson_interval(successes, n, confidence) == pytest.approx(expected, abs=ATOL)


def test_wilson_known_value_and_edges() -> None:
    # 0 of 10: centre = lower-clipped; upper = z²/(n+z²) with z = 1.959963984540054.
    z2 = stats.norm.isf(0.025) ** 2
    assert wilson_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)), abs=ATOL)
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0, abs=ATOL) and low == pytest.approx(10 / (10 + z2), abs=ATOL)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(1, 2, confidence=1.0)


# --- weighted_proportion / likert_mean ---------------------------------------------------------


def _sample(seed: int, n: int = 80, n_clusters: int = 9) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(float)
    w = rng.uniform(0.3, 4.0, n)
    g = rng.integers(0, n_clusters, n)
    return y, w, g


@pytest.mark.parametrize("seed", range(5))
def test_weighted_proportion_clustered_se_equals_statsmodels_cluster_se(seed: int) -> None:
    # statsmodels' cluster covariance multiplies by G/(G-1)·(N-1)/(N-K); with one regressor
    # (K=1) the second factor is exactly 1, so its intercept SE is our linearised SE.
    y, w, g = _sample(seed)
    fit = sm.WLS(y, np.ones_like(y), weights=w).fit(cov_type="cluster", cov_kwds={"groups": g})
    est = weighted_proportion(y, w, clusters=g)
    assert est.estimate == pytest.approx(float(fit.params[0]), abs=ATOL)
    assert est.se == pytest.approx(float(fit.bse[0]), abs=ATOL)
    assert est.n == y.size and est.n_clusters == len(np.unique(g))
    z = stats.norm.isf(0.025)
    assert est.lower == pytest.approx(max(0.0, est.estimate - z * est.se), abs=ATOL)
    assert est.upper == pytest.approx(min(1.0, est.estimate + z * est.se), abs=ATOL)


@pytest.mark.parametrize("seed", range(5))
def test_weighted_proportion_without_clusters_equals_hc1(seed: int) -> None:
    # Each unit its own PSU: var = n/(n-1)·Σ w²(y-p)²/(Σw)², which is HC1's n/(n-K) sandwich
    # with K=1 (HC0 would lack the n/(n-1) factor).
    y, w, _ = _sample(seed)
    fit = sm.WLS(y, np.ones_like(y), weights=w).fit(cov_type="HC1")
    est = weighted_proportion(y, w)
    assert est.se == pytest.approx(float(fit.bse[0]), abs=ATOL)
    p = np.sum(w * y) / np.sum(w)
    direct = math.sqrt(y.size / (y.size - 1) * np.sum(w**2 * (y - p) ** 2) / np.sum(w) ** 2)
    assert est.se == pytest.approx(direct, abs=ATOL)
    assert est.n_clusters == y.size


def test_weighted_proportion_diagnostics_and_missing() -> None:
    y = np.array([1, 0, np.nan, 1, 1, 0, np.nan, 0])
    w = np.array([1.0, 2.0, 99.0, 1.5, 0.5, 1.0, 7.0, 3.0])
    g = np.array(["a", "a", "a", "b", "b", "c", "c", "c"])
    est = weighted_proportion(y, w, clusters=g, confidence=0.9)
    keep = ~np.isnan(y)
    yk, wk, gk = y[keep], w[keep], g[keep]
    assert est.n == 6 and est.n_clusters == 3
    assert est.estimate == pytest.approx(3.0 / 9.0, abs=ATOL)
    p = 3.0 / 9.0
    totals = [np.sum(wk[gk == c] * (yk[gk == c] - p)) for c in "abc"]
    var = 3 / 2 * np.sum(np.square(totals)) / 9.0**2
    assert est.se == pytest.approx(math.sqrt(var), abs=ATOL)
    assert est.effective_n == pytest.approx(81.0 / np.sum(wk**2), abs=ATOL)
    assert est.design_effect == pytest.approx(var / (p * (1 - p) / 6), abs=ATOL)
    assert est.confidence == 0.9


def test_weighted_proportion_unweighted_srs_deff_is_n_over_n_minus_1() -> None:
    y = np.array([1, 0, 0, 1, 1, 0, 1, 1, 0, 1], dtype=float)
    est = weighted_proportion(y, np.ones(10))
    assert est.se == pytest.approx(math.sqrt(0.6 * 0.4 / 9), abs=ATOL)
    assert est.design_effect == pytest.approx(10 / 9, abs=ATOL)
    assert est.effective_n == pytest.approx(10.0, abs=ATOL)


def test_weighted_proportion_edge_cases() -> None:
    empty = weighted_proportion(np.array([np.nan, np.nan]), np.ones(2))
    assert empty.n == 0 and math.isnan(empty.estimate) and math.isnan(empty.se)
    one_cluster = weighted_proportion(np.array([1.0, 0.0]), np.ones(2), clusters=["x", "x"])
    assert one_cluster.estimate == 0.5 and math.isnan(one_cluster.se)
    assert math.isnan(one_cluster.lower) and math.isnan(one_cluster.design_effect)
    all_yes = weighted_proportion(np.ones(5), np.arange(1.0, 6.0))
    assert (all_yes.estimate, all_yes.se, all_yes.lower, all_yes.upper) == (1.0, 0.0, 1.0, 1.0)
    assert math.isnan(all_yes.design_effect)
    # Clipping: a small sample with p near 0 would give a negative normal lower bound.
    clipped = weighted_proportion(np.array([1.0] + [0.0] * 9), np.ones(10))
    assert clipped.lower == 0.0
    with pytest.raises(ValueError, match="0, 1"):
        weighted_proportion(np.array([0.0, 2.0]), np.ones(2))
    with pytest.raises(ValueError, match="positive"):
        weighted_proportion(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="missing"):
        weighted_proportion(np.array([0.0, 1.0]), np.ones(2), clusters=["a", None])


def test_likert_mean_unweighted_equals_normal_interval_with_ddof1_sd() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(1, 6, 57).astype(float)
    est = likert_mean(x, confidence=0.95)
    lower, upper = stats.norm.interval(0.95, loc=x.mean(), scale=stats.sem(x, ddof=1))
    assert est.estimate == pytest.approx(x.mean(), abs=ATOL)
    assert est.se == pytest.approx(x.std(ddof=1) / math.sqrt(x.size), abs=ATOL)
    assert (est.lower, est.upper) == pytest.approx((lower, upper), abs=ATOL)
    # SRS reference variance uses the ddof=0 element variance, as p(1-p)/n does for proportions.
    assert est.design_effect == pytest.approx(x.size / (x.size - 1), abs=ATOL)


@pytest.mark.parametrize("seed", range(3))
def test_likert_mean_weighted_clustered_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    x = rng.integers(1, 6, 70).astype(float)
    w = rng.uniform(0.5, 2.5, 70)
    g = rng.integers(0, 6, 70)
    x[[3, 10]] = np.nan
    keep = ~np.isnan(x)
    fit = sm.WLS(x[keep], np.ones(keep.sum()), weights=w[keep]).fit(
        cov_type="cluster", cov_kwds={"groups": g[keep]}
    )
    est = likert_mean(x, w, g)
    assert est.n == 68
    assert est.estimate == pytest.approx(float(fit.params[0]), abs=ATOL)
    assert est.se == pytest.approx(float(fit.bse[0]), abs=ATOL)


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


def test_chi_square_rejects_bad_tables() -> None:
    with pytest.raises(ValueError):
        chi_square_test(np.array([1, 2, 3]))
    with pytest.raises(ValueError):
        chi_square_test(np.array([[1, -1], [2, 3]]))
    with pytest.raises(ValueError):
        chi_square_test(np.array([[1.5, 1], [2, 3]]))


# --- two_proportion_test / weighted_difference ------------------------------------------------


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


def test_weighted_difference_matches_direct_normal_computation() -> None:
    e1 = ProportionEstimate(0.42, 0.031, 0.0, 0.0, 300, 12, 250.0, 1.2, 0.95)
    e2 = ProportionEstimate(0.51, 0.027, 0.0, 0.0, 310, 12, 260.0, 1.1, 0.95)
    res = weighted_difference(e1, e2)
    se = math.hypot(0.031, 0.027)
    z = (0.51 - 0.42) / se
    assert res.estimate == pytest.approx(0.09, abs=ATOL)
    assert res.se == pytest.approx(se, abs=ATOL)
    assert res.statistic == pytest.approx(z, abs=ATOL)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), abs=ATOL)
    assert (res.lower, res.upper) == pytest.approx(
        stats.norm.interval(0.95, loc=0.09, scale=se), abs=ATOL
    )
    same = weighted_difference(e1, ProportionEstimate(0.42, 0.0, 0, 0, 1, 1, 1, 1, 0.95))
    assert same.estimate == 0.0 and math.isclose(same.se, 0.031) and same.p_value == 1.0


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
        weighted_proportion(np.array([np.nan]), np.ones(1))
        chi_square_test(np.zeros((3, 3)))
