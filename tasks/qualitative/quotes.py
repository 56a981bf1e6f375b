"""Redaction of names and identifiers, and exemplar quotes with provenance.

Redaction works on whole source texts, so every published text (segments, quotes, the exported
project) comes from one redacted copy: each match is replaced by a placeholder and segment
offsets are moved to the redacted text (a segment boundary inside a replaced span snaps outward
to include the whole placeholder). Patterns, first match wins at a position:
e-mail addresses → [email]; the study's `redact_terms` (whole words, any case) → [redacted];
a title (Dr, Mr, Mrs, Ms, Miss, Mx, Prof, Professor, Sir, Dame, Cllr, Councillor) followed by
capitalised names or initials → [name]; telephone numbers (leading 0 or +) → [phone];
UK-style postcodes → [postcode]. Placeholders never match again, so redaction is idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import polars as pl

from tasks.qualitative.model import SEGMENT_COLUMNS, CodedModel
from tasks.redaction import (  # noqa: F401  (re-exported for the qualitative strand)
    PLACEHOLDER_PATTERN,
    PLACEHOLDERS,
    redact,
    redact_all,
    redact_column,
    redaction_pattern,
)

QUOTES_PER_CELL = 3
NOT_RECORDED = "not recorded"
# What a source without a source-type variable is read as (model.UNKNOWN_TYPE): not a type.
_NO_TYPE = ("", "unknown")


def _moved(position: str, *, is_end: bool) -> pl.Expr:
    # The last replaced span starting at (start) or before (end) the position, joined as r_*.
    found = pl.col("r_start").is_not_null()
    if is_end:
        inside = pl.max_horizontal(position, "r_end") + pl.col("cum_through")
    else:
        inside = pl.when(pl.col(position) < pl.col("r_end")).then(
            pl.col("r_start") + pl.col("cum_through") - pl.col("delta")
        ).otherwise(pl.col(position) + pl.col("cum_through"))
    return pl.when(found).then(inside).otherwise(pl.col(position)).cast(pl.Int64)


def redact_model(model: CodedModel, terms: Sequence[str] = ()) -> CodedModel:
    """The model with source texts and names redacted and segment offsets moved to match.

    Segments keep their original offsets as raw_start / raw_end (provenance in the
    researchers' own project); start / end / text refer to the redacted text.
    """
    # Participant codes quoted in a text (or a source name) become their pseudonyms.
    pattern = redaction_pattern(terms, model.identifiers)
    ids = model.sources.get_column("source_id").to_list()
    done = redact_all(model.sources.get_column("text").fill_null("").to_list(), pattern, model.identifiers)
    texts = [text for text, _ in done]
    span_rows = [(source_id, s, e, n) for source_id, (_, spans) in zip(ids, done, strict=True) for s, e, n in spans]
    new_text = pl.DataFrame({"source_id": ids, "new_text": texts}, schema={"source_id": pl.String, "new_text": pl.String})
    sources = (
        model.sources.join(new_text, on="source_id", how="left")
        .with_columns(
            pl.col("new_text").alias("text"),
            pl.col("new_text").str.len_chars().cast(pl.Int64).alias("length"),
            redact_column(model.sources.get_column("name"), pattern, model.identifiers).alias("name"),
        )
        .drop("new_text")
    )
    span_table = (
        pl.DataFrame(span_rows, schema={"source_id": pl.String, "r_start": pl.Int64, "r_end": pl.Int64, "n": pl.Int64},
                     orient="row")
        .with_columns(delta=pl.col("n") - (pl.col("r_end") - pl.col("r_start")))
        .with_columns(cum_through=pl.col("delta").cum_sum().over("source_id"))
        .sort("r_start")
    )
    segments = model.segments.with_columns(
        pl.col("start").alias("raw_start"), pl.col("end").alias("raw_end"), pl.int_range(pl.len()).alias("_row")
    )
    by_start = segments.select("_row", "source_id", "raw_start").sort("raw_start").join_asof(
        span_table, left_on="raw_start", right_on="r_start", by="source_id", strategy="backward", check_sortedness=False
    ).select("_row", _moved("raw_start", is_end=False).alias("start"))
    by_end = segments.select("_row", "source_id", "raw_end").sort("raw_end").join_asof(
        span_table, left_on="raw_end", right_on="r_start", by="source_id", strategy="backward",
        allow_exact_matches=False, check_sortedness=False,
    ).select("_row", _moved("raw_end", is_end=True).alias("end"))
    segments = (
        segments.drop("start", "end", "text")
        .join(by_start, on="_row", how="left")
        .join(by_end, on="_row", how="left")
        .join(sources.select("source_id", pl.col("text").alias("_source_text")), on="source_id", how="left")
        .with_columns(pl.col("_source_text").str.slice(pl.col("start"), pl.col("end") - pl.col("start")).alias("text"))
        .sort("_row")
        .select(*SEGMENT_COLUMNS, "raw_start", "raw_end")
    )
    return replace(model, sources=sources, segments=segments)


def attribution(role_labels: Mapping[str, str] | None = None) -> pl.Expr:
    """Who said a quote, in the study's words: "GP, case C, interview".

    The participant's role as the study labels it (study.yaml `roles`; a role the study does
    not list is shown as recorded, underscores as spaces), the case and the source type, each
    "… not recorded" where the project does not say. Never a source name or an internal key.
    """
    labels = {k: v for k, v in (role_labels or {}).items()}
    role = pl.col("role").str.strip_chars()
    shown_role = (
        pl.when(role.is_null() | (role == "")).then(pl.lit(f"role {NOT_RECORDED}"))
        .otherwise(role.replace_strict(labels, default=role.str.replace_all("_", " "), return_dtype=pl.String))
    )
    case = pl.col("case").str.strip_chars()
    shown_case = pl.when(case.is_null() | (case == "")).then(pl.lit(f"case {NOT_RECORDED}")).otherwise(
        pl.format("case {}", case))
    kind = pl.col("source_type").str.strip_chars()
    shown_kind = pl.when(kind.is_null() | kind.str.to_lowercase().is_in(_NO_TYPE)).then(
        pl.lit(f"source type {NOT_RECORDED}")).otherwise(kind.str.replace_all("_", " "))
    return pl.concat_str([shown_role, shown_case, shown_kind], separator=", ")


def select_quotes(
    ranked: pl.DataFrame, sources: pl.DataFrame, per_cell: int = QUOTES_PER_CELL,
    role_labels: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Top exemplar spans per case × theme as quotes with provenance and a readable attribution.

    `ranked` holds one row per (case, theme, span) with its rank (see matrices.exemplars) and
    segment_id, source_id, start, end, raw_start, raw_end, text, codes; `role_labels` maps
    role keys to the study's labels (see attribution).
    """
    meta = sources.select(
        "source_id", pl.col("name").alias("source_name"), "source_type", "role", "participant_pseudonym", "site_id"
    )
    return (
        ranked.filter(pl.col("rank") <= per_cell)
        .join(meta, on="source_id", how="left")
        .with_columns(
            pl.format("{}|{}|{}", "case", "theme", "rank").alias("quote_id"),
            pl.col("text").str.count_matches(PLACEHOLDER_PATTERN).cast(pl.Int64).alias("redactions"),
            attribution(role_labels).alias("attribution"),
        )
        .select(
            "quote_id", "case", "theme", pl.col("rank").cast(pl.Int64), "segment_id", "codes", "source_id",
            "source_name", "source_type", "role", "participant_pseudonym", "site_id", "start", "end",
            "raw_start", "raw_end", "text", "redactions", "attribution",
        )
        .sort("case", "theme", "rank")
    )
