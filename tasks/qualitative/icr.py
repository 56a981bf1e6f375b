"""Inter-coder reliability tables on the double-coded sources (wraps reliability.py).

Every pair of coders who coded a source in common is compared on the sources both coded, and
with three or more coders all of them are compared at once (Fleiss' kappa over the sources every
coder coded, Krippendorff's alpha over every double-coded source, a coder who did not code a
source being missing there). Each comparison is published at three units (see
reliability.unit_patterns): source presence (did the coder apply the code anywhere in the
source), segment overlap (in each stretch of text someone coded) and character (NVivo's coding
comparison), per code and pooled over codes, with percentile bootstrap intervals over sources.

Everything is computed on the text the coders coded: the segments passed here carry their
offsets in the unredacted source and the sources its length (steps.case_reliability joins them
from the intermediate tables); redaction only changes what is published.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import polars as pl

from tasks.qualitative.reliability import (
    BOOTSTRAP_CONFIDENCE,
    BOOTSTRAP_REPLICATES,
    POOLED,
    UNITS,
    comparison_statistics,
    disagreements,
    unit_patterns,
)

__all__ = [
    "BOOTSTRAP_CONFIDENCE",
    "BOOTSTRAP_REPLICATES",
    "COLUMNS",
    "POOLED",
    "coded_text",
    "coder_pairs",
    "disagreement_table",
    "double_coded_sources",
    "group_coders",
    "reliability_table",
]

PAIR = "pair"
ALL_CODERS = "all coders"
COLUMNS = (
    "comparison", "coders", "coder_a", "coder_b", "n_coders", "unit", "code_id", "path", "n_sources",
    "kappa_sources", "n_units", "both", "first_only", "second_only", "neither", "agreement", "kappa_type", "kappa",
    "kappa_low", "kappa_high", "alpha", "alpha_low", "alpha_high",
)
_INTS = ("n_coders", "n_sources", "kappa_sources", "n_units", "both", "first_only", "second_only", "neither")
_FLOATS = ("agreement", "kappa", "kappa_low", "kappa_high", "alpha", "alpha_low", "alpha_high")


def double_coded_sources(segments: pl.DataFrame) -> pl.DataFrame:
    """Sources coded by two or more coders, with their coder count."""
    return (
        segments.group_by("source_id").agg(pl.col("coder").n_unique().alias("n_coders"))
        .filter(pl.col("n_coders") >= 2)
        .sort("source_id")
    )


def coded_text(segments: pl.DataFrame, offsets: pl.DataFrame, lengths: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Segments with their offsets in the unredacted text, and the sources with its length.

    `offsets` holds raw_start / raw_end per (segment_id, code_id, coder), `lengths` each
    source's unredacted length (source_id, length).
    """
    key = ["segment_id", "code_id", "coder"]
    joined = segments.drop("start", "end", strict=False).join(offsets.select(*key, "raw_start", "raw_end"), on=key,
                                                               how="left", maintain_order="left")
    missing = joined.filter(pl.col("raw_start").is_null() | pl.col("raw_end").is_null())
    if missing.height:
        raise ValueError(f"{missing.height} coding(s) have no offsets in the coded text, e.g. "
                         f"{missing.select(key).row(0, named=True)}")
    return joined.rename({"raw_start": "start", "raw_end": "end"}), lengths.select("source_id", "length")


def _ordered(coders: Sequence[str], lead: str | None) -> list[str]:
    """The lead coder first, then by name."""
    return sorted(set(coders), key=lambda c: (c != lead, c))


def coder_pairs(segments: pl.DataFrame, lead: str | None = None) -> list[tuple[str, str]]:
    """Every pair of coders who coded at least one source in common (lead coder first, then by name)."""
    per_source = segments.select("source_id", "coder").unique()
    shared = (
        per_source.join(per_source, on="source_id", suffix="_other")
        .filter(pl.col("coder") != pl.col("coder_other"))
        .select("coder", "coder_other").unique()
    )
    together = {(str(a), str(b)) for a, b in shared.iter_rows()}
    order = _ordered(per_source.get_column("coder").to_list(), lead)
    return [(a, b) for a, b in combinations(order, 2) if (a, b) in together]


