"""Benchmarks (`make bench`): timings are recorded by pytest-benchmark, never asserted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tasks.qualitative.reliability import character_agreement
from tasks.storage.store import open_store
from tasks.storage.tables import parquet_to_table, table_to_parquet

pytestmark = pytest.mark.bench


def _segments(n: int, n_sources: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5_000, 20_000, n_sources)
    source = rng.integers(0, n_sources, n)
    start = (rng.random(n) * (lengths[source] - 1)).astype(np.int64)
    end = np.minimum(start + rng.integers(1, 800, n), lengths[source])
    segments = pl.DataFrame(
        {
            "source_id": pl.Series(source).cast(pl.String),
            "code": pl.Series(rng.integers(0, 40, n)).cast(pl.String),
            "coder": np.where(rng.random(n) < 0.5, "A", "B"),
            "start": start,
            "end": end,
        }
    )
    sources = pl.DataFrame({"source_id": pl.Series(np.arange(n_sources)).cast(pl.String), "length": lengths})
    return segments, sources


@pytest.mark.parametrize("n", [100_000, 1_000_000])
def test_bench_character_agreement(benchmark, n: int) -> None:
    segments, sources = _segments(n, max(500, n // 200))
    table = benchmark(character_agreement, segments, sources, "A", "B")
    assert table.height == 41


def test_bench_parquet_round_trip_through_store(benchmark, tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": np.arange(1_000_000), "b": np.arange(1_000_000).astype(str)})
    store = open_store(str(tmp_path / "st"))
    counter = iter(range(10_000))

    def round_trip() -> int:
        key = f"runs/b/t{next(counter)}.parquet"
        store.put(key, table_to_parquet(frame))
        return parquet_to_table(store.get(key)).height

    assert benchmark(round_trip) == 1_000_000
