"""Survey statistics: association tests, the two-proportion test and raking with its design effect.

The design-based estimates themselves are computed vectorised in tasks.survey.estimates and
tasks.survey.change; their scalar reference implementations (weighted proportion, Likert mean,
Wilson interval, difference of independent estimates) live with the tests, in
tests/reference_stats.py, where they are checked against statsmodels and scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

__all__ = [
    "AssociationTest",
    "FISHER_RESAMPLES",
    "DifferenceEstimate",
    "RakingResult",
    "chi_square_test",
    "fisher_monte_carlo_p_value",
    "kish_design_effect",
    "rake_weights",
    "two_proportion_test",
]

NAN = float("nan")
# Every weighted margin must agree with the others on the population total, or no set of
# weights can satisfy all of them and IPF just oscillates.
_MARGIN_TOTAL_RTOL = 1e-9
# Slack when checking trimmed weights against their bounds: re-raking nudges weights that sit
# exactly on a bound by amounts that shrink every round but never reach zero.
_TRIM_SLACK = 1e-9
# Chi-square's approximation is conventionally distrusted when an expected count falls below 5.
_MIN_EXPECTED = 5.0
# Random tables drawn for an r×c Fisher test's Monte-Carlo p-value (its error: sqrt(p(1-p)/B)).
FISHER_RESAMPLES = 9999


@dataclass(frozen=True)
class DifferenceEstimate:
    """A difference (second minus first) with its interval, test statistic and p-value."""

    estimate: float
    se: float
    lower: float
    upper: float
    statistic: float
    p_value: float
    confidence: float


@dataclass(frozen=True)
class AssociationTest:
    """Result of a test of independence on a contingency table."""

    method: str
    statistic: float
    dof: int
    p_value: float
    cramers_v: float
    n: int
    min_expected: float
    small_expected: bool
    dropped_rows: int
    dropped_columns: int


@dataclass(frozen=True, eq=False)
class RakingResult:
    """Raked weights aligned with the input frame, with convergence diagnostics."""

    weights: npt.NDArray[np.float64] = field(repr=False)
    iterations: int
    converged: bool
    design_effect: float
    max_relative_error: float
    trim_rounds: int
    within_trim_bounds: bool


def _z_value(confidence: float) -> float:
    """Two-sided normal critical value; confidence must lie strictly between 0 and 1."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return float(stats.norm.isf((1.0 - confidence) / 2.0))


def chi_square_test(
    table: npt.ArrayLike, *, n_resamples: int = FISHER_RESAMPLES, seed: int = 20240611
) -> AssociationTest:
    """Pearson chi-square test of independence (no Yates), with Fisher's test for small counts.

    All-zero rows and columns are dropped first; with fewer than two rows or columns left the
    method is "not testable" and statistic, p-value and V are NaN. The statistic, dof and
    Cramér's V = sqrt(chi2 / (n·(min(r, c) - 1))) are always the chi-square ones. When any
    expected count is below 5, ``small_expected`` is True and the p-value is replaced:
    2×2 tables use scipy's two-sided Fisher exact test (method "fisher"); larger tables use
    scipy's r×c Fisher test, whose p-value is Monte-Carlo (``n_resamples`` random tables with
    the observed margins, generator seeded with ``seed`` so results are reproducible; method
    "fisher_monte_carlo"). Otherwise the method is "chi_square".
    """
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"table must be two-dimensional, got shape {counts.shape}")
    if not np.isfinite(counts).all() or (counts < 0).any() or (counts != np.round(counts)).any():
        raise ValueError("table must hold non-negative integer counts")
    keep_rows = counts.sum(axis=1) > 0
    keep_cols = counts.sum(axis=0) > 0
    dropped_rows = int((~keep_rows).sum())
    dropped_cols = int((~keep_cols).sum())
    counts = counts[keep_rows][:, keep_cols]
    n = int(counts.sum())
    r, c = counts.shape
    if r < 2 or c < 2:
        return AssociationTest(
            method="not testable",
            statistic=NAN,
            dof=0,
            p_value=NAN,
            cramers_v=NAN,
            n=n,
            min_expected=NAN,
            small_expected=False,
            dropped_rows=dropped_rows,
            dropped_columns=dropped_cols,
        )
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n
    statistic = float(((counts - expected) ** 2 / expected).sum())
    dof = (r - 1) * (c - 1)
    p_value = float(stats.chi2.sf(statistic, dof))
    min_expected = float(expected.min())
    small = min_expected < _MIN_EXPECTED
    method = "chi_square"
    if small:
        integer_table = counts.astype(np.int64)
        if (r, c) == (2, 2):
            p_value = float(stats.fisher_exact(integer_table, alternative="two-sided").pvalue)
            method = "fisher"
        else:
            p_value = fisher_monte_carlo_p_value(integer_table, n_resamples=n_resamples, seed=seed)
            method = "fisher_monte_carlo"
    return AssociationTest(
        method=method,
        statistic=statistic,
        dof=dof,
        p_value=p_value,
        cramers_v=math.sqrt(statistic / (n * (min(r, c) - 1))),
        n=n,
        min_expected=min_expected,
        small_expected=small,
        dropped_rows=dropped_rows,
        dropped_columns=dropped_cols,
    )


