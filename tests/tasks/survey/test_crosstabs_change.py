"""Association tests from the estimates' counts, and wave change, against scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from schemas.study_config import Variable
from schemas.survey import Associations, Change
from tasks.survey.change import change_table
from tasks.survey.crosstabs import _design_test, _positions, association_table, site_sums
from tasks.survey.estimates import estimate_table, group_mapping
from tasks.survey.inference import rao_scott_test
from tasks.survey.stats import FISHER_RESAMPLES, two_proportion_test
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


# --- design-based tests, key codes and q-values ------------------------------------------------


def _design_inputs(seed: int = 3) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, Variable]]:
    """Answers to a single-choice and a multiple-choice item by respondents at 9 sites."""
    rng = np.random.default_rng(seed)
    n = 160
    site = rng.integers(0, 9, n)
    role = np.where(rng.uniform(size=n) < 0.3 + 0.05 * site, "gp", "manager")
    respondents = pl.DataFrame({
        "respondent_id": [f"R{i:012x}" for i in range(n)],
        "site_id": [f"S{s}" for s in site],
        "role": role,
        "weight": rng.uniform(0.5, 2.0, n),
    })
    rows = []
    for i in range(n):
        rid = respondents["respondent_id"][i]
        rows.append((rid, "v", "single_choice", str(int(rng.integers(1, 4))), False))
        chosen = [c for c in ("a", "b") if rng.uniform() < (0.6 if role[i] == "gp" else 0.35)]
        rows += [(rid, "m", "multiple_choice", c, False) for c in chosen]
    answers = pl.DataFrame(rows, schema=["respondent_id", "variable", "type", "code", "missing"],
                           orient="row")
    variables = {
        "v": Variable(type="single_choice", question="?", column="Q1", waves=["w1"],
                      labels={"1": "one", "2": "two", "3": "three"}, key_codes=["1", "2"]),
        "m": Variable(type="multiple_choice", question="?", column="Q2_{code}", waves=["w1"],
                      labels={"a": "A", "b": "B"}, key_codes=["a", "b"]),
    }
    mapping = group_mapping(
        respondents.with_columns(pl.col("role").alias("role_group")),
        pl.DataFrame({"site_id": [f"S{s}" for s in range(9)]}),
        ["role"],
    )
    return answers, respondents, mapping, variables


def _manual_tables(answers, respondents, variable, chosen_codes) -> tuple[np.ndarray, int]:
    """site × role × (chosen any of the codes, not) weighted tables among those answering."""
    ans = answers.filter(pl.col("variable") == variable)
    units = respondents.filter(pl.col("respondent_id").is_in(ans["respondent_id"].unique().implode()))
    picked = set(ans.filter(pl.col("code").is_in(chosen_codes))["respondent_id"].to_list())
    sites = sorted(units["site_id"].unique().to_list())
    roles = sorted(units["role"].unique().to_list())
    tables = np.zeros((len(sites), len(roles), 2))
    for rid, s, r, w in units.select("respondent_id", "site_id", "role", "weight").iter_rows():
        tables[sites.index(s), roles.index(r), 0 if rid in picked else 1] += w
    return tables, units.height


def test_associations_carry_rao_scott_key_codes_and_q_values() -> None:
    answers, respondents, mapping, variables = _design_inputs()
    estimates = estimate_table(answers, respondents, mapping, variables, ["role"], "w1")
    sums = site_sums(answers, respondents, mapping, variables)
    out = association_table(estimates, "w1", sums)
    Associations.validate(out, lazy=True)
    # One single-choice test, two multiple-choice codes and one key-code test per variable.
    keyed = out.select("variable", "kind", "code").rows()
    assert sorted(keyed, key=str) == sorted(
        [("v", "code", None), ("v", "key", "1,2"), ("m", "code", "a"), ("m", "code", "b"),
         ("m", "key", "a,b")], key=str,
    )
    # Key codes: role × (chose 1 or 2, did not), classic and design-based.
    key = out.filter((pl.col("variable") == "v") & (pl.col("kind") == "key")).row(0, named=True)
    tables, n = _manual_tables(answers, respondents, "v", ["1", "2"])
    counts = np.zeros((2, 2))
    ans = answers.filter(pl.col("variable") == "v")
    picked = set(ans.filter(pl.col("code").is_in(["1", "2"]))["respondent_id"].to_list())
    for rid, r in respondents.select("respondent_id", "role").iter_rows():
        counts[["gp", "manager"].index(r), 0 if rid in picked else 1] += 1
    ref = stats.chi2_contingency(counts, correction=False)
    assert key["statistic"] == pytest.approx(ref.statistic, abs=ATOL)
    rs = rao_scott_test(tables, n)
    assert key["rs_f"] == pytest.approx(rs.statistic, abs=ATOL)
    assert key["rs_p_value"] == pytest.approx(rs.p_value, abs=ATOL)
    assert key["rs_df_den"] == pytest.approx(rs.df_num * 8, abs=ATOL) and key["n_clusters"] == 9
    # A multiple-choice code: the same two-column table for that code alone.
    code_a = out.filter((pl.col("variable") == "m") & (pl.col("code") == "a")).row(0, named=True)
    tables, n = _manual_tables(answers, respondents, "m", ["a"])
    assert code_a["rs_f"] == pytest.approx(rao_scott_test(tables, n).statistic, abs=ATOL)
    # q-values: Benjamini–Hochberg over the table's tests, classic and design-based apart.
    # (Every respondent answering "m" chose a or b, so its key-code table has one column and is
    # not testable: that test stays out of the family.)
    assert out.filter(pl.col("p_value").is_null()).select("variable", "kind").rows() == [("m", "key")]
    for p_col, q_col in (("p_value", "q_value"), ("rs_p_value", "rs_q_value")):
        tested = out.filter(pl.col(p_col).is_not_null())
        assert tested.height == 4
        np.testing.assert_allclose(
            tested[q_col].to_numpy(), multipletests(tested[p_col].to_numpy(), method="fdr_bh")[1],
            rtol=0, atol=ATOL,
        )


def test_monte_carlo_fisher_rows_carry_their_error() -> None:
    rows = [
        ("v", "single_choice", str(c), "role", g, 9, k)
        for g, ks in (("a", (1, 2, 6)), ("b", (5, 3, 1)))
        for c, k in enumerate(ks)
    ]
    out = association_table(_estimates(rows), "w1")
    row = out.row(0, named=True)
    assert row["method"] == "fisher_monte_carlo"
    assert row["monte_carlo_se"] == pytest.approx(
        math.sqrt(row["p_value"] * (1 - row["p_value"]) / FISHER_RESAMPLES), abs=ATOL
    )
    assert row["rs_f"] is None and row["n_clusters"] == 0


def test_change_q_values_are_benjamini_hochberg_over_the_table() -> None:
    counts1, counts2 = (120, 60, 20), (90, 80, 30)
    w1 = _estimates([("v", "single_choice", str(c), "all", "all", 200, k) for c, k in enumerate(counts1)])
    w2 = _estimates(
        [("v", "single_choice", str(c), "all", "all", 200, k) for c, k in enumerate(counts2)], "w2"
    )
    out = change_table(w1, w2, wave="w2", previous_wave="w1")
    Change.validate(out, lazy=True)
    tested = out.select(pl.coalesce("weighted_p_value", "p_value")).to_series().to_numpy()
    np.testing.assert_allclose(
        out["q_value"].to_numpy(), multipletests(tested, method="fdr_bh")[1], rtol=0, atol=ATOL
    )
    assert out["q_value"].to_list() != out["weighted_p_value"].to_list()


def test_t_intervals_on_sites_minus_one_and_finite_population_correction() -> None:
    answers, respondents, mapping, variables = _design_inputs()
    args = (answers, respondents, mapping, variables, ["role"], "w1", 0.95)
    plain = estimate_table(*args)
    t = estimate_table(*args, t_intervals=True)
    fpc = estimate_table(*args, population_sites=30)
    g = 9  # every site answers both items
    inside = (pl.col("weighted_lower") > 0) & (pl.col("weighted_upper") < 1)
    rows = t.filter(inside & pl.col("weighted_se").is_not_null())
    assert rows.height > 5
    half = ((rows["weighted_upper"] - rows["weighted_lower"]) / (2 * rows["weighted_se"])).to_numpy()
    np.testing.assert_allclose(half, stats.t.isf(0.025, g - 1), rtol=0, atol=ATOL)
    np.testing.assert_allclose(t["weighted_se"].to_numpy(), plain["weighted_se"].to_numpy(), atol=ATOL)
    np.testing.assert_allclose(
        fpc["weighted_se"].to_numpy(),
        plain["weighted_se"].to_numpy() * math.sqrt(1 - g / 30), rtol=0, atol=ATOL,
    )
    # The design-based test takes the same correction: Δ scales by 1 - g/N, F by its inverse.
    sums = site_sums(answers, respondents, mapping, variables)
    a = association_table(plain, "w1", sums).filter(pl.col("rs_f").is_not_null())
    b = association_table(fpc, "w1", sums, population_sites=30).filter(pl.col("rs_f").is_not_null())
    np.testing.assert_allclose(
        b["rs_f"].to_numpy(), a["rs_f"].to_numpy() / (1 - g / 30), rtol=1e-12, atol=ATOL
    )


def _wave_frames(choices: dict[str, str | None], prefix: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """member → code chosen (None: item missing) as one wave's answers and respondents."""
    ids = {m: f"R{prefix}{i:011x}" for i, m in enumerate(choices)}
    respondents = pl.DataFrame(
        {"respondent_id": list(ids.values()), "member_id": [m or None for m in choices]}
    )
    answers = pl.DataFrame(
        [(ids[m], "v", "single_choice", c, c is None) for m, c in choices.items()],
        schema=["respondent_id", "variable", "type", "code", "missing"], orient="row",
    )
    return answers, respondents


