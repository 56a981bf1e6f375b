"""Case-study matrices: counts by case × code / theme, role and source type; co-occurrence; framework.

Counting rules. A segment is one coded span (REFI selection); a code's count is the number of
spans carrying it, a theme's count the number of spans carrying any code of the theme (a span
with two codes of one theme counts once for the theme). Only the primary coder's segments feed
these tables (see model.primary_segments).

Co-occurrence. Scope "segment": two codings by the same coder in the same source whose spans
overlap (share at least one character; one span carrying two codes counts too); `n` counts such
coding pairs. Scope "source": two codes applied anywhere in the same source; `n` counts sources.

Exemplars. Within a case × theme, spans rank by how co-coded they are (distinct other codes on
overlapping spans by the same coder), then by length (longer first), then by segment id; a span
quoting the same words as a better-ranked one is dropped.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import sparse

LIST_SEPARATOR = "; "
NO_ROLE = "none"
EXEMPLARS_PER_CELL = 3


def enrich(segments: pl.DataFrame, sources: pl.DataFrame, codebook: pl.DataFrame) -> pl.DataFrame:
    """Segments with their source's case, site, type, role, participant and the code's theme."""
    meta = sources.select("source_id", "case", "site_id", "source_type", "role", "participant_pseudonym")
    codes = codebook.select("code_id", pl.col("name").alias("code"), "path", "theme", "category")
    return (
        segments.with_row_index("_row")
        .join(meta, on="source_id", how="left")
        .join(codes, on="code_id", how="left")
        .with_columns(pl.col("role").fill_null(NO_ROLE), (pl.col("end") - pl.col("start")).alias("length"))
    )


def overlap_pairs(segments: pl.DataFrame) -> pl.DataFrame:
    """Pairs of codings (row_a, row_b by `_row`) by one coder in one source whose spans overlap.

    Sort by (source, coder, start); coding b after coding a overlaps it iff b starts before a
    ends, so each coding's partners are one contiguous run found by a sorted search.
    """
    spans = segments.filter(pl.col("end") > pl.col("start")).select("_row", "source_id", "coder", "start", "end")
    if spans.is_empty():
        return pl.DataFrame(schema={"row_a": pl.UInt32, "row_b": pl.UInt32})
    groups = spans.select("source_id", "coder").unique().sort("source_id", "coder").with_row_index("_g")
    width = int(spans.get_column("end").max()) + 1  # type: ignore[arg-type]
    keyed = (
        spans.join(groups, on=["source_id", "coder"], how="left")
        .with_columns(key=pl.col("_g").cast(pl.Int64) * width + pl.col("start"))
        .sort("key")
        .with_row_index("_pos")
    )
    limit = pl.col("_g").cast(pl.Int64) * width + pl.col("end")
    keyed = keyed.with_columns(hi=pl.col("key").search_sorted(limit, side="left").cast(pl.Int64))
    rows = keyed.get_column("_row")
    pairs = (
        keyed.select("_row", pl.int_ranges(pl.col("_pos").cast(pl.Int64) + 1, pl.col("hi")).alias("_other"))
        .explode("_other")
        .drop_nulls("_other")
    )
    return pairs.select(
        pl.col("_row").alias("row_a"), rows.gather(pairs.get_column("_other")).alias("row_b")
    )


def _positional(enriched: pl.DataFrame) -> pl.DataFrame:
    ordered = enriched.sort("_row")
    if ordered.height and ordered.item(-1, "_row") != ordered.height - 1:
        raise ValueError("`_row` must number the rows of the enriched segments 0..n-1 (see enrich)")
    return ordered


def _dense(frame: pl.DataFrame, column: str) -> pl.Series:
    """0-based dense ranks of a column (nulls stay null)."""
    return frame.select((pl.col(column).rank("dense") - 1).cast(pl.Int64)).to_series()


def cocoding(enriched: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Per coding row: the number of distinct other codes on overlapping spans (same coder)."""
    enriched = _positional(enriched)
    code = _dense(enriched, "code_id")
    a, b = pairs.get_column("row_a"), pairs.get_column("row_b")
    ca, cb = code.gather(a), code.gather(b)
    both = pl.DataFrame({
        "_row": pl.concat([a, b]).cast(pl.UInt32),
        "own": pl.concat([ca, cb]),
        "other": pl.concat([cb, ca]),
    })
    counts = both.filter(pl.col("own") != pl.col("other")).group_by("_row").agg(
        pl.col("other").n_unique().alias("cocoded")
    )
    return enriched.join(counts, on="_row", how="left").with_columns(pl.col("cocoded").fill_null(0).cast(pl.Int64))


