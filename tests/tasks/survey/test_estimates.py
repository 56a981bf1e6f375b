"""Estimates: vectorised proportions and means against tests/reference_stats.py, scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint

from schemas.study_config import Variable
from schemas.survey import Estimates, Means
from tasks.survey.estimates import (
    ALL,
    breakdown_list,
    decode_keys,
    encode_keys,
    estimate_table,
    group_mapping,
    group_totals,
    mean_table,
    one_per_unit,
    ordered_dictionary,
    proportions,
    site_level_breakdowns,
    site_rollup,
)
from tests.reference_stats import likert_mean, weighted_proportion

ATOL = 1e-9
LIKERT = {str(s): f"level {s}" for s in range(1, 6)}


def _variables() -> dict[str, Variable]:
    return {
        "body": Variable(
            type="single_choice",
            question="Which body?",
            column="Q1",
            labels={"1": "Mine", "2": "National", "3": "Other", "4": "Nobody chose"},
            waves=["w1"],
            key_codes=["1"],
        ),
        "with": Variable(
            type="multiple_choice",
            question="With whom?",
            column="Q2_{code}",
            labels={"a": "A", "b": "B", "c": "C"},
            waves=["w1"],
            key_codes=["a", "b"],
        ),
        "score": Variable(
            type="likert", question="How much?", column="Q3", labels=LIKERT, waves=["w1"]
        ),
        "years": Variable(type="numeric", question="Years?", column="Q4", waves=["w1"]),
        "empty": Variable(
            type="single_choice",
            question="Nobody answered",
            column="Q5",
            labels={"1": "yes", "2": "no"},
            waves=["w1"],
        ),
    }


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    """Random respondents in 15 sites and 3 roles, with unequal weights, and their answers."""
    rng = np.random.default_rng(11)
    n = 240
    ids = [f"R{i:012x}" for i in range(n)]
    sites = pl.DataFrame(
        {
            "site_id": [f"S{i:02d}" for i in range(15)],
            "region": [("N", "M", "S")[i % 3] for i in range(15)],
        }
    )
    # "S14" has exactly one respondent: a group with a single cluster.
    site_of = np.where(np.arange(n) == 0, 14, rng.integers(0, 14, n))
    respondents = pl.DataFrame(
        {
            "respondent_id": ids,
            "site_id": [f"S{s:02d}" for s in site_of],
            "role": rng.choice(["gp", "manager", "lay"], n).tolist(),
            "weight": rng.uniform(0.4, 3.0, n),
        }
    ).with_columns(
        pl.col("role")
        .replace({"gp": "clinical", "manager": "admin", "lay": "admin"})
        .alias("role_group")
    )
    body = rng.choice(["1", "2", "3", None], n, p=[0.5, 0.3, 0.15, 0.05])
    body[0] = "1"
    rows = [
        {
            "respondent_id": r,
            "variable": "body",
            "type": "single_choice",
            "code": c,
            "value": None,
            "missing": c is None,
        }
        for r, c in zip(ids, body, strict=True)
    ]
    for r in ids:
        chosen = [c for c in "abc" if rng.random() < {"a": 0.5, "b": 0.3, "c": 0.2}[c]]
        rows += [
            {
                "respondent_id": r,
                "variable": "with",
                "type": "multiple_choice",
                "code": c,
                "value": None,
                "missing": False,
            }
            for c in chosen
        ] or [
            {
                "respondent_id": r,
                "variable": "with",
                "type": "multiple_choice",
                "code": None,
                "value": None,
                "missing": True,
            }
        ]
        s = rng.integers(0, 6)
        rows.append(
            {
                "respondent_id": r,
                "variable": "score",
                "type": "likert",
                "code": None if s == 0 else str(s),
                "value": None if s == 0 else float(s),
                "missing": s == 0,
            }
        )
        y = float(rng.integers(0, 20)) if rng.random() > 0.1 else None
        rows.append(
            {
                "respondent_id": r,
                "variable": "years",
                "type": "numeric",
                "code": None,
                "value": y,
                "missing": y is None,
            }
        )
        rows.append(
            {
                "respondent_id": r,
                "variable": "empty",
                "type": "single_choice",
                "code": None,
                "value": None,
                "missing": True,
            }
        )
    answers = pl.DataFrame(
        rows,
        schema={
            "respondent_id": pl.String,
            "variable": pl.String,
            "type": pl.String,
            "code": pl.String,
            "value": pl.Float64,
            "missing": pl.Boolean,
        },
    )
    return {"sites": sites, "respondents": respondents, "answers": answers}


@pytest.fixture(scope="module")
def tables(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Estimates and means of the random frames."""
    breakdowns = breakdown_list(["region", "role_group"])
    mapping = group_mapping(frames["respondents"], frames["sites"], breakdowns)
    args = (frames["answers"], frames["respondents"], mapping, _variables(), breakdowns, "w1")
    return {"estimates": estimate_table(*args), "means": mean_table(*args), "mapping": mapping}


