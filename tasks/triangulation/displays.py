"""Joint displays, the meta-matrix and the convergence table for a study's propositions.

Pure: frames in, frames out. One function per step: `joint_displays`, `convergence_table` and
`meta_matrix` (from the convergence table); `triangulate` composes them. `join_review` adds the
researcher's confirmations (review/triangulation.csv) without ever changing the computed codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from schemas.study_config import Proposition, Variable
from tasks.triangulation.convergence import convergence_code, qualitative_support
from tasks.triangulation.qualitative import (
    LIST_SEPARATOR,
    PropositionError,
    ThemeMatch,
    case_counts,
    resolve_theme,
    strongest_quotes,
)
from tasks.triangulation.quantitative import (
    QuantEvidence,
    SurveyTables,
    headline,
    judge,
    pct,
    points,
    quantitative_evidence,
)

REVIEW_STATUSES = ("confirmed", "disputed")
UNREVIEWED = "unreviewed"

JOINT_SCHEMA: dict[str, pl.DataType] = {
    "proposition_id": pl.String(), "statement": pl.String(), "order": pl.Int64(), "strand": pl.String(),
    "measure": pl.String(), "item": pl.String(), "wave": pl.String(), "group": pl.String(),
    "value": pl.Float64(), "lower": pl.Float64(), "upper": pl.Float64(), "n": pl.Int64(),
    "cases": pl.Int64(), "detail": pl.String(),
}
META_SCHEMA: dict[str, pl.DataType] = {
    "proposition_id": pl.String(), "case": pl.String(), "themes": pl.String(), "codings": pl.Int64(),
    "sources": pl.Int64(), "present": pl.Boolean(), "quant_headline": pl.String(),
    "quant_result": pl.String(), "convergence": pl.String(),
}
CONVERGENCE_SCHEMA: dict[str, pl.DataType] = {
    "proposition_id": pl.String(), "statement": pl.String(), "themes": pl.String(), "variable": pl.String(),
    "expect": pl.String(), "cases_present": pl.Int64(), "cases_total": pl.Int64(), "qual_support": pl.String(),
    "quant_headline": pl.String(), "quant_result": pl.String(), "convergence": pl.String(), "rule": pl.String(),
    "reviewer_status": pl.String(), "reviewer_note": pl.String(),
}


@dataclass(frozen=True)
class QualTables:
    """The case-study tables triangulation reads."""

    codebook: pl.DataFrame
    matrix: pl.DataFrame
    quotes: pl.DataFrame


@dataclass(frozen=True)
class Triangulation:
    """The three published tables."""

    joint_displays: pl.DataFrame
    meta_matrix: pl.DataFrame
    convergence: pl.DataFrame


@dataclass
class _Rows:
    prop: Proposition
    rows: list[dict[str, object]] = field(default_factory=list)

    def add(self, strand: str, measure: str, item: str, detail: str, **values: object) -> None:
        row: dict[str, object] = dict.fromkeys(JOINT_SCHEMA)
        row.update(proposition_id=self.prop.id, statement=self.prop.statement, order=len(self.rows) + 1,
                   strand=strand, measure=measure, item=item, detail=detail, **values)
        self.rows.append(row)


def _theme_matches(prop: Proposition, codebook: pl.DataFrame) -> list[ThemeMatch]:
    """The codebook nodes a proposition's themes name; a proposition must list at least one."""
    if not prop.themes:
        raise PropositionError(f"triangulation proposition {prop.id!r}: no themes listed")
    return [resolve_theme(codebook, ref, prop.id) for ref in prop.themes]


def _cases_total(matrix: pl.DataFrame) -> int:
    return matrix.select("case").n_unique()


def _union_counts(matrix: pl.DataFrame, matches: Sequence[ThemeMatch]) -> pl.DataFrame:
    """Per case: codings of any code under any of the proposition's themes."""
    return case_counts(matrix, sorted({cid for m in matches for cid in m.code_ids}))


def _case_list(counts: pl.DataFrame) -> str:
    return ", ".join(counts.filter(pl.col("present")).get_column("case").to_list()) or "none"


def _qual_rows(out: _Rows, matches: Sequence[ThemeMatch], qual: QualTables) -> None:
    total = _cases_total(qual.matrix)
    for m in matches:
        c = case_counts(qual.matrix, m.code_ids)
        present = int(c.get_column("present").sum())
        codings = int(c.get_column("codings").sum())
        out.add("qual", "codings", f"{m.level}: {m.path}",
                f"{codings} codings in {present} of {total} cases ({_case_list(c)}); {len(m.code_ids)} code(s)",
                value=float(codings), n=total, cases=present)
    counts = _union_counts(qual.matrix, matches)
    if len(matches) > 1:
        present = int(counts.get_column("present").sum())
        codings = int(counts.get_column("codings").sum())
        out.add("qual", "codings", "all themes together",
                f"{codings} codings in {present} of {total} cases ({_case_list(counts)})",
                value=float(codings), n=total, cases=present)
    paths = sorted({p for m in matches for p in m.paths})
    for q in strongest_quotes(qual.quotes, paths).iter_rows(named=True):
        who = ", ".join(x for x in (q["case"], q["role"], q["source_type"]) if x)
        out.add("qual", "quote", f"quote {q['quote_id']}", f"“{q['text']}” ({who})")


