"""Joint displays, the meta-matrix and the convergence table for a study's propositions.

Pure: frames in, frames out. One function per step: `joint_displays`, `convergence_table` and
`meta_matrix` (from the convergence table); `triangulate` composes them. `join_review` adds the
researcher's confirmations (review/triangulation.csv) without ever changing the computed codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from schemas.study_config import Proposition, TriangulationConfig, Variable
from tasks.triangulation.cases import SITE_SCHEMA, CaseSurvey, site_indicators
from tasks.triangulation.convergence import (
    QualJudgement,
    Setting,
    convergence_code,
    fraction,
    qualitative_support,
    variations,
)
from tasks.triangulation.qualitative import (
    Evidence,
    PropositionError,
    ThemeMatch,
    case_counts,
    case_evidence,
    proposition_evidence,
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
from tasks.triangulation.review import UNREVIEWED

JOINT_SCHEMA: dict[str, pl.DataType] = {
    "proposition_id": pl.String(), "statement": pl.String(), "order": pl.Int64(), "strand": pl.String(),
    "measure": pl.String(), "item": pl.String(), "wave": pl.String(), "group": pl.String(),
    "value": pl.Float64(), "lower": pl.Float64(), "upper": pl.Float64(), "n": pl.Int64(),
    "cases": pl.Int64(), "detail": pl.String(),
}
META_SCHEMA: dict[str, pl.DataType] = {
    "proposition_id": pl.String(), "case": pl.String(), "evidence": pl.String(),
    "supporting_codings": pl.Int64(), "contradicting_codings": pl.Int64(), "sources": pl.Int64(),
    **{k: v for k, v in SITE_SCHEMA.items() if k != "case"}, "quant_result": pl.String(), "convergence": pl.String(),
}
CONVERGENCE_SCHEMA: dict[str, pl.DataType] = {
    "proposition_id": pl.String(), "statement": pl.String(), "supporting": pl.String(),
    "contradicting": pl.String(), "variable": pl.String(), "expect": pl.String(),
    "cases_supporting": pl.Int64(), "cases_contradicting": pl.Int64(), "cases_contested": pl.Int64(),
    "cases_none": pl.Int64(), "cases_total": pl.Int64(), "qual_support": pl.String(),
    "quant_headline": pl.String(), "quant_result": pl.String(), "convergence": pl.String(), "rule": pl.String(),
    "sensitivity": pl.String(), "reviewer_status": pl.String(), "reviewer_category": pl.String(),
    "reviewer_note": pl.String(), "review_flag": pl.String(),
}
SENSITIVITY_SCHEMA: dict[str, pl.DataType] = {
    "proposition_id": pl.String(), "setting": pl.String(), "case_prevalence": pl.String(),
    "confidence": pl.Float64(), "weighted": pl.Boolean(), "qual_support": pl.String(),
    "quant_result": pl.String(), "convergence": pl.String(), "changed": pl.Boolean(), "rule": pl.String(),
}
BASE_SETTING = "study setting"


def base_setting(cfg: TriangulationConfig) -> Setting:
    """The verdicts' setting from study.yaml."""
    return Setting(case_prevalence=fraction(cfg.case_prevalence), confidence=cfg.confidence, weighted=cfg.weighted)


@dataclass(frozen=True)
class QualTables:
    """The case-study tables triangulation reads."""

    codebook: pl.DataFrame
    matrix: pl.DataFrame
    quotes: pl.DataFrame


@dataclass(frozen=True)
class Triangulation:
    """The published tables."""

    joint_displays: pl.DataFrame
    meta_matrix: pl.DataFrame
    convergence: pl.DataFrame
    sensitivity: pl.DataFrame


@dataclass
class _Rows:
    prop: Proposition
    rows: list[dict[str, object]] = field(default_factory=list)

    def add(self, strand: str, measure: str, item: str, detail: str, **values: object) -> None:
        row: dict[str, object] = dict.fromkeys(JOINT_SCHEMA)
        row.update(proposition_id=self.prop.id, statement=self.prop.statement, order=len(self.rows) + 1,
                   strand=strand, measure=measure, item=item, detail=detail, **values)
        self.rows.append(row)


