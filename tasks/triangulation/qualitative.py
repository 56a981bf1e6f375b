"""The qualitative side of a proposition: its themes in the codebook, case counts and quotes.

A proposition's theme reference names a codebook node, tried in this order: an exact code path,
a theme (top-level node) name, a category (second-level node) name, a code name; exact spelling
first, then ignoring case. A node matches itself and every code below it. Counts come from the
case × code matrix: "codings" are applications of any matched code (a span carrying two matched
codes counts twice); a case is "present" when it has at least one coding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

LIST_SEPARATOR = "; "
QUOTES_PER_PROPOSITION = 2
LEVELS = ("theme", "category", "code")


class PropositionError(ValueError):
    """A proposition names a variable, code or theme the study does not have."""


@dataclass(frozen=True)
class ThemeMatch:
    """A theme reference resolved to a codebook node and the codes under it."""

    ref: str
    path: str
    level: str  # theme (top-level node), category (second level) or code (deeper)
    code_ids: tuple[str, ...]
    paths: tuple[str, ...]


def _node_candidates(codebook: pl.DataFrame, ref: str) -> list[tuple[str, list[str]]]:
    paths = codebook.get_column("path").to_list()
    themes = sorted(set(codebook.get_column("theme").to_list()))
    cats = codebook.filter(pl.col("category").is_not_null()).select(
        pl.format("{}/{}", "theme", "category").alias("node"), "category"
    ).unique()
    names = codebook.select("path", "name")
    return [
        ("path", [p for p in paths if p == ref]),
        ("theme", [t for t in themes if t == ref]),
        ("category", sorted(cats.filter(pl.col("category") == ref).get_column("node").to_list())),
        ("code", sorted(names.filter(pl.col("name") == ref).get_column("path").to_list())),
    ]


def resolve_theme(codebook: pl.DataFrame, ref: str, proposition_id: str) -> ThemeMatch:
    """The codebook node a proposition's theme reference names, with every code under it."""
    want = ref.strip().strip("/")
    for fold in (False, True):
        book = codebook
        key = want
        if fold:
            book = codebook.with_columns(
                pl.col("path", "theme", "category", "name").str.to_lowercase()
            )
            key = want.lower()
        for kind, found in _node_candidates(book, key):
            if len(found) > 1:
                raise PropositionError(
                    f"triangulation proposition {proposition_id!r}: theme {ref!r} is ambiguous "
                    f"({kind} under {', '.join(found)}); give the code path instead"
                )
            if found:
                node = found[0]
                mask = (pl.col("_p") == node) | pl.col("_p").str.starts_with(node + "/")
                hit = codebook.with_columns(book.get_column("path").alias("_p")).filter(mask).sort("path")
                depth = node.count("/") + 1
                return ThemeMatch(
                    ref=ref,
                    path="/".join(str(hit.item(0, "path")).split("/")[:depth]),
                    level=LEVELS[min(depth, len(LEVELS)) - 1],
                    code_ids=tuple(hit.get_column("code_id").to_list()),
                    paths=tuple(hit.get_column("path").to_list()),
                )
    raise PropositionError(
        f"triangulation proposition {proposition_id!r}: theme {ref!r} is not a theme, category, "
        "code name or code path of the case-study codebook"
    )


def case_counts(matrix: pl.DataFrame, code_ids: Sequence[str]) -> pl.DataFrame:
    """Per case: codings and sources (summed over the codes) and whether any coding exists."""
    cases = matrix.select("case").unique()
    hit = (
        matrix.filter(pl.col("code_id").is_in(list(code_ids)))
        .group_by("case")
        .agg(pl.col("n_segments").sum().alias("codings"), pl.col("n_sources").sum().alias("sources"))
    )
    return (
        cases.join(hit, on="case", how="left")
        .with_columns(pl.col("codings", "sources").fill_null(0).cast(pl.Int64))
        .with_columns((pl.col("codings") > 0).alias("present"))
        .sort("case")
    )


def strongest_quotes(
    quotes: pl.DataFrame, paths: Sequence[str], limit: int = QUOTES_PER_PROPOSITION
) -> pl.DataFrame:
    """The best-ranked redacted quotes carrying a matched code, from different cases when possible."""
    # Order: exemplar rank, then more matched codes, then longer, then quote id; after the first,
    # a quote from a case not yet quoted is preferred, and a text already chosen is never repeated.
    wanted = set(paths)
    scored = (
        quotes.with_columns(
            pl.col("codes").str.split(LIST_SEPARATOR)
            .list.eval(pl.element().is_in(list(wanted)).cast(pl.Int64)).list.sum().alias("_matched"),
            (pl.col("end") - pl.col("start")).alias("_length"),
        )
        .filter(pl.col("_matched") > 0)
        .sort(["rank", "_matched", "_length", "quote_id"], descending=[False, True, True, False])
    )
    chosen: list[int] = []
    seen: set[str] = set()
    texts: set[str] = set()
    rows = list(zip(scored.get_column("case").to_list(), scored.get_column("text").to_list(), strict=True))
    for pass_new_case in (True, False):
        for i, (case, text) in enumerate(rows):
            if len(chosen) >= limit:
                break
            if i in chosen or text in texts or (pass_new_case and case in seen):
                continue
            chosen.append(i)
            seen.add(case)
            texts.add(text)
    return scored[sorted(chosen)].drop("_matched", "_length") if chosen else scored.head(0).drop("_matched", "_length")