def fisher_monte_carlo_p_value(table: npt.NDArray[np.int64], *, n_resamples: int, seed: int) -> float:
    """The r×c Fisher test's Monte-Carlo p-value, as scipy's `fisher_exact` computes it.

    `n_resamples` random tables with the observed margins (scipy's `random_table`, generator
    seeded with `seed`); the p-value is the share, counting the observed table, of those at most
    as probable as it (within scipy's relative tolerance of 100 ulp). The same numbers as
    `fisher_exact(table, method=MonteCarloMethod(n_resamples, rng=default_rng(seed)))`, which
    scipy 1.17 cannot give when the random tables hold no more cells than the table has units
    (n ≥ n_resamples·r·c, a national table with one rare category): it then takes all the random
    tables for one table and fails to reshape them.
    """
    # Row-major, as scipy reshapes the raveled table: a column-major table's probability would
    # sum its cells in another order (other last bits, and ties are decided within 100 ulp).
    counts = np.ascontiguousarray(table, dtype=np.int64)
    distribution = stats.random_table(counts.sum(axis=1), counts.sum(axis=0), seed=np.random.default_rng(seed))
    observed = float(distribution.pmf(counts))
    null = np.asarray(distribution.pmf(distribution.rvs(size=n_resamples)), dtype=np.float64)
    tolerance = abs(np.finfo(np.float64).eps * 100 * observed)
    extreme = float(np.sum(null <= observed + tolerance, dtype=np.float64))
    return min(max((extreme + 1.0) / (n_resamples + 1.0), 0.0), 1.0)


def _check_count(x: int, n: int, name: str) -> None:
    if n < 0 or x < 0 or x > n:
        raise ValueError(f"need 0 <= {name} count <= n, got {x} of {n}")


def two_proportion_test(
    x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95
) -> DifferenceEstimate:
    """Difference p2 - p1 with a Wald interval (unpooled SE) and a pooled two-sided z-test.

    ``se`` is the unpooled Wald SE used by the interval; ``statistic`` is the z of the pooled
    test. Any n of 0 gives NaN throughout; a pooled proportion of 0 or 1 gives a NaN z and
    p-value (the test is undefined), never an exception.
    """
    z_crit = _z_value(confidence)
    _check_count(x1, n1, "first")
    _check_count(x2, n2, "second")
    if n1 == 0 or n2 == 0:
        return DifferenceEstimate(NAN, NAN, NAN, NAN, NAN, NAN, confidence)
    p1, p2 = x1 / n1, x2 / n2
    diff = p2 - p1
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    pooled = (x1 + x2) / (n1 + n2)
    pooled_var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if pooled_var > 0:
        statistic = diff / math.sqrt(pooled_var)
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


def kish_design_effect(weights: npt.ArrayLike) -> float:
    """Kish's design effect due to unequal weights, n·Σw²/(Σw)²; NaN for no or all-zero weights."""
    w = np.asarray(weights, dtype=np.float64).ravel()
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and non-negative")
    total = float(w.sum())
    if w.size == 0 or total == 0:
        return NAN
    return w.size * float(np.dot(w, w)) / total**2


@dataclass(frozen=True)
class _Margin:
    column: str
    codes: npt.NDArray[np.int64]
    targets: npt.NDArray[np.float64]


