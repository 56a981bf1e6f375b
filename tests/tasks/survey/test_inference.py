"""Tests for tasks.survey.inference against statsmodels, scipy and published figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from tasks.survey.inference import (
    bh_q_values,
    monte_carlo_se,
    rao_scott_test,
    weight_diagnostics,
)

ATOL = 1e-9


def _clustered_sample(
    seed: int, r: int, c: int, clusters: int = 12
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Respondents with a row, a column, a weight and a cluster; the answers cluster by site."""
    rng = np.random.default_rng(seed)
    size = rng.integers(4, 15, clusters)
    cluster = np.repeat(np.arange(clusters), size)
    shift = rng.normal(0, 0.8, (clusters, c))[cluster]
    row = rng.integers(0, r, cluster.size)
    col = np.argmax(rng.gumbel(size=(cluster.size, c)) + shift + 0.3 * row[:, None], axis=1)
    weight = rng.uniform(0.4, 2.5, cluster.size)
    return row, col, weight, cluster


def _tables(row, col, weight, cluster, r, c) -> np.ndarray:
    out = np.zeros((cluster.max() + 1, r, c))
    np.add.at(out, (cluster, row, col), weight)
    return out


def _cluster_variance_sm(u: np.ndarray, weight: np.ndarray, cluster: np.ndarray) -> float:
    """Variance of the weighted mean of u, clusters with replacement (statsmodels, G/(G−1))."""
    fit = sm.WLS(u, np.ones((u.size, 1)), weights=weight).fit(
        cov_type="cluster", cov_kwds={"groups": cluster, "use_correction": False}
    )
    g = np.unique(cluster).size
    return float(fit.cov_params()[0, 0]) * g / (g - 1)


def _reference_delta(row, col, weight, cluster, r, c) -> tuple[float, np.ndarray]:
    """Pearson X² (scipy) and Δ built from statsmodels' cluster-robust variances.

    The interaction contrasts' linearised values u_i = Cᵀ D⁻¹ y_i; their covariance comes from
    statsmodels one variance at a time (covariances by polarisation), independently of the code
    under test.
    """
    n = row.size
    cells = row * c + col
    y = np.eye(r * c)[cells]
    p = (weight[:, None] * y).sum(axis=0) / weight.sum()
    table = p.reshape(r, c) * n
    pearson = stats.chi2_contingency(table, correction=False).statistic
    ri, ci = np.divmod(np.arange(r * c), c)
    # Effects coding of the interaction: orthogonal to intercept, rows and columns.
    row_eff = np.column_stack([(ri == i) - 1.0 / r for i in range(1, r)])
    col_eff = np.column_stack([(ci == j) - 1.0 / c for j in range(1, c)])
    contrasts = np.column_stack(
        [row_eff[:, i] * col_eff[:, j] for i in range(r - 1) for j in range(c - 1)]
    )
    u = y @ (contrasts / p[:, None])
    k = contrasts.shape[1]
    var = np.zeros((k, k))
    for a in range(k):
        var[a, a] = _cluster_variance_sm(u[:, a], weight, cluster)
    for a in range(k):
        for b in range(a + 1, k):
            both = _cluster_variance_sm(u[:, a] + u[:, b], weight, cluster)
            var[a, b] = var[b, a] = (both - var[a, a] - var[b, b]) / 2
    srs = contrasts.T @ (contrasts / p[:, None]) / n
    return pearson, np.linalg.solve(srs, var)


