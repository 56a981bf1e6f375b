"""Tests for tasks.qualitative.reliability against sklearn, krippendorff and brute force."""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence

import krippendorff
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from tasks.qualitative.reliability import (
    POOLED,
    character_agreement,
    disagreements,
    kappa_from_counts,
    presence_agreement,
)
from tests.reference_stats import krippendorff_alpha_nominal

ATOL = 1e-9


def _sk_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(a, b))


def _kd_alpha(data: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


# --- kappa from a 2×2 table of coded / not coded units ----------------------------------------


def test_kappa_from_counts_nvivo_example() -> None:
    # NVivo's worked example: 1,000 characters, 50 both, 75 + 75 by one coder, 800 neither.
    # pe = (125·125 + 875·875)/10⁶ = 0.78125, kappa = (0.85 - 0.78125)/0.21875 = 11/35.
    agreement, kappa = kappa_from_counts(50, 75, 75, 800)
    assert agreement == 0.85
    assert kappa == 0.3142857142857143 == 11 / 35
    labels_a = [1] * 50 + [1] * 75 + [0] * 75 + [0] * 800
    labels_b = [1] * 50 + [0] * 75 + [1] * 75 + [0] * 800
    assert kappa == pytest.approx(_sk_kappa(labels_a, labels_b), abs=ATOL)


def test_kappa_from_counts_edges() -> None:
    assert all(math.isnan(v) for v in kappa_from_counts(0, 0, 0, 0))
    agreement, kappa = kappa_from_counts(0, 0, 0, 10)
    assert agreement == 1.0 and math.isnan(kappa)
    assert kappa_from_counts(0, 5, 5, 0) == (0.0, -1.0)
    with pytest.raises(ValueError):
        kappa_from_counts(-1, 0, 0, 0)


# --- segment-level reliability -----------------------------------------------------------------


def _segments(rows: list[tuple[str, str, str, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "source_id": pl.String,
            "code": pl.String,
            "coder": pl.String,
            "start": pl.Int64,
            "end": pl.Int64,
        },
        orient="row",
    )


def _sources(lengths: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"source_id": list(lengths), "length": list(lengths.values())},
        schema={"source_id": pl.String, "length": pl.Int64},
    )


def test_character_agreement_nvivo_example() -> None:
    segments = _segments(
        [
            ("doc", "trust", "ana", 0, 100),
            ("doc", "trust", "ana", 60, 125),  # overlap with the segment above counts once
            ("doc", "trust", "ben", 75, 200),
        ]
    )
    table = character_agreement(segments, _sources({"doc": 1000}), "ana", "ben")
    assert table.columns == [
        "code",
        "both",
        "first_only",
        "second_only",
        "neither",
        "agreement",
        "kappa",
    ]
    rows = {r["code"]: r for r in table.iter_rows(named=True)}
    assert set(rows) == {"trust", POOLED}
    trust = rows["trust"]
    assert (trust["both"], trust["first_only"], trust["second_only"], trust["neither"]) == (
        50,
        75,
        75,
        800,
    )
    assert trust["agreement"] == 0.85 and trust["kappa"] == 0.3142857142857143
    assert table.row(-1, named=True)["code"] == POOLED


def _brute_force(
    segments: pl.DataFrame, lengths: dict[str, int], a: str, b: str
) -> dict[str, tuple[int, ...]]:
    rows = segments.filter(pl.col("coder").is_in([a, b])).rows(named=True)
    coded = {(r["source_id"], r["coder"]) for r in rows}
    double = sorted({s for s, _ in coded if (s, a) in coded and (s, b) in coded})
    codes = sorted({r["code"] for r in rows if r["source_id"] in double})
    result: dict[str, tuple[int, ...]] = {}
    for code in codes:
        counts = np.zeros(4, dtype=np.int64)
        for source in double:
            marks = {c: np.zeros(lengths[source], dtype=bool) for c in (a, b)}
            for r in rows:
                if r["source_id"] == source and r["code"] == code:
                    marks[r["coder"]][r["start"] : r["end"]] = True
            x, y = marks[a], marks[b]
            counts += [np.sum(x & y), np.sum(x & ~y), np.sum(~x & y), np.sum(~x & ~y)]
        result[code] = tuple(int(v) for v in counts)
    pooled = np.zeros(4, dtype=np.int64)
    for row in result.values():
        pooled += row
    result[POOLED] = tuple(int(v) for v in pooled)
    return result


@st.composite
def _coded_corpus(draw: st.DrawFn) -> tuple[pl.DataFrame, dict[str, int]]:
    lengths = {f"s{i}": draw(st.integers(0, 25)) for i in range(draw(st.integers(1, 4)))}
    rows = []
    for _ in range(draw(st.integers(0, 25))):
        source = draw(st.sampled_from(sorted(lengths)))
        start = draw(st.integers(0, lengths[source]))
        end = draw(st.integers(start, lengths[source]))
        rows.append(
            (source, draw(st.sampled_from("xyz")), draw(st.sampled_from("ABC")), start, end)
        )
    return _segments(rows), lengths


@settings(max_examples=80, deadline=None)
@given(_coded_corpus())
def test_character_agreement_matches_brute_force(
    corpus: tuple[pl.DataFrame, dict[str, int]],
) -> None:
    segments, lengths = corpus
    table = character_agreement(segments, _sources(lengths), "A", "B")
    expected = _brute_force(segments, lengths, "A", "B")
    got = {
        r[0]: tuple(r[1:5])
        for r in table.select("code", "both", "first_only", "second_only", "neither").iter_rows()
    }
    assert got == expected
    assert table.get_column("code").to_list() == sorted(set(expected) - {POOLED}) + [POOLED]
    for row in table.iter_rows(named=True):
        agreement, kappa = kappa_from_counts(
            row["both"], row["first_only"], row["second_only"], row["neither"]
        )
        assert row["agreement"] == (None if math.isnan(agreement) else agreement)
        assert row["kappa"] == (None if math.isnan(kappa) else kappa)


def test_character_agreement_only_counts_double_coded_sources() -> None:
    segments = _segments(
        [
            ("s1", "x", "A", 0, 5),
            ("s1", "y", "B", 2, 4),
            ("s2", "x", "A", 0, 10),  # only A coded s2: excluded
            ("s3", "x", "C", 0, 3),  # a third coder is ignored
        ]
    )
    table = character_agreement(segments, _sources({"s1": 10, "s2": 10, "s3": 5}), "A", "B")
    rows = {r["code"]: r for r in table.iter_rows(named=True)}
    assert (rows["x"]["both"], rows["x"]["first_only"], rows["x"]["neither"]) == (0, 5, 5)
    assert (rows["y"]["second_only"], rows["y"]["neither"]) == (2, 8)
    assert rows[POOLED]["neither"] == 13


def test_character_agreement_validates_input() -> None:
    segments = _segments([("s1", "x", "A", 0, 12), ("s1", "x", "B", 0, 3)])
    with pytest.raises(ValueError, match="beyond"):
        character_agreement(segments, _sources({"s1": 10}), "A", "B")
    with pytest.raises(ValueError, match="missing from"):
        character_agreement(segments, _sources({"s9": 10}), "A", "B")
    with pytest.raises(ValueError, match="start <= end"):
        character_agreement(_segments([("s1", "x", "A", 5, 2)]), _sources({"s1": 10}), "A", "B")
    with pytest.raises(ValueError, match="different"):
        character_agreement(segments, _sources({"s1": 20}), "A", "A")
    empty = character_agreement(_segments([]), _sources({"s1": 10}), "A", "B")
    assert empty.rows() == [(POOLED, 0, 0, 0, 0, None, None)]


def test_character_agreement_accounts_for_every_character_on_100k_segments() -> None:
    rng = np.random.default_rng(0)
    n, n_sources = 100_000, 500
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
    sources = pl.DataFrame(
        {"source_id": pl.Series(np.arange(n_sources)).cast(pl.String), "length": lengths}
    )
    table = character_agreement(segments, sources, "A", "B")
    assert table.height == 41
    pooled = table.row(-1, named=True)
    assert pooled["both"] + pooled["first_only"] + pooled["second_only"] + pooled["neither"] == (
        40 * int(lengths.sum())
    )


def _presence_matrix(segments: pl.DataFrame, coders: list[str], code: str | None) -> np.ndarray:
    rows = segments.filter(pl.col("coder").is_in(coders)).rows(named=True)
    coded = {(r["source_id"], r["coder"]) for r in rows}
    sources = sorted({s for s, _ in coded if sum((s, c) in coded for c in coders) >= 2})
    codes = sorted({r["code"] for r in rows if r["source_id"] in sources})
    applied = {(r["source_id"], r["code"], r["coder"]) for r in rows}
    units = [(s, k) for k in codes for s in sources if code is None or k == code]
    return np.array(
        [
            [float((s, k, c) in applied) if (s, c) in coded else np.nan for (s, k) in units]
            for c in coders
        ]
    ).reshape(len(coders), len(units))


def _presence_corpus() -> pl.DataFrame:
    rng = np.random.default_rng(42)
    rows = []
    for s in range(30):
        for coder in "ABC":
            if rng.random() < 0.15:
                continue  # this coder did not code this source
            rows.append((f"s{s:02d}", "anchor", coder, 0, 1))
            for code in ("x", "y", "z"):
                if rng.random() < {"x": 0.7, "y": 0.3, "z": 0.5}[code]:
                    rows.append((f"s{s:02d}", code, coder, 1, 4))
    return _segments(rows)


def test_presence_agreement_two_coders_matches_sklearn_and_krippendorff() -> None:
    segments = _presence_corpus()
    table = presence_agreement(segments, ["A", "B"])
    assert table.columns == ["code", "n_units", "agreement", "kappa", "alpha"]
    assert table.get_column("code").to_list() == ["anchor", "x", "y", "z", POOLED]
    for row in table.iter_rows(named=True):
        data = _presence_matrix(
            segments, ["A", "B"], None if row["code"] == POOLED else row["code"]
        )
        assert not np.isnan(data).any()
        assert row["n_units"] == data.shape[1]
        assert row["agreement"] == pytest.approx(np.mean(data[0] == data[1]), abs=ATOL)
        if row["code"] == "anchor":  # every coder applied it everywhere: undefined
            assert row["kappa"] is None and row["alpha"] is None
            continue
        assert row["kappa"] == pytest.approx(_sk_kappa(list(data[0]), list(data[1])), abs=ATOL)
        assert row["alpha"] == pytest.approx(_kd_alpha(data), abs=ATOL)


def test_presence_agreement_three_coders_matches_krippendorff() -> None:
    segments = _presence_corpus()
    table = presence_agreement(segments, ["A", "B", "C"])
    for row in table.iter_rows(named=True):
        assert row["kappa"] is None
        data = _presence_matrix(
            segments, ["A", "B", "C"], None if row["code"] == POOLED else row["code"]
        )
        assert row["n_units"] == data.shape[1]
        agree = [np.unique(col[~np.isnan(col)]).size == 1 for col in data.T]
        assert row["agreement"] == pytest.approx(np.mean(agree), abs=ATOL)
        if row["code"] != "anchor":
            assert row["alpha"] == pytest.approx(krippendorff_alpha_nominal(data), abs=ATOL)
            assert row["alpha"] == pytest.approx(_kd_alpha(data), abs=ATOL)


def test_presence_agreement_small_example() -> None:
    segments = _segments(
        [
            ("s1", "x", "A", 0, 5),
            ("s1", "x", "B", 3, 9),
            ("s2", "x", "A", 0, 5),
            ("s2", "y", "B", 0, 5),
            ("s3", "y", "A", 0, 1),  # s3 is coded by A only: not a unit
        ]
    )
    table = presence_agreement(segments, ["A", "B"])
    rows = {r["code"]: r for r in table.iter_rows(named=True)}
    # x: (1,1) in s1, (1,0) in s2; y: (0,0) in s1, (0,1) in s2.
    assert rows["x"]["n_units"] == 2 and rows["x"]["agreement"] == 0.5
    assert rows[POOLED]["n_units"] == 4 and rows[POOLED]["agreement"] == 0.5
    assert rows[POOLED]["kappa"] == pytest.approx(0.0, abs=ATOL)
    with pytest.raises(ValueError):
        presence_agreement(segments, ["A"])


def test_disagreements_lists_one_sided_codes() -> None:
    segments = _segments(
        [
            ("s2", "y", "B", 0, 4),
            ("s1", "x", "A", 0, 5),
            ("s1", "x", "B", 3, 9),
            ("s1", "z", "A", 10, 20),
            ("s1", "z", "A", 15, 25),
            ("s2", "x", "A", 2, 6),
            ("s3", "x", "A", 0, 9),  # s3 not double-coded
            ("s2", "w", "C", 0, 9),  # third coder ignored
        ]
    )
    table = disagreements(segments, "A", "B")
    assert table.columns == ["source_id", "code", "coded_by", "other_coder", "n_segments", "chars"]
    assert table.rows() == [
        ("s1", "z", "A", "B", 2, 15),
        ("s2", "x", "A", "B", 1, 4),
        ("s2", "y", "B", "A", 1, 4),
    ]
    assert disagreements(segments, "B", "A").rows() == table.rows()