def _cases_total(matrix: pl.DataFrame) -> int:
    return matrix.select("case").n_unique()


def _case_list(counts: pl.DataFrame) -> str:
    return ", ".join(counts.filter(pl.col("present")).get_column("case").to_list()) or "none"


def attribution(q: Mapping[str, object], roles: Mapping[str, str]) -> str:
    """Who said it, in the study's words: the quote's attribution ("GP, case C, interview").

    cases.quotes carries it (tasks/qualitative/quotes.attribution), built with the study's role
    labels when the quotes were selected; a row without it (quotes from before the column)
    falls back to the role label and source type here.
    """
    if q.get("attribution"):
        return str(q["attribution"])
    role = str(q.get("role") or "").strip()
    kind = str(q.get("source_type") or "").strip()
    return ", ".join([roles.get(role, role.replace("_", " ")) if role else "role not recorded",
                      f"case {q['case']}" if q.get("case") else "case not recorded",
                      kind if kind and kind.lower() != "unknown" else "source type not recorded"])


def _node_rows(out: _Rows, side: str, nodes: Sequence[ThemeMatch], qual: QualTables, total: int) -> None:
    for m in nodes:
        c = case_counts(qual.matrix, m.code_ids)
        present = int(c.get_column("present").sum())
        codings = int(c.get_column("codings").sum())
        out.add("qual", "codings", f"{side}: {m.level} {m.path}",
                f"{codings} codings in {present} of {total} cases ({_case_list(c)}); {len(m.code_ids)} code(s)",
                value=float(codings), n=total, cases=present)


def _qual_rows(out: _Rows, ev: Evidence, qual: QualTables, roles: Mapping[str, str], threshold_text: str) -> None:
    total = _cases_total(qual.matrix)
    _node_rows(out, "supporting", ev.supporting, qual, total)
    _node_rows(out, "contradicting", ev.contradicting, qual, total)
    per_case = case_evidence(qual.matrix, ev)
    counts = {k: per_case.filter(pl.col("evidence") == k).get_column("case").to_list()
              for k in ("supporting", "contradicting", "contested", "none")}
    for kind in ("supporting", "contested", "contradicting", "none"):
        cases = counts[kind]
        label = {"supporting": "supporting only", "contradicting": "contradicting only",
                 "contested": "contested (both)", "none": "no evidence"}[kind]
        out.add("qual", "prevalence", f"cases {label}",
                f"{len(cases)} of {total} cases ({', '.join(cases) or 'none'}); threshold {threshold_text}",
                value=len(cases) / total if total else None, n=total, cases=len(cases))
    for side, nodes in (("supporting", ev.supporting), ("contradicting", ev.contradicting)):
        paths = sorted({p for m in nodes for p in m.paths})
        if not paths:
            continue
        for k, q in enumerate(strongest_quotes(qual.quotes, paths).iter_rows(named=True), start=1):
            out.add("qual", "quote", f"{side} quote {k}", f"“{q['text']}” ({attribution(q, roles)})")


def _share_detail(weighted: bool, r: Mapping[str, object]) -> str:
    unweighted = (f"; unweighted {pct(r['unweighted'])} (95% CI {pct(r['unweighted_lower'])}–"  # type: ignore[arg-type]
                  f"{pct(r['unweighted_upper'])})" if weighted else "")  # type: ignore[arg-type]
    return (f"{pct(r['value'])} ({'weighted' if weighted else 'unweighted'}, 95% CI {pct(r['lower'])}–"  # type: ignore[arg-type]
            f"{pct(r['upper'])}); n = {r['n']}{unweighted}")  # type: ignore[arg-type]


