"""Design-aware inference: Rao–Scott tests, Benjamini–Hochberg q-values, Monte-Carlo error, weights.

The Rao–Scott test is the second-order correction with an F reference distribution (Rao & Scott
1984; Thomas & Rao 1987), as R's ``survey::svychisq(statistic="F")`` and Stata's
``svy: tabulate`` report it: the Pearson X² of the weighted table (scaled to the n respondents)
divided by tr(Δ), referred to F(d, d·ν) with d = tr(Δ)²/tr(Δ²) and ν = clusters − strata. Δ is
the generalised design-effect matrix of the log-linear interaction contrasts; its variance is the
with-replacement Taylor linearisation of the cell proportions over clusters (sites), optionally
stratified and with a finite-population correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from tasks.blas import single_threaded_blas

__all__ = [
    "UNTESTABLE",
    "RaoScottTest",
    "WeightDiagnostics",
    "bh_q_values",
    "monte_carlo_se",
    "rao_scott_test",
    "weight_diagnostics",
]

NAN = float("nan")


@dataclass(frozen=True)
class RaoScottTest:
    """Second-order Rao–Scott test of independence on a weighted, clustered table."""

    pearson: float  # uncorrected Pearson X² of the weighted table scaled to n
    statistic: float  # F = X² / tr(Δ)
    df_num: float  # d = tr(Δ)² / tr(Δ²)
    df_den: float  # d · (clusters − strata)
    p_value: float
    mean_deff: float  # δ̄ = tr(Δ) / ((r−1)(c−1)), the test's mean generalised design effect
    first_order: float  # X² / δ̄, the first-order corrected chi-square on (r−1)(c−1) df
    first_order_p_value: float
    clusters: int


UNTESTABLE = RaoScottTest(NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0)


def _cluster_variance(
    scores: npt.NDArray[np.float64],
    strata: npt.NDArray[np.int64],
    fpc: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Σ_h (1 − f_h) n_h/(n_h − 1) Σ_g (t_hg − t̄_h)(t_hg − t̄_h)ᵀ of cluster score totals."""
    k = scores.shape[1]
    var = np.zeros((k, k))
    for h in np.unique(strata):
        inside = strata == h
        t = scores[inside]
        n_h = t.shape[0]
        if n_h < 2:
            raise ValueError(f"stratum {int(h)} has a single cluster: its variance is undefined")
        centred = t - t.mean(axis=0)
        var += (1.0 - float(fpc[inside][0])) * n_h / (n_h - 1) * centred.T @ centred
    return var


def rao_scott_test(
    cluster_tables: npt.ArrayLike,
    n: int,
    *,
    strata: npt.ArrayLike | None = None,
    sampling_fraction: npt.ArrayLike | None = None,
) -> RaoScottTest:
    """Rao–Scott second-order F test from each cluster's weighted r×c table (shape G×r×c).

    ``cluster_tables[g, i, j]`` is the sum of weights of cluster g's respondents in row i and
    column j; ``n`` is the number of respondents in the table (the Pearson X² is scaled to it).
    ``strata`` gives each cluster's stratum (one stratum when None); ``sampling_fraction`` each
    cluster's first-stage sampling fraction f (its stratum's; the variance is multiplied by
    1 − f). Rows and columns with zero weight are dropped; a table left with fewer than two rows
    or columns, or a design with fewer clusters than strata + 1, is not testable (NaN).
    """
    tables = np.asarray(cluster_tables, dtype=np.float64)
    if tables.ndim != 3:
        raise ValueError(f"cluster_tables must have shape (clusters, rows, columns), got {tables.shape}")
    if not np.isfinite(tables).all() or (tables < 0).any():
        raise ValueError("cluster tables must hold finite, non-negative sums of weights")
    g = tables.shape[0]
    strata_codes = (
        np.zeros(g, dtype=np.int64)
        if strata is None
        else np.unique(np.asarray(strata), return_inverse=True)[1].astype(np.int64)
    )
    fraction = (
        np.zeros(g) if sampling_fraction is None else np.asarray(sampling_fraction, dtype=np.float64)
    )
    if strata_codes.shape != (g,) or fraction.shape != (g,):
        raise ValueError("strata and sampling_fraction need one value per cluster")
    if ((fraction < 0) | (fraction >= 1)).any():
        raise ValueError("sampling fractions must lie in [0, 1)")
    total = tables.sum(axis=0)
    tables = tables[:, total.sum(axis=1) > 0][:, :, total.sum(axis=0) > 0]
    _, r, c = tables.shape
    nu = g - int(np.unique(strata_codes).size)
    if r < 2 or c < 2 or nu < 1 or n < 1:
        return UNTESTABLE
    weight = tables.sum()
    p = tables.sum(axis=0).ravel() / weight  # cell proportions, row-major (i, j)
    rows, cols = p.reshape(r, c).sum(axis=1), p.reshape(r, c).sum(axis=0)
    expected = np.outer(rows, cols).ravel()
    pearson = float(n * ((p - expected) ** 2 / expected).sum())
    # One BLAS thread: the products then sum in one order whatever the machine's core count (the
    # published digits were machine-dependent), and they no longer fight polars for the cores
    # (a variance product took 270 ms instead of 3 ms on two busy cores).
    single_threaded_blas()
    return _second_order(tables, n, pearson, p, strata_codes, fraction, nu)


