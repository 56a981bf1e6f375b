"""Frame conversions that do not deadlock against Python functions in polars expressions."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date

import numpy as np
import polars as pl
import pytest

from tasks.frames import as_matrix, as_pandas

# One thread converts a multi-chunk frame while another evaluates two expressions holding Python
# functions (as the qualitative steps' GUIDs did). With DataFrame.to_pandas() this hangs within a
# second or two (pola-rs/polars#26821); the script exits 0 only if both threads made progress.
RACE = textwrap.dedent(
    """
    import threading, time
    import polars as pl
    from tasks.frames import as_matrix, as_pandas
    big = pl.concat([pl.DataFrame({"a": list(range(20000)), "b": [str(i) for i in range(20000)]})] * 8,
                    rechunk=False)
    src = pl.DataFrame({"s": [f"v{i % 500}" for i in range(20000)]})
    stop = threading.Event()
    done = {"convert": 0, "udf": 0}
    def convert():
        while not stop.is_set():
            as_pandas(big); as_matrix(big.select("a"))
            done["convert"] += 1
    def udf():
        while not stop.is_set():
            src.with_columns(
                pl.col("s").map_batches(lambda c: c.str.to_uppercase(), return_dtype=pl.String).alias("u"),
                pl.col("s").map_batches(lambda c: c.replace_strict({v: v + "x" for v in c.unique().to_list()}),
                                        return_dtype=pl.String).alias("x"),
            )
            done["udf"] += 1
    threads = [threading.Thread(target=convert, daemon=True), threading.Thread(target=udf, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads), done
    assert done["convert"] > 0 and done["udf"] > 0, done
    print("ok", done["convert"] > 0)
    """
)


def test_conversions_do_not_deadlock_against_python_expressions() -> None:
    try:
        run = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("converting a frame deadlocked against a Python function in a polars expression")
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "ok True"


def test_as_pandas_matches_polars_conversion() -> None:
    frame = pl.DataFrame(
        {"id": ["a", None, "c"], "n": [1, 2, None], "x": [0.5, None, 1.5], "ok": [True, False, None],
         "day": [date(2014, 5, 1), None, date(2016, 6, 2)]}
    )
    converted, reference = as_pandas(frame), frame.to_pandas()
    assert list(converted.dtypes) == list(reference.dtypes)
    assert converted.equals(reference)


def test_as_matrix_stacks_columns() -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": [3.5, 4.0]})
    assert np.array_equal(as_matrix(frame), np.array([[1.0, 3.5], [2.0, 4.0]]))
    counts = pl.DataFrame({"a": [1, 2], "b": [3, 4]})
    assert as_matrix(counts).dtype == counts.to_numpy().dtype
    assert as_matrix(counts, np.float64).dtype == np.float64
    assert as_matrix(pl.DataFrame({"a": [1]}).clear().drop("a")).shape == (0, 0)
