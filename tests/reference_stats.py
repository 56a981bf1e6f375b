"""Scalar reference implementations of the survey and inter-coder reliability statistics.

Production computes these vectorised, as polars aggregations: weighted proportions and Likert
means with their linearised standard errors, and Wilson intervals, in tasks.survey.estimates;
differences of independent estimates in tasks.survey.change; kappa and alpha in
tasks.qualitative.reliability and tasks.survey.freetext. No production code path calls the
functions here. Written one estimate at a time, each reads like its formula:
tests/test_reference_stats.py checks them against statsmodels, scipy, scikit-learn and
krippendorff, and the tests of the vectorised code check it against them.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy import stats

# The primitives shared with production: the same critical value and the same exactly rounded
# kappa, so a reference and the code it checks cannot differ in these.
from tasks.qualitative.reliability import _kappa_from_margins
from tasks.survey.stats import DifferenceEstimate, _z_value

__all__ = [
    "MeanEstimate",
    "ProportionEstimate",
    "cohen_kappa",
    "krippendorff_alpha_nominal",
    "likert_mean",
    "percent_agreement",
    "weighted_difference",
    "weighted_proportion",
    "wilson_interval",
]

NAN = float("nan")


# --- survey estimates ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProportionEstimate:
    """A design-based weighted proportion with its linearised standard error."""

    estimate: float
    se: float
    lower: float
    upper: float
    n: int
    n_clusters: int
    effective_n: float
    design_effect: float
    confidence: float


@dataclass(frozen=True)
class MeanEstimate:
    """A design-based weighted mean (e.g. of a Likert item) with its linearised standard error."""

    estimate: float
    se: float
    lower: float
    upper: float
    n: int
    n_clusters: int
    effective_n: float
    design_effect: float
    confidence: float


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion, clipped to [0, 1]; (nan, nan) when n is 0."""
    z = _z_value(confidence)
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return NAN, NAN
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    return min(max(centre - half, 0.0), 1.0), min(max(centre + half, 0.0), 1.0)


def _factorize(labels: Iterable[Hashable]) -> tuple[npt.NDArray[np.int64], int]:
    """Integer codes 0..k-1 for cluster labels in order of first appearance, and k."""
    index: dict[Hashable, int] = {}
    codes = []
    for label in labels:
        if label is None or (isinstance(label, float) and math.isnan(label)):
            raise ValueError("cluster labels must not be missing")
        codes.append(index.setdefault(label, len(index)))
    return np.asarray(codes, dtype=np.int64), len(index)


_EstimateT = TypeVar("_EstimateT", ProportionEstimate, MeanEstimate)


@dataclass(frozen=True)
class _Linearised:
    """A weighted mean with its linearised SE and what the estimate types report besides."""

    estimate: float
    se: float
    n: int
    n_clusters: int
    effective_n: float
    srs_element_variance: float


def _linearised_mean(
    y: npt.ArrayLike,
    weights: npt.ArrayLike | None,
    clusters: Sequence[Hashable] | npt.ArrayLike | None,
) -> _Linearised:
    """Weighted mean of y (NaN = missing) and its Taylor-linearised, cluster-robust SE."""
    values = np.asarray(y, dtype=np.float64).ravel()
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != values.shape:
        raise ValueError(f"weights has {w.size} values but y has {values.size}")
    cluster_labels: list[Hashable] | None = None
    if clusters is not None:
        cluster_labels = list(np.asarray(clusters, dtype=object).ravel())
        if len(cluster_labels) != values.size:
            raise ValueError(f"clusters has {len(cluster_labels)} values but y has {values.size}")
    if np.isinf(values).any():
        raise ValueError("values must be finite or NaN (missing)")
    used = ~np.isnan(values)
    values, w = values[used], w[used]
    if not (np.isfinite(w).all() and (w > 0).all()):
        raise ValueError("weights of the units used must be finite and positive")
    n = int(values.size)
    if n == 0:
        return _Linearised(NAN, NAN, 0, 0, NAN, NAN)
    if cluster_labels is None:
        psu = np.arange(n, dtype=np.int64)
        n_psu = n
    else:
        psu, n_psu = _factorize(
            label for label, keep in zip(cluster_labels, used, strict=True) if keep
        )
    total = float(w.sum())
    estimate = float(np.dot(w, values) / total)
    residual = w * (values - estimate)
    psu_totals = np.bincount(psu, weights=residual, minlength=n_psu)
    if n_psu > 1:
        # PSUs treated as sampled with replacement: the G/(G-1) factor is the usual
        # small-sample correction of the between-PSU variance of linearised totals.
        variance = n_psu / (n_psu - 1) * float(np.dot(psu_totals, psu_totals)) / total**2
        se = math.sqrt(variance)
    else:
        se = NAN
    effective_n = total**2 / float(np.dot(w, w))
    element_variance = float(np.dot(w, (values - estimate) ** 2) / total)
    return _Linearised(estimate, se, n, n_psu, effective_n, element_variance)


