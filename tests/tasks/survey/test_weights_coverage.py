"""Raking to roster margins, coverage and the role profile, on hand-made frames."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from schemas.study_config import RoleConfig, TrimConfig, WeightingConfig
from schemas.survey import Coverage, Profile, WeightMargins
from tasks.survey.coverage import coverage_table, profile_table
from tasks.survey.population import MISSING_GROUP
from tasks.survey.stats import rake_weights
from tasks.survey.weights import rake_to_roster

ROLES = {
    "gp": RoleConfig(label="GP", group="clinical"),
    "nurse": RoleConfig(label="Nurse", group="clinical"),
    "lay": RoleConfig(label="Lay", group="other"),
}
SITES = pl.DataFrame({"site_id": ["A", "B", "C", "D"], "region": ["N", "N", "S", None]})
ROSTER = pl.DataFrame(
    {
        "member_id": [f"m{i}" for i in range(20)],
        "site_id": ["A"] * 6 + ["B"] * 4 + ["C"] * 6 + ["D"] * 4,
        "role": (
            ["gp", "gp", "nurse", "lay", "lay", "gp"]
            + ["gp", "lay", "nurse", "gp"]
            + ["gp", "gp", "gp", "nurse", "lay", "lay"]
            + ["gp", "gp", "lay", "nurse"]
        ),
    }
).with_columns(
    pl.col("role")
    .replace({"gp": "clinical", "nurse": "clinical", "lay": "other"})
    .alias("role_group")
)
RESPONDENTS = pl.DataFrame(
    {
        "respondent_id": [f"r{i}" for i in range(7)],
        "site_id": ["A", "A", "A", "C", "C", "D", "A"],
        "role": ["gp", "lay", "gp", "gp", "nurse", "gp", "nurse"],
    }
).with_columns(
    pl.col("role")
    .replace({"gp": "clinical", "nurse": "clinical", "lay": "other"})
    .alias("role_group")
)


def _attrs(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.join(SITES, on="site_id", how="left", maintain_order="left")


def test_raking_meets_roster_margins() -> None:
    weighting = WeightingConfig(margins=["role", "region"], trim=None)
    result = rake_to_roster(_attrs(RESPONDENTS), _attrs(ROSTER), weighting)
    assert result.converged and result.roster_left_out == 0
    frame = _attrs(RESPONDENTS).with_columns(result.weights.alias("w"))
    roster = _attrs(ROSTER)
    for margin in ("role", "region"):
        got = (
            frame.group_by(pl.col(margin).fill_null(MISSING_GROUP))
            .agg(pl.col("w").sum())
            .sort(margin)
        )
        want = roster.group_by(pl.col(margin).fill_null(MISSING_GROUP)).len().sort(margin)
        assert got["w"].to_list() == pytest.approx(want["len"].cast(pl.Float64).to_list(), rel=1e-9)
    # The same as raking directly with the shared function.
    ref = rake_weights(
        frame.select(pl.col("role"), pl.col("region").fill_null(MISSING_GROUP)),
        {"role": {"gp": 10, "lay": 6, "nurse": 4}, "region": {"N": 10, "S": 6, MISSING_GROUP: 4}},
    )
    assert result.weights.to_numpy() == pytest.approx(ref.weights, abs=1e-9)
    table = result.margins.with_columns(pl.lit("w1").alias("wave"))
    WeightMargins.validate(table, lazy=True)
    assert table.filter(pl.col("margin") == "role")["weighted_share"].to_list() == pytest.approx(
        table.filter(pl.col("margin") == "role")["population_share"].to_list(), abs=1e-9
    )


def test_categories_without_respondents_leave_the_targets() -> None:
    respondents = RESPONDENTS.filter(pl.col("role") != "lay")
    result = rake_to_roster(
        _attrs(respondents), _attrs(ROSTER), WeightingConfig(margins=["role"], trim=None)
    )
    assert result.roster_left_out == 6 and result.population == 14.0
    assert result.weights.sum() == pytest.approx(14.0)
    assert any("left out" in n for n in result.notes)


def test_trimming_bounds_and_no_margins() -> None:
    trimmed = rake_to_roster(
        _attrs(RESPONDENTS),
        _attrs(ROSTER),
        WeightingConfig(margins=["role"], trim=TrimConfig(lower=0.5, upper=1.5)),
    )
    mean = 20 / RESPONDENTS.height
    assert trimmed.within_trim_bounds == bool(
        (trimmed.weights.to_numpy() >= 0.5 * mean - 1e-9).all()
        and (trimmed.weights.to_numpy() <= 1.5 * mean + 1e-9).all()
    )
    flat = rake_to_roster(_attrs(RESPONDENTS), _attrs(ROSTER), WeightingConfig(margins=[]))
    assert np.allclose(flat.weights.to_numpy(), 20 / 7) and flat.design_effect == pytest.approx(1.0)
    with pytest.raises(ValueError, match="deprivation"):
        rake_to_roster(
            _attrs(RESPONDENTS), _attrs(ROSTER), WeightingConfig(margins=["deprivation"])
        )


def test_unrakeable_sample_falls_back_to_equal_weights() -> None:
    roster = ROSTER.filter(pl.col("role") != "nurse")  # respondents include nurses
    result = rake_to_roster(_attrs(RESPONDENTS), _attrs(roster), WeightingConfig(margins=["role"]))
    assert np.allclose(result.weights.to_numpy(), roster.height / RESPONDENTS.height)
    assert "raking impossible" in result.notes[0] and result.margins.height == 0


def test_coverage_counts() -> None:
    table = coverage_table(SITES, ROSTER, RESPONDENTS, ["role", "region"], "w1")
    Coverage.validate(table, lazy=True)
    rows = {(r["breakdown"], r["group"]): r for r in table.iter_rows(named=True)}
    overall = rows[("all", "all")]
    assert (
        overall["sites"],
        overall["sites_covered"],
        overall["roster"],
        overall["respondents"],
    ) == (4, 3, 20, 7)
    assert overall["sites_share"] == 0.75 and overall["response_rate"] == pytest.approx(7 / 20)
    north = rows[("region", "N")]
    assert (north["sites"], north["sites_covered"], north["roster"], north["respondents"]) == (
        2,
        1,
        10,
        4,
    )
    assert rows[("region", MISSING_GROUP)]["respondents"] == 1
    lay = rows[("role", "lay")]  # sites with lay members: A, B, C, D; with a lay respondent: A
    assert (lay["sites"], lay["sites_covered"], lay["roster"], lay["respondents"]) == (4, 1, 6, 1)


def test_profile_against_roster() -> None:
    table = profile_table(ROSTER, RESPONDENTS, ROLES, "w1")
    Profile.validate(table, lazy=True)
    gp = table.filter((pl.col("breakdown") == "role") & (pl.col("group") == "gp")).row(
        0, named=True
    )
    assert gp["respondents"] == 4 and gp["roster"] == 10 and gp["label"] == "GP"
    assert gp["difference"] == pytest.approx(4 / 7 - 10 / 20)
    groups = table.filter(pl.col("breakdown") == "role_group")
    assert groups["respondent_share"].sum() == pytest.approx(1.0)
    empty = profile_table(ROSTER, RESPONDENTS.head(0), ROLES, "w1")
    assert empty["respondent_share"].null_count() == empty.height


def test_weight_summary_reports_range_cv_and_kish() -> None:
    from tasks.survey.weights import weight_summary

    w = np.array([0.5, 1.0, 1.5, 3.0])
    row = weight_summary(w, "w1").row(0, named=True)
    assert (row["wave"], row["respondents"], row["minimum"], row["maximum"]) == ("w1", 4, 0.5, 3.0)
    assert row["ratio"] == pytest.approx(6.0, abs=1e-12)
    assert row["cv"] == pytest.approx(np.std(w) / np.mean(w), abs=1e-12)
    assert row["design_effect"] == pytest.approx(4 * (w**2).sum() / w.sum() ** 2, abs=1e-12)
    assert row["effective_n"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), abs=1e-12)