def test_change_uses_the_panel_overlap_matched_by_pseudonym() -> None:
    from statsmodels.stats.contingency_tables import mcnemar

    from tasks.survey.change import panel_counts

    rng = np.random.default_rng(11)
    panel = [f"P{i:012x}" for i in range(40)]
    first = {m: str(int(rng.integers(1, 3))) for m in panel}
    second = {m: (c if rng.uniform() < 0.7 else str(3 - int(c))) for m, c in first.items()}
    first |= {f"P{i:012x}": str(int(rng.integers(1, 3))) for i in range(100, 130)}
    second |= {f"P{i:012x}": str(int(rng.integers(1, 3))) for i in range(200, 250)}
    second[panel[0]] = None  # answered wave 1 only: not in the overlap
    a1, r1 = _wave_frames(first, "1")
    a2, r2 = _wave_frames(second, "2")
    variables = {"v": Variable(type="single_choice", question="?", column="Q1", waves=["w1", "w2"],
                               labels={"1": "yes", "2": "no"}, key_codes=["1"])}
    counts = panel_counts(a1, r1, a2, r2, variables)

    def est(answers: pl.DataFrame, wave: str) -> pl.DataFrame:
        given = answers.filter(~pl.col("missing"))
        return _estimates(
            [("v", "single_choice", c, "all", "all", given.height, int((given["code"] == c).sum()))
             for c in ("1", "2")], wave,
        )

    out = change_table(est(a1, "w1"), est(a2, "w2"), wave="w2", previous_wave="w1", panel=counts)
    Change.validate(out, lazy=True)
    row = out.filter(pl.col("code") == "1").row(0, named=True)
    both = [m for m in panel[1:]]
    y1 = np.array([first[m] == "1" for m in both], dtype=float)
    y2 = np.array([second[m] == "1" for m in both], dtype=float)
    m = len(both)
    assert row["panel_n"] == m == 39
    assert row["panel_difference"] == pytest.approx(y2.mean() - y1.mean(), abs=ATOL)
    table = [[int(((y1 == 1) & (y2 == 1)).sum()), int(((y1 == 1) & (y2 == 0)).sum())],
             [int(((y1 == 0) & (y2 == 1)).sum()), int(((y1 == 0) & (y2 == 0)).sum())]]
    ref = mcnemar(table, exact=False, correction=False)
    assert row["panel_statistic"] == pytest.approx(ref.statistic, abs=ATOL)
    assert row["panel_p_value"] == pytest.approx(ref.pvalue, abs=ATOL)
    n1, n2, p1, p2 = row["n1"], row["n2"], row["proportion1"], row["proportion2"]
    s12 = np.cov(y1, y2, bias=True)[0, 1]
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2 - 2 * m * s12 / (n1 * n2))
    assert row["overlap_se"] == pytest.approx(se, abs=ATOL)
    assert row["overlap_p_value"] == pytest.approx(2 * stats.norm.sf(abs(p2 - p1) / se), abs=ATOL)
    # The key code (here code 1 alone) has its own panel row; without a panel the columns are null.
    key = counts.filter(pl.col("kind") == "key").row(0, named=True)
    assert (key["code"], key["m"]) == ("1", 39)
    plain = change_table(est(a1, "w1"), est(a2, "w2"), wave="w2", previous_wave="w1")
    assert plain["panel_n"].to_list() == [0, 0] and plain["overlap_se"].null_count() == 2


