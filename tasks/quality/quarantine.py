"""Split a table into rows that meet their contract and rows to quarantine, with reasons.

Only row-level failures (pandera failure cases with a row index) can be quarantined: a missing
column or a wrong dtype concerns the whole table and still raises `ContractError`.
Rows in = rows kept + rows quarantined; the caller writes the rejected rows (`quarantine_key`).
"""

from __future__ import annotations

import pandera.errors as pa_errors
import pandera.polars as pa
import polars as pl

from schemas.datasets import model_for
from tasks.quality.contracts import ContractError, failure_table, validate

ROW_COLUMN = "quarantine_row"
REASON_COLUMN = "quarantine_reason"


def _reasons(failures: pl.DataFrame) -> pl.DataFrame:
    """One row per failing row index with its reasons joined."""
    text = pl.concat_str(
        [
            pl.col("column").fill_null("(table)"),
            pl.lit(": "),
            pl.col("check").fill_null("?"),
            pl.lit(" (value "),
            pl.col("failure_case").fill_null("null"),
            pl.lit(")"),
        ]
    )
    return (
        failures.with_columns(pl.col("index").cast(pl.Int64).alias(ROW_COLUMN), text.alias("_r"))
        .unique([ROW_COLUMN, "_r"], maintain_order=True)
        .group_by(ROW_COLUMN, maintain_order=True)
        .agg(pl.col("_r").str.join("; ").alias(REASON_COLUMN))
    )


def split_valid(
    frame: pl.DataFrame,
    dataset: str,
    *,
    model: type[pa.DataFrameModel] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows meeting the dataset's contract, validated; rejected rows + row number + reasons)."""
    schema_model = model or model_for(dataset)
    missing = _missing_columns(frame, schema_model)
    if missing:
        raise ContractError(
            dataset,
            f"quarantine of {dataset} (table-level failures)",
            pl.DataFrame({"column": missing, "check": ["column_in_dataframe"] * len(missing),
                          "index": [None] * len(missing), "failure_case": missing},
                         schema={"column": pl.String, "check": pl.String, "index": pl.String,
                                 "failure_case": pl.String}),
        )
    try:
        return schema_model.validate(frame, lazy=True), _empty_rejected(frame)
    except pa_errors.SchemaErrors as exc:
        failures = failure_table(exc)
    except pa_errors.SchemaError as exc:
        raise ContractError(
            dataset,
            f"quarantine of {dataset}",
            pl.DataFrame({"column": [str(getattr(exc, "column_name", ""))], "check": [str(exc.check)],
                          "index": [""], "failure_case": [str(exc)]}),
        ) from None
    table_level = failures.filter(pl.col("index").is_null() | (pl.col("index") == ""))
    if not table_level.is_empty():
        raise ContractError(dataset, f"quarantine of {dataset} (table-level failures)", table_level)
    reasons = _reasons(failures.filter(pl.col("index").is_not_null()))
    numbered = frame.with_row_index(ROW_COLUMN).with_columns(pl.col(ROW_COLUMN).cast(pl.Int64))
    rejected = numbered.join(reasons, on=ROW_COLUMN, how="inner").sort(ROW_COLUMN)
    kept = numbered.join(reasons, on=ROW_COLUMN, how="anti").drop(ROW_COLUMN)
    # Kept rows must now pass: a failure that only shows once others are gone is a contract error.
    valid = validate(kept, dataset, where=f"quarantine of {dataset} (kept rows)", model=schema_model)
    if valid.height + rejected.height != frame.height:
        raise AssertionError(f"quarantine of {dataset} lost rows")
    return valid, rejected


def _missing_columns(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> list[str]:
    """Required columns of the contract the frame lacks (a whole-table failure)."""
    schema = model.to_schema()
    return [name for name, col in schema.columns.items() if col.required and name not in frame.columns]


def _empty_rejected(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.clear().with_row_index(ROW_COLUMN).with_columns(
        pl.col(ROW_COLUMN).cast(pl.Int64), pl.lit(None, pl.String).alias(REASON_COLUMN)
    )