def _quant_rows(out: _Rows, ev: QuantEvidence, breakdown: str | None) -> None:
    weighted = ev.source == "estimates"
    for r in ev.overall.iter_rows(named=True):
        unweighted = (f"; unweighted {pct(r['unweighted'])} ({pct(r['unweighted_lower'])}–{pct(r['unweighted_upper'])})"
                      if weighted else "")
        out.add("quant", "proportion", f"{ev.label} ({r['wave']})",
                f"{pct(r['value'])} ({'weighted' if weighted else 'unweighted'}, 95% CI {pct(r['lower'])}–"
                f"{pct(r['upper'])}); n = {r['n']}{unweighted}",
                wave=r["wave"], value=r["value"], lower=r["lower"], upper=r["upper"], n=r["n"])
    for r in ev.groups.iter_rows(named=True):
        out.add("quant", "proportion", f"{ev.label} ({r['wave']}, {breakdown} = {r['group']})",
                f"{pct(r['value'])} ({'weighted' if weighted else 'unweighted'}, 95% CI {pct(r['lower'])}–"
                f"{pct(r['upper'])}); n = {r['n']}",
                wave=r["wave"], group=r["group"], value=r["value"], lower=r["lower"], upper=r["upper"], n=r["n"])
    for r in ev.tests.iter_rows(named=True):
        tested = f"{ev.variable} code {r['code']}" if r["code"] else f"{ev.variable} (all answers)"
        if ev.source == "freetext":
            tested = ev.label
        stat = f"statistic {r['statistic']:.2f}, df {r['dof']}" if r["statistic"] is not None else "no statistic"
        v = f", Cramér's V {r['cramers_v']:.2f}" if r["cramers_v"] is not None else ""
        p = f"p = {r['p_value']:.3g}" if r["p_value"] is not None else "p not available"
        out.add("quant", "p_value", f"{tested} by {breakdown} ({r['wave']})",
                f"{r['method']}: {stat}{v}; {p}; n = {r['n']}", wave=r["wave"], value=r["p_value"], n=r["n"])
    for r in ev.change.iter_rows(named=True):
        p = f"; p = {r['p_value']:.3g}" if r["p_value"] is not None else ""
        out.add("quant", "difference", f"{ev.label}: change {r['previous_wave']} → {r['wave']}",
                f"{pct(r['proportion1'])} → {pct(r['proportion2'])}: {points(r['value'])} points "
                f"(95% CI {points(r['lower'])} to {points(r['upper'])}){p}",
                wave=r["wave"], value=r["value"], lower=r["lower"], upper=r["upper"], n=r["n2"])


def joint_displays(
    propositions: Sequence[Proposition], variables: dict[str, Variable], qual: QualTables, survey: SurveyTables
) -> pl.DataFrame:
    """Each proposition's qualitative and survey evidence side by side, in declared order."""
    joint: list[dict[str, object]] = []
    for prop in propositions:
        matches = _theme_matches(prop, qual.codebook)
        ev = quantitative_evidence(prop, variables, survey)
        rows = _Rows(prop)
        _qual_rows(rows, matches, qual)
        _quant_rows(rows, ev, prop.quantitative.breakdown)
        joint.extend(rows.rows)
    return pl.DataFrame(joint, schema=JOINT_SCHEMA)


def _convergence_row(
    prop: Proposition, matches: Sequence[ThemeMatch], present: int, total: int, ev: QuantEvidence
) -> dict[str, object]:
    support = qualitative_support(present, total)
    verdict = judge(prop, ev)
    code = convergence_code(support, verdict.result)
    rule = (f"qualitative (≥ half the cases → supported, some → partial, none → absent): present in {present} "
            f"of {total} cases → {support}. quantitative {verdict.rule}. {support} × {verdict.result} → {code}")
    return {"proposition_id": prop.id, "statement": prop.statement,
            "themes": LIST_SEPARATOR.join(m.path for m in matches), "variable": prop.quantitative.variable,
            "expect": prop.expect, "cases_present": present, "cases_total": total, "qual_support": support,
            "quant_headline": headline(prop, ev), "quant_result": verdict.result, "convergence": code,
            "rule": rule, "reviewer_status": UNREVIEWED, "reviewer_note": None}


