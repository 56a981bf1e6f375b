"""Conversions of polars frames that are safe while other steps run on other threads.

`DataFrame.to_pandas()` and `DataFrame.to_numpy()` hold the GIL while they wait for polars'
thread pool. When a step on another thread evaluates an expression with a Python function in it
(`map_batches`, `map_elements`), that function runs on the same pool and needs the GIL: both
threads wait for ever (pola-rs/polars#26821; seen here as a study run hanging with its quality
gate in `to_pandas` and a qualitative step in `with_columns`). Converting through Arrow, or column
by column, does not hold the GIL across the pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["as_matrix", "as_pandas"]


def as_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """The frame as a pandas DataFrame, converted through Arrow."""
    return frame.to_arrow().to_pandas(date_as_object=False)


def as_matrix(frame: pl.DataFrame, dtype: type | None = None) -> np.ndarray:
    """The frame's columns side by side as a 2-D numpy array (of `dtype`, or their common type)."""
    if not frame.width:
        return np.zeros((frame.height, 0), dtype=dtype or np.float64)
    matrix = np.column_stack([frame.get_column(c).to_numpy() for c in frame.columns])
    return matrix if dtype is None else matrix.astype(dtype, copy=False)
