"""The qualitative side of a proposition: its evidence in the codebook, case counts and quotes.

A proposition's theme reference names a codebook node, tried in this order: an exact code path,
a theme (top-level node) name, a category (second-level node) name, a code name; exact spelling
first, then ignoring case. A node matches itself and every code below it. Counts come from the
case × code matrix: "codings" are applications of any matched code (a span carrying two matched
codes counts twice); a case is "present" when it has at least one coding.

Evidence has a direction. A proposition's `supporting` and `contradicting` references (or, with
`stance`, the codes under its themes sorted by a codebook attribute) give two code sets; without
either, every code under its themes supports it. Per case the evidence is then "supporting" (only
supporting codings), "contradicting" (only contradicting ones), "contested" (both) or "none".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from schemas.study_config import Proposition

LIST_SEPARATOR = "; "
QUOTES_PER_PROPOSITION = 2
LEVELS = ("theme", "category", "code")
CASE_EVIDENCE = ("supporting", "contradicting", "contested", "none")


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


@dataclass(frozen=True)
class Evidence:
    """A proposition's supporting and contradicting code sets, resolved in the codebook."""

    supporting: tuple[ThemeMatch, ...]
    contradicting: tuple[ThemeMatch, ...]

    @property
    def supporting_ids(self) -> tuple[str, ...]:
        """Code ids whose codings support the proposition."""
        return tuple(sorted({c for m in self.supporting for c in m.code_ids}))

    @property
    def contradicting_ids(self) -> tuple[str, ...]:
        """Code ids whose codings contradict the proposition."""
        return tuple(sorted({c for m in self.contradicting for c in m.code_ids}))

    @property
    def matches(self) -> tuple[ThemeMatch, ...]:
        """Every resolved node, supporting first."""
        return self.supporting + self.contradicting

    def describe(self, side: str) -> str:
        """The node paths of one side, joined ("" when none)."""
        nodes = self.supporting if side == "supporting" else self.contradicting
        return LIST_SEPARATOR.join(m.path for m in nodes)


def _stance_matches(prop: Proposition, codebook: pl.DataFrame, values: Sequence[str]) -> tuple[ThemeMatch, ...]:
    """The codes under the proposition's themes whose stance attribute is one of `values`."""
    assert prop.stance is not None
    attribute = prop.stance.attribute
    scope = sorted({c for ref in prop.themes for c in resolve_theme(codebook, ref, prop.id).code_ids})
    wanted = [v.strip().lower() for v in values]
    out = []
    for value, want in zip(values, wanted, strict=True):
        hit = codebook.filter(
            pl.col("code_id").is_in(scope)
            & (pl.col(attribute).cast(pl.String).str.strip_chars().str.to_lowercase() == want)
        ).sort("path")
        if hit.is_empty():
            raise PropositionError(
                f"triangulation proposition {prop.id!r}: no code under {', '.join(prop.themes)} has "
                f"{attribute} {value!r}"
            )
        out.append(ThemeMatch(ref=f"{attribute} = {value}", path=f"{attribute} = {value}", level="stance",
                              code_ids=tuple(hit.get_column("code_id").to_list()),
                              paths=tuple(hit.get_column("path").to_list())))
    return tuple(out)


def proposition_evidence(prop: Proposition, codebook: pl.DataFrame) -> Evidence:
    """The proposition's supporting and contradicting codes; a code on both sides is an error."""
    if prop.stance is not None:
        ev = Evidence(_stance_matches(prop, codebook, prop.stance.supporting),
                      _stance_matches(prop, codebook, prop.stance.contradicting) if prop.stance.contradicting else ())
    else:
        refs = prop.supporting or prop.themes
        if not refs:
            raise PropositionError(f"triangulation proposition {prop.id!r}: no themes or supporting codes listed")
        ev = Evidence(tuple(resolve_theme(codebook, r, prop.id) for r in refs),
                      tuple(resolve_theme(codebook, r, prop.id) for r in prop.contradicting))
    both = set(ev.supporting_ids) & set(ev.contradicting_ids)
    if both:
        paths = sorted(codebook.filter(pl.col("code_id").is_in(list(both))).get_column("path").to_list())
        raise PropositionError(
            f"triangulation proposition {prop.id!r}: code(s) {', '.join(paths)} both support and contradict it"
        )
    return ev


def case_evidence(matrix: pl.DataFrame, evidence: Evidence) -> pl.DataFrame:
    """Per case: supporting and contradicting codings and sources, and the case's evidence class."""
    sup = case_counts(matrix, evidence.supporting_ids).rename(
        {"codings": "supporting_codings", "sources": "supporting_sources"}).drop("present")
    con = case_counts(matrix, evidence.contradicting_ids).rename(
        {"codings": "contradicting_codings", "sources": "contradicting_sources"}).drop("present")
    s, c = pl.col("supporting_codings") > 0, pl.col("contradicting_codings") > 0
    return sup.join(con, on="case", maintain_order="left").with_columns(
        pl.when(s & c).then(pl.lit("contested")).when(s).then(pl.lit("supporting"))
        .when(c).then(pl.lit("contradicting")).otherwise(pl.lit("none")).alias("evidence")
    ).sort("case")


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
