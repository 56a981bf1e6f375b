"""Tests for tests/reference_stats.py against statsmodels, scipy, scikit-learn and krippendorff."""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence

import krippendorff
import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.proportion import proportion_confint

from tests.reference_stats import (
    ProportionEstimate,
    cohen_kappa,
    krippendorff_alpha_nominal,
    likert_mean,
    percent_agreement,
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


# --- weighted_difference ---------------------------------------------------------------------


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


def test_weighted_proportion_no_runtime_warning_when_all_missing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weighted_proportion(np.array([np.nan]), np.ones(1))


def _sk_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(a, b))


def _kd_alpha(data: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


# --- two-coder label agreement -----------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd")), min_size=1, max_size=60)
)
def test_kappa_and_agreement_match_sklearn(pairs: list[tuple[str, str]]) -> None:
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    expected = _sk_kappa(a, b)
    got = cohen_kappa(a, b)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=ATOL)
    assert percent_agreement(a, b) == pytest.approx(np.mean(np.array(a) == np.array(b)), abs=ATOL)


def test_kappa_known_values_and_edges() -> None:
    a = ["yes", "yes", "no", "no", "yes", "no", "yes", "yes", "no", "no"]
    b = ["yes", "no", "no", "no", "yes", "no", "yes", "yes", "yes", "no"]
    # po = 0.8, pe = 0.5·0.5 + 0.5·0.5 = 0.5 → kappa = 0.6
    assert percent_agreement(a, b) == pytest.approx(0.8, abs=ATOL)
    assert cohen_kappa(a, b) == pytest.approx(0.6, abs=ATOL)
    # One shared category everywhere: chance agreement is 1, kappa 0/0 → NaN, as sklearn.
    same = ["x"] * 5
    assert percent_agreement(same, same) == 1.0
    assert math.isnan(cohen_kappa(same, same)) and math.isnan(_sk_kappa(same, same))
    assert math.isnan(cohen_kappa([], [])) and math.isnan(percent_agreement([], []))
    with pytest.raises(ValueError):
        cohen_kappa(["a"], ["a", "b"])


# --- Krippendorff's alpha ----------------------------------------------------------------------


def test_alpha_krippendorff_textbook_example() -> None:
    nan = np.nan
    data = np.array(
        [
            [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
            [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
            [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
        ]
    )
    assert krippendorff_alpha_nominal(data) == pytest.approx(0.691358024691358, abs=ATOL)
    assert krippendorff_alpha_nominal(data) == pytest.approx(_kd_alpha(data), abs=ATOL)


@pytest.mark.parametrize("coders", [2, 3, 5])
@pytest.mark.parametrize("seed", range(8))
def test_alpha_matches_krippendorff_on_random_data(coders: int, seed: int) -> None:
    rng = np.random.default_rng(seed * 10 + coders)
    units = int(rng.integers(5, 40))
    truth = rng.integers(0, 4, units)
    data = np.where(rng.random((coders, units)) < 0.7, truth, rng.integers(0, 4, (coders, units)))
    data = data.astype(float)
    data[rng.random((coders, units)) < 0.25] = np.nan
    if (np.sum(~np.isnan(data), axis=0) >= 2).any() and np.unique(data[~np.isnan(data)]).size > 1:
        assert krippendorff_alpha_nominal(data) == pytest.approx(_kd_alpha(data), abs=ATOL)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=2, max_value=4).flatmap(
        lambda coders: st.lists(
            st.lists(st.one_of(st.none(), st.integers(0, 2)), min_size=coders, max_size=coders),
            min_size=2,
            max_size=15,
        )
    )
)
def test_alpha_matches_krippendorff_property(units: list[list[int | None]]) -> None:
    data = np.array([[np.nan if v is None else v for v in unit] for unit in units], dtype=float).T
    present = data[~np.isnan(data)]
    if np.unique(present).size < 2 or not (np.sum(~np.isnan(data), axis=0) >= 2).any():
        # The package raises here; ours reports alpha as undefined.
        assert math.isnan(krippendorff_alpha_nominal(data))
        return
    expected = _kd_alpha(data)
    got = krippendorff_alpha_nominal(data)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=ATOL)


def test_alpha_edge_cases() -> None:
    perfect = np.array([[1, 2, 3, 1], [1, 2, 3, 1], [1, 2, np.nan, 1]], dtype=float)
    assert krippendorff_alpha_nominal(perfect) == 1.0 == pytest.approx(_kd_alpha(perfect))
    one_value = np.ones((2, 4))
    assert math.isnan(krippendorff_alpha_nominal(one_value))
    with pytest.raises(ValueError):  # the reference refuses a one-value domain outright
        krippendorff.alpha(reliability_data=one_value, level_of_measurement="nominal")
    unpaired = np.array([[1, np.nan], [np.nan, 2]])
    assert math.isnan(krippendorff_alpha_nominal(unpaired))
    # Pairable values all in one category, the other only in a lone coding: package gives NaN.
    lone = np.array([[1, 1, 2], [1, 1, np.nan]], dtype=float)
    assert math.isnan(krippendorff_alpha_nominal(lone)) and math.isnan(_kd_alpha(lone))
    with pytest.raises(ValueError):
        krippendorff_alpha_nominal(np.array([1.0, 2.0]))
