"""Matrices, co-occurrence and exemplars against plain-Python counts of what was planted."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

import polars as pl
import qual_mini_study as mini
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.datasets.qualitative import (
    COOCCURRENCE,
    FRAMEWORK,
    MATRIX,
    MATRIX_BY_ROLE,
    MATRIX_BY_SOURCE_TYPE,
    THEME_PRESENCE,
)
from schemas.qualitative import Cooccurrence, Framework, Matrix, MatrixByRole, ThemePresence
from tasks.qualitative import matrices


def _segments(rows: list[tuple[str, str, int, int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(str(i), s, a, b, "t", code, coder) for i, (s, coder, a, b, code) in enumerate(rows)],
        schema={"segment_id": pl.String, "source_id": pl.String, "start": pl.Int64, "end": pl.Int64,
                "text": pl.String, "code_id": pl.String, "coder": pl.String},
        orient="row",
    ).with_row_index("_row")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["s1", "s2"]), st.sampled_from(["a", "b"]), st.integers(0, 30),
                          st.integers(0, 12), st.sampled_from(["x", "y", "z"])), max_size=25))
def test_overlap_pairs_match_the_quadratic_definition(rows: list[tuple[str, str, int, int, str]]) -> None:
    seg = _segments([(s, c, a, a + n, code) for s, c, a, n, code in rows])
    got = {tuple(sorted(p)) for p in matrices.overlap_pairs(seg).iter_rows()}
    recs = seg.to_dicts()
    expected = {
        tuple(sorted((p["_row"], q["_row"])))
        for p, q in itertools.combinations(recs, 2)
        if p["source_id"] == q["source_id"] and p["coder"] == q["coder"]
        and max(p["start"], q["start"]) < min(p["end"], q["end"])
    }
    assert got == expected


def test_case_matrix_counts_planted_codings(mini_run) -> None:  # noqa: ANN001
    """Counts per case × code and case × theme from the planted rows (coder_a is the lead)."""
    planted = mini.case_sources()
    spans: dict[tuple[str, str], set[tuple[str, int, int]]] = defaultdict(set)
    code_spans: Counter[tuple[str, str]] = Counter()
    for src in planted:
        for c in src.codings:
            if c.coder != "coder_a":
                continue
            path = mini.leaf_path(c.code)
            case = mini_run.case_name(src.case)
            code_spans[(case, path)] += 1
            spans[(case, path.split("/")[0])].add((src.name, c.start, c.end))
    matrix = Matrix.validate(mini_run.table(MATRIX))
    got = {(r["case"], r["path"]): r["n_segments"] for r in matrix.iter_rows(named=True) if r["n_segments"]}
    assert got == dict(code_spans)
    assert matrix.height == 3 * len(mini.codebook_rows())  # the full grid, zeros included
    framework = Framework.validate(mini_run.table(FRAMEWORK))
    got_theme = {(r["case"], r["theme"]): r["n_segments"] for r in framework.iter_rows(named=True)}
    assert got_theme == {k: len(v) for k, v in spans.items()}
    presence = ThemePresence.validate(mini_run.table(THEME_PRESENCE))
    themes = {t for (_, t) in spans}
    expected = {t: len({c for (c, th) in spans if th == t}) for t in themes}
    assert {r["theme"]: r["n_cases"] for r in presence.iter_rows(named=True) if r["n_cases"]} == expected
    assert presence.filter(pl.col("theme") == "Maturity").item(0, "n_cases") == 0


def test_breakdowns_by_role_and_source_type(mini_run) -> None:  # noqa: ANN001
    by_role = MatrixByRole.validate(mini_run.table(MATRIX_BY_ROLE))
    docs = by_role.filter(pl.col("role") == matrices.NO_ROLE)
    assert docs.height > 0 and docs.get_column("n_participants").sum() == 0
    by_type = mini_run.table(MATRIX_BY_SOURCE_TYPE)
    if mini_run.fmt == "qdpx":
        assert set(by_type.get_column("source_type").unique()) == {"interview", "document"}
    total = by_type.group_by("case", "theme").agg(pl.col("n_segments").sum())
    framework = mini_run.table(FRAMEWORK).select("case", "theme", "n_segments")
    assert total.join(framework, on=["case", "theme"]).filter(
        pl.col("n_segments") != pl.col("n_segments_right")).height == 0


def test_cooccurrence_matches_plain_python(mini_run) -> None:  # noqa: ANN001
    planted = [s for s in mini.case_sources()]
    seg_pairs: Counter[tuple[str, str]] = Counter()
    src_pairs: Counter[tuple[str, str]] = Counter()
    for src in planted:
        lead = [c for c in src.codings if c.coder == "coder_a"]
        for p, q in itertools.combinations(lead, 2):
            if p.code != q.code and max(p.start, q.start) < min(p.end, q.end):
                seg_pairs[tuple(sorted((mini.leaf_path(p.code), mini.leaf_path(q.code))))] += 1  # type: ignore[index]
        for a, b in itertools.combinations(sorted({mini.leaf_path(c.code) for c in lead}), 2):
            src_pairs[(a, b)] += 1
    co = Cooccurrence.validate(mini_run.table(COOCCURRENCE))
    got = {(r["path_a"], r["path_b"]): r["n"] for r in co.filter(pl.col("scope") == "segment").iter_rows(named=True)}
    assert got == dict(seg_pairs)
    got = {(r["path_a"], r["path_b"]): r["n"] for r in co.filter(pl.col("scope") == "source").iter_rows(named=True)}
    assert got == dict(src_pairs)


def test_exemplars_rank_most_co_coded_then_longest() -> None:
    seg = _segments([("s", "a", 0, 10, "x"), ("s", "a", 0, 10, "y"), ("s", "a", 20, 60, "x"), ("s", "a", 70, 75, "x")])
    seg = seg.with_columns(pl.Series("segment_id", ["1", "1", "2", "3"]),  # one span carrying x and y
                           pl.Series("text", ["one", "one", "two", "three"]))
    sources = pl.DataFrame({"source_id": ["s"], "case": ["A"], "site_id": ["S"], "source_type": ["interview"],
                            "role": ["gp"], "participant_pseudonym": [None]},
                           schema_overrides={"participant_pseudonym": pl.String})
    codebook = pl.DataFrame({"code_id": ["x", "y"], "name": ["x", "y"], "path": ["T/x", "T/y"],
                             "theme": ["T", "T"], "category": [None, None]},
                            schema_overrides={"category": pl.String})
    enriched = matrices.cocoding(matrices.enrich(seg.drop("_row"), sources, codebook),
                                 matrices.overlap_pairs(matrices.enrich(seg.drop("_row"), sources, codebook)))
    ranked = matrices.exemplars(enriched)
    assert ranked.sort("rank").get_column("start").to_list() == [0, 20, 70]
    assert ranked.filter(pl.col("rank") == 1).item(0, "codes") == "T/x; T/y"
    # A span quoting the same words as a better-ranked one is dropped.
    same = seg.with_columns(pl.Series("text", ["one", "one", "two", "two"]))
    enriched = matrices.enrich(same.drop("_row"), sources, codebook)
    ranked = matrices.exemplars(matrices.cocoding(enriched, matrices.overlap_pairs(enriched)))
    assert ranked.sort("rank").get_column("start").to_list() == [0, 20]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["s1", "s2", "s3", "s4", "s5"]), st.integers(0, 30),
                          st.sampled_from(["w", "x", "y", "z"])), min_size=1, max_size=30))
def test_source_pairs_count_the_cases_where_two_codes_meet_in_one_source(
    rows: list[tuple[str, int, str]],
) -> None:
    # s1, s2 in case A, s3 in case B, s4 in case C, s5 in no case (left out of n_cases).
    case_of = {"s1": "A", "s2": "A", "s3": "B", "s4": "C", "s5": None}
    sources = pl.DataFrame({"source_id": list(case_of), "case": list(case_of.values()), "site_id": "S",
                            "source_type": "interview", "role": "gp", "participant_pseudonym": None},
                           schema_overrides={"participant_pseudonym": pl.String, "case": pl.String})
    codebook = pl.DataFrame({"code_id": ["w", "x", "y", "z"], "name": ["w", "x", "y", "z"],
                             "path": ["T/w", "T/x", "T/y", "T/z"], "theme": "T", "category": None},
                            schema_overrides={"category": pl.String})
    seg = _segments([(s, "a", a, a + 3, code) for s, a, code in rows]).drop("_row")
    enriched = matrices.enrich(seg, sources, codebook)
    co = matrices.cooccurrence(enriched, matrices.overlap_pairs(enriched)).filter(pl.col("scope") == "source")
    codes: dict[str, set[str]] = defaultdict(set)
    for s, _, code in rows:
        codes[s].add(f"T/{code}")
    sources_with: Counter[tuple[str, str]] = Counter()
    cases_with: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s, found in codes.items():
        for pair in itertools.combinations(sorted(found), 2):
            sources_with[pair] += 1
            if case_of[s] is not None:
                cases_with[pair].add(case_of[s])  # type: ignore[arg-type]
    got = {(r["path_a"], r["path_b"]): (r["n_sources"], r["n_cases"]) for r in co.iter_rows(named=True)}
    assert got == {pair: (n, len(cases_with[pair])) for pair, n in sources_with.items()}