@pytest.mark.parametrize(("seed", "r", "c"), [(0, 2, 2), (1, 2, 3), (2, 3, 4), (3, 4, 2)])
def test_rao_scott_matches_statsmodels_cluster_variance(seed: int, r: int, c: int) -> None:
    row, col, weight, cluster = _clustered_sample(seed, r, c)
    res = rao_scott_test(_tables(row, col, weight, cluster, r, c), row.size)
    pearson, delta = _reference_delta(row, col, weight, cluster, r, c)
    trace = np.trace(delta)
    d = trace**2 / np.trace(delta @ delta)
    g = np.unique(cluster).size
    assert res.pearson == pytest.approx(pearson, abs=ATOL)
    assert res.statistic == pytest.approx(pearson / trace, abs=ATOL)
    assert res.df_num == pytest.approx(d, abs=ATOL)
    assert res.df_den == pytest.approx(d * (g - 1), abs=ATOL)
    assert res.p_value == pytest.approx(stats.f.sf(pearson / trace, d, d * (g - 1)), abs=ATOL)
    dof = (r - 1) * (c - 1)
    assert res.mean_deff == pytest.approx(trace / dof, abs=ATOL)
    assert res.first_order_p_value == pytest.approx(
        stats.chi2.sf(pearson * dof / trace, dof), abs=ATOL
    )
    assert res.clusters == g


def test_rao_scott_one_respondent_per_cluster_is_pearson_scaled() -> None:
    # Equal weights, every respondent its own cluster: V = (D − ppᵀ)/(n − 1), so Δ = n/(n−1)·I
    # and F = X²·(n−1)/(n·dof) on (dof, dof·(n−1)) degrees of freedom.
    table = np.array([[14, 9, 22], [30, 11, 8]])
    row, col = np.nonzero(table)
    counts = table[row, col]
    row, col = np.repeat(row, counts), np.repeat(col, counts)
    n = row.size
    res = rao_scott_test(_tables(row, col, np.ones(n), np.arange(n), 2, 3), n)
    chi2 = stats.chi2_contingency(table, correction=False).statistic
    assert res.pearson == pytest.approx(chi2, abs=ATOL)
    assert res.statistic == pytest.approx(chi2 * (n - 1) / (n * 2), abs=ATOL)
    assert res.df_num == pytest.approx(2.0, abs=ATOL)
    assert res.df_den == pytest.approx(2.0 * (n - 1), abs=ATOL)
    assert res.mean_deff == pytest.approx(n / (n - 1), abs=ATOL)


def test_rao_scott_finite_population_correction_scales_the_design_effect() -> None:
    row, col, weight, cluster = _clustered_sample(5, 2, 3)
    tables = _tables(row, col, weight, cluster, 2, 3)
    full = rao_scott_test(tables, row.size)
    half = rao_scott_test(tables, row.size, sampling_fraction=np.full(tables.shape[0], 0.5))
    # (1 − f) multiplies V, so Δ halves: F doubles and d is unchanged.
    assert half.statistic == pytest.approx(2 * full.statistic, abs=ATOL)
    assert half.df_num == pytest.approx(full.df_num, abs=ATOL)
    assert half.mean_deff == pytest.approx(full.mean_deff / 2, abs=ATOL)


def test_rao_scott_one_stratum_is_the_unstratified_design() -> None:
    row, col, weight, cluster = _clustered_sample(7, 3, 2, clusters=16)
    tables = _tables(row, col, weight, cluster, 3, 2)
    plain = rao_scott_test(tables, row.size)
    one = rao_scott_test(tables, row.size, strata=np.zeros(16))
    assert one.statistic == pytest.approx(plain.statistic, abs=ATOL)
    eight = rao_scott_test(tables, row.size, strata=np.repeat(np.arange(8), 2))
    assert eight.df_den == pytest.approx(eight.df_num * (16 - 8), abs=ATOL)


def test_rao_scott_drops_empty_rows_and_is_untestable_when_too_small() -> None:
    row, col, weight, cluster = _clustered_sample(3, 2, 3)
    tables = _tables(row, col, weight, cluster, 2, 3)
    padded = np.concatenate([tables, np.zeros((tables.shape[0], 1, 3))], axis=1)
    a, b = rao_scott_test(tables, row.size), rao_scott_test(padded, row.size)
    assert b.statistic == pytest.approx(a.statistic, abs=ATOL)
    one_cluster = rao_scott_test(tables[:1], 10)
    assert math.isnan(one_cluster.statistic) and math.isnan(one_cluster.p_value)
    one_row = rao_scott_test(tables[:, :1, :], row.size)
    assert math.isnan(one_row.p_value)
    with pytest.raises(ValueError, match="single cluster"):
        rao_scott_test(tables[:3], row.size, strata=[0, 0, 1])
    with pytest.raises(ValueError, match="non-negative"):
        rao_scott_test(-tables, row.size)