def case_matrix(enriched: pl.DataFrame, codebook: pl.DataFrame, cases: list[str]) -> pl.DataFrame:
    """Case × code counts over every code in the codebook (zeros included)."""
    counts = enriched.group_by("case", "code_id").agg(
        pl.col("segment_id").n_unique().alias("n_segments"),
        pl.col("source_id").n_unique().alias("n_sources"),
        pl.col("participant_pseudonym").drop_nulls().n_unique().alias("n_participants"),
    )
    grid = pl.DataFrame({"case": cases}, schema={"case": pl.String}).join(
        codebook.select("code_id", pl.col("name").alias("code"), "path", "theme", "category"), how="cross"
    )
    return (
        grid.join(counts, on=["case", "code_id"], how="left")
        .with_columns(pl.col("n_segments", "n_sources", "n_participants").fill_null(0).cast(pl.Int64))
        .select("case", "theme", "category", "code_id", "code", "path", "n_segments", "n_sources", "n_participants")
        .sort("case", "path")
    )


def breakdown(enriched: pl.DataFrame, by: str) -> pl.DataFrame:
    """Case × `by` (role or source_type) × theme counts of spans, sources (and participants)."""
    aggs = [pl.col("segment_id").n_unique().cast(pl.Int64).alias("n_segments"),
            pl.col("source_id").n_unique().cast(pl.Int64).alias("n_sources")]
    if by == "role":
        aggs.append(pl.col("participant_pseudonym").drop_nulls().n_unique().cast(pl.Int64).alias("n_participants"))
    return enriched.group_by("case", by, "theme").agg(aggs).sort("case", by, "theme")


def theme_presence(enriched: pl.DataFrame, codebook: pl.DataFrame, cases: list[str]) -> pl.DataFrame:
    """Per theme: the number of cases where it appears, which, and its spans and sources."""
    found = enriched.group_by("theme").agg(
        pl.col("case").drop_nulls().n_unique().alias("n_cases"),
        pl.col("case").drop_nulls().unique().sort().str.join(LIST_SEPARATOR).alias("cases"),
        pl.col("segment_id").n_unique().alias("n_segments"),
        pl.col("source_id").n_unique().alias("n_sources"),
    )
    return (
        codebook.select("theme").unique()
        .join(found, on="theme", how="left")
        .with_columns(
            pl.col("n_cases", "n_segments", "n_sources").fill_null(0).cast(pl.Int64),
            pl.col("cases").fill_null(""),
            pl.lit(len(cases), pl.Int64).alias("n_cases_total"),
        )
        .select("theme", "n_cases", "n_cases_total", "cases", "n_segments", "n_sources")
        .sort(["n_cases", "n_segments", "theme"], descending=[True, True, False])
    )


def _source_pairs(enriched: pl.DataFrame, code: pl.Series) -> pl.DataFrame:
    """Code pairs (lo < hi by code index) present in the same source: sources and cases."""
    source = _dense(enriched, "source_id").to_numpy()
    case = _dense(enriched, "case")
    codes = code.to_numpy()
    shape = (int(source.max()) + 1, int(codes.max()) + 1)
    incidence = sparse.csr_matrix((np.ones(len(source), dtype=np.int64), (source, codes)), shape=shape)
    incidence.data[:] = 1  # duplicates summed by the constructor: back to presence

    def upper(matrix: sparse.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        coo = sparse.triu(matrix, k=1).tocoo()
        return coo.row, coo.col, coo.data

    lo, hi, n = upper(incidence.T @ incidence)
    frame = pl.DataFrame({"lo": lo.astype(np.int64), "hi": hi.astype(np.int64), "n": n.astype(np.int64)})
    # Cases where a pair meets in one source, all cases in one product instead of one per case
    # (a national study has thousands of cases): each case's codes get their own block of
    # columns, so blocks.T @ blocks is block-diagonal, one block per case's sources, and a
    # source (which belongs to one case) only links codes inside its case's block.
    present = pl.DataFrame({"s": source, "c": case, "k": codes}).drop_nulls("c").unique(["s", "k"])
    if present.height:
        n_codes = shape[1]
        columns = present.get_column("c").to_numpy() * n_codes + present.get_column("k").to_numpy()
        blocks = sparse.csr_matrix(
            (np.ones(present.height, dtype=np.int64), (present.get_column("s").to_numpy(), columns)),
            shape=(shape[0], (int(present.get_column("c").max()) + 1) * n_codes),  # type: ignore[arg-type]
        )
        rows, cols, _ = upper(blocks.T @ blocks)
        counts = pl.DataFrame({"lo": (rows % n_codes).astype(np.int64), "hi": (cols % n_codes).astype(np.int64)}
                              ).group_by("lo", "hi").agg(pl.len().cast(pl.Int64).alias("n_cases"))
        frame = frame.join(counts, on=["lo", "hi"], how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.Int64).alias("n_cases"))
    return frame.with_columns(pl.col("n").alias("n_sources"), pl.col("n_cases").fill_null(0))


