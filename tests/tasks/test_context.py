"""A run context reads back exactly what it wrote: same bytes, same schema."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from schemas.datasets.triangulation import REPORT_CONTENTS
from tasks.context import RunContext
from tasks.quality.contracts import ContractError
from tasks.storage.store import open_store


def test_read_back_checks_the_content_hash(tmp_path: Path) -> None:
    from schemas.datasets import model_for

    ctx = RunContext(store_url=str(tmp_path / "store"), run_id="r1", config_path="study.yaml")
    columns = model_for(REPORT_CONTENTS.name).to_schema().columns
    frame = pl.DataFrame({name: pl.Series(name, [], dtype=col.dtype.type) for name, col in columns.items()})
    record = ctx.write_table(REPORT_CONTENTS.name, frame, "triangulation")
    assert ctx.read_table(record).columns == list(columns)
    tampered = record.model_copy(update={"sha256": "0" * 64})
    with pytest.raises(ContractError, match=r"(?s)reading runs/r1/report/contents.parquet.*check sha256 as recorded"):
        ctx.read_table(tampered)
    assert open_store(str(tmp_path / "store")).exists(record.key)