def _prepare_margin(frame: pl.DataFrame, column: str, totals: dict[str, float]) -> _Margin:
    if column not in frame.columns:
        raise ValueError(f"margin column {column!r} is not in the frame")
    if not totals:
        raise ValueError(f"margin {column!r} has no categories")
    categories = [str(key) for key in totals]
    targets = np.asarray([float(v) for v in totals.values()], dtype=np.float64)
    if len(set(categories)) != len(categories):
        raise ValueError(f"margin {column!r} names a category twice once keys are text")
    bad = [
        cat for cat, t in zip(categories, targets, strict=True) if not (math.isfinite(t) and t > 0)
    ]
    if bad:
        raise ValueError(f"margin {column!r}: population totals must be positive, not for {bad}")
    values = frame.get_column(column).cast(pl.String)
    if values.null_count():
        raise ValueError(f"column {column!r} has missing values; every respondent needs a category")
    index = {cat: i for i, cat in enumerate(categories)}
    unknown = sorted(set(values.unique().to_list()) - index.keys())
    if unknown:
        raise ValueError(
            f"column {column!r} has categories with no population total in the margins: {unknown}"
        )
    codes = values.replace_strict(index, return_dtype=pl.Int64).to_numpy().astype(np.int64)
    present = np.bincount(codes, minlength=len(categories))
    empty = [cat for cat, k in zip(categories, present, strict=True) if k == 0]
    if empty:
        raise ValueError(
            f"margin {column!r}: no respondents in categories {empty}, so their totals cannot be reached"
        )
    return _Margin(column, codes, targets)


def _margin_error(w: npt.NDArray[np.float64], margins: list[_Margin]) -> float:
    return max(
        float(
            np.max(
                np.abs(np.bincount(m.codes, weights=w, minlength=m.targets.size) / m.targets - 1)
            )
        )
        for m in margins
    )


def _ipf(
    w: npt.NDArray[np.float64], margins: list[_Margin], max_iter: int, tol: float
) -> tuple[npt.NDArray[np.float64], int, bool, float]:
    error = _margin_error(w, margins)
    for sweep in range(1, max_iter + 1):
        for m in margins:
            current = np.bincount(m.codes, weights=w, minlength=m.targets.size)
            w = w * (m.targets / current)[m.codes]
        error = _margin_error(w, margins)
        if error <= tol:
            return w, sweep, True, error
    return w, max_iter, False, error


def rake_weights(
    frame: pl.DataFrame,
    margins: dict[str, dict[str, float]],
    *,
    base_weight: str | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
    trim: tuple[float, float] | None = None,
    max_trim_rounds: int = 20,
) -> RakingResult:
    """Rake weights by iterative proportional fitting to population totals per category.

    Column values are matched to margin categories as text. Convergence means every weighted
    category total is within ``tol`` of its target, relative to the target. With
    ``trim=(lower, upper)`` weights are then clipped to [lower, upper] × mean weight and re-raked,
    repeating up to ``max_trim_rounds`` times; the mean weight (population total / n) does not
    change under raking, and the final weights always meet the margins, so when the bounds are
    infeasible for these margins weights stay outside them: ``within_trim_bounds`` then is False
    (it is True when no trimming was asked for).
    """
    if frame.height == 0:
        raise ValueError("cannot rake an empty frame")
    if not margins:
        raise ValueError("at least one margin is needed")
    if max_iter < 1:
        raise ValueError("max_iter must be at least 1")
    prepared = [_prepare_margin(frame, column, totals) for column, totals in margins.items()]
    sums = {m.column: float(m.targets.sum()) for m in prepared}
    population = next(iter(sums.values()))
    if any(abs(s - population) > _MARGIN_TOTAL_RTOL * population for s in sums.values()):
        raise ValueError(f"margins disagree on the population total: {sums}")
    if base_weight is None:
        w = np.ones(frame.height, dtype=np.float64)
    else:
        if base_weight not in frame.columns:
            raise ValueError(f"base weight column {base_weight!r} is not in the frame")
        w = frame.get_column(base_weight).cast(pl.Float64).to_numpy().astype(np.float64)
        if not (np.isfinite(w).all() and (w > 0).all()):
            raise ValueError(f"base weight column {base_weight!r} must be finite and positive")
    w, iterations, converged, error = _ipf(w, prepared, max_iter, tol)
    rounds = 0
    within = True
    if trim is not None:
        lower, upper = trim
        if not 0 <= lower <= 1 <= upper:
            raise ValueError(f"trim bounds must satisfy 0 <= lower <= 1 <= upper, got {trim}")
        mean = population / frame.height
        low, high = lower * mean, upper * mean

        def inside(weights: npt.NDArray[np.float64]) -> bool:
            return bool(
                (weights >= low * (1 - _TRIM_SLACK)).all()
                and (weights <= high * (1 + _TRIM_SLACK)).all()
            )

        while rounds < max_trim_rounds and not inside(w):
            rounds += 1
            w, sweeps, converged, error = _ipf(np.clip(w, low, high), prepared, max_iter, tol)
            iterations += sweeps
        within = inside(w)
    w.setflags(write=False)
    return RakingResult(
        weights=w,
        iterations=iterations,
        converged=converged,
        design_effect=kish_design_effect(w),
        max_relative_error=error,
        trim_rounds=rounds,
        within_trim_bounds=within,
    )