def _second_order(
    tables: npt.NDArray[np.float64],
    n: int,
    pearson: float,
    p: npt.NDArray[np.float64],
    strata_codes: npt.NDArray[np.int64],
    fraction: npt.NDArray[np.float64],
    nu: int,
) -> RaoScottTest:
    """The design-effect matrix Δ of the interaction contrasts, and the F test it gives."""
    g, r, c = tables.shape
    weight = tables.sum()
    # Linearised scores of the cell proportions, totalled per cluster: (S_g − p W_g) / W.
    per_cluster = tables.reshape(g, r * c)
    scores = (per_cluster - np.outer(per_cluster.sum(axis=1), p)) / weight
    v = _cluster_variance(scores, strata_codes, fraction)
    # Interaction contrasts orthogonal to the main effects (intercept, rows, columns).
    ri, ci = np.divmod(np.arange(r * c), c)
    main = np.column_stack(
        [np.ones(r * c)]
        + [(ri == i).astype(float) for i in range(1, r)]
        + [(ci == j).astype(float) for j in range(1, c)]
    )
    inter = np.column_stack(
        [((ri == i) & (ci == j)).astype(float) for i in range(1, r) for j in range(1, c)]
    )
    contrasts = inter - main @ np.linalg.lstsq(main, inter, rcond=None)[0]
    inv_p = np.divide(1.0, p, out=np.zeros_like(p), where=p > 0)
    scaled = contrasts * inv_p[:, None]  # D⁻¹ C
    dof = (r - 1) * (c - 1)
    untestable = RaoScottTest(pearson, NAN, NAN, NAN, NAN, 0.0, NAN, NAN, g)
    try:
        delta = np.linalg.solve(contrasts.T @ scaled / n, scaled.T @ v @ scaled)
    except np.linalg.LinAlgError:
        # Empty cells enter D⁻¹ as 0 (as R's svychisq does); enough of them make the system singular.
        return untestable
    trace = float(np.trace(delta))
    squares = float(np.trace(delta @ delta))
    # Δ's eigenvalues are real and non-negative in exact arithmetic; a national table with many
    # empty cells can round to a non-positive tr(Δ²), whose "degrees of freedom" would be negative.
    if not (trace > 0 and squares > 0 and np.isfinite(squares)):
        return untestable
    d = trace**2 / squares
    f_stat = pearson / trace
    mean_deff = trace / dof
    first = pearson / mean_deff
    return RaoScottTest(
        pearson=pearson,
        statistic=f_stat,
        df_num=d,
        df_den=d * nu,
        p_value=float(stats.f.sf(f_stat, d, d * nu)),
        mean_deff=mean_deff,
        first_order=first,
        first_order_p_value=float(stats.chi2.sf(first, dof)),
        clusters=g,
    )


def bh_q_values(p_values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p-values (q-values) of one family; NaN p-values stay NaN.

    The family is the p-values that are not NaN: q_(i) = min over j ≥ i of m·p_(j)/j, capped
    at 1, with m the number of tests in the family.
    """
    p = np.asarray(p_values, dtype=np.float64).ravel()
    q = np.full(p.shape, NAN)
    valid = np.flatnonzero(~np.isnan(p))
    if valid.size == 0:
        return q
    if ((p[valid] < 0) | (p[valid] > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    order = valid[np.argsort(p[valid], kind="stable")]
    m = order.size
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q


def monte_carlo_se(p_value: float, resamples: int) -> float:
    """Monte-Carlo standard error of a resampled p-value, sqrt(p(1 − p)/B)."""
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if math.isnan(p_value):
        return NAN
    if not 0.0 <= p_value <= 1.0:
        raise ValueError(f"p-value must lie in [0, 1], got {p_value}")
    return math.sqrt(p_value * (1.0 - p_value) / resamples)


@dataclass(frozen=True)
class WeightDiagnostics:
    """How unequal a set of weights is, and what it costs in precision."""

    n: int
    total: float
    minimum: float
    maximum: float
    ratio: float  # max / min
    mean: float
    cv: float  # population SD / mean
    design_effect: float  # Kish: n Σw² / (Σw)² = 1 + cv²
    effective_n: float  # Kish: (Σw)² / Σw²


def weight_diagnostics(weights: npt.ArrayLike) -> WeightDiagnostics:
    """Range, coefficient of variation and Kish's design effect and effective n of weights."""
    w = np.asarray(weights, dtype=np.float64).ravel()
    if not np.isfinite(w).all() or (w <= 0).any():
        raise ValueError("weights must be finite and positive")
    if w.size == 0:
        return WeightDiagnostics(0, 0.0, NAN, NAN, NAN, NAN, NAN, NAN, 0.0)
    total, squares = float(w.sum()), float(np.dot(w, w))
    mean = total / w.size
    return WeightDiagnostics(
        n=int(w.size),
        total=total,
        minimum=float(w.min()),
        maximum=float(w.max()),
        ratio=float(w.max() / w.min()),
        mean=mean,
        cv=float(w.std() / mean),
        design_effect=w.size * squares / total**2,
        effective_n=total**2 / squares,
    )