def _quant_rows(out: _Rows, ev: QuantEvidence, breakdown: str | None) -> None:
    weighted = ev.source == "estimates"
    for r in ev.overall.iter_rows(named=True):
        out.add("quant", "proportion", f"{ev.label} ({r['wave']})", _share_detail(weighted, r),
                wave=r["wave"], value=r["value"], lower=r["lower"], upper=r["upper"], n=r["n"])
    for r in ev.groups.iter_rows(named=True):
        out.add("quant", "proportion", f"{ev.label} ({r['wave']}, {breakdown} = {r['group']})",
                _share_detail(False, r) if not weighted else
                f"{pct(r['value'])} (weighted, 95% CI {pct(r['lower'])}–{pct(r['upper'])}); n = {r['n']}",
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
    propositions: Sequence[Proposition], variables: dict[str, Variable], qual: QualTables, survey: SurveyTables,
    roles: Mapping[str, str] | None = None, setting: Setting | None = None,
) -> pl.DataFrame:
    """Each proposition's qualitative and survey evidence side by side, in declared order."""
    setting = setting or Setting()
    joint: list[dict[str, object]] = []
    for prop in propositions:
        ev = proposition_evidence(prop, qual.codebook)
        quant = quantitative_evidence(prop, variables, survey)
        rows = _Rows(prop)
        _qual_rows(rows, ev, qual, roles or {}, f"{setting.case_prevalence} of the cases")
        _quant_rows(rows, quant, prop.quantitative.breakdown)
        joint.extend(rows.rows)
    return pl.DataFrame(joint, schema=JOINT_SCHEMA)


@dataclass(frozen=True)
class _Verdict:
    qual: QualJudgement
    quant_result: str
    quant_rule: str
    code: str

    def rule(self) -> str:
        return (f"qualitative: {self.qual.rule}. quantitative: {self.quant_rule}. "
                f"{self.qual.support} × {self.quant_result} → {self.code}")


def _verdict(prop: Proposition, per_case: pl.DataFrame, quant: QuantEvidence, setting: Setting) -> _Verdict:
    kinds = per_case.get_column("evidence").to_list()
    qual = qualitative_support(kinds.count("supporting"), kinds.count("contradicting"), kinds.count("contested"),
                               len(kinds), setting.case_prevalence)
    verdict = judge(prop, quant, setting)
    return _Verdict(qual, verdict.result, verdict.rule, convergence_code(qual.support, verdict.result))


def sensitivity_rows(
    prop: Proposition, per_case: pl.DataFrame, quant: QuantEvidence, base: Setting,
) -> list[dict[str, object]]:
    """The verdict under the study's setting, then under each neighbouring setting."""
    ref = _verdict(prop, per_case, quant, base)
    rows = []
    for name, setting in ((BASE_SETTING, base), *((v.name, v.setting) for v in variations(base))):
        v = ref if setting == base else _verdict(prop, per_case, quant, setting)
        rows.append({"proposition_id": prop.id, "setting": name, "case_prevalence": str(setting.case_prevalence),
                     "confidence": setting.confidence, "weighted": setting.weighted, "qual_support": v.qual.support,
                     "quant_result": v.quant_result, "convergence": v.code, "changed": v.code != ref.code,
                     "rule": v.rule()})
    return rows


def sensitivity_text(rows: Sequence[Mapping[str, object]]) -> str:
    """"stable (...)" or "changes under: 99% intervals → partial agreement; ..."."""
    others = [r for r in rows if r["setting"] != BASE_SETTING]
    changed = [r for r in others if r["changed"]]
    if not changed:
        return "stable under " + ", ".join(str(r["setting"]) for r in others)
    return "changes under: " + "; ".join(f"{r['setting']} → {r['convergence']}" for r in changed)


def _convergence_row(prop: Proposition, ev: Evidence, per_case: pl.DataFrame, quant: QuantEvidence,
                     setting: Setting, sens: Sequence[Mapping[str, object]]) -> dict[str, object]:
    v = _verdict(prop, per_case, quant, setting)
    kinds = per_case.get_column("evidence").to_list()
    return {"proposition_id": prop.id, "statement": prop.statement, "supporting": ev.describe("supporting"),
            "contradicting": ev.describe("contradicting") or None, "variable": prop.quantitative.variable,
            "expect": prop.expect, "cases_supporting": kinds.count("supporting"),
            "cases_contradicting": kinds.count("contradicting"), "cases_contested": kinds.count("contested"),
            "cases_none": kinds.count("none"), "cases_total": len(kinds), "qual_support": v.qual.support,
            "quant_headline": headline(prop, quant, setting), "quant_result": v.quant_result,
            "convergence": v.code, "rule": v.rule(), "sensitivity": sensitivity_text(sens),
            "reviewer_status": UNREVIEWED, "reviewer_category": None, "reviewer_note": None, "review_flag": None}


