"""Validate tables against their pandera contracts, reporting every failure at once."""

from __future__ import annotations

import pandera.errors as pa_errors
import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context

from schemas.datasets import model_for


class ContractError(ValueError):
    """A table breaks its contract; the message lists every failed check."""

    def __init__(self, dataset: str, where: str, failures: pl.DataFrame) -> None:
        self.dataset = dataset
        self.failures = failures
        shown = failures.head(20)
        lines = [
            f"  - column {r.get('column')!s}, check {r.get('check')!s}, row {r.get('index')!s}: "
            f"failure case {r.get('failure_case')!s}"
            for r in shown.iter_rows(named=True)
        ]
        more = f"\n  … and {failures.height - shown.height} more" if failures.height > 20 else ""
        super().__init__(
            f"{where}: dataset {dataset!r} breaks its contract ({failures.height} failure(s)):\n"
            + "\n".join(lines)
            + more
        )


def failure_table(exc: pa_errors.SchemaErrors) -> pl.DataFrame:
    """pandera's failure cases as a polars frame with string columns."""
    cases = exc.failure_cases
    if not isinstance(cases, pl.DataFrame):
        cases = pl.from_pandas(cases)
    return cases.select(pl.all().cast(pl.String))


def validate(
    frame: pl.DataFrame, dataset: str, *, where: str = "", model: type[pa.DataFrameModel] | None = None,
    schema_only: bool = False,
) -> pl.DataFrame:
    """Validate an eager frame against the dataset's model (lazy: all failures collected).

    `schema_only` checks columns and types but not values: for tables read back that were
    checked in full when written and whose content hash matches the record.
    """
    schema_model = model or model_for(dataset)
    depth = ValidationDepth.SCHEMA_ONLY if schema_only else ValidationDepth.SCHEMA_AND_DATA
    try:
        with config_context(validation_depth=depth):
            return schema_model.validate(frame, lazy=True)
    except pa_errors.SchemaErrors as exc:
        raise ContractError(dataset, where or dataset, failure_table(exc)) from None
    except pa_errors.SchemaError as exc:
        table = pl.DataFrame(
            {"column": [str(getattr(exc, "column_name", ""))], "check": [str(exc.check)],
             "index": [""], "failure_case": [str(exc)]}
        )
        raise ContractError(dataset, where or dataset, table) from None
