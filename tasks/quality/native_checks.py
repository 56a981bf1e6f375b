"""The gate's expectations evaluated by polars on every row, with Great Expectations' semantics.

Great Expectations has no polars data source: a frame goes to pandas and every expectation walks
it in Python-sized steps, and its configuration objects grow with their value sets (a roster's
site ids). Above `tasks.quality.gx.GX_FULL_ROWS` rows the gate evaluates each check here, over every
row, and Great Expectations validates a systematic sample for the Data Docs
(docs/quality-checks.md). Results have the columns and meaning of GX's: success, element count,
unexpected count, and an observed text naming the first unexpected values or rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from schemas.expectations import Check

_SHOWN = 10


class NotNative(ValueError):
    """An expectation this module does not evaluate (the gate then gives GX the whole frame)."""


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 300 else text[:297] + "..."


def _row_text(row: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.items())


def _map_result(
    frame: pl.DataFrame, unexpected: pl.Expr, shown: Sequence[str], keys: Sequence[str]
) -> dict[str, Any]:
    """A column-map expectation's result: unexpected rows counted and the first ones shown."""
    bad = frame.filter(unexpected.fill_null(False))
    count = bad.height
    text = f"{count} of {frame.height} unexpected"
    if count:
        if keys:
            # GX's order: the first checked column, the row keys, the other checked columns.
            rows = bad.select(*dict.fromkeys([shown[0], *keys, *shown[1:]])).head(_SHOWN).to_dicts()
            listed = "; ".join(_row_text(r) for r in rows)
            text += f": {listed}" if len(listed) <= 600 else f": {listed[:597]}..."
        else:
            values = bad.select(shown[0] if len(shown) == 1 else pl.struct(shown)).to_series()
            text += f", e.g. {_short(values.head(_SHOWN).to_list())}"
    return {"success": count == 0, "observed": text, "element_count": frame.height,
            "unexpected_count": count}


def _observed(value: Any, success: bool) -> dict[str, Any]:
    return {"success": success, "observed": _short(value), "element_count": None, "unexpected_count": None}


def _between(value: Any, low: Any, high: Any) -> bool:
    return value is not None and (low is None or value >= low) and (high is None or value <= high)


def _in_set(k: Mapping[str, Any], dtype: pl.DataType) -> pl.Expr:
    """Non-null values outside the set (values the column's type cannot hold match nothing)."""
    values = pl.Series(list(k["value_set"]), dtype=None if k["value_set"] else dtype, strict=False)
    allowed = values.cast(dtype, strict=False).drop_nulls()
    return pl.col(k["column"]).is_not_null() & ~pl.col(k["column"]).is_in(allowed.implode())


def evaluate(check: Check, frame: pl.DataFrame, keys: Sequence[str] = ()) -> dict[str, Any]:
    """One check's result on the whole frame (success, observed, element and unexpected counts)."""
    k = dict(check.kwargs)
    name = check.expectation
    if name == "ExpectTableRowCountToBeBetween":
        return _observed(frame.height, _between(frame.height, k.get("min_value"), k.get("max_value")))
    if name == "ExpectTableColumnsToMatchSet":
        wanted, found = set(k["column_set"]), set(frame.columns)
        exact = k.get("exact_match", True)
        ok = wanted == found if exact else wanted <= found
        mismatch = {
            key: sorted(values) for key, values in (("unexpected", found - wanted), ("missing", wanted - found))
            if values
        }
        return _observed(mismatch or sorted(found), ok)
    if name == "ExpectColumnMeanToBeBetween":
        mean = frame[k["column"]].drop_nulls().mean()
        return _observed(mean, _between(mean, k.get("min_value"), k.get("max_value")))
    if name == "ExpectColumnDistinctValuesToEqualSet":
        distinct = sorted(frame[k["column"]].drop_nulls().unique().to_list(), key=str)
        result = _observed(distinct, set(distinct) == set(k["value_set"]))
        # GX counts the distinct values outside the set as unexpected.
        return {**result, "unexpected_count": len(set(distinct) - set(k["value_set"]))}
    column: str = k.get("column") or ""
    rules: dict[str, Callable[[], tuple[pl.Expr, list[str]]]] = {
        "ExpectColumnValuesToNotBeNull": lambda: (pl.col(column).is_null(), [column]),
        "ExpectColumnValuesToBeInSet": lambda: (_in_set(k, frame.schema[column]), [column]),
        "ExpectColumnValuesToBeBetween": lambda: (
            pl.col(column).is_not_null()
            & ~(
                (pl.lit(True) if k.get("min_value") is None else pl.col(column) >= k["min_value"])
                & (pl.lit(True) if k.get("max_value") is None else pl.col(column) <= k["max_value"])
            ),
            [column],
        ),
        "ExpectColumnValuesToBeUnique": lambda: (
            pl.col(column).is_not_null() & pl.col(column).is_duplicated(), [column]
        ),
        "ExpectCompoundColumnsToBeUnique": lambda: (
            ~pl.all_horizontal(pl.col(c).is_null() for c in k["column_list"])
            & pl.struct(k["column_list"]).is_duplicated(),
            list(k["column_list"]),
        ),
        "ExpectColumnPairValuesAToBeGreaterThanB": lambda: (
            pl.col(k["column_A"]).is_not_null()
            & pl.col(k["column_B"]).is_not_null()
            & ~(
                pl.col(k["column_A"]) >= pl.col(k["column_B"])
                if k.get("or_equal")
                else pl.col(k["column_A"]) > pl.col(k["column_B"])
            ),
            [k["column_A"], k["column_B"]],
        ),
    }
    if name not in rules:
        raise NotNative(f"check {check.name!r}: {name} is not evaluated natively")
    if name == "ExpectColumnPairValuesAToBeGreaterThanB" and k.get("ignore_row_if") not in (
        None, "either_value_is_missing",
    ):
        raise NotNative(f"check {check.name!r}: ignore_row_if={k.get('ignore_row_if')!r}")
    unexpected, shown = rules[name]()
    return _map_result(frame, unexpected, shown, [c for c in keys if c in frame.columns])


def natively_checkable(checks: Sequence[Check]) -> bool:
    """Whether every check of a suite can be evaluated here."""
    supported = {
        "ExpectTableRowCountToBeBetween", "ExpectTableColumnsToMatchSet", "ExpectColumnMeanToBeBetween",
        "ExpectColumnDistinctValuesToEqualSet", "ExpectColumnValuesToNotBeNull",
        "ExpectColumnValuesToBeInSet", "ExpectColumnValuesToBeBetween", "ExpectColumnValuesToBeUnique",
        "ExpectCompoundColumnsToBeUnique", "ExpectColumnPairValuesAToBeGreaterThanB",
    }
    return all(c.expectation in supported for c in checks)


# Checks whose answer on a sample is the answer for those rows (column-map checks); the others
# (row counts, means, distinct sets, the column set) describe the whole table and are not shown
# on a sample in the Data Docs.
ROW_CHECKS = frozenset(
    {
        "ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeInSet", "ExpectColumnValuesToBeBetween",
        "ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique",
        "ExpectColumnPairValuesAToBeGreaterThanB",
    }
)
