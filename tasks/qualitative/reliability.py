"""Inter-coder reliability: agreement, Cohen's kappa and Krippendorff's alpha over coded segments.

Character-level agreement and kappa (as NVivo computes them), presence-of-code agreement, kappa
and alpha per code, and the one-sided codings between two coders, all as polars aggregations.
The scalar reference implementations they are checked against (label-sequence kappa and
agreement, Krippendorff's nominal alpha on a coders × units matrix) live in
tests/reference_stats.py.
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = [
    "POOLED",
    "character_agreement",
    "disagreements",
    "kappa_from_counts",
    "presence_agreement",
]

NAN = float("nan")
POOLED = "__pooled__"
_SEGMENT_SCHEMA: dict[str, pl.DataType] = {
    "source_id": pl.String(),
    "code": pl.String(),
    "coder": pl.String(),
    "start": pl.Int64(),
    "end": pl.Int64(),
}


def _kappa_from_margins(n: int, agreed: int, chance: int) -> float:
    """Kappa from n units, n_agreed and chance = n² · expected agreement (NaN when 0/0)."""
    # Integer numerator and denominator (both scaled by n²) so the single final division is
    # correctly rounded: NVivo's 11/35 comes out as the nearest float, not one ulp off.
    denominator = n * n - chance
    if denominator == 0:
        return NAN
    return (n * agreed - chance) / denominator


def kappa_from_counts(
    both: int, first_only: int, second_only: int, neither: int
) -> tuple[float, float]:
    """Percent agreement and Cohen's kappa from a 2×2 table of coded / not coded units."""
    counts = (both, first_only, second_only, neither)
    if any(c < 0 for c in counts):
        raise ValueError(f"counts must be non-negative, got {counts}")
    n = sum(counts)
    if n == 0:
        return NAN, NAN
    agreed = both + neither
    first_yes, second_yes = both + first_only, both + second_only
    chance = first_yes * second_yes + (n - first_yes) * (n - second_yes)
    return agreed / n, _kappa_from_margins(n, agreed, chance)


def _validated_segments(segments: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in _SEGMENT_SCHEMA if c not in segments.columns]
    if missing:
        raise ValueError(f"segments lack columns {missing}")
    frame = segments.select(pl.col(name).cast(dtype) for name, dtype in _SEGMENT_SCHEMA.items())
    nulls = [
        name for name, count in zip(frame.columns, frame.null_count().row(0), strict=True) if count
    ]
    if nulls:
        raise ValueError(f"segments have missing values in {nulls}")
    bad = frame.filter((pl.col("start") < 0) | (pl.col("end") < pl.col("start")))
    if bad.height:
        row = bad.row(0, named=True)
        raise ValueError(f"{bad.height} segment(s) need 0 <= start <= end, e.g. {row}")
    return frame


def _double_coded(frame: pl.DataFrame, min_coders: int) -> pl.DataFrame:
    sources = (
        frame.group_by("source_id")
        .agg(pl.col("coder").n_unique().alias("n_coders"))
        .filter(pl.col("n_coders") >= min_coders)
        .select("source_id")
    )
    return frame.join(sources, on="source_id", how="semi")