def _units(frames: dict[str, pl.DataFrame], breakdown: str, group: str) -> pl.DataFrame:
    resp = frames["respondents"].join(frames["sites"], on="site_id")
    if breakdown == ALL:
        return resp
    return resp.filter(pl.col(breakdown) == group)


def _subpop_se(values: np.ndarray, w: np.ndarray, sites: list[str], design_sites: int) -> float:
    """Linearised SE of a weighted mean over a domain, every site of the design kept (G/(G-1))."""
    m = float((w * values).sum() / w.sum())
    totals: dict[str, float] = {}
    for site, contribution in zip(sites, w * (values - m), strict=True):
        totals[site] = totals.get(site, 0.0) + float(contribution)
    g = design_sites
    if g < 2:
        return math.nan
    return math.sqrt(g / (g - 1) * sum(t * t for t in totals.values())) / float(w.sum())


def _design_sites(frames: dict[str, pl.DataFrame], answered: pl.DataFrame) -> int:
    return frames["respondents"].join(answered.select("respondent_id").unique(), on="respondent_id")[
        "site_id"
    ].n_unique()


def test_tables_meet_their_contracts(tables: dict[str, pl.DataFrame]) -> None:
    Estimates.validate(tables["estimates"].with_columns(pl.lit("w1").alias("wave")), lazy=True)
    Means.validate(tables["means"], lazy=True)
    assert (
        tables["estimates"].select("breakdown").unique().height == 4
    )  # all, role, region, role_group


def test_weighted_and_wilson_match_direct_computation(
    frames: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]
) -> None:
    est = tables["estimates"].filter(pl.col("kind") == "code")
    answers = frames["answers"].filter(~pl.col("missing"))
    checked = 0
    for row in est.filter(pl.col("variable").is_in(["body", "with"])).iter_rows(named=True):
        group = _units(frames, row["breakdown"], row["group"])
        given = answers.filter(pl.col("variable") == row["variable"])
        units = group.join(given.select("respondent_id").unique(), on="respondent_id").sort(
            "respondent_id"
        )
        chosen = set(given.filter(pl.col("code") == row["code"])["respondent_id"].to_list())
        y = np.array([r in chosen for r in units["respondent_id"].to_list()], dtype=float)
        ref = weighted_proportion(y, units["weight"].to_numpy(), units["site_id"].to_list())
        assert row["n"] == units.height and row["count"] == int(y.sum())
        assert row["weighted_proportion"] == pytest.approx(ref.estimate, abs=ATOL)
        assert row["n_clusters"] == ref.n_clusters
        assert row["effective_n"] == pytest.approx(ref.effective_n, abs=ATOL)
        # Domain estimation keeps every site answering the variable in the design.
        se = _subpop_se(y, units["weight"].to_numpy(), units["site_id"].to_list(),
                        _design_sites(frames, given))
        if row["breakdown"] == ALL:
            assert se == pytest.approx(ref.se, abs=ATOL) or math.isnan(ref.se)
        p = ref.estimate
        z = 1.959963984540054
        srs = p * (1 - p) / units.height
        deff = se**2 / srs if srs > 0 and not math.isnan(se) else math.nan
        for mine, theirs in (
            ("weighted_se", se),
            ("weighted_lower", max(0.0, p - z * se)),
            ("weighted_upper", min(1.0, p + z * se)),
            ("design_effect", deff),
        ):
            if math.isnan(theirs):
                assert row[mine] is None, (mine, row)
            else:
                assert row[mine] == pytest.approx(theirs, abs=ATOL), (mine, row)
        low, high = proportion_confint(int(y.sum()), units.height, alpha=0.05, method="wilson")
        assert (row["lower"], row["upper"]) == pytest.approx((low, high), abs=ATOL)
        assert row["proportion"] == pytest.approx(y.mean(), abs=ATOL)
        checked += 1
    assert checked > 50


