"""Inter-coder reliability: agreement, Cohen's and Fleiss' kappa and Krippendorff's alpha.

Character-level agreement and kappa (as NVivo computes them), presence-of-code agreement, kappa
and alpha per code, and the one-sided codings between two coders, all as polars aggregations.
`unit_patterns` describes one comparison (two or more coders) at one of three units — source
presence, segment overlap, character — as counts of identical units, from which
`comparison_statistics` computes every statistic with a bootstrap interval over sources.
The scalar reference implementations they are checked against (label-sequence kappa and
agreement, Krippendorff's nominal alpha on a coders × units matrix) live in
tests/reference_stats.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from tasks.blas import single_threaded_blas
from tasks.frames import as_matrix

__all__ = [
    "POOLED",
    "UNITS",
    "character_agreement",
    "comparison_statistics",
    "disagreements",
    "kappa_from_counts",
    "presence_agreement",
    "unit_patterns",
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
    total = int(_checked_lengths(frame, sources).get_column("length").sum())
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


# --- comparisons of two or more coders at one unit, with bootstrap intervals over sources ------

# The units agreement is counted over (see unit_patterns).
UNITS = ("presence", "segment", "character")
# Percentile bootstrap over sources: B resamples of the comparison's sources (with replacement),
# drawn once per comparison from a generator seeded with BOOTSTRAP_SEED, so a run is repeatable
# and every code and the pooled row of one comparison see the same resamples.
BOOTSTRAP_REPLICATES = 2000
BOOTSTRAP_SEED = 2013
BOOTSTRAP_CONFIDENCE = 0.95
_MAX_CODERS = 62  # one bit per coder in an Int64 mask
# Sufficient statistics per (source, code); every statistic is a function of their sums, so a
# bootstrap replicate is a weighted sum over sources.
_STATS = ("units", "agree", "values", "ones", "observed", "both", "first", "second", "neither",
          "all_units", "all_pairs", "all_ones")
_PATTERN_SCHEMA: dict[str, pl.DataType] = {
    "source_id": pl.String(), "code": pl.String(), "mask": pl.Int64(), "m": pl.Int64(), "n1": pl.Int64(),
    "weight": pl.Int64(),
}


def _check_coders(coders: Sequence[str]) -> list[str]:
    names = list(coders)
    if len(set(names)) < 2 or len(set(names)) != len(names):
        raise ValueError(f"need at least two distinct coders, got {names}")
    if len(names) > _MAX_CODERS:
        raise ValueError(f"at most {_MAX_CODERS} coders can be compared at once, got {len(names)}")
    return names


def _checked_lengths(frame: pl.DataFrame, sources: pl.DataFrame) -> pl.DataFrame:
    """Source lengths of the sources in `frame`, checked against its segments' ends."""
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
        raise ValueError(f"{overrun.height} segment(s) end beyond their source, e.g. {overrun.row(0, named=True)}")
    return lengths.join(frame.select("source_id").unique(), on="source_id", how="semi")


