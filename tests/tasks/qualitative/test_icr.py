"""Inter-coder reliability tables against references (sklearn, statsmodels, krippendorff) and planted codings.

The references are built here in plain Python: one 0/1 label per unit and coder (a source, a
coded stretch or a character, crossed with each code), missing where a coder did not code the
source, then handed to cohen_kappa_score, fleiss_kappa and krippendorff.alpha.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import krippendorff
import numpy as np
import polars as pl
import pytest
import qual_mini_study as mini
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from schemas.datasets.qualitative import DISAGREEMENTS, RELIABILITY
from schemas.qualitative import Disagreements, Reliability
from tasks.qualitative import icr
from tasks.qualitative.reliability import BOOTSTRAP_SEED, comparison_statistics, unit_patterns
from tests.reference_stats import krippendorff_alpha_nominal

ATOL = 1e-9
NAN = float("nan")
# source, code, coder, start, end: three coders; s3 is coded by a alone, s4 by b and c only.
ROWS = [
    ("s1", "x", "a", 0, 10), ("s1", "x", "b", 5, 10), ("s1", "y", "a", 12, 20), ("s1", "x", "c", 0, 8),
    ("s1", "y", "c", 14, 22),
    ("s2", "y", "a", 0, 4), ("s2", "y", "b", 0, 6), ("s2", "x", "b", 8, 9), ("s2", "y", "c", 1, 5),
    ("s3", "x", "a", 0, 3),
    ("s4", "x", "b", 0, 6), ("s4", "y", "b", 10, 12), ("s4", "x", "c", 2, 6), ("s4", "x", "c", 9, 12),
    ("s5", "x", "a", 2, 7), ("s5", "x", "b", 3, 9), ("s5", "y", "c", 0, 2), ("s5", "y", "a", 20, 24),
]
LENGTHS = {"s1": 25, "s2": 10, "s3": 5, "s4": 14, "s5": 30}
CODES = ("x", "y")


def _frames(rows: Sequence[tuple[str, str, str, int, int]] = ROWS) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    seg = pl.DataFrame(rows, schema=["source_id", "code_id", "coder", "start", "end"], orient="row")
    sources = pl.DataFrame({"source_id": list(LENGTHS), "length": list(LENGTHS.values()),
                            "case": ["A", "B", "B", "C", "C"]})
    codebook = pl.DataFrame({"code_id": list(CODES), "path": ["T/x", "T/y"]})
    return seg, sources, codebook


def _stretches(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans merged where they share a character."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def _labels(rows: Sequence[tuple[str, str, str, int, int]], coders: Sequence[str], unit: str,
            code: str | None) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per source a coders × units matrix of 0/1 (NaN where the coder did not code the source)."""
    by_source: dict[str, list[tuple[str, str, int, int]]] = {}
    for s, c, who, a, b in rows:
        if who in coders:
            by_source.setdefault(s, []).append((c, who, a, b))
    used = sorted(s for s, codings in by_source.items() if len({w for _, w, _, _ in codings}) >= 2)
    codes = sorted({c for s in used for c, _, _, _ in by_source[s]})
    wanted = codes if code is None else [code]
    out = {}
    for s in used:
        codings = by_source[s]
        present = {w for _, w, _, _ in codings}
        if unit == "presence":
            units = [(0, 1)]
        elif unit == "segment":
            units = _stretches([(a, b) for _, _, a, b in codings])
        else:
            units = [(i, i + 1) for i in range(LENGTHS[s])]
        matrix = np.full((len(coders), len(units) * len(wanted)), NAN)
        for i, who in enumerate(coders):
            if who not in present:
                continue
            for j, c in enumerate(wanted):
                for k, (us, ue) in enumerate(units):
                    mine = [(a, b) for cc, w, a, b in codings if w == who and cc == c]
                    if unit == "presence":
                        hit = bool(mine)
                    else:
                        hit = any(a < ue and b > us for a, b in mine)
                    matrix[i, j * len(units) + k] = float(hit)
        out[s] = matrix
    return out, used


def _cohen(matrix: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(matrix[0], matrix[1]))


def _fleiss(matrix: np.ndarray) -> float:
    complete = matrix[:, ~np.isnan(matrix).any(axis=0)]
    ones = complete.sum(axis=0)
    table = np.column_stack([complete.shape[0] - ones, ones])
    return float(fleiss_kappa(table, method="fleiss"))