def test_design_test_fills_the_cluster_tables_as_a_row_by_row_loop_does() -> None:
    # Texts that sort differently from their arrival order, and one (site, group, column)
    # listed twice: its weights add up in row order.
    sums = pl.DataFrame(
        {
            "site_id": ["S2", "S10", "S1", "S2", "S10", "S1", "S2", "S2", "S10", "S1"],
            "group": ["gp", "gp", "Manager", "Manager", "gp", "gp", "gp", "Manager", "Manager", "Manager"],
            "column": ["yes", "no", "yes", "no", "yes", "no", "yes", "yes", "no", "no"],
            "W": [1.1, 0.7, 2.3, 0.4, 1.9, 0.6, 0.35, 1.2, 0.8, 1.05],
            "N": [2, 1, 3, 1, 2, 1, 1, 2, 1, 1],
        }
    )
    sites, groups, columns = (sorted(set(sums[c].to_list())) for c in ("site_id", "group", "column"))
    tables = np.zeros((len(sites), len(groups), len(columns)))
    for site, group, column, w in sums.select("site_id", "group", "column", "W").iter_rows():
        tables[sites.index(site), groups.index(group), columns.index(column)] += w
    expected = rao_scott_test(tables, 15, sampling_fraction=np.full(3, 3 / 40))
    assert _design_test(sums, 40) == expected
    assert _positions(sums["site_id"])[0] == ["S1", "S10", "S2"]
    assert _positions(sums["site_id"])[1].tolist() == [2, 1, 0, 2, 1, 0, 2, 2, 1, 0]