def cooccurrence(enriched: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Code co-occurrence within overlapping segments and within sources (codes ordered by path)."""
    cols = ["scope", "code_a", "code_b", "path_a", "path_b", "n", "n_sources", "n_cases"]
    if enriched.is_empty():
        return pl.DataFrame(schema={c: (pl.Int64 if c.startswith("n") else pl.String) for c in cols})
    enriched = _positional(enriched)
    code = _dense(enriched, "path")
    a, b = pairs.get_column("row_a"), pairs.get_column("row_b")
    ca, cb = code.gather(a), code.gather(b)
    seg = (
        pl.DataFrame({"x": ca, "y": cb, "src": enriched.get_column("source_id").gather(a),
                      "case": enriched.get_column("case").gather(a)})
        .filter(pl.col("x") != pl.col("y"))
        .select(pl.min_horizontal("x", "y").alias("lo"), pl.max_horizontal("x", "y").alias("hi"), "src", "case")
        .group_by("lo", "hi")
        .agg(pl.len().cast(pl.Int64).alias("n"), pl.col("src").n_unique().cast(pl.Int64).alias("n_sources"),
             pl.col("case").drop_nulls().n_unique().cast(pl.Int64).alias("n_cases"))
        .with_columns(pl.lit("segment").alias("scope"))
    )
    src = _source_pairs(enriched, code).with_columns(pl.lit("source").alias("scope"))
    lookup = pl.DataFrame({"i": code, "code_id": enriched.get_column("code_id"), "path": enriched.get_column("path")}
                          ).unique("i")
    out = pl.concat([seg.select("scope", "lo", "hi", "n", "n_sources", "n_cases"),
                     src.select("scope", "lo", "hi", "n", "n_sources", "n_cases")])
    return (
        out.join(lookup.rename({"i": "lo", "code_id": "code_a", "path": "path_a"}), on="lo", how="left")
        .join(lookup.rename({"i": "hi", "code_id": "code_b", "path": "path_b"}), on="hi", how="left")
        .select(cols)
        .with_columns(pl.col("n", "n_sources", "n_cases").cast(pl.Int64))
        .sort(["scope", "n", "path_a", "path_b"], descending=[False, True, False, False])
    )


def exemplars(coded: pl.DataFrame) -> pl.DataFrame:
    """Spans ranked within each case × theme (most co-coded, then longest, then id; texts distinct)."""
    spans = coded.filter(pl.col("case").is_not_null()).group_by("case", "theme", "segment_id").agg(
        pl.col("source_id").first(),
        pl.col("start").first(),
        pl.col("end").first(),
        pl.col("raw_start").first() if "raw_start" in coded.columns else pl.col("start").first().alias("raw_start"),
        pl.col("raw_end").first() if "raw_end" in coded.columns else pl.col("end").first().alias("raw_end"),
        pl.col("text").first(),
        pl.col("length").first(),
        pl.col("cocoded").max(),
        pl.col("path").unique().sort().str.join(LIST_SEPARATOR).alias("codes"),
    )
    return spans.sort(
        ["case", "theme", "cocoded", "length", "segment_id"], descending=[False, False, True, True, False]
    ).unique(["case", "theme", "text"], keep="first", maintain_order=True).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("case", "theme").alias("rank"))


def framework(coded: pl.DataFrame, ranked: pl.DataFrame, per_cell: int = EXEMPLARS_PER_CELL) -> pl.DataFrame:
    """Framework matrix: case × theme counts, leading codes and the strongest exemplar spans."""
    counts = coded.filter(pl.col("case").is_not_null()).group_by("case", "theme").agg(
        pl.col("segment_id").n_unique().cast(pl.Int64).alias("n_segments"),
        pl.col("source_id").n_unique().cast(pl.Int64).alias("n_sources"),
        pl.col("code_id").n_unique().cast(pl.Int64).alias("n_codes"),
    )
    top_codes = (
        coded.filter(pl.col("case").is_not_null()).group_by("case", "theme", "code")
        .agg(pl.col("segment_id").n_unique().alias("n"))
        .sort(["case", "theme", "n", "code"], descending=[False, False, True, False])
        .group_by("case", "theme", maintain_order=True)
        .agg(pl.format("{} ({})", "code", "n").head(per_cell).str.join(LIST_SEPARATOR).alias("top_codes"))
    )
    best = ranked.filter(pl.col("rank") <= per_cell).sort("case", "theme", "rank").group_by(
        "case", "theme", maintain_order=True
    ).agg(
        pl.col("segment_id").str.join(LIST_SEPARATOR).alias("exemplar_ids"),
        pl.col("source_id").str.join(LIST_SEPARATOR).alias("exemplar_sources"),
    )
    return (
        counts.join(top_codes, on=["case", "theme"], how="left")
        .join(best, on=["case", "theme"], how="left")
        .with_columns(pl.col("top_codes", "exemplar_ids", "exemplar_sources").fill_null(""))
        .select("case", "theme", "n_segments", "n_sources", "n_codes", "top_codes", "exemplar_ids", "exemplar_sources")
        .sort("case", "theme")
    )