# Race × diabetes in samplics' bundled NHANES II extract (public-domain US NCHS data; 10,335
# respondents with diabetes recorded, 31 strata of 2 PSUs, weight finalwgt), summed per PSU and
# cell into tests/fixtures/nhanes2_race_diabetes_psu.csv. samplics 0.6.1's CrossTabulation
# reports Pearson-Unadj chisq_value = 21.266058255776127 on it (recorded under polars 1.x:
# samplics 0.6.1 cannot run beside this project's polars 2, where its tabulate fails on
# DataFrame(None), and it is archived). Its Pearson-Adj F is 0 for every non-singular table
# (Δ is overwritten by zeros in the `else:` of its try block), so it gives no corrected
# reference. Stata's manual ([SVY] svy: tabulate twoway, race × diabetes on NHANES II) reports
# the second-order design-based F on (1.52, 47.26) degrees of freedom, to two decimals.
SAMPLICS_NHANES_PEARSON = 21.266058255776127
NHANES = Path(__file__).parents[2] / "fixtures" / "nhanes2_race_diabetes_psu.csv"


def test_rao_scott_on_nhanes_matches_samplics_and_stata_degrees_of_freedom() -> None:
    frame = pl.read_csv(NHANES)
    psus = frame.select("stratid", "psuid").unique().sort("stratid", "psuid")
    index = {key: i for i, key in enumerate(psus.iter_rows())}
    tables = np.zeros((psus.height, 3, 2))
    for stratum, psu, race, diabetes, weight, _ in frame.iter_rows():
        tables[index[(stratum, psu)], race - 1, diabetes] += weight
    res = rao_scott_test(tables, int(frame["n"].sum()), strata=psus["stratid"].to_numpy())
    assert res.pearson == pytest.approx(SAMPLICS_NHANES_PEARSON, abs=ATOL)
    assert (round(res.df_num, 2), round(res.df_den, 2)) == (1.52, 47.26)
    assert res.clusters == 62


# --- Benjamini–Hochberg ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_bh_q_values_match_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 1, 30), rng.uniform(0, 0.01, 8), [0.0, 1.0, 0.02, 0.02]])
    rng.shuffle(p)
    ref = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(bh_q_values(p), ref, rtol=0, atol=ATOL)


def test_bh_q_values_leave_missing_p_values_out_of_the_family() -> None:
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan])
    q = bh_q_values(p)
    ref = multipletests(p[[0, 2, 3]], method="fdr_bh")[1]
    np.testing.assert_allclose(q[[0, 2, 3]], ref, rtol=0, atol=ATOL)
    assert np.isnan(q[[1, 4]]).all()
    assert np.isnan(bh_q_values([np.nan])).all()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bh_q_values([0.2, 1.5])


# --- Monte-Carlo error and weights -------------------------------------------------------------


def test_monte_carlo_se() -> None:
    assert monte_carlo_se(0.05, 9999) == pytest.approx(math.sqrt(0.05 * 0.95 / 9999), abs=ATOL)
    assert monte_carlo_se(0.0, 100) == 0.0
    assert math.isnan(monte_carlo_se(float("nan"), 100))
    with pytest.raises(ValueError, match="resamples"):
        monte_carlo_se(0.5, 0)