def test_key_rows_combine_the_key_codes(
    frames: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]
) -> None:
    row = (
        tables["estimates"]
        .filter(
            (pl.col("variable") == "with")
            & (pl.col("kind") == "key")
            & (pl.col("breakdown") == ALL)
        )
        .row(0, named=True)
    )
    assert row["code"] == "a,b" and row["label"] == "key: A / B"
    given = frames["answers"].filter((pl.col("variable") == "with") & ~pl.col("missing"))
    units = (
        frames["respondents"]
        .join(given.select("respondent_id").unique(), on="respondent_id")
        .sort("respondent_id")
    )
    hit = set(given.filter(pl.col("code").is_in(["a", "b"]))["respondent_id"].to_list())
    y = np.array([r in hit for r in units["respondent_id"].to_list()], dtype=float)
    ref = weighted_proportion(y, units["weight"].to_numpy(), units["site_id"].to_list())
    assert row["weighted_proportion"] == pytest.approx(ref.estimate, abs=ATOL)
    assert row["weighted_se"] == pytest.approx(ref.se, abs=ATOL)


def test_code_nobody_chose_is_zero_with_a_wilson_interval(tables: dict[str, pl.DataFrame]) -> None:
    row = (
        tables["estimates"]
        .filter(
            (pl.col("variable") == "body") & (pl.col("code") == "4") & (pl.col("breakdown") == ALL)
        )
        .row(0, named=True)
    )
    assert row["count"] == 0 and row["proportion"] == 0.0 and row["weighted_proportion"] == 0.0
    assert row["lower"] == 0.0
    assert row["upper"] == pytest.approx(
        proportion_confint(0, row["n"], method="wilson")[1], abs=ATOL
    )
    # Every respondent scored 0: no variation, so the design effect is undefined.
    assert row["weighted_se"] == 0.0 and row["design_effect"] is None


def test_single_respondent_group_has_no_design_based_se(
    tables: dict[str, pl.DataFrame], frames: dict[str, pl.DataFrame]
) -> None:
    mapping = group_mapping(
        frames["respondents"].filter(pl.col("site_id") == "S14"), frames["sites"], ["region"]
    )
    lone = estimate_table(
        frames["answers"],
        frames["respondents"].filter(pl.col("site_id") == "S14"),
        mapping,
        _variables(),
        ["region"],
        "w1",
    )
    row = lone.filter((pl.col("variable") == "body") & (pl.col("breakdown") == ALL)).row(
        0, named=True
    )
    assert (row["n"], row["count"], row["n_clusters"]) == (1, 1, 1)
    assert row["weighted_proportion"] == 1.0
    assert (
        row["weighted_se"] is None
        and row["weighted_lower"] is None
        and row["design_effect"] is None
    )
    # Wilson still gives an interval for one observation.
    assert (row["lower"], row["upper"]) == pytest.approx(
        proportion_confint(1, 1, method="wilson"), abs=ATOL
    )
    means = mean_table(
        frames["answers"],
        frames["respondents"].filter(pl.col("site_id") == "S14"),
        mapping,
        _variables(),
        ["region"],
        "w1",
    )
    assert (
        means.filter(pl.col("n") == 1)["sd"].null_count() == means.filter(pl.col("n") == 1).height
    )