def _covered(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    # Sorted by start, segment i adds [max(start_i, furthest end so far), end_i): everything
    # between its start and that furthest end is already covered by the segment reaching it.
    return (
        frame.sort([*keys, "start"])
        .with_columns(reached=pl.col("end").cum_max().shift(1).over(keys))
        .with_columns(
            added=(
                pl.col("end")
                - pl.max_horizontal("start", pl.col("reached").fill_null(pl.col("start")))
            ).clip(lower_bound=0)
        )
        .group_by(keys)
        .agg(
            pl.col("added").sum().cast(pl.Int64).alias("chars"),
            pl.len().cast(pl.Int64).alias("n_segments"),
        )
    )


def _check_pair(coder_a: str, coder_b: str) -> None:
    if coder_a == coder_b:
        raise ValueError(f"need two different coders, got {coder_a!r} twice")


def _with_agreement(counts: pl.DataFrame) -> pl.DataFrame:
    agreement: list[float | None] = []
    kappa: list[float | None] = []
    for both, first, second, neither in counts.select(
        "both", "first_only", "second_only", "neither"
    ).iter_rows():
        agree, k = kappa_from_counts(both, first, second, neither)
        agreement.append(None if np.isnan(agree) else agree)
        kappa.append(None if np.isnan(k) else k)
    return counts.with_columns(
        pl.Series("agreement", agreement, dtype=pl.Float64),
        pl.Series("kappa", kappa, dtype=pl.Float64),
    )


def character_agreement(
    segments: pl.DataFrame, sources: pl.DataFrame, coder_a: str, coder_b: str
) -> pl.DataFrame:
    """Character-level agreement and kappa per code (plus a ``__pooled__`` row) for two coders.

    Counts characters over the sources both coders coded (each has at least one segment there)
    and every code either of them applied in those sources; a coder's overlapping segments for
    one code count once. Columns: code, both, first_only, second_only, neither, agreement,
    kappa, with null where a value is undefined. Rows are sorted by code, pooled row last.
    """
    _check_pair(coder_a, coder_b)
    frame = _double_coded(
        _validated_segments(segments).filter(pl.col("coder").is_in([coder_a, coder_b])), 2
    )
    lengths = sources.select(pl.col("source_id").cast(pl.String), pl.col("length").cast(pl.Int64))
    if lengths.get_column("source_id").is_duplicated().any():
        raise ValueError("sources list a source_id more than once")
    if lengths.get_column("length").is_null().any() or (lengths.get_column("length") < 0).any():
        raise ValueError("source lengths must be present and non-negative")
    checked = frame.join(lengths, on="source_id", how="left")
    unknown = checked.filter(pl.col("length").is_null()).get_column("source_id").unique().sort()
    if unknown.len():
        raise ValueError(f"segments refer to sources missing from `sources`: {unknown.to_list()}")
    overrun = checked.filter(pl.col("end") > pl.col("length"))
    if overrun.height:
        raise ValueError(
            f"{overrun.height} segment(s) end beyond their source, e.g. {overrun.row(0, named=True)}"
        )

    total = int(
        lengths.join(frame.select("source_id").unique(), on="source_id", how="semi")
        .get_column("length")
        .sum()
    )
    per_coder = _covered(frame, ["source_id", "code", "coder"])
    union = _covered(frame, ["source_id", "code"]).rename({"chars": "union"})
    for coder, name in ((coder_a, "first"), (coder_b, "second")):
        union = union.join(
            per_coder.filter(pl.col("coder") == coder).select(
                "source_id", "code", pl.col("chars").alias(name)
            ),
            on=["source_id", "code"],
            how="left",
        )
    union = union.with_columns(pl.col("first", "second").fill_null(0))
    # |A ∩ B| = |A| + |B| - |A ∪ B|, so one union per coder and one joint union suffice.
    per_code = (
        union.group_by("code")
        .agg(
            (pl.col("first") + pl.col("second") - pl.col("union")).sum().alias("both"),
            (pl.col("union") - pl.col("second")).sum().alias("first_only"),
            (pl.col("union") - pl.col("first")).sum().alias("second_only"),
            (total - pl.col("union").sum()).alias("neither"),
        )
        .sort("code")
    )
    count_columns = ["both", "first_only", "second_only", "neither"]
    per_code = per_code.select("code", *(pl.col(c).cast(pl.Int64) for c in count_columns))
    pooled = pl.DataFrame(
        {"code": [POOLED], **{c: [int(per_code.get_column(c).sum())] for c in count_columns}},
        schema=per_code.schema,
    )
    return _with_agreement(pl.concat([per_code, pooled]))


def _presence_summary(two_coders: bool) -> list[pl.Expr]:
    n = pl.col("m").sum()
    n1 = pl.col("n1").sum()
    n0 = n - n1
    # Binary nominal alpha: each unit adds 2·n0·n1/(m-1) to the off-diagonal coincidences and
    # chance disagreement is 2·N0·N1/(N-1); see krippendorff_alpha_nominal in
    # tests/reference_stats.py for the general case.
    observed = (2 * pl.col("n1") * (pl.col("m") - pl.col("n1")) / (pl.col("m") - 1)).sum()
    expected = 2 * n0.cast(pl.Float64) * n1.cast(pl.Float64)
    exprs = [
        pl.len().cast(pl.Int64).alias("n_units"),
        ((pl.col("n1") == 0) | (pl.col("n1") == pl.col("m"))).mean().alias("agreement"),
        pl.when(expected > 0).then(1 - (n - 1) * observed / expected).alias("alpha"),
    ]
    if two_coders:
        exprs += [
            (pl.col("a") & pl.col("b")).sum().cast(pl.Int64).alias("both"),
            (pl.col("a") & ~pl.col("b")).sum().cast(pl.Int64).alias("first_only"),
            (~pl.col("a") & pl.col("b")).sum().cast(pl.Int64).alias("second_only"),
            (~pl.col("a") & ~pl.col("b")).sum().cast(pl.Int64).alias("neither"),
        ]
    return exprs


def presence_agreement(segments: pl.DataFrame, coders: list[str]) -> pl.DataFrame:
    """Per-code agreement on whether each coder applied the code anywhere in a source.

    Units are (source, code) pairs over the sources coded by at least two of ``coders`` and the
    codes any of them applied there; a coder who did not code a source is missing for it, not
    "absent". Columns: code, n_units, agreement (share of units where all present coders agree),
    kappa (Cohen's, only with exactly two coders), alpha (Krippendorff, nominal); null where
    undefined. Sorted by code with a ``__pooled__`` row over all units last.
    """
    if len(set(coders)) < 2 or len(set(coders)) != len(coders):
        raise ValueError(f"need at least two distinct coders, got {coders}")
    frame = _double_coded(_validated_segments(segments).filter(pl.col("coder").is_in(coders)), 2)
    two = len(coders) == 2
    coded = frame.select("source_id", "coder").unique()
    applied = frame.select("source_id", "code", "coder").unique().with_columns(value=pl.lit(True))
    units = (
        coded.join(frame.select("code").unique(), how="cross")
        .join(applied, on=["source_id", "code", "coder"], how="left")
        .with_columns(pl.col("value").fill_null(False))
        .group_by("source_id", "code")
        .agg(
            pl.len().alias("m"),
            pl.col("value").sum().alias("n1"),
            pl.col("value").filter(pl.col("coder") == coders[0]).any().alias("a"),
            pl.col("value").filter(pl.col("coder") == coders[-1]).any().alias("b"),
        )
        .with_columns(pl.col("m", "n1").cast(pl.Int64))
    )
    exprs = _presence_summary(two)
    per_code = units.group_by("code").agg(exprs).sort("code")
    pooled = units.select(exprs).select(pl.lit(POOLED).alias("code"), pl.all())
    table = pl.concat([per_code, pooled.select(per_code.columns)])
    if two:
        table = _with_agreement(table.drop("agreement")).drop(
            "both", "first_only", "second_only", "neither"
        )
    else:
        table = table.with_columns(kappa=pl.lit(None, dtype=pl.Float64))
    return table.select(
        "code",
        "n_units",
        pl.col("agreement").cast(pl.Float64),
        "kappa",
        pl.col("alpha").cast(pl.Float64).fill_nan(None),
    )


def disagreements(segments: pl.DataFrame, coder_a: str, coder_b: str) -> pl.DataFrame:
    """(source, code) pairs in double-coded sources that only one of the two coders applied.

    Columns: source_id, code, coded_by, other_coder, n_segments (the applying coder's segments)
    and chars (characters those segments cover, overlaps counted once); sorted by source_id,
    code, coded_by.
    """
    _check_pair(coder_a, coder_b)
    frame = _double_coded(
        _validated_segments(segments).filter(pl.col("coder").is_in([coder_a, coder_b])), 2
    )
    covered = _covered(frame, ["source_id", "code", "coder"])
    return (
        covered.filter(pl.len().over("source_id", "code") == 1)
        .select(
            "source_id",
            "code",
            pl.col("coder").alias("coded_by"),
            pl.when(pl.col("coder") == coder_a)
            .then(pl.lit(coder_b))
            .otherwise(pl.lit(coder_a))
            .alias("other_coder"),
            "n_segments",
            "chars",
        )
        .sort("source_id", "code", "coded_by")
    )
