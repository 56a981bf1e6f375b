"""Inter-coder reliability: agreement, Cohen's kappa, Krippendorff's alpha and segment overlap."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "POOLED",
    "character_agreement",
    "cohen_kappa",
    "disagreements",
    "kappa_from_counts",
    "krippendorff_alpha_nominal",
    "percent_agreement",
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


def _paired(a: Sequence[Hashable], b: Sequence[Hashable]) -> tuple[list[Hashable], list[Hashable]]:
    first, second = list(a), list(b)
    if len(first) != len(second):
        raise ValueError(f"label sequences differ in length: {len(first)} and {len(second)}")
    return first, second


def percent_agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Share of positions where the two coders gave the same label; NaN for empty input."""
    first, second = _paired(a, b)
    if not first:
        return NAN
    return sum(x == y for x, y in zip(first, second, strict=True)) / len(first)


def _kappa_from_margins(n: int, agreed: int, chance: int) -> float:
    # Integer numerator and denominator (both scaled by n²) so the single final division is
    # correctly rounded: NVivo's 11/35 comes out as the nearest float, not one ulp off.
    denominator = n * n - chance
    if denominator == 0:
        return NAN
    return (n * agreed - chance) / denominator


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa for two coders' nominal labels, as sklearn's cohen_kappa_score.

    When both coders used one and the same label throughout, chance agreement is 1 and kappa is
    0/0: NaN, as sklearn returns (it also warns). Empty input gives NaN.
    """
    first, second = _paired(a, b)
    if not first:
        return NAN
    index: dict[Hashable, int] = {}
    rows = np.asarray([index.setdefault(x, len(index)) for x in first], dtype=np.int64)
    cols = np.asarray([index.setdefault(y, len(index)) for y in second], dtype=np.int64)
    k = len(index)
    row_totals = np.bincount(rows, minlength=k)
    col_totals = np.bincount(cols, minlength=k)
    chance = sum(int(r) * int(c) for r, c in zip(row_totals, col_totals, strict=True))
    return _kappa_from_margins(len(first), int((rows == cols).sum()), chance)


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


def krippendorff_alpha_nominal(data: npt.ArrayLike) -> float:
    """Krippendorff's alpha for nominal data from a coders × units matrix (NaN = missing).

    Built from the coincidence matrix: alpha = 1 - (n-1)·Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k.
    Returns NaN where alpha is undefined: fewer than two distinct values, no unit coded by at
    least two coders (the ``krippendorff`` package raises ValueError for these two), or all
    pairable values in one category (the package returns NaN). Perfect agreement with two or
    more values in play gives 1.0.
    """
    matrix = np.asarray(data, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"data must be a coders × units matrix, got shape {matrix.shape}")
    present = ~np.isnan(matrix)
    _, unit_of_value = np.nonzero(present)
    domain, category = np.unique(matrix[present], return_inverse=True)
    n_categories = domain.size
    if n_categories < 2:
        return NAN
    n_units = matrix.shape[1]
    counts = np.bincount(
        unit_of_value * n_categories + category, minlength=n_units * n_categories
    ).reshape(n_units, n_categories)
    per_unit = counts.sum(axis=1)
    pairable = per_unit >= 2
    if not pairable.any():
        return NAN
    counts = counts[pairable].astype(np.float64)
    m = per_unit[pairable].astype(np.float64)
    observed = float(((m * m - (counts * counts).sum(axis=1)) / (m - 1)).sum())
    n_c = counts.sum(axis=0)
    n = float(n_c.sum())
    expected = n * n - float((n_c * n_c).sum())
    if expected == 0:
        return NAN
    return 1.0 - (n - 1.0) * observed / expected


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
    # chance disagreement is 2·N0·N1/(N-1); see krippendorff_alpha_nominal for the general case.
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
