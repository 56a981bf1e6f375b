"""Inter-coder reliability tables on the double-coded sources (wraps reliability.py).

The lead coder is compared with every other coder who shares at least one source with them.
Presence level: units are (source, code) pairs over the sources both coded. Character level:
every character of those sources, per code (NVivo's coding comparison). Krippendorff's alpha at
character level is the closed form for two coders, binary nominal data, no missing values:
alpha = 1 - (2N - 1)(b + c) / (n0 · n1), with N characters, b and c the characters only one coder
coded and n0, n1 the pooled counts of "not coded" and "coded" values (2N values in all).
"""

from __future__ import annotations

import polars as pl

from tasks.qualitative.reliability import (
    POOLED,
    character_agreement,
    disagreements,
    presence_agreement,
)

COLUMNS = (
    "coder_a", "coder_b", "level", "code_id", "path", "n_sources", "n_units", "both", "first_only",
    "second_only", "neither", "agreement", "kappa", "alpha",
)


def double_coded_sources(segments: pl.DataFrame) -> pl.DataFrame:
    """Sources coded by two or more coders, with their coder count."""
    return (
        segments.group_by("source_id").agg(pl.col("coder").n_unique().alias("n_coders"))
        .filter(pl.col("n_coders") >= 2)
        .sort("source_id")
    )


def coder_pairs(segments: pl.DataFrame, lead: str | None) -> list[tuple[str, str]]:
    """(lead, other) for every other coder who coded a source the lead coder also coded."""
    if lead is None:
        return []
    lead_sources = segments.filter(pl.col("coder") == lead).select("source_id").unique()
    others = (
        segments.join(lead_sources, on="source_id", how="semi")
        .filter(pl.col("coder") != lead).get_column("coder").unique().sort().to_list()
    )
    return [(lead, str(o)) for o in others]


def _alpha(both: pl.Expr, first: pl.Expr, second: pl.Expr, neither: pl.Expr) -> pl.Expr:
    n_values = 2 * (both + first + second + neither)
    coded = 2 * both + first + second
    uncoded = n_values - coded
    expected = coded.cast(pl.Float64) * uncoded.cast(pl.Float64)
    observed = (first + second).cast(pl.Float64)
    return pl.when(expected > 0).then(1 - (n_values - 1).cast(pl.Float64) * observed / expected)


def reliability_table(segments: pl.DataFrame, sources: pl.DataFrame, codebook: pl.DataFrame, lead: str | None) -> pl.DataFrame:
    """Per code and pooled agreement, kappa and alpha for each (lead, other) coder pair."""
    units = segments.select("source_id", pl.col("code_id").alias("code"), "coder", "start", "end")
    lengths = sources.select("source_id", "length")
    paths = codebook.select(pl.col("code_id").alias("code"), "path")
    frames = []
    for a, b in coder_pairs(segments, lead):
        pair = units.filter(pl.col("coder").is_in([a, b]))
        shared = double_coded_sources(pair.select("source_id", "coder")).height
        presence = presence_agreement(pair, [a, b]).with_columns(
            pl.lit("presence").alias("level"),
            *(pl.lit(None, pl.Int64).alias(c) for c in ("both", "first_only", "second_only", "neither")),
        )
        chars = character_agreement(pair, lengths, a, b).with_columns(
            pl.lit("character").alias("level"),
            (pl.col("both") + pl.col("first_only") + pl.col("second_only") + pl.col("neither")).alias("n_units"),
            _alpha(pl.col("both"), pl.col("first_only"), pl.col("second_only"), pl.col("neither")).alias("alpha"),
        )
        for frame in (presence, chars):
            frames.append(
                frame.join(paths, on="code", how="left").select(
                    pl.lit(a).alias("coder_a"), pl.lit(b).alias("coder_b"), "level", pl.col("code").alias("code_id"),
                    pl.when(pl.col("code") == POOLED).then(pl.lit("(all codes)")).otherwise(pl.col("path")).alias("path"),
                    pl.lit(shared, pl.Int64).alias("n_sources"),
                    pl.col("n_units").cast(pl.Int64),
                    *(pl.col(c).cast(pl.Int64) for c in ("both", "first_only", "second_only", "neither")),
                    *(pl.col(c).cast(pl.Float64) for c in ("agreement", "kappa", "alpha")),
                )
            )
    if not frames:
        return pl.DataFrame(schema={c: pl.String for c in COLUMNS}).with_columns(
            pl.col("n_sources", "n_units", "both", "first_only", "second_only", "neither").cast(pl.Int64),
            pl.col("agreement", "kappa", "alpha").cast(pl.Float64),
        )
    return pl.concat(frames).select(COLUMNS)


def disagreement_table(
    segments: pl.DataFrame, sources: pl.DataFrame, codebook: pl.DataFrame, lead: str | None
) -> pl.DataFrame:
    """(source, code) pairs in shared sources coded by only one of each (lead, other) pair."""
    units = segments.select("source_id", pl.col("code_id").alias("code"), "coder", "start", "end")
    frames = [
        disagreements(units.filter(pl.col("coder").is_in([a, b])), a, b)
        for a, b in coder_pairs(segments, lead)
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
        .sort("source_id", "path", "coded_by")
    )