def test_all_missing_item_is_published_with_n_zero(tables: dict[str, pl.DataFrame]) -> None:
    rows = tables["estimates"].filter(pl.col("variable") == "empty")
    assert rows["breakdown"].unique().to_list() == [ALL]
    assert rows["n"].to_list() == [0, 0] and rows["proportion"].null_count() == 2
    assert rows["lower"].null_count() == 2 and rows["weighted_proportion"].null_count() == 2


def test_estimates_follow_instrument_order(tables: dict[str, pl.DataFrame]) -> None:
    variables = tables["estimates"]["variable"].unique(maintain_order=True).to_list()
    assert variables == ["body", "with", "score", "empty"]
    codes = (
        tables["estimates"]
        .filter((pl.col("variable") == "body") & (pl.col("breakdown") == ALL))["code"]
        .to_list()
    )
    assert codes == ["1", "2", "3", "4", "1"]  # then the key row


@pytest.mark.parametrize("variable", ["score", "years"])
def test_means_match_likert_mean(
    frames: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame], variable: str
) -> None:
    rows = tables["means"].filter(pl.col("variable") == variable)
    assert rows.height > 5
    for row in rows.iter_rows(named=True):
        group = _units(frames, row["breakdown"], row["group"])
        vals = frames["answers"].filter(
            (pl.col("variable") == variable) & pl.col("value").is_not_null()
        )
        units = group.join(vals.select("respondent_id", "value"), on="respondent_id").sort(
            "respondent_id"
        )
        unweighted = likert_mean(units["value"].to_numpy())
        weighted = likert_mean(
            units["value"].to_numpy(), units["weight"].to_numpy(), units["site_id"].to_list()
        )
        assert row["n"] == units.height
        assert row["mean"] == pytest.approx(unweighted.estimate, abs=ATOL)
        assert row["sd"] == pytest.approx(
            float(np.std(units["value"].to_numpy(), ddof=1)), abs=ATOL
        )
        assert (row["lower"], row["upper"]) == pytest.approx(
            (unweighted.lower, unweighted.upper), abs=ATOL
        )
        assert row["weighted_mean"] == pytest.approx(weighted.estimate, abs=ATOL)
        se = _subpop_se(units["value"].to_numpy(), units["weight"].to_numpy(),
                        units["site_id"].to_list(), _design_sites(frames, vals))
        if math.isnan(se):
            assert row["weighted_se"] is None
        else:
            assert row["weighted_se"] == pytest.approx(se, abs=ATOL)
            if weighted.se > 0:
                deff = weighted.design_effect * (se / weighted.se) ** 2
                assert row["design_effect"] == pytest.approx(deff, abs=1e-7)
        assert row["n_clusters"] == weighted.n_clusters


def test_unknown_breakdown_is_named(frames: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(ValueError, match="deprivation"):
        group_mapping(frames["respondents"], frames["sites"], ["role", "deprivation"])


def test_breakdown_list_always_has_role() -> None:
    assert breakdown_list(["region", "role", "rating"]) == ["role", "region", "rating"]
    assert breakdown_list([]) == ["role"]


def test_weighted_se_matches_statsmodels_cluster_robust_wls(
    frames: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]
) -> None:
    row = (
        tables["estimates"]
        .filter(
            (pl.col("variable") == "body") & (pl.col("code") == "2") & (pl.col("kind") == "code")
        )
        .filter(pl.col("breakdown") == ALL)
        .row(0, named=True)
    )
    given = frames["answers"].filter((pl.col("variable") == "body") & ~pl.col("missing"))
    units = frames["respondents"].join(given.select("respondent_id", "code"), on="respondent_id")
    y = (units["code"] == "2").cast(pl.Float64).to_numpy()
    w = units["weight"].to_numpy()
    groups = units["site_id"].cast(pl.Categorical).to_physical().to_numpy()
    fit = sm.WLS(y, np.ones_like(y), weights=w).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert row["weighted_proportion"] == pytest.approx(float(fit.params[0]), abs=ATOL)
    assert row["weighted_se"] == pytest.approx(float(fit.bse[0]), abs=ATOL)
    # And by hand: var = G/(G-1) Σ_g (Σ_i∈g w_i (y_i - p))² / (Σ w)².
    p = float(np.dot(w, y) / w.sum())
    totals = np.bincount(groups, weights=w * (y - p))
    g = len(np.unique(groups))
    assert row["weighted_se"] == pytest.approx(
        np.sqrt(g / (g - 1) * np.dot(totals, totals)) / w.sum(), abs=ATOL
    )