def _design_effect(se: float, element_variance: float, n: int) -> float:
    """se² over the simple-random-sample variance element_variance / n; NaN when undefined."""
    srs_variance = element_variance / n if n else NAN
    if not srs_variance > 0 or math.isnan(se):
        return NAN
    return se**2 / srs_variance


def weighted_proportion(
    y: npt.ArrayLike,
    weights: npt.ArrayLike,
    clusters: Sequence[Hashable] | npt.ArrayLike | None = None,
    confidence: float = 0.95,
) -> ProportionEstimate:
    """Weighted proportion of 1s (NaN = missing) with Taylor-linearised, cluster-robust SE.

    The variance of p = Σw·y/Σw treats clusters as PSUs sampled with replacement:
    var = G/(G-1) · Σ_g (Σ_{i∈g} w_i (y_i - p))² / (Σw)², each unit its own PSU when no
    clusters are given (this equals statsmodels' WLS intercept SE with cov_type="cluster",
    resp. "HC1"). The interval is the normal one, p ± z·se, clipped to [0, 1]. The design
    effect divides var by p(1-p)/n, so an unweighted unclustered sample has deff n/(n-1);
    it is NaN when p is 0 or 1. With a single PSU, or no observed units, se is NaN.
    """
    z = _z_value(confidence)
    values = np.asarray(y, dtype=np.float64)
    observed = values[~np.isnan(values)]
    if not np.isin(observed, (0.0, 1.0)).all():
        raise ValueError("y must contain only 0, 1 or NaN (missing)")
    lin = _linearised_mean(values, weights, clusters)
    lower = max(lin.estimate - z * lin.se, 0.0) if not math.isnan(lin.se) else NAN
    upper = min(lin.estimate + z * lin.se, 1.0) if not math.isnan(lin.se) else NAN
    return _from_linearised(ProportionEstimate, lin, lower, upper, confidence)


def _from_linearised(
    kind: type[_EstimateT], lin: _Linearised, lower: float, upper: float, confidence: float
) -> _EstimateT:
    """A proportion or mean estimate from a linearised weighted mean and its interval."""
    return kind(
        estimate=lin.estimate,
        se=lin.se,
        lower=lower,
        upper=upper,
        n=lin.n,
        n_clusters=lin.n_clusters,
        effective_n=lin.effective_n,
        design_effect=_design_effect(lin.se, lin.srs_element_variance, lin.n),
        confidence=confidence,
    )


def likert_mean(
    values: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    clusters: Sequence[Hashable] | npt.ArrayLike | None = None,
    confidence: float = 0.95,
) -> MeanEstimate:
    """Weighted mean of scores (NaN = missing) with the same linearised variance as proportions.

    Unweighted and unclustered, the variance reduces to s²/n with s the ddof=1 standard
    deviation, so the interval is exactly mean ± z·s/√n (normal, not Student t: survey
    samples are large and design-based intervals are normal-theory). The design effect
    divides var by (weighted ddof=0 element variance)/n, mirroring p(1-p)/n for proportions.
    """
    z = _z_value(confidence)
    lin = _linearised_mean(values, weights, clusters)
    lower = lin.estimate - z * lin.se
    upper = lin.estimate + z * lin.se
    return _from_linearised(MeanEstimate, lin, lower, upper, confidence)