def _segment_units(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Coded stretches: each source's codings (all coders, all codes) merged where they overlap."""
    reached = pl.col("end").cum_max().shift(1).over("source_id")
    # A stretch starts where a coding shares no character with the codings before it; an empty
    # coding at the very end of a stretch stays in it.
    starts = reached.is_null() | (pl.col("start") > reached) | ((pl.col("start") == reached) & (pl.col("end") > pl.col("start")))
    ordered = frame.sort("source_id", "start", "end").with_columns(
        starts.cast(pl.Int64).cum_sum().over("source_id").alias("stretch")
    )
    coded = (
        ordered.group_by("source_id", "stretch", "code").agg(pl.col("bit").unique().sum().alias("mask"))
        .group_by("source_id", "code", "mask").agg(pl.len().cast(pl.Int64).alias("weight"))
    )
    return coded, ordered.group_by("source_id").agg(pl.col("stretch").max().cast(pl.Int64).alias("n"))


def _character_units(frame: pl.DataFrame, sources: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Characters by the set of coders who coded them with each code (overlaps counted once)."""
    lengths = _checked_lengths(frame, sources)
    keys = ["source_id", "code", "coder"]
    reached = pl.col("end").cum_max().shift(1).over(keys)
    pieces = (
        frame.filter(pl.col("end") > pl.col("start")).sort(*keys, "start")
        .with_columns((reached.is_null() | (pl.col("start") > reached)).cast(pl.Int64).cum_sum().over(keys).alias("piece"))
        .group_by(*keys, "piece").agg(pl.col("start").min(), pl.col("end").max(), pl.col("bit").first())
    )
    # Each coder's pieces are disjoint, so adding the coder's bit where a piece starts and
    # taking it away where it ends leaves the set of coders covering each stretch of text.
    events = (
        pl.concat([
            pieces.select("source_id", "code", pl.col("start").alias("pos"), pl.col("bit").alias("delta")),
            pieces.select("source_id", "code", pl.col("end").alias("pos"), (-pl.col("bit")).alias("delta")),
        ])
        .group_by("source_id", "code", "pos").agg(pl.col("delta").sum())
        .sort("source_id", "code", "pos")
        .with_columns(
            pl.col("delta").cum_sum().over("source_id", "code").alias("mask"),
            (pl.col("pos").shift(-1).over("source_id", "code") - pl.col("pos")).alias("weight"),
        )
    )
    coded = (
        events.filter((pl.col("mask") > 0) & (pl.col("weight") > 0))
        .group_by("source_id", "code", "mask").agg(pl.col("weight").sum().cast(pl.Int64))
    )
    return coded, lengths.select("source_id", pl.col("length").alias("n"))


def unit_patterns(segments: pl.DataFrame, sources: pl.DataFrame | None, coders: Sequence[str], unit: str) -> pl.DataFrame:
    """One comparison's units as counts of identical units: source_id, code, mask, m, n1, weight.

    The sources are those coded by at least two of `coders`; a coder who did not code a source
    is missing there (not "did not apply the code"). The codes are those any of the coders
    applied in those sources, each crossed with every unit of every source:
    presence — the source itself (did the coder apply the code anywhere in it);
    segment — each coded stretch of the source: the codings of all the coders, all codes,
    merged where they share a character (did the coder apply the code within the stretch);
    character — each character of the source (`sources` gives the lengths; did the coder's
    codings of the code cover it). `mask` has bit i set when coders[i] applied the code to the
    unit, `m` counts the coders who coded the source, `n1` those who applied the code, and
    `weight` how many units share the pattern.
    """
    names = _check_coders(coders)
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    bits = {name: 1 << i for i, name in enumerate(names)}
    frame = _double_coded(_validated_segments(segments).filter(pl.col("coder").is_in(names)), 2).with_columns(
        pl.col("coder").replace_strict(bits, return_dtype=pl.Int64).alias("bit")
    )
    if frame.is_empty():
        return pl.DataFrame(schema=_PATTERN_SCHEMA)
    present = frame.group_by("source_id").agg(pl.col("coder").n_unique().cast(pl.Int64).alias("m"))
    codes = frame.select("code").unique()
    if unit == "presence":
        coded = (
            frame.group_by("source_id", "code").agg(pl.col("bit").unique().sum().alias("mask"))
            .with_columns(pl.lit(1, pl.Int64).alias("weight"))
        )
        per_source = present.select("source_id", pl.lit(1, pl.Int64).alias("n"))
    elif unit == "segment":
        coded, per_source = _segment_units(frame)
    else:
        if sources is None:
            raise ValueError("character units need the sources' lengths")
        coded, per_source = _character_units(frame, sources)
    taken = coded.group_by("source_id", "code").agg(pl.col("weight").sum().alias("taken"))
    uncoded = (
        per_source.join(codes, how="cross").join(taken, on=["source_id", "code"], how="left")
        .select("source_id", "code", pl.lit(0, pl.Int64).alias("mask"),
                (pl.col("n") - pl.col("taken").fill_null(0)).cast(pl.Int64).alias("weight"))
        .filter(pl.col("weight") > 0)
    )
    n1 = pl.sum_horizontal(*((pl.col("mask") // (1 << i)) % 2 for i in range(len(names))))
    return (
        pl.concat([coded.select("source_id", "code", pl.col("mask").cast(pl.Int64), pl.col("weight").cast(pl.Int64)),
                   uncoded])
        .join(present, on="source_id", how="left")
        .select("source_id", "code", "mask", "m", n1.cast(pl.Int64).alias("n1"), "weight")
        .sort("source_id", "code", "mask")
    )


def _sufficient(patterns: pl.DataFrame, k: int) -> pl.DataFrame:
    """Per (source, code) sums every statistic is computed from (see _STATS)."""
    w, m, n1, mask = pl.col("weight").cast(pl.Float64), pl.col("m"), pl.col("n1"), pl.col("mask")
    every = m == k
    return patterns.group_by("source_id", "code").agg(
        w.sum().alias("units"),
        w.filter((n1 == 0) | (n1 == m)).sum().alias("agree"),
        (w * m).sum().alias("values"),
        (w * n1).sum().alias("ones"),
        # Krippendorff: a unit with m values, n1 of them "applied", adds 2·n1·(m - n1)/(m - 1)
        # to the off-diagonal coincidences.
        (w * 2 * n1 * (m - n1) / (m - 1)).sum().alias("observed"),
        w.filter(mask == 3).sum().alias("both"),
        w.filter(mask == 1).sum().alias("first"),
        w.filter(mask == 2).sum().alias("second"),
        w.filter(mask == 0).sum().alias("neither"),
        # Fleiss: only units of sources every coder coded (a constant number of ratings).
        w.filter(every).sum().alias("all_units"),
        (w * (n1 * (n1 - 1) + (k - n1) * (k - n1 - 1)) / (k * (k - 1))).filter(every).sum().alias("all_pairs"),
        (w * n1).filter(every).sum().alias("all_ones"),
    )


def _statistics(totals: npt.NDArray[np.float64], k: int) -> tuple[npt.NDArray[np.float64], ...]:
    """Agreement, kappa (Cohen's for two coders, Fleiss' for more) and alpha from summed stats."""
    t = {name: totals[..., i] for i, name in enumerate(_STATS)}
    with np.errstate(divide="ignore", invalid="ignore"):
        agreement = np.where(t["units"] > 0, t["agree"] / t["units"], np.nan)
        if k == 2:
            n = t["both"] + t["first"] + t["second"] + t["neither"]
            p1, p2 = (t["both"] + t["first"]) / n, (t["both"] + t["second"]) / n
            observed, chance = (t["both"] + t["neither"]) / n, p1 * p2 + (1 - p1) * (1 - p2)
        else:
            observed = t["all_pairs"] / t["all_units"]
            p = t["all_ones"] / (k * t["all_units"])
            chance = p * p + (1 - p) * (1 - p)
        kappa = np.where(1 - chance > 0, (observed - chance) / (1 - chance), np.nan)
        zeros = t["values"] - t["ones"]
        expected = 2 * zeros * t["ones"]
        alpha = np.where(expected > 0, 1 - (t["values"] - 1) * t["observed"] / expected, np.nan)
    return agreement, kappa, alpha


def _interval(replicates: npt.NDArray[np.float64], confidence: float) -> tuple[list[float | None], list[float | None]]:
    """Percentile interval per column of a replicates × columns array (null when no replicate is defined)."""
    tail = 100 * (1 - confidence) / 2
    lower: list[float | None] = []
    upper: list[float | None] = []
    for column in replicates.T:
        defined = column[np.isfinite(column)]
        if defined.size == 0:
            lower.append(None)
            upper.append(None)
            continue
        lo, hi = np.percentile(defined, [tail, 100 - tail])
        lower.append(float(lo))
        upper.append(float(hi))
    return lower, upper


def _none(values: npt.NDArray[np.float64]) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def comparison_statistics(
    patterns: pl.DataFrame,
    coders: Sequence[str],
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = BOOTSTRAP_CONFIDENCE,
) -> pl.DataFrame:
    """Per code (and a ``__pooled__`` row last) the agreement, kappa and alpha of one comparison.

    `patterns` come from unit_patterns with the same `coders`. Two coders: Cohen's kappa and
    the 2×2 counts (both, first_only, second_only, neither); more: Fleiss' kappa over the
    sources every coder coded (`kappa_sources`), Krippendorff's alpha over every source (a
    coder who did not code a source is missing there). Agreement is the share of units on
    which every coder who coded the source agrees. kappa_low/high and alpha_low/high are
    percentile bootstrap intervals over sources (`replicates` resamples, seeded); null with
    fewer than two sources or where no replicate defines the statistic.
    """
    k = len(_check_coders(coders))
    if replicates < 1:
        raise ValueError(f"need at least one bootstrap replicate, got {replicates}")
    sums = _sufficient(patterns, k)
    source_ids = sorted(sums.get_column("source_id").unique().to_list())
    codes = sorted(sums.get_column("code").unique().to_list())
    per_source = np.zeros((len(source_ids), len(codes), len(_STATS)))
    if sums.height:
        s_idx = sums.get_column("source_id").replace_strict({s: i for i, s in enumerate(source_ids)},
                                                           return_dtype=pl.Int64).to_numpy()
        c_idx = sums.get_column("code").replace_strict({c: i for i, c in enumerate(codes)},
                                                      return_dtype=pl.Int64).to_numpy()
        per_source[s_idx, c_idx, :] = as_matrix(sums.select(_STATS))
    per_code = np.concatenate([per_source.sum(axis=0), per_source.sum(axis=(0, 1))[None, :]])
    agreement, kappa, alpha = _statistics(per_code, k)
    if k == 2:
        # The 2×2 counts are integers: kappa from them is rounded once (kappa_from_counts).
        cells = per_code[:, [_STATS.index(c) for c in ("both", "first", "second", "neither")]].round().astype(np.int64)
        kappa = np.array([kappa_from_counts(*map(int, row))[1] for row in cells])
    n_sources = len(source_ids)
    if n_sources >= 2:
        rng = np.random.default_rng(seed)
        drawn = rng.integers(0, n_sources, size=(replicates, n_sources))
        counts = np.zeros((replicates, n_sources))
        np.add.at(counts, (np.arange(replicates)[:, None], drawn), 1.0)
        # Replicate b sums each source's statistics times the times it was drawn (one matmul),
        # on one BLAS thread: the same digits whatever the core count, and no BLAS threads
        # spinning against the steps running beside it (national: 2000 x 11,520 x ~600).
        single_threaded_blas()
        product = counts @ per_source.reshape(n_sources, -1)
        boot = product.reshape(replicates, len(codes), len(_STATS))
        boot = np.concatenate([boot, boot.sum(axis=1, keepdims=True)], axis=1)
        _, boot_kappa, boot_alpha = _statistics(boot, k)
        kappa_low, kappa_high = _interval(boot_kappa, confidence)
        alpha_low, alpha_high = _interval(boot_alpha, confidence)
    else:
        kappa_low = kappa_high = alpha_low = alpha_high = [None] * (len(codes) + 1)
    all_sources = (
        patterns.filter(pl.col("m") == k).get_column("source_id").n_unique() if k > 2 else n_sources
    )
    count = {name: per_code[:, _STATS.index(name)].round().astype(np.int64).tolist()
             for name in ("units", "both", "first", "second", "neither")}
    pair_counts = {
        column: (count[name] if k == 2 else [None] * len(per_code))
        for column, name in (("both", "both"), ("first_only", "first"), ("second_only", "second"), ("neither", "neither"))
    }
    return pl.DataFrame(
        {
            "code": [*codes, POOLED],
            "n_sources": [n_sources] * len(per_code),
            "kappa_sources": [all_sources] * len(per_code),
            "n_units": count["units"],
            **pair_counts,
            "agreement": _none(agreement),
            "kappa": _none(kappa),
            "kappa_low": kappa_low,
            "kappa_high": kappa_high,
            "alpha": _none(alpha),
            "alpha_low": alpha_low,
            "alpha_high": alpha_high,
        },
        schema={"code": pl.String, "n_sources": pl.Int64, "kappa_sources": pl.Int64, "n_units": pl.Int64,
                "both": pl.Int64, "first_only": pl.Int64, "second_only": pl.Int64, "neither": pl.Int64,
                "agreement": pl.Float64, "kappa": pl.Float64, "kappa_low": pl.Float64, "kappa_high": pl.Float64,
                "alpha": pl.Float64, "alpha_low": pl.Float64, "alpha_high": pl.Float64},
    )