def convergence_tables(
    propositions: Sequence[Proposition], variables: dict[str, Variable], codebook: pl.DataFrame,
    matrix: pl.DataFrame, survey: SurveyTables, setting: Setting | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per proposition: qualitative support, quantitative verdict, code and sensitivity (unreviewed);
    and the sensitivity table (one row per proposition × setting)."""
    setting = setting or Setting()
    rows, sens_rows = [], []
    for prop in propositions:
        ev = proposition_evidence(prop, codebook)
        quant = quantitative_evidence(prop, variables, survey)
        per_case = case_evidence(matrix, ev)
        sens = sensitivity_rows(prop, per_case, quant, setting)
        sens_rows.extend(sens)
        rows.append(_convergence_row(prop, ev, per_case, quant, setting, sens))
    return pl.DataFrame(rows, schema=CONVERGENCE_SCHEMA), pl.DataFrame(sens_rows, schema=SENSITIVITY_SCHEMA)


def convergence_table(
    propositions: Sequence[Proposition], variables: dict[str, Variable], codebook: pl.DataFrame,
    matrix: pl.DataFrame, survey: SurveyTables, setting: Setting | None = None,
) -> pl.DataFrame:
    """The convergence table alone (see convergence_tables)."""
    return convergence_tables(propositions, variables, codebook, matrix, survey, setting)[0]


def meta_matrix(
    propositions: Sequence[Proposition], variables: dict[str, Variable], codebook: pl.DataFrame,
    matrix: pl.DataFrame, convergence: pl.DataFrame, survey: SurveyTables, cases: CaseSurvey,
    setting: Setting | None = None, small_n: int = 10, dictionaries: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Proposition × case: the case's own evidence beside its sites' survey indicator and the test."""
    setting = setting or Setting()
    # The proposition-level verdict comes from the convergence table: the review joined there never
    # changes those columns, so the meta-matrix equals the unreviewed one.
    coded = {r["proposition_id"]: r for r in convergence.iter_rows(named=True)}
    meta: list[pl.DataFrame] = []
    for prop in propositions:
        if prop.id not in coded:
            raise PropositionError(f"triangulation proposition {prop.id!r} is missing from the convergence table")
        c = coded[prop.id]
        per_case = case_evidence(matrix, proposition_evidence(prop, codebook))
        quant = quantitative_evidence(prop, variables, survey)
        sites = site_indicators(prop, variables[prop.quantitative.variable], quant, cases, setting, small_n,
                                (dictionaries or {}).get(prop.quantitative.variable))
        meta.append(per_case.join(sites, on="case", how="left", maintain_order="left").select(
            pl.lit(prop.id).alias("proposition_id"), "case", "evidence", "supporting_codings",
            "contradicting_codings", (pl.col("supporting_sources") + pl.col("contradicting_sources")).alias("sources"),
            *[k for k in SITE_SCHEMA if k != "case"],
            pl.lit(c["quant_result"]).alias("quant_result"), pl.lit(c["convergence"]).alias("convergence"),
        ))
    return pl.concat(meta).cast(META_SCHEMA) if meta else pl.DataFrame(schema=META_SCHEMA)  # type: ignore[arg-type]


def triangulate(
    propositions: Sequence[Proposition], variables: dict[str, Variable], qual: QualTables, survey: SurveyTables,
    cases: CaseSurvey, setting: Setting | None = None, small_n: int = 10,
    dictionaries: Mapping[str, str] | None = None, roles: Mapping[str, str] | None = None,
) -> Triangulation:
    """Every triangulation table for the propositions, as the steps make them (review not joined)."""
    convergence, sensitivity = convergence_tables(propositions, variables, qual.codebook, qual.matrix, survey, setting)
    return Triangulation(
        joint_displays=joint_displays(propositions, variables, qual, survey, roles, setting),
        meta_matrix=meta_matrix(propositions, variables, qual.codebook, qual.matrix, convergence, survey, cases,
                                setting, small_n, dictionaries),
        convergence=convergence,
        sensitivity=sensitivity,
    )
