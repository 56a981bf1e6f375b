"""Serialise tables to and from bytes (parquet), deterministically."""

from __future__ import annotations

import io

import polars as pl


def table_to_parquet(frame: pl.DataFrame) -> bytes:
    """Parquet bytes of a frame; the same frame always gives the same bytes."""
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", compression_level=3, statistics=True)
    return buf.getvalue()


def parquet_to_table(data: bytes) -> pl.DataFrame:
    """A frame from parquet bytes."""
    return pl.read_parquet(io.BytesIO(data))