def group_coders(segments: pl.DataFrame, lead: str | None = None) -> list[str]:
    """The coders of the double-coded sources (lead first); compared all at once when three or more."""
    double = double_coded_sources(segments).select("source_id")
    coders = segments.join(double, on="source_id", how="semi").get_column("coder").unique().to_list()
    return _ordered(coders, lead)


def _comparisons(segments: pl.DataFrame, lead: str | None) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = [(PAIR, [a, b]) for a, b in coder_pairs(segments, lead)]
    group = group_coders(segments, lead)
    if len(group) >= 3:
        found.append((ALL_CODERS, group))
    return found


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={c: pl.String for c in COLUMNS}).with_columns(
        pl.col(_INTS).cast(pl.Int64), pl.col(_FLOATS).cast(pl.Float64)
    )


def reliability_table(
    segments: pl.DataFrame, sources: pl.DataFrame, codebook: pl.DataFrame, lead: str | None,
    *, replicates: int = BOOTSTRAP_REPLICATES,
) -> pl.DataFrame:
    """Agreement, kappa and alpha with bootstrap intervals per comparison, unit and code (and pooled)."""
    units = segments.select("source_id", pl.col("code_id").alias("code"), "coder", "start", "end")
    lengths = sources.select("source_id", "length")
    paths = codebook.select(pl.col("code_id").alias("code"), "path")
    frames = []
    for comparison, coders in _comparisons(units, lead):
        pair = comparison == PAIR
        label = " vs ".join(coders) if pair else ", ".join(coders)
        for unit in UNITS:
            stats = comparison_statistics(unit_patterns(units, lengths, coders, unit), coders,
                                          replicates=replicates)
            frames.append(
                stats.join(paths, on="code", how="left", maintain_order="left").select(
                    pl.lit(comparison).alias("comparison"),
                    pl.lit(label).alias("coders"),
                    pl.lit(coders[0] if pair else None, pl.String).alias("coder_a"),
                    pl.lit(coders[1] if pair else None, pl.String).alias("coder_b"),
                    pl.lit(len(coders), pl.Int64).alias("n_coders"),
                    pl.lit(unit).alias("unit"),
                    pl.col("code").alias("code_id"),
                    pl.when(pl.col("code") == POOLED).then(pl.lit("(all codes)")).otherwise(pl.col("path")).alias("path"),
                    "n_sources", "kappa_sources", "n_units", "both", "first_only", "second_only", "neither",
                    "agreement",
                    pl.lit("Cohen" if pair else "Fleiss").alias("kappa_type"),
                    "kappa", "kappa_low", "kappa_high", "alpha", "alpha_low", "alpha_high",
                )
            )
    if not frames:
        return _empty()
    return pl.concat(frames).select(COLUMNS)


def disagreement_table(
    segments: pl.DataFrame, sources: pl.DataFrame, codebook: pl.DataFrame, lead: str | None
) -> pl.DataFrame:
    """(source, code) pairs in shared sources coded by only one coder of a pair, for every pair."""
    units = segments.select("source_id", pl.col("code_id").alias("code"), "coder", "start", "end")
    frames = [
        disagreements(units.filter(pl.col("coder").is_in([a, b])), a, b)
        for a, b in coder_pairs(units, lead)
    ]
    columns = ["source_id", "case", "code_id", "path", "coded_by", "other_coder", "n_segments", "chars"]
    if not frames:
        return pl.DataFrame(schema={c: pl.String for c in columns}).with_columns(
            pl.col("n_segments", "chars").cast(pl.Int64)
        )
    return (
        pl.concat(frames)
        .rename({"code": "code_id"})
        .join(sources.select("source_id", "case"), on="source_id", how="left")
        .join(codebook.select("code_id", "path"), on="code_id", how="left")
        .select(columns)
        .with_columns(pl.col("n_segments", "chars").cast(pl.Int64))
        .sort("source_id", "path", "coded_by", "other_coder")
    )