def convergence_table(
    propositions: Sequence[Proposition], variables: dict[str, Variable], codebook: pl.DataFrame,
    matrix: pl.DataFrame, survey: SurveyTables,
) -> pl.DataFrame:
    """Per proposition: qualitative support, quantitative verdict and convergence code, unreviewed."""
    total = _cases_total(matrix)
    rows = []
    for prop in propositions:
        matches = _theme_matches(prop, codebook)
        ev = quantitative_evidence(prop, variables, survey)
        present = int(_union_counts(matrix, matches).get_column("present").sum())
        rows.append(_convergence_row(prop, matches, present, total, ev))
    return pl.DataFrame(rows, schema=CONVERGENCE_SCHEMA)


def meta_matrix(
    propositions: Sequence[Proposition], codebook: pl.DataFrame, matrix: pl.DataFrame, convergence: pl.DataFrame
) -> pl.DataFrame:
    """Proposition × case: codings of the proposition's themes beside its convergence coding."""
    # The survey side (headline, verdict, code) is taken from the convergence table: the review
    # joined there never changes those columns, so the meta-matrix equals the unreviewed one.
    coded = {r["proposition_id"]: r for r in convergence.iter_rows(named=True)}
    meta: list[pl.DataFrame] = []
    for prop in propositions:
        if prop.id not in coded:
            raise PropositionError(f"triangulation proposition {prop.id!r} is missing from the convergence table")
        c = coded[prop.id]
        counts = _union_counts(matrix, _theme_matches(prop, codebook))
        meta.append(counts.select(
            pl.lit(prop.id).alias("proposition_id"), "case", pl.lit(c["themes"]).alias("themes"), "codings",
            "sources", "present", pl.lit(c["quant_headline"]).alias("quant_headline"),
            pl.lit(c["quant_result"]).alias("quant_result"), pl.lit(c["convergence"]).alias("convergence"),
        ))
    return pl.concat(meta).cast(META_SCHEMA) if meta else pl.DataFrame(schema=META_SCHEMA)  # type: ignore[arg-type]


def triangulate(
    propositions: Sequence[Proposition], variables: dict[str, Variable], qual: QualTables, survey: SurveyTables
) -> Triangulation:
    """Joint displays, meta-matrix and convergence for every proposition, as the three steps make them."""
    convergence = convergence_table(propositions, variables, qual.codebook, qual.matrix, survey)
    return Triangulation(
        joint_displays=joint_displays(propositions, variables, qual, survey),
        meta_matrix=meta_matrix(propositions, qual.codebook, qual.matrix, convergence),
        convergence=convergence,
    )


class ReviewError(ValueError):
    """review/triangulation.csv is malformed; the message names the row and the problem."""


def join_review(convergence: pl.DataFrame, review: pl.DataFrame | None, where: str = "review/triangulation.csv") -> tuple[pl.DataFrame, list[str]]:
    """Convergence with reviewer_status / reviewer_note joined from the researcher's review, and notes."""
    # Columns: proposition_id, status (confirmed / disputed, any case), optional note. Rows naming
    # no current proposition are reported in the notes, not applied; the computed codes never change.
    if review is None:
        return convergence, []
    cols = {c.strip().lower(): c for c in review.columns}
    missing = [c for c in ("proposition_id", "status") if c not in cols]
    if missing:
        raise ReviewError(f"{where}: missing column(s) {', '.join(missing)} (expected proposition_id, status, note)")
    rev = review.select(
        pl.col(cols["proposition_id"]).cast(pl.String).str.strip_chars().alias("proposition_id"),
        pl.col(cols["status"]).cast(pl.String).str.strip_chars().str.to_lowercase().alias("status"),
        (pl.col(cols["note"]).cast(pl.String).str.strip_chars() if "note" in cols else pl.lit(None, pl.String)).alias("note"),
    ).with_row_index("row", offset=2)
    bad = rev.filter(~pl.col("status").is_in(list(REVIEW_STATUSES)) | pl.col("status").is_null())
    if bad.height:
        r = bad.row(0, named=True)
        raise ReviewError(f"{where}: line {r['row']} ({r['proposition_id']}): status {r['status']!r} "
                          f"must be one of {', '.join(REVIEW_STATUSES)}")
    dup = rev.filter(pl.col("proposition_id").is_duplicated())
    if dup.height:
        raise ReviewError(f"{where}: proposition {dup.item(0, 'proposition_id')!r} is reviewed more than once")
    known = set(convergence.get_column("proposition_id").to_list())
    notes = [f"{where}: line {r['row']} names no current proposition ({r['proposition_id']!r}); ignored"
             for r in rev.iter_rows(named=True) if r["proposition_id"] not in known]
    joined = convergence.drop("reviewer_status", "reviewer_note").join(
        rev.select("proposition_id", pl.col("status").alias("reviewer_status"), pl.col("note").alias("reviewer_note")),
        on="proposition_id", how="left", maintain_order="left",
    ).with_columns(pl.col("reviewer_status").fill_null(UNREVIEWED))
    return joined.select(convergence.columns), notes