def weighted_difference(
    est1: ProportionEstimate | MeanEstimate,
    est2: ProportionEstimate | MeanEstimate,
    confidence: float = 0.95,
) -> DifferenceEstimate:
    """Difference est2 - est1 of independent estimates: se = sqrt(se1² + se2²), normal test."""
    z_crit = _z_value(confidence)
    diff = est2.estimate - est1.estimate
    se = math.sqrt(est1.se**2 + est2.se**2)
    if se > 0:
        statistic = diff / se
        p_value = float(2 * stats.norm.sf(abs(statistic)))
    else:
        statistic = p_value = NAN
    return DifferenceEstimate(
        estimate=diff,
        se=se,
        lower=diff - z_crit * se,
        upper=diff + z_crit * se,
        statistic=statistic,
        p_value=p_value,
        confidence=confidence,
    )


# --- inter-coder reliability -----------------------------------------------------------------


def _paired(a: Sequence[Hashable], b: Sequence[Hashable]) -> tuple[list[Hashable], list[Hashable]]:
    """Both label sequences as lists; ValueError when their lengths differ."""
    first, second = list(a), list(b)
    if len(first) != len(second):
        raise ValueError(f"label sequences differ in length: {len(first)} and {len(second)}")
    return first, second


def percent_agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Share of positions where the two coders gave the same label; NaN for empty input."""
    first, second = _paired(a, b)
    if not first:
        return NAN
    return sum(x == y for x, y in zip(first, second, strict=True)) / len(first)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa for two coders' nominal labels, as sklearn's cohen_kappa_score.

    When both coders used one and the same label throughout, chance agreement is 1 and kappa is
    0/0: NaN, as sklearn returns (it also warns). Empty input gives NaN.
    """
    first, second = _paired(a, b)
    if not first:
        return NAN
    index: dict[Hashable, int] = {}
    rows = np.asarray([index.setdefault(x, len(index)) for x in first], dtype=np.int64)
    cols = np.asarray([index.setdefault(y, len(index)) for y in second], dtype=np.int64)
    k = len(index)
    row_totals = np.bincount(rows, minlength=k)
    col_totals = np.bincount(cols, minlength=k)
    chance = sum(int(r) * int(c) for r, c in zip(row_totals, col_totals, strict=True))
    return _kappa_from_margins(len(first), int((rows == cols).sum()), chance)


def krippendorff_alpha_nominal(data: npt.ArrayLike) -> float:
    """Krippendorff's alpha for nominal data from a coders × units matrix (NaN = missing).

    Built from the coincidence matrix: alpha = 1 - (n-1)·Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k.
    Returns NaN where alpha is undefined: fewer than two distinct values, no unit coded by at
    least two coders (the ``krippendorff`` package raises ValueError for these two), or all
    pairable values in one category (the package returns NaN). Perfect agreement with two or
    more values in play gives 1.0.
    """
    matrix = np.asarray(data, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"data must be a coders × units matrix, got shape {matrix.shape}")
    present = ~np.isnan(matrix)
    _, unit_of_value = np.nonzero(present)
    domain, category = np.unique(matrix[present], return_inverse=True)
    n_categories = domain.size
    if n_categories < 2:
        return NAN
    n_units = matrix.shape[1]
    counts = np.bincount(
        unit_of_value * n_categories + category, minlength=n_units * n_categories
    ).reshape(n_units, n_categories)
    per_unit = counts.sum(axis=1)
    pairable = per_unit >= 2
    if not pairable.any():
        return NAN
    counts = counts[pairable].astype(np.float64)
    m = per_unit[pairable].astype(np.float64)
    observed = float(((m * m - (counts * counts).sum(axis=1)) / (m - 1)).sum())
    n_c = counts.sum(axis=0)
    n = float(n_c.sum())
    expected = n * n - float((n_c * n_c).sum())
    if expected == 0:
        return NAN
    return 1.0 - (n - 1.0) * observed / expected
