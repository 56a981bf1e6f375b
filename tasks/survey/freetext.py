"""Free text quantitised: dictionary coding (multi-label), frequencies, remainder, agreement."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from schemas.study_config import FreeTextDictionary
from tasks.privacy import pseudonymise
from tasks.qualitative.reliability import kappa_from_counts
from tasks.redaction import redact_column
from tasks.survey.estimates import ALL, wilson_exprs, z_value
from tasks.survey.instrument import value_column

UNCODED = "_uncoded"  # category slugs start with a letter, so this never names a real one
UNCODED_LABEL = "(no category matched)"
TEXT = "_text"
# A human-coded sample: the export's response id of each answer and a category it was coded with.
HUMAN_COLUMNS = ("response_id", "category")


def category_pattern(patterns: Sequence[str]) -> str:
    """One case-insensitive regular expression matching any of the patterns."""
    return "(?i)" + "|".join(f"(?:{p})" for p in patterns)


def _matches(text: pl.Expr, patterns: Sequence[str]) -> tuple[pl.Expr, bool]:
    """Match expression, vectorised in polars when its regex engine accepts the patterns."""
    pattern = category_pattern(patterns)
    try:
        pl.select(pl.lit("").str.contains(pattern))
        return text.str.contains(pattern), True
    except pl.exceptions.PolarsError:
        # Look-arounds and back-references are Python-only: fall back to `re` for this category.
        compiled = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        return text.map_elements(
            lambda s: compiled.search(s) is not None, return_dtype=pl.Boolean
        ), False


@dataclass(frozen=True, eq=False)
class Coded:
    """Per answer (non-empty text), one boolean column per category plus the uncoded flag."""

    frame: pl.DataFrame
    categories: list[str]
    notes: tuple[str, ...]


def code_answers(
    frame: pl.DataFrame, id_column: str, text_column: str, dictionary: FreeTextDictionary
) -> Coded:
    """Apply the dictionary to every non-empty answer (a respondent can match several categories)."""
    answers = frame.select(pl.col(id_column), pl.col(text_column).alias(TEXT)).filter(
        pl.col(TEXT).is_not_null() & (pl.col(TEXT).str.strip_chars() != "")
    )
    notes = []
    exprs = []
    for key, category in dictionary.categories.items():
        expr, fast = _matches(pl.col(TEXT), category.patterns)
        exprs.append(expr.fill_null(False).alias(key))
        if not fast:
            notes.append(
                f"category {key!r}: patterns need Python's regex engine (slower path used)"
            )
    coded = answers.with_columns(exprs)
    cats = list(dictionary.categories)
    coded = coded.with_columns(
        (~pl.any_horizontal([pl.col(c) for c in cats]) if cats else pl.lit(True)).alias(UNCODED)
    )
    return Coded(coded, cats, tuple(notes))


def coded_long(coded: Coded, id_column: str, dictionary_key: str, wave: str) -> pl.DataFrame:
    """One row per (answer, category matched)."""
    if not coded.categories:
        return pl.DataFrame(
            schema={
                "wave": pl.String,
                "dictionary": pl.String,
                "respondent_id": pl.String,
                "category": pl.String,
            }
        )
    order = {c: i for i, c in enumerate(coded.categories)}
    return (
        coded.frame.select(pl.col(id_column).alias("respondent_id"), *coded.categories)
        .unpivot(index="respondent_id", variable_name="category", value_name="hit")
        .filter(pl.col("hit"))
        .with_columns(pl.col("category").replace_strict(order, return_dtype=pl.Int64).alias("_c"))
        .sort("respondent_id", "_c")
        .select(
            pl.lit(wave).alias("wave"),
            pl.lit(dictionary_key).alias("dictionary"),
            "respondent_id",
            "category",
        )
    )


def uncoded_answers(
    coded: Coded, id_column: str, dictionary_key: str, variable: str, wave: str
) -> pl.DataFrame:
    """Answers no category matched, for a human to read and perhaps extend the dictionary."""
    return (
        coded.frame.filter(pl.col(UNCODED))
        .select(
            pl.lit(wave).alias("wave"),
            pl.lit(dictionary_key).alias("dictionary"),
            pl.lit(variable).alias("variable"),
            pl.col(id_column).alias("respondent_id"),
            pl.col(TEXT).alias("text"),
        )
        .sort("respondent_id")
    )


def category_frequencies(
    coded: Coded,
    id_column: str,
    membership: pl.DataFrame,
    dictionary: FreeTextDictionary,
    dictionary_key: str,
    breakdowns: Sequence[str],
    wave: str,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """Share of answers in each category (and uncoded), overall and per breakdown group.

    membership: id_column, breakdown, group (one row per respondent and breakdown, "all" included).
    """
    z = z_value(confidence)
    cats = [*coded.categories, UNCODED]
    labels = {k: c.label for k, c in dictionary.categories.items()} | {UNCODED: UNCODED_LABEL}
    joined = coded.frame.join(membership, on=id_column)
    counts = joined.group_by("breakdown", "group").agg(
        pl.len().alias("answers"), *[pl.col(c).sum().alias(c) for c in cats]
    )
    long = counts.unpivot(
        index=["breakdown", "group", "answers"],
        on=cats,
        variable_name="category",
        value_name="count",
    )
    n = pl.col("answers").cast(pl.Float64)
    lower, upper = wilson_exprs(pl.col("count").cast(pl.Float64), n, z)
    order_c = {c: i for i, c in enumerate(cats)}
    order_b = {b: i for i, b in enumerate([ALL, *breakdowns])}
    return (
        long.with_columns(
            (pl.col("count") / n).alias("share"),
            lower.alias("lower"),
            upper.alias("upper"),
            pl.col("category").replace_strict(labels, return_dtype=pl.String).alias("label"),
            pl.col("category").replace_strict(order_c, return_dtype=pl.Int64).alias("_c"),
            pl.col("breakdown").replace_strict(order_b, return_dtype=pl.Int64).alias("_b"),
        )
        .sort("_c", "_b", "group")
        .select(
            pl.lit(wave).alias("wave"),
            pl.lit(dictionary_key).alias("dictionary"),
            pl.lit(dictionary.variable).alias("variable"),
            "category",
            "label",
            "breakdown",
            "group",
            pl.col("answers").cast(pl.Int64),
            pl.col("count").cast(pl.Int64),
            "share",
            "lower",
            "upper",
        )
    )


AGREEMENT_SCHEMA: dict[str, pl.DataType] = {
    "wave": pl.String(),
    "dictionary": pl.String(),
    "category": pl.String(),
    "label": pl.String(),
    "n": pl.Int64(),
    "both": pl.Int64(),
    "dictionary_only": pl.Int64(),
    "human_only": pl.Int64(),
    "neither": pl.Int64(),
    "agreement": pl.Float64(),
    "kappa": pl.Float64(),
}


def agreement_table(
    coded: Coded,
    id_column: str,
    human: pl.DataFrame,
    dictionary: FreeTextDictionary,
    dictionary_key: str,
    wave: str,
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Per category, dictionary against human coding of the same answers: counts and Cohen's kappa.

    human: response_id, category (several rows per answer; a blank category = coded as none).
    Human coders saw the export's response ids: `human` carries them pseudonymised with the key
    and prefix of `coded`'s ids (see `pseudonymise_human`), so the two meet on pseudonyms.
    """
    notes: list[str] = []
    human = human.select(
        pl.col("response_id").cast(pl.String).str.strip_chars(),
        pl.col("category").cast(pl.String).str.strip_chars(),
    ).with_columns(
        pl.when(pl.col("category") == "").then(None).otherwise(pl.col("category")).alias("category")
    )
    unknown = sorted(set(human["category"].drop_nulls().to_list()) - set(coded.categories))
    if unknown:
        notes.append(
            f"{dictionary_key}: human categories not in the dictionary ignored: {', '.join(unknown)}"
        )
    sample = coded.frame.join(
        human.select(pl.col("response_id").alias(id_column)).unique(), on=id_column, how="semi"
    )
    # Human-coded answers not among this wave's coded answers (removed by cleaning, blank, or a
    # mistyped id) cannot be compared: say how many, so kappa's n is never silently smaller.
    unmatched = human.select("response_id").unique().height - sample.height
    if unmatched:
        notes.append(
            f"{dictionary_key}: {unmatched} human-coded response id(s) not among this wave's "
            "coded answers were left out of the agreement"
        )
    if sample.height == 0 or not coded.categories:
        return pl.DataFrame(schema=AGREEMENT_SCHEMA), tuple(notes)
    hits = human.filter(pl.col("category").is_in(coded.categories)).unique()
    if hits.height:
        human_flags = hits.with_columns(pl.lit(True).alias("_h")).pivot(
            on="category", index="response_id", values="_h", aggregate_function="first"
        )
    else:
        human_flags = hits.select("response_id")
    human_flags = human_flags.rename(
        {c: f"{c}__human" for c in human_flags.columns if c != "response_id"}
        | {"response_id": id_column}
    )
    flags = sample.select(id_column, *coded.categories).join(human_flags, on=id_column, how="left")
    rows = []
    for key, category in dictionary.categories.items():
        mine = pl.col(key)
        column = f"{key}__human"
        theirs = (
            pl.col(column) if column in flags.columns else pl.lit(None, dtype=pl.Boolean)
        ).fill_null(False)
        c = flags.select(
            (mine & theirs).sum().alias("both"),
            (mine & ~theirs).sum().alias("dictionary_only"),
            (~mine & theirs).sum().alias("human_only"),
            (~mine & ~theirs).sum().alias("neither"),
        ).row(0, named=True)
        agreement, kappa = kappa_from_counts(
            c["both"], c["dictionary_only"], c["human_only"], c["neither"]
        )
        rows.append(
            {
                "wave": wave,
                "dictionary": dictionary_key,
                "category": key,
                "label": category.label,
                "n": sample.height,
                **{k: int(v) for k, v in c.items()},
                "agreement": agreement,
                "kappa": None if kappa != kappa else kappa,
            }
        )
    return pl.DataFrame(rows, schema=AGREEMENT_SCHEMA), tuple(notes)