def _alpha(matrix: np.ndarray) -> float:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))
    except ValueError:  # one value in play: the package raises where alpha is undefined
        return krippendorff_alpha_nominal(matrix)


def _close(got: float | None, want: float) -> bool:
    return (got is None and math.isnan(want)) or (got is not None and abs(got - want) <= ATOL)


@pytest.mark.parametrize("unit", ["presence", "segment", "character"])
@pytest.mark.parametrize("coders", [("a", "b"), ("a", "c"), ("b", "c"), ("a", "b", "c")])
def test_every_unit_and_comparison_matches_the_references(unit: str, coders: tuple[str, ...]) -> None:
    seg, sources, _ = _frames()
    units = seg.rename({"code_id": "code"})
    stats = comparison_statistics(unit_patterns(units, sources, coders, unit), coders, replicates=20)
    for code in [*CODES, None]:
        per_source, used = _labels(ROWS, coders, unit, code)
        matrix = np.concatenate([per_source[s] for s in used], axis=1)
        row = stats.filter(pl.col("code") == (code or icr.POOLED)).row(0, named=True)
        assert row["n_sources"] == len(used)
        assert row["n_units"] == matrix.shape[1]
        assert _close(row["alpha"], _alpha(matrix)), (code, row["alpha"], _alpha(matrix))
        if len(coders) == 2:
            assert _close(row["kappa"], _cohen(matrix)), (code, row["kappa"], _cohen(matrix))
            assert row["both"] == int(((matrix[0] == 1) & (matrix[1] == 1)).sum())
        else:
            assert _close(row["kappa"], _fleiss(matrix)), (code, row["kappa"], _fleiss(matrix))
            assert row["kappa_sources"] == sum(not np.isnan(per_source[s]).any() for s in used)
            assert row["both"] is None


def test_the_bootstrap_resamples_sources_with_the_documented_seed() -> None:
    seg, sources, _ = _frames()
    coders = ("a", "b")
    replicates = 40
    stats = comparison_statistics(unit_patterns(seg.rename({"code_id": "code"}), sources, coders, "character"),
                                  coders, replicates=replicates)
    per_source, used = _labels(ROWS, coders, "character", None)
    # The same draws as production: sources in id order, one generator seeded BOOTSTRAP_SEED.
    drawn = np.random.default_rng(BOOTSTRAP_SEED).integers(0, len(used), size=(replicates, len(used)))
    kappas, alphas = [], []
    for row in drawn:
        matrix = np.concatenate([per_source[used[i]] for i in row], axis=1)
        kappas.append(_cohen(matrix))
        alphas.append(_alpha(matrix))
    pooled = stats.filter(pl.col("code") == icr.POOLED).row(0, named=True)
    finite = [k for k in kappas if math.isfinite(k)]
    assert pooled["kappa_low"] == pytest.approx(np.percentile(finite, 2.5), abs=ATOL)
    assert pooled["kappa_high"] == pytest.approx(np.percentile(finite, 97.5), abs=ATOL)
    assert pooled["alpha_low"] == pytest.approx(np.percentile(alphas, 2.5), abs=ATOL)
    assert pooled["alpha_high"] == pytest.approx(np.percentile(alphas, 97.5), abs=ATOL)
    assert pooled["kappa_low"] <= pooled["kappa"] <= pooled["kappa_high"]
    again = comparison_statistics(unit_patterns(seg.rename({"code_id": "code"}), sources, coders, "character"),
                                  coders, replicates=replicates)
    assert again.equals(stats)


def test_one_shared_source_gives_no_interval() -> None:
    seg, sources, _ = _frames([r for r in ROWS if r[0] in ("s1", "s3")])
    stats = comparison_statistics(unit_patterns(seg.rename({"code_id": "code"}), sources, ("a", "b"), "character"),
                                  ("a", "b"))
    assert stats.get_column("n_sources").to_list() == [1, 1, 1]
    assert stats.get_column("kappa_low").null_count() == stats.height
    assert stats.get_column("kappa").null_count() == 0