def _cells() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Tiny cell sums whose texts sort differently from how they arrive (S10 < S2, Z < a < É)."""
    rng = np.random.default_rng(7)
    sites, roles = ["S2", "S10", "S1", "É9"], ["nurse", "Chair", "gp"]
    denom_rows, numer_rows = [], []
    for variable in ("zeta", "alpha"):
        for site in sites:
            for role in roles:
                if (site, role) == ("S1", "gp"):
                    continue  # a cell nobody answered
                n = int(rng.integers(1, 6))
                w = rng.uniform(0.3, 3.0, n)
                denom_rows.append((variable, site, role, n, float(w.sum()), float((w**2).sum())))
                for code in ("b", "a", "10"):
                    k = int(rng.integers(0, n + 1))
                    if k:
                        numer_rows.append((variable, code, site, role, k, float(w[:k].sum())))
    denom = pl.DataFrame(
        denom_rows, schema=["variable", "site_id", "role", "N", "W", "W2"], orient="row"
    ).with_columns(pl.col("N").cast(pl.UInt32))
    numer = pl.DataFrame(
        numer_rows, schema=["variable", "code", "site_id", "role", "N", "W"], orient="row"
    ).with_columns(pl.col("N").cast(pl.UInt32))
    codes = pl.DataFrame(
        [(v, c) for v in ("zeta", "alpha") for c in ("b", "a", "10", "never")],
        schema=["variable", "code"], orient="row",
    )
    region = {"S2": "North", "S10": None, "S1": "South", "É9": "North"}
    mapping = pl.concat(
        [
            pl.DataFrame({"site_id": s, "role": r, "breakdown": b, "group": g})
            for s in sites
            for r in roles
            for b, g in ((ALL, ALL), ("role", r), ("region", region[s] or "(missing)"))
        ]
    )
    return denom, numer, codes, mapping


def test_ordered_dictionary_sorts_distinct_texts_without_nulls() -> None:
    got = ordered_dictionary(pl.Series(["S2", None, "S10"]), pl.Series(["É", "S2", "a"]))
    assert got.to_list() == ["S10", "S2", "a", "É"]


def test_key_codes_keep_text_order_and_round_trip() -> None:
    frame = pl.DataFrame({"site_id": ["S2", "S10", None, "É", "S2"], "other": ["x"] * 5})
    dictionaries = {"site_id": ordered_dictionary(frame["site_id"]), "absent": pl.Series(["q"])}
    coded = encode_keys(frame, dictionaries)
    assert coded["site_id"].dtype == pl.UInt32
    assert coded["site_id"].to_list() == [1, 0, None, 2, 1]
    # Sorting on codes orders the rows as sorting on the texts does.
    assert frame.with_row_index().sort("site_id", nulls_last=True)["index"].to_list() == (
        coded.with_row_index().sort("site_id", nulls_last=True)["index"].to_list()
    )
    assert decode_keys(coded, dictionaries).equals(frame)
    # A text outside the dictionary has no code.
    assert encode_keys(pl.DataFrame({"site_id": ["S3"]}), dictionaries)["site_id"].to_list() == [None]


def test_proportions_on_key_codes_equal_proportions_on_texts_bit_for_bit() -> None:
    denom, numer, codes, mapping = _cells()
    expected = proportions(denom, numer, codes, mapping)
    dictionaries = {
        "variable": ordered_dictionary(denom["variable"]),
        "code": ordered_dictionary(numer["code"], codes["code"]),
        "site_id": ordered_dictionary(mapping["site_id"]),
        "role": ordered_dictionary(mapping["role"]),
        "breakdown": ordered_dictionary(mapping["breakdown"]),
        "group": ordered_dictionary(mapping["group"]),
    }
    coded_mapping = encode_keys(mapping, dictionaries)
    coded_denom = encode_keys(denom, dictionaries)
    totals = group_totals(coded_denom, coded_mapping)
    got = decode_keys(
        proportions(
            coded_denom, encode_keys(numer, dictionaries), encode_keys(codes, dictionaries),
            coded_mapping, totals=totals,
        ),
        dictionaries,
    )
    order = ["variable", "breakdown", "group", "code"]
    # Same rows, same bits (NaN and null included): equal, not merely close.
    assert got.sort(order).equals(expected.sort(order))
    assert expected.height == 2 * 4 * (1 + 3 + 3)


def _rollup_rows() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Answers at three sites (weights whose sums depend on their order) and their cells' groups."""
    rng = np.random.default_rng(7)
    n = 400
    rows = pl.DataFrame({
        "variable": rng.choice(["q1", "q2"], n).tolist(),
        "site_id": rng.choice(["A", "B", "C"], n).tolist(),
        "role": rng.choice(["chair", "gp", "nurse"], n).tolist(),
        "weight": (rng.random(n) * 10.0 ** rng.integers(-8, 8, n)).tolist(),
    })
    cells = rows.select("site_id", "role").unique().sort("site_id", "role")
    region = {"A": "north", "B": "north", "C": "south"}
    group = {"chair": "gp", "gp": "gp", "nurse": "other"}
    mapping = pl.concat([
        cells.with_columns(pl.lit("all").alias("breakdown"), pl.lit("all").alias("group")),
        cells.with_columns(pl.lit("role").alias("breakdown"), pl.col("role").alias("group")),
        cells.with_columns(
            pl.lit("role_group").alias("breakdown"), pl.col("role").replace_strict(group).alias("group")
        ),
        cells.with_columns(
            pl.lit("region").alias("breakdown"), pl.col("site_id").replace_strict(region).alias("group")
        ),
    ])
    return rows, mapping