def pseudonymise_human(
    human: pl.DataFrame, key: bytes, prefix: str, response: str = "response_id"
) -> pl.DataFrame:
    """A human-coded sample with its response ids replaced by the respondents' keyed pseudonyms."""
    ids = human[response].cast(pl.String).str.strip_chars()
    return human.with_columns(pseudonymise(ids, key, prefix).alias(response))


@dataclass(frozen=True, eq=False)
class WaveFreeText:
    """A wave's free-text tables, every dictionary stacked, and what coding noted."""

    frequencies: pl.DataFrame
    coded: pl.DataFrame
    uncoded: pl.DataFrame
    agreement: pl.DataFrame
    notes: tuple[str, ...]


def wave_freetext(
    responses: pl.DataFrame,
    id_column: str,
    membership: pl.DataFrame,
    dictionaries: Mapping[str, FreeTextDictionary],
    human: Mapping[str, pl.DataFrame],
    breakdowns: Sequence[str],
    wave: str,
    redaction: re.Pattern[str],
    confidence: float = 0.95,
) -> WaveFreeText:
    """Code each dictionary's answers; frequencies, coded rows, redacted remainder, agreement."""
    # responses: id_column and each dictionary variable's `value_column`; human: per dictionary,
    # its human-coded sample with pseudonymised response ids (see `pseudonymise_human`).
    notes: list[str] = []
    frequencies, coded_rows, uncoded, agreements = [], [], [], []
    for fkey, dictionary in dictionaries.items():
        coded = code_answers(responses, id_column, value_column(dictionary.variable), dictionary)
        notes.extend(coded.notes)
        if fkey in human:
            table, more = agreement_table(coded, id_column, human[fkey], dictionary, fkey, wave)
            agreements.append(table)
            notes.extend(more)
        frequencies.append(
            category_frequencies(
                coded, id_column, membership, dictionary, fkey, breakdowns, wave, confidence
            )
        )
        coded_rows.append(coded_long(coded, id_column, fkey, wave))
        uncoded.append(uncoded_answers(coded, id_column, fkey, dictionary.variable, wave))
    # Open answers are published for a human coder, so names and contact details typed into
    # them are redacted first, with the same rules as qualitative quotes.
    remainder = pl.concat(uncoded)
    return WaveFreeText(
        frequencies=pl.concat(frequencies),
        coded=pl.concat(coded_rows),
        uncoded=remainder.with_columns(redact_column(remainder["text"], redaction)),
        agreement=pl.concat(agreements) if agreements else pl.DataFrame(schema=AGREEMENT_SCHEMA),
        notes=tuple(notes),
    )