def test_the_table_compares_every_pair_and_all_coders() -> None:
    seg, sources, codebook = _frames()
    table = Reliability.validate(icr.reliability_table(seg, sources, codebook, "b", replicates=20))
    comparisons = table.select("comparison", "coders", "coder_a", "coder_b").unique(maintain_order=True).rows()
    # The lead coder first, then by name; c and a share sources too, so no pair is missing.
    assert comparisons == [("pair", "b vs a", "b", "a"), ("pair", "b vs c", "b", "c"), ("pair", "a vs c", "a", "c"),
                           ("all coders", "b, a, c", None, None)]
    assert set(table.get_column("unit")) == {"presence", "segment", "character"}
    assert table.filter(pl.col("comparison") == "all coders").get_column("kappa_type").unique().to_list() == ["Fleiss"]
    pooled = table.filter(pl.col("code_id") == icr.POOLED)
    assert pooled.height == 4 * 3 and set(pooled.get_column("path")) == {"(all codes)"}
    # b vs c coded s1, s2, s4 and s5 in common (a coded s1, s2, s3, s5).
    assert table.filter(pl.col("coders") == "b vs c").get_column("n_sources").unique().to_list() == [4]


def test_two_coders_have_no_all_coders_rows() -> None:
    seg, sources, codebook = _frames()
    table = icr.reliability_table(seg.filter(pl.col("coder") != "c"), sources, codebook, "a", replicates=5)
    assert table.get_column("comparison").unique().to_list() == ["pair"]


def test_disagreements_for_every_pair() -> None:
    seg, sources, codebook = _frames()
    table = Disagreements.validate(icr.disagreement_table(seg, sources, codebook, "a"))
    ab = table.filter((pl.col("coded_by").is_in(["a", "b"])) & (pl.col("other_coder").is_in(["a", "b"])))
    assert ab.select("source_id", "code_id", "coded_by").rows() == [("s1", "y", "a"), ("s2", "x", "b"),
                                                                     ("s5", "y", "a")]
    bc = table.filter((pl.col("coded_by").is_in(["b", "c"])) & (pl.col("other_coder").is_in(["b", "c"])))
    assert bc.select("source_id", "code_id", "coded_by").rows() == [
        ("s1", "y", "c"), ("s2", "x", "b"), ("s4", "y", "b"), ("s5", "x", "b"), ("s5", "y", "c")]


def test_no_second_coder_gives_empty_tables() -> None:
    seg, sources, codebook = _frames()
    only_a = seg.filter(pl.col("coder") == "a")
    assert Reliability.validate(icr.reliability_table(only_a, sources, codebook, "a")).height == 0
    assert Disagreements.validate(icr.disagreement_table(only_a, sources, codebook, "a")).height == 0


def test_reliability_is_counted_on_the_coded_text() -> None:
    seg, _, _ = _frames()
    segments = seg.with_columns(pl.format("g{}", pl.int_range(pl.len())).alias("segment_id"),
                                (pl.col("start") + 3).alias("start"), (pl.col("end") + 3).alias("end"))
    offsets = seg.select(pl.format("g{}", pl.int_range(pl.len())).alias("segment_id"), "code_id", "coder",
                         pl.col("start").alias("raw_start"), pl.col("end").alias("raw_end"))
    lengths = pl.DataFrame({"source_id": list(LENGTHS), "length": list(LENGTHS.values())})
    coded, coded_lengths = icr.coded_text(segments, offsets, lengths)
    assert coded.select("source_id", "code_id", "coder", "start", "end").equals(seg)
    assert coded_lengths.equals(lengths)
    with pytest.raises(ValueError, match="1 coding\\(s\\) have no offsets in the coded text"):
        icr.coded_text(segments, offsets.slice(1), lengths)


def test_reliability_reported_for_the_double_coded_subset(mini_run) -> None:  # noqa: ANN001
    rel = mini_run.table(RELIABILITY)
    double = [s for s in mini.case_sources() if any(c.coder == "coder_b" for c in s.codings)]
    assert set(rel.get_column("n_sources").unique()) == {len(double)}
    assert set(rel.get_column("unit").unique()) == {"presence", "segment", "character"}
    assert set(rel.get_column("coders").unique()) == {"coder_a vs coder_b"}
    pooled = rel.filter(pl.col("code_id") == icr.POOLED)
    assert pooled.height == 3 and all(0 < k < 1 for k in pooled.get_column("kappa"))
    dis = mini_run.table(DISAGREEMENTS)
    # coder_b replaced the first coding of each double-coded source with another code.
    assert dis.filter(pl.col("coded_by") == "coder_b").height >= 1
    assert mini_run.cases.summary["double_coded_sources"] == len(double)