def test_site_level_breakdowns_are_those_giving_each_site_one_group() -> None:
    _, mapping = _rollup_rows()
    assert sorted(site_level_breakdowns(mapping).to_list()) == ["all", "region"]


def test_site_rollup_adds_the_same_terms_as_joining_every_row() -> None:
    rows, mapping = _rollup_rows()
    aggs = [pl.col("weight").sum().alias("W"), pl.len().alias("N"), pl.col("weight").first().alias("w1")]
    keys = ["variable", "breakdown", "group", "site_id"]
    joined = (
        rows.join(mapping, on=["site_id", "role"], maintain_order="left")
        .group_by(*keys, maintain_order=True)
        .agg(aggs)
    )
    rolled = site_rollup(rows, ["variable"], mapping, aggs)
    assert rolled.columns == joined.columns
    # The same rows with bit-identical sums (the order of the rows may differ).
    assert rolled.sort(keys).equals(joined.sort(keys))
    # Within each (variable, breakdown, group), sites come in the order the join gives them.
    def sites(frame: pl.DataFrame) -> dict[tuple[str, ...], list[str]]:
        by = frame.group_by("variable", "breakdown", "group", maintain_order=True).agg("site_id")
        return {tuple(r[:3]): r[3] for r in by.iter_rows()}

    assert sites(rolled) == sites(joined)


def test_one_per_unit_dedupes_multiple_choice_only_keeping_row_order() -> None:
    frame = pl.DataFrame({
        "variable": ["m", "s", "m", "s", "m", "t"],
        "respondent_id": ["r1", "r1", "r1", "r2", "r2", "r1"],
        "code": ["a", "x", "b", "y", "a", "z"],
    })
    out = one_per_unit(frame, pl.col("variable") == "m")
    assert out.rows() == [
        ("s", "r1", "x"), ("s", "r2", "y"), ("t", "r1", "z"), ("m", "r1", "a"), ("m", "r2", "a"),
    ]
    # Nothing multiple: the frame as it is.
    assert one_per_unit(frame, pl.lit(False)).equals(frame)
