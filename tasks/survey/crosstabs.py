"""Tests of independence between each categorical variable and each breakdown."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from tasks.survey.estimates import ALL
from tasks.survey.stats import AssociationTest, chi_square_test

ASSOCIATION_SCHEMA: dict[str, pl.DataType] = {
    "wave": pl.String(),
    "variable": pl.String(),
    "type": pl.String(),
    "code": pl.String(),
    "breakdown": pl.String(),
    "method": pl.String(),
    "n": pl.Int64(),
    "statistic": pl.Float64(),
    "dof": pl.Int64(),
    "p_value": pl.Float64(),
    "cramers_v": pl.Float64(),
    "min_expected": pl.Float64(),
    "small_expected": pl.Boolean(),
}


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else value


def _row(
    wave: str, variable: str, vtype: str, code: str | None, breakdown: str, test: AssociationTest
) -> dict[str, object]:
    return {
        "wave": wave,
        "variable": variable,
        "type": vtype,
        "code": code,
        "breakdown": breakdown,
        "method": test.method,
        "n": test.n,
        "statistic": _clean(test.statistic),
        "dof": test.dof,
        "p_value": _clean(test.p_value),
        "cramers_v": _clean(test.cramers_v),
        "min_expected": _clean(test.min_expected),
        "small_expected": test.small_expected,
    }


def association_table(estimates: pl.DataFrame, wave: str) -> pl.DataFrame:
    """Chi-square (Fisher when expected counts are small) and Cramér's V from the estimates' counts.

    Single choice and Likert: groups × codes. Multiple choice (codes are not exclusive): one
    groups × (chosen, not chosen) table per code.
    """
    cells = estimates.filter((pl.col("kind") == "code") & (pl.col("breakdown") != ALL))
    rows: list[dict[str, object]] = []
    # One test per (variable, breakdown): a handful of small tables, not a loop over respondents.
    for (variable, breakdown), part in cells.partition_by(
        ["variable", "breakdown"], as_dict=True, maintain_order=True
    ).items():
        vtype = part["type"][0]
        if vtype == "multiple_choice":
            for (code,), sub in part.partition_by(
                ["code"], as_dict=True, maintain_order=True
            ).items():
                sub = sub.sort("group")
                count = sub["count"].to_numpy()
                table = np.column_stack([count, sub["n"].to_numpy() - count])
                rows.append(
                    _row(
                        wave,
                        str(variable),
                        vtype,
                        str(code),
                        str(breakdown),
                        chi_square_test(table),
                    )
                )
        else:
            wide = part.pivot(
                on="code", index="group", values="count", aggregate_function="sum"
            ).sort("group")
            table = wide.drop("group").fill_null(0).to_numpy()
            rows.append(
                _row(wave, str(variable), vtype, None, str(breakdown), chi_square_test(table))
            )
    return pl.DataFrame(rows, schema=ASSOCIATION_SCHEMA)