def test_weight_diagnostics() -> None:
    w = np.array([0.5, 1.0, 1.0, 2.0, 3.5])
    diag = weight_diagnostics(w)
    assert (diag.n, diag.minimum, diag.maximum) == (5, 0.5, 3.5)
    assert diag.ratio == pytest.approx(7.0, abs=ATOL)
    assert diag.mean == pytest.approx(1.6, abs=ATOL)
    assert diag.cv == pytest.approx(np.std(w) / 1.6, abs=ATOL)
    assert diag.design_effect == pytest.approx(5 * (w**2).sum() / w.sum() ** 2, abs=ATOL)
    assert diag.design_effect == pytest.approx(1 + diag.cv**2, abs=ATOL)
    assert diag.effective_n == pytest.approx(w.sum() ** 2 / (w**2).sum(), abs=ATOL)
    with pytest.raises(ValueError, match="positive"):
        weight_diagnostics([1.0, 0.0])


# The one-stage cluster sample of California schools (15 school districts of 757) that R's survey
# package ships as `apiclus1` (data(api)); the columns its documented example uses. The survey
# package's worked example, svychisq(~sch.wide + stype, dclus1) with
# dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc), prints
#   svytable: No  E 406.1640, H 101.5410, M 270.7760; Yes E 4467.8035, H 372.3170, M 575.3989
#   F = 5.1934, ndf = 1.495, ddf = 20.925, p-value = 0.02175          (second order, the default)
#   X-squared = 11.9409, df = 2, p-value = 0.005553                   (statistic = "Chisq")
APICLUS1 = Path(__file__).parents[2] / "fixtures" / "apiclus1_sch_wide.csv"


def test_rao_scott_reproduces_the_survey_package_worked_example() -> None:
    schools = pl.read_csv(APICLUS1)
    districts = sorted(schools.get_column("dnum").unique().to_list())
    rows, columns = ["No", "Yes"], ["E", "H", "M"]
    tables = np.zeros((len(districts), len(rows), len(columns)))
    for school in schools.iter_rows(named=True):
        at = (districts.index(school["dnum"]), rows.index(school["sch.wide"]), columns.index(school["stype"]))
        tables[at] += school["pw"]
    assert np.round(tables.sum(axis=0), 4).tolist() == [
        [406.1640, 101.5410, 270.7760], [4467.8035, 372.3170, 575.3989]
    ]
    # Sampling fraction 15 of 757 districts (the design's fpc).
    fraction = np.full(len(districts), len(districts) / schools.get_column("fpc")[0])
    test = rao_scott_test(tables, schools.height, sampling_fraction=fraction)
    assert round(test.statistic, 4) == 5.1934
    assert round(test.df_num, 3) == 1.495
    assert round(test.df_den, 3) == 20.925
    assert round(test.p_value, 5) == 0.02175
    assert round(test.pearson, 4) == 11.9409
    # R prints the uncorrected X² with the first-order corrected p-value.
    assert round(test.first_order_p_value, 6) == 0.005553


@pytest.mark.parametrize(
    "delta",
    [
        None,  # the system is singular (many empty cells enter D⁻¹ as 0)
        np.array([[0.0, 1.0], [-1.0, 0.5]]),  # tr(Δ) = 0.5 but tr(Δ²) = −1.75: negative "df"
    ],
)
def test_rao_scott_is_untestable_when_the_design_effect_matrix_degenerates(
    monkeypatch: pytest.MonkeyPatch, delta: np.ndarray | None
) -> None:
    def degenerate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if delta is None:
            raise np.linalg.LinAlgError("Singular matrix")
        return delta

    tables = np.array([[[3.0, 1.0, 2.0], [1.0, 2.0, 2.0]], [[2.0, 2.0, 1.0], [2.0, 1.0, 3.0]],
                       [[1.0, 3.0, 2.0], [3.0, 2.0, 1.0]]])
    pearson = rao_scott_test(tables, 36).pearson
    monkeypatch.setattr(np.linalg, "solve", degenerate)
    result = rao_scott_test(tables, 36)
    assert result.pearson == pearson and result.clusters == 3
    assert np.isnan(result.statistic) and np.isnan(result.df_num) and np.isnan(result.p_value)
    assert result.mean_deff == 0.0
