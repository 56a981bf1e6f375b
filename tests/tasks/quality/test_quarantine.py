"""split_valid: rows in = rows kept + rows quarantined, each rejected row with its reasons."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest

from schemas.datasets.qualitative import CASES_SEGMENTS
from tasks.quality.contracts import ContractError
from tasks.quality.quarantine import REASON_COLUMN, ROW_COLUMN, split_valid


class Things(pa.DataFrameModel):
    """A small contract with field, uniqueness and dataframe-level row checks."""

    id: str = pa.Field(unique=True)
    x: int = pa.Field(ge=0, le=5)
    kind: str = pa.Field(isin=["a", "b"], nullable=True)

    @pa.dataframe_check
    @classmethod
    def x_not_three(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """x is never 3."""
        return data.lazyframe.select(pl.col("x") != 3)

    class Config:
        strict = True
        coerce = True


FRAME = pl.DataFrame({
    "id": ["1", "2", "2", "4", "5", "6"],
    "x": [1, 9, 2, 3, 4, 0],
    "kind": ["a", "a", "c", None, "b", "b"],
})


def test_rows_in_equal_rows_kept_plus_quarantined() -> None:
    valid, rejected = split_valid(FRAME, "things", model=Things)
    assert valid.height + rejected.height == FRAME.height
    assert valid["id"].to_list() == ["1", "5", "6"]
    assert rejected[ROW_COLUMN].to_list() == [1, 2, 3]
    assert rejected.columns == [ROW_COLUMN, *FRAME.columns, REASON_COLUMN]
    reasons = dict(zip(rejected[ROW_COLUMN], rejected[REASON_COLUMN], strict=True))
    assert "x: " in reasons[1] and "(value 9)" in reasons[1] and "id: " in reasons[1]
    assert "kind: " in reasons[2] and "(value c)" in reasons[2]
    assert "x_not_three" in reasons[3]


def test_clean_frame_keeps_everything() -> None:
    clean = FRAME.filter(pl.col("id").is_in(["1", "5", "6"]))
    valid, rejected = split_valid(clean, "things", model=Things)
    assert valid.equals(clean) and rejected.is_empty()
    assert REASON_COLUMN in rejected.columns


def test_table_level_failure_cannot_be_quarantined() -> None:
    with pytest.raises(ContractError, match="table-level|column"):
        split_valid(FRAME.drop("kind"), "things", model=Things)


def test_registered_dataset_contract_is_used() -> None:
    segments = pl.DataFrame({
        "segment_id": ["g1", "g2"], "source_id": ["d1", "d1"], "start": [0, 9],
        "end": [5, 3], "text": ["a", "b"], "code_id": ["c1", "c1"], "coder": ["ann", "ann"],
    })
    valid, rejected = split_valid(segments, CASES_SEGMENTS.name)
    assert valid["segment_id"].to_list() == ["g1"]
    assert rejected["segment_id"].to_list() == ["g2"]
    assert "ordered_offsets" in rejected[REASON_COLUMN][0]
