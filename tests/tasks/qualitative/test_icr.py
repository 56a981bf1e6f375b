"""Inter-coder reliability tables against references (krippendorff, sklearn) and planted codings."""

from __future__ import annotations

import krippendorff
import numpy as np
import polars as pl
import pytest
import qual_mini_study as mini
from sklearn.metrics import cohen_kappa_score

from schemas.datasets.qualitative import DISAGREEMENTS, RELIABILITY
from schemas.qualitative import Disagreements, Reliability
from tasks.qualitative import icr


def _frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rows = [  # source, code, coder, start, end
        ("s1", "x", "a", 0, 10), ("s1", "x", "b", 5, 10), ("s1", "y", "a", 12, 20),
        ("s2", "y", "a", 0, 4), ("s2", "y", "b", 0, 6), ("s2", "x", "b", 8, 9),
        ("s3", "x", "a", 0, 3),  # single-coded: left out
    ]
    seg = pl.DataFrame(rows, schema=["source_id", "code_id", "coder", "start", "end"], orient="row")
    sources = pl.DataFrame({"source_id": ["s1", "s2", "s3"], "length": [25, 10, 5], "case": ["A", "B", "B"]})
    codebook = pl.DataFrame({"code_id": ["x", "y"], "path": ["T/x", "T/y"]})
    return seg, sources, codebook


def _char_vectors(seg: pl.DataFrame, sources: pl.DataFrame, code: str | None) -> tuple[list[int], list[int]]:
    a: list[int] = []
    b: list[int] = []
    for sid, length in sources.filter(pl.col("source_id") != "s3").select("source_id", "length").iter_rows():
        for coder, out in (("a", a), ("b", b)):
            marks = [0] * length
            for s, e in seg.filter((pl.col("source_id") == sid) & (pl.col("coder") == coder)
                                   & (pl.col("code_id") == code)).select("start", "end").iter_rows():
                marks[s:e] = [1] * (e - s)
            out.extend(marks)
    return a, b


def test_character_level_matches_references() -> None:
    seg, sources, codebook = _frames()
    table = Reliability.validate(icr.reliability_table(seg, sources, codebook, "a"))
    chars = table.filter(pl.col("level") == "character")
    for code in ("x", "y"):
        a, b = _char_vectors(seg, sources, code)
        row = chars.filter(pl.col("code_id") == code).row(0, named=True)
        assert row["n_units"] == len(a) == 35
        assert row["kappa"] == pytest.approx(cohen_kappa_score(a, b))
        assert row["alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=np.array([a, b]), level_of_measurement="nominal")
        )
        assert row["n_sources"] == 2
    assert chars.filter(pl.col("code_id") == icr.POOLED).item(0, "path") == "(all codes)"


def test_presence_level_matches_krippendorff() -> None:
    seg, sources, codebook = _frames()
    presence = icr.reliability_table(seg, sources, codebook, "a").filter(pl.col("level") == "presence")
    # Units (source, code) over s1, s2 and codes x, y: a = [1,1,0,1], b = [1,0,1,1].
    a, b = [1, 1, 0, 1], [1, 0, 1, 1]
    pooled = presence.filter(pl.col("code_id") == icr.POOLED).row(0, named=True)
    assert pooled["agreement"] == pytest.approx(0.5)
    assert pooled["alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=np.array([a, b]), level_of_measurement="nominal")
    )


def test_disagreements_table() -> None:
    seg, sources, codebook = _frames()
    table = Disagreements.validate(icr.disagreement_table(seg, sources, codebook, "a"))
    assert table.select("source_id", "code_id", "coded_by").rows() == [("s1", "y", "a"), ("s2", "x", "b")]
    assert table.get_column("case").to_list() == ["A", "B"]


def test_no_second_coder_gives_empty_tables() -> None:
    seg, sources, codebook = _frames()
    only_a = seg.filter(pl.col("coder") == "a")
    assert Reliability.validate(icr.reliability_table(only_a, sources, codebook, "a")).height == 0
    assert Disagreements.validate(icr.disagreement_table(only_a, sources, codebook, "a")).height == 0


def test_reliability_reported_for_the_double_coded_subset(mini_run) -> None:  # noqa: ANN001
    rel = mini_run.table(RELIABILITY)
    double = [s for s in mini.case_sources() if any(c.coder == "coder_b" for c in s.codings)]
    assert set(rel.get_column("n_sources").unique()) == {len(double)}
    assert set(rel.get_column("level").unique()) == {"presence", "character"}
    pooled = rel.filter(pl.col("code_id") == icr.POOLED)
    assert pooled.height == 2 and all(0 < k < 1 for k in pooled.get_column("kappa"))
    dis = mini_run.table(DISAGREEMENTS)
    # coder_b replaced the first coding of each double-coded source with another code.
    assert dis.filter(pl.col("coded_by") == "coder_b").height >= 1
    assert mini_run.cases.summary["double_coded_sources"] == len(double)
