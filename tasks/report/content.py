"""The study report's content: every section as plain rows of formatted strings, from the data.

Pure: frames and records in, a `Report` out; the templates only lay it out. Tables are looked up
by the registry's dataset constants (concrete names for survey waves). Absent tables give empty
sections (a study may publish fewer tables), never an error. Nothing here reads a clock: the only
dates are the phase dates of study.yaml.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from schemas.datasets import Dataset
from schemas.datasets.qualitative import (
    AREA_RANKING,
    CASE_SELECTION,
    FRAMEWORK,
    MATRIX,
    QUOTES,
    RELIABILITY,
    THEME_PRESENCE,
)
from schemas.datasets.survey import CHANGE, COVERAGE, ESTIMATES, FREETEXT
from schemas.datasets.triangulation import (
    CONVERGENCE,
    JOINT_DISPLAYS,
    META_MATRIX,
    REVIEW,
    SENSITIVITY,
)
from schemas.phases import PHASES
from schemas.study_config import StudyConfig
from tasks.qualitative.reliability import BOOTSTRAP_REPLICATES
from tasks.report import fmt
from tasks.report.joint import Point, joint_figure
from tasks.step import Blob

ALL = "all"
POOLED = "__pooled__"
QUOTES_SHOWN = 6
FIGURE_TYPES = {"image/png", "image/svg+xml"}
PHASE_TITLES = {
    "scoping": "Scoping",
    "survey_w1": "Survey wave 1",
    "case_studies": "Case studies",
    "survey_w2": "Survey wave 2",
    "triangulation": "Triangulation",
}


@dataclass(frozen=True)
class Provenance:
    """What the run was: its id, code version, configuration hash and input hashes."""

    run_id: str
    code_version: str
    config_sha256: str
    inputs: tuple[tuple[str, str, str], ...]  # (logical name, original file name, sha256)


@dataclass(frozen=True)
class Table:
    """A titled table of display strings; `numeric` marks right-aligned columns."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)
    note: str = ""
    sources: str = ""


@dataclass(frozen=True)
class Quote:
    """A redacted quote and its provenance."""

    text: str
    source: str


@dataclass(frozen=True)
class PropositionView:
    """One proposition's joint display: survey strand beside case-study strand, verdict, cases."""

    id: str
    statement: str
    supporting: str
    contradicting: str
    variable: str
    question: str
    expect: str
    qual_support: str
    quant_result: str
    quant_headline: str
    convergence: str
    rule: str
    sensitivity: str
    reviewer_status: str
    reviewer_category: str
    reviewer_note: str
    review_flag: str
    quant: Table
    qual: Table
    figure_svg: str
    supporting_quotes: list[Quote]
    contradicting_quotes: list[Quote]
    cases: Table

    @property
    def display(self) -> Table:
        """Both strands' evidence rows in one table (the Markdown report's joint display)."""
        return Table(self.id, ["strand", *self.quant.columns[:2], "detail"],
                     [["survey", *r[:2], r[2]] for r in self.quant.rows]
                     + [["case studies", *r[:2], r[2]] for r in self.qual.rows], {2},
                     sources=self.quant.sources)


@dataclass(frozen=True)
class PhaseView:
    """One phase: dates, status, inputs and outputs, key figures."""

    phase: str
    title: str
    dates: str
    status: str
    run_id: str
    inputs: int
    outputs: int
    rows_out: int
    figures: list[tuple[str, str]]
    error: str


@dataclass(frozen=True)
class FigureView:
    """A figure ready to embed: caption and data: URI."""

    caption: str
    uri: str
    key: str


@dataclass(frozen=True)
class Report:
    """Everything the templates lay out."""

    title: str
    subtitle: str
    study_id: str
    phases: list[PhaseView]
    survey: list[Table]
    scoping: list[Table]
    cases: list[Table]
    convergence: Table
    review: Table
    propositions: list[PropositionView]
    quotes: list[Quote]
    figures: list[FigureView]
    provenance: Provenance


def _waves_ds(waves: Sequence[str], dataset: Dataset) -> str:
    return ", ".join(dataset.resolve(wave=w) for w in waves)


def _sources(*datasets: Dataset) -> str:
    return ", ".join(d.name for d in datasets)


def _rows(frame: pl.DataFrame | None) -> list[dict[str, Any]]:
    return [] if frame is None else list(frame.iter_rows(named=True))


def phase_views(
    config: StudyConfig, phases: Sequence[Mapping[str, Any]], inputs_per_phase: Mapping[str, int],
    outputs: Mapping[str, tuple[int, int]],
) -> list[PhaseView]:
    """Per phase: dates from study.yaml, status and key figures from its record, counts in and out."""
    by_name = {str(p["phase"]): p for p in phases}
    views = []
    for name in PHASES:
        rec = by_name.get(name, {})
        dates = config.study.phases.get(name)  # type: ignore[call-overload]
        summary = rec.get("summary") or {}
        n_out, rows = outputs.get(name, (0, 0))
        views.append(PhaseView(
            phase=name, title=PHASE_TITLES.get(name, name),
            dates=f"{dates.start.isoformat()} to {dates.end.isoformat()}" if dates else "not stated",
            status=str(rec.get("status", "not recorded")), run_id=str(rec.get("run_id", "")),
            inputs=inputs_per_phase.get(name, 0), outputs=n_out, rows_out=rows,
            figures=[(str(k).replace("_", " "), fmt.summary_value(str(k), v)) for k, v in sorted(summary.items())],
            error=str(rec.get("error") or ""),
        ))
    return views


def survey_tables(config: StudyConfig, tables: Mapping[str, pl.DataFrame]) -> list[Table]:
    """Coverage, key estimates with intervals, wave change and free-text categories per wave."""
    waves = sorted(config.survey.waves, key=lambda w: config.survey.waves[w].phase)
    label = {w: config.survey.waves[w].label for w in waves}
    questions = {k: v.question for k, v in config.survey.variables.items()}
    out: list[Table] = []
    cov_rows = []
    for w in waves:
        for r in _rows(tables.get(COVERAGE.resolve(wave=w))):
            if r["breakdown"] == ALL:
                cov_rows.append([label[w], f"{r['sites_covered']} of {r['sites']}", fmt.pct(r["sites_share"]),
                                 f"{r['respondents']} of {r['roster']}", fmt.pct(r["response_rate"])])
    out.append(Table("Coverage", ["wave", "sites with a respondent", "share", "members responding", "response rate"],
                     cov_rows, {1, 2, 3, 4}, sources=_waves_ds(waves, COVERAGE)))
    est_rows = []
    for w in waves:
        for r in _rows(tables.get(ESTIMATES.resolve(wave=w))):
            if r["kind"] == "key" and r["breakdown"] == ALL:
                est_rows.append([label[w], questions.get(r["variable"], r["variable"]), r["label"].removeprefix("key: "),
                                 str(r["n"]), fmt.pct_ci(r["weighted_proportion"], r["weighted_lower"], r["weighted_upper"]),
                                 fmt.pct_ci(r["proportion"], r["lower"], r["upper"])])
    out.append(Table("Key survey estimates", ["wave", "question", "answer", "n", "weighted % (95% CI)",
                                              "unweighted % (95% CI)"], est_rows, {3, 4, 5},
                     "Weighted: raked to the roster margins, design-based interval clustered by site. "
                     "Unweighted: Wilson interval.", _waves_ds(waves, ESTIMATES)))
    change_rows = []
    for w in waves:
        for r in _rows(tables.get(CHANGE.resolve(wave=w))):
            if r["kind"] == "key" and r["breakdown"] == ALL:
                change_rows.append([
                    f"{label.get(r['previous_wave'], r['previous_wave'])} → {label[w]}",
                    questions.get(r["variable"], r["variable"]), r["label"].removeprefix("key: "),
                    fmt.pct(r["weighted_proportion1"]), fmt.pct(r["weighted_proportion2"]),
                    fmt.points_ci(r["weighted_difference"], r["weighted_lower"], r["weighted_upper"]),
                    fmt.pvalue(r["weighted_p_value"]), fmt.pvalue(r.get("q_value")).replace("p ", "q ", 1),
                    "yes" if r["significant"] else "no",
                ])
    out.append(Table("Change between waves", ["waves", "question", "answer", "before", "after",
                                              "change (95% CI)", "p", "q", "significant"], change_rows,
                     {3, 4, 5, 6, 7},
                     "q: Benjamini–Hochberg over every change of the wave (docs/statistics.md).",
                     sources=_waves_ds(waves, CHANGE)))
    ft_rows = []
    for w in waves:
        ft = tables.get(FREETEXT.resolve(wave=w))
        if ft is None:
            continue
        for r in _rows(ft.filter(pl.col("breakdown") == ALL).sort(["dictionary", "share", "category"],
                                                                   descending=[False, True, False])):
            ft_rows.append([label[w], questions.get(r["variable"], r["variable"]), r["label"],
                            f"{r['count']} of {r['answers']}", fmt.pct_ci(r["share"], r["lower"], r["upper"])])
    if ft_rows:
        out.append(Table("Free-text categories", ["wave", "question", "category", "answers", "% (95% CI)"],
                         ft_rows, {3, 4}, "Multi-label: an answer may fall in several categories.",
                         _waves_ds(waves, FREETEXT)))
    return out


def scoping_tables(tables: Mapping[str, pl.DataFrame]) -> list[Table]:
    """The ranked clinical areas."""
    rows = [[str(r["rank"]), r["area"], str(r["n_sites"]), str(r["n_sources"]), str(r["n_segments"]),
             "yes" if r["is_target"] else "no"] for r in _rows(tables.get(AREA_RANKING.name))]
    return [Table("Areas ranked by sites, then segments", ["rank", "area", "sites", "sources", "segments", "target"],
                  rows, {0, 2, 3, 4}, sources=AREA_RANKING.name)]


def case_tables(tables: Mapping[str, pl.DataFrame]) -> list[Table]:
    """Selected cases, the case × theme matrix with presence, and inter-coder reliability."""
    sel = tables.get(CASE_SELECTION.name)
    sel_rows = []
    if sel is not None:
        chosen = sel.filter(pl.col("selected") | pl.col("actual_case").is_not_null()).sort(
            ["order", "site_id"], nulls_last=True)
        sel_rows = [[r["site_id"], fmt.num(r["order"]), r["actual_case"] or "", "yes" if r["selected"] else "no",
                     r["target_areas"], r["reason"]] for r in _rows(chosen)]
    out = [Table("Case selection", ["site", "order", "case", "selected", "target areas", "reason"], sel_rows, {1},
                 sources=CASE_SELECTION.name)]
    counts = tables.get(FRAMEWORK.name)
    note = "Segments per case and theme (a span carrying several codes of a theme counts once)."
    source = _sources(FRAMEWORK, THEME_PRESENCE)
    if counts is None and tables.get(MATRIX.name) is not None:
        counts = tables[MATRIX.name].group_by("case", "theme").agg(pl.col("n_segments").sum())
        note = "Codings per case and theme (applications of the theme's codes)."
        source = _sources(MATRIX, THEME_PRESENCE)
    if counts is not None and counts.height:
        cases = sorted(set(counts.get_column("case").to_list()))
        presence = {r["theme"]: r for r in _rows(tables.get(THEME_PRESENCE.name))}
        wide = counts.pivot(on="case", index="theme", values="n_segments", aggregate_function="sum").sort("theme")
        rows = []
        for r in _rows(wide):
            p = presence.get(r["theme"])
            rows.append([r["theme"], *[fmt.num(r.get(c) or 0) for c in cases],
                         f"{p['n_cases']} of {p['n_cases_total']}" if p else fmt.DASH])
        out.append(Table("Case × theme matrix", ["theme", *cases, "cases present"], rows,
                         set(range(1, len(cases) + 2)), note, source))
    out.extend(reliability_tables(tables))
    return out


RELIABILITY_UNITS = {"presence": "source presence", "segment": "segment overlap", "character": "character"}


def _coefficient(value: float | None, low: float | None, high: float | None) -> str:
    """A kappa or alpha with its bootstrap interval: "0.88 (0.81 to 0.93)"."""
    if value is None:
        return fmt.DASH
    if low is None or high is None:
        return fmt.num(value)
    return f"{fmt.num(value)} ({fmt.num(low)} to {fmt.num(high)})"


def reliability_tables(tables: Mapping[str, pl.DataFrame]) -> list[Table]:
    """Inter-coder reliability pooled over codes: one row per compared coders and unit."""
    rel = tables.get(RELIABILITY.name)
    if rel is None:
        return []
    order = {u: i for i, u in enumerate(RELIABILITY_UNITS)}
    pooled = (
        rel.filter(pl.col("code_id") == POOLED)
        .with_columns(pl.col("unit").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_u"))
        .sort(pl.col("comparison") == "all coders", "coders", "_u")
    )
    rows = [[r["coders"], RELIABILITY_UNITS.get(r["unit"], r["unit"]), str(r["n_sources"]), str(r["n_units"]),
             fmt.pct(r["agreement"]), f"{r['kappa_type']}: {_coefficient(r['kappa'], r['kappa_low'], r['kappa_high'])}",
             _coefficient(r["alpha"], r["alpha_low"], r["alpha_high"])]
            for r in _rows(pooled)]
    note = ("Every pair of coders on the sources both coded (Cohen's kappa) and, with three or more coders, all of "
            "them at once (Fleiss' kappa over the sources every coder coded; Krippendorff's alpha with a coder who "
            "did not code a source missing there). Units: source presence = (source, code), did the coder apply "
            "the code anywhere in the source; segment overlap = (coded stretch, code), stretches being the text "
            "any coder coded, overlapping codings merged; character = (character, code). Counted on the text the "
            "coders coded (before redaction). In brackets: 95% percentile bootstrap intervals over sources "
            f"({BOOTSTRAP_REPLICATES:,} resamples, seeded).")
    return [Table("Inter-coder reliability (all codes pooled)",
                  ["coders", "unit", "sources", "units", "agreement", "kappa (95% CI)", "alpha (95% CI)"], rows,
                  {2, 3, 4, 5, 6}, note, sources=RELIABILITY.name)]


def _display_value(r: Mapping[str, Any]) -> str:
    m = r["measure"]
    if m == "codings":
        return f"{int(r['value'])} codings"
    if m == "prevalence":
        return f"{r['cases']} of {r['n']} cases"
    if m == "proportion":
        return fmt.pct_ci(r["value"], r["lower"], r["upper"])
    if m == "difference":
        return fmt.points_ci(r["value"], r["lower"], r["upper"])
    if m == "p_value":
        return fmt.pvalue(r["value"])
    return ""


def _quote(detail: str) -> Quote:
    """A joint display quote row ("“text” (who)") as text and attribution."""
    text, _, who = detail.rpartition("” (")
    return Quote(text.removeprefix("“"), who.removesuffix(")")) if text else Quote(detail, "")


def _case_rows(meta: pl.DataFrame | None, pid: str) -> list[list[str]]:
    if meta is None:
        return []
    rows = []
    for r in _rows(meta.filter(pl.col("proposition_id") == pid).sort("case")):
        n = r["site_n"]
        estimate = fmt.pct_ci(r["site_estimate"], r["site_lower"], r["site_upper"]) if n else fmt.DASH
        rows.append([r["case"], r["evidence"], fmt.num(r["supporting_codings"]), fmt.num(r["contradicting_codings"]),
                     r["case_sites"] or fmt.DASH, f"{r['site_wave']}: n = {fmt.num(n)}" if r["site_wave"] else fmt.DASH,
                     estimate, "yes" if r["small_n"] else "no", r["site_vs_national"] or fmt.DASH])
    return rows


def _points(joint_rows: Sequence[Mapping[str, Any]], meta: pl.DataFrame | None, pid: str) -> list[Point]:
    points = [Point(f"all sites, {r['wave']} (published)", r["value"], r["lower"], r["upper"])
              for r in joint_rows if r["measure"] == "proportion" and r["group"] is None]
    if meta is not None:
        points += [Point(f"{r['case']} ({r['site_wave']}, n = {r['site_n']})", r["site_estimate"], r["site_lower"],
                         r["site_upper"], case=True)
                   for r in _rows(meta.filter(pl.col("proposition_id") == pid).sort("case")) if r["site_n"]]
    return points


def proposition_views(
    tables: Mapping[str, pl.DataFrame], questions: Mapping[str, str] | None = None,
) -> tuple[Table, Table, list[PropositionView]]:
    """The convergence summary, the review table and each proposition's joint display."""
    conv = _rows(tables.get(CONVERGENCE.name))
    joint = tables.get(JOINT_DISPLAYS.name)
    meta = tables.get(META_MATRIX.name)
    summary = Table("Convergence", ["proposition", "qualitative", "quantitative", "convergence", "sensitivity",
                                    "review"], [
        [c["proposition_id"], c["qual_support"], c["quant_result"], c["convergence"], c["sensitivity"],
         c["reviewer_status"] + (f" ({c['review_flag']})" if c["review_flag"] else "")]
        for c in conv
    ], note="Sensitivity: the verdict re-derived with case-prevalence thresholds 1/3, 1/2 and 2/3, 90%, 95% and "
            "99% intervals, weighted and unweighted figures (one setting varied at a time).",
       sources=_sources(CONVERGENCE, SENSITIVITY))
    review_rows = [
        [r["proposition_id"], r["status"], r["recorded_category"] or fmt.DASH, r["proposed_category"] or fmt.DASH,
         r["flag"] or "", r["note"] or ""]
        for r in _rows(tables.get(REVIEW.name)) if r["status"] != "unreviewed" or r["flag"]
    ]
    review = Table("Review", ["proposition", "status", "category reviewed", "category now", "flag", "note"],
                   review_rows, note="The researcher's review (review/triangulation.csv); notes as written.",
                   sources=REVIEW.name)
    views = []
    for c in conv:
        pid = c["proposition_id"]
        rows = _rows(joint.filter(pl.col("proposition_id") == pid).sort("order")) if joint is not None else []
        quant = Table("Survey", ["evidence", "value", "detail"],
                      [[r["item"], _display_value(r), r["detail"]] for r in rows if r["strand"] == "quant"], {1},
                      sources=JOINT_DISPLAYS.name)
        qual = Table("Case studies", ["evidence", "value", "detail"],
                     [[r["item"], _display_value(r), r["detail"]] for r in rows
                      if r["strand"] == "qual" and r["measure"] != "quote"], {1}, sources=JOINT_DISPLAYS.name)
        quotes = {side: [_quote(r["detail"]) for r in rows
                         if r["measure"] == "quote" and r["item"].startswith(side)]
                  for side in ("supporting", "contradicting")}
        cases = Table("Cases: each case's evidence beside its own sites' survey answers",
                      ["case", "evidence", "codings for", "codings against", "sites", "respondents", "share (Wilson CI)",
                       "small n", "case sites vs other sites"], _case_rows(meta, pid), {2, 3, 6},
                      sources=META_MATRIX.name)
        threshold = 0.5 if c["expect"] in ("majority", "minority") else None
        views.append(PropositionView(
            id=pid, statement=c["statement"], supporting=c["supporting"], contradicting=c["contradicting"] or "none",
            variable=c["variable"], question=(questions or {}).get(c["variable"], c["variable"]),
            expect=c["expect"] or "none", qual_support=c["qual_support"], quant_result=c["quant_result"],
            quant_headline=c["quant_headline"], convergence=c["convergence"], rule=c["rule"],
            sensitivity=c["sensitivity"], reviewer_status=c["reviewer_status"],
            reviewer_category=c["reviewer_category"] or "", reviewer_note=c["reviewer_note"] or "",
            review_flag=c["review_flag"] or "", quant=quant, qual=qual,
            figure_svg=joint_figure(_points(rows, meta, pid), threshold, f"{pid}: survey estimates"),
            supporting_quotes=quotes["supporting"], contradicting_quotes=quotes["contradicting"], cases=cases,
        ))
    return summary, review, views


def selected_quotes(tables: Mapping[str, pl.DataFrame], limit: int = QUOTES_SHOWN) -> list[Quote]:
    """The best-ranked redacted quote of each theme (themes present in most cases first)."""
    quotes = tables.get(QUOTES.name)
    if quotes is None or quotes.is_empty():
        return []
    order = {r["theme"]: i for i, r in enumerate(_rows(tables.get(THEME_PRESENCE.name)))}
    best = (
        quotes.sort("rank", "case", "quote_id")
        .unique("theme", keep="first", maintain_order=True)
        .with_columns(pl.col("theme").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_o"))
        .sort("_o", "theme")
        .head(limit)
    )
    return [Quote(r["text"], f"{r['attribution']} ({r['theme']})") for r in _rows(best)]


def figure_views(figures: Sequence[Blob]) -> list[FigureView]:
    """Figures as data: URIs (PNG or SVG, base64), by dataset name; nothing is linked."""
    views = []
    for f in sorted(figures, key=lambda f: (f.dataset, f.media_type)):
        if f.media_type not in FIGURE_TYPES:
            continue
        uri = f"data:{f.media_type};base64,{base64.b64encode(f.data).decode('ascii')}"
        views.append(FigureView(caption=f.dataset, uri=uri, key=f.key))
    return views


def build_report(
    config: StudyConfig,
    phases: Sequence[Mapping[str, Any]],
    tables: Mapping[str, pl.DataFrame],
    figures: Sequence[Blob],
    provenance: Provenance,
    inputs_per_phase: Mapping[str, int],
    outputs_per_phase: Mapping[str, tuple[int, int]],
) -> Report:
    """Assemble the report's content from the run's tables, figures and phase records."""
    questions = {k: v.question for k, v in config.survey.variables.items()}
    convergence, review, props = proposition_views(tables, questions)
    subtitle = f"Funder: {config.study.funder}" if config.study.funder else ""
    return Report(
        title=config.study.title, subtitle=subtitle, study_id=config.study.id,
        phases=phase_views(config, phases, inputs_per_phase, outputs_per_phase),
        survey=survey_tables(config, tables), scoping=scoping_tables(tables), cases=case_tables(tables),
        convergence=convergence, review=review, propositions=props, quotes=selected_quotes(tables),
        figures=figure_views(figures), provenance=provenance,
    )


def contents(report: Report) -> pl.DataFrame:
    """The report's sections in page order: title, rows shown and the datasets behind them."""
    rows: list[tuple[str, str, int, str]] = [("phases", "Phases", len(report.phases), "run manifest phase records")]
    for section, tables in (("survey", report.survey), ("scoping", report.scoping), ("cases", report.cases)):
        rows.extend((section, t.title, len(t.rows), t.sources) for t in tables)
    rows.append(("triangulation", report.convergence.title, len(report.convergence.rows), report.convergence.sources))
    rows.append(("triangulation", report.review.title, len(report.review.rows), report.review.sources))
    rows.extend(("triangulation", f"{p.id}: {p.statement}",
                 len(p.quant.rows) + len(p.qual.rows) + len(p.supporting_quotes) + len(p.contradicting_quotes)
                 + len(p.cases.rows), _sources(JOINT_DISPLAYS, CONVERGENCE, META_MATRIX))
                for p in report.propositions)
    rows.append(("quotes", "Selected quotes", len(report.quotes), QUOTES.name))
    rows.append(("figures", "Figures", len(report.figures), ", ".join(f.caption for f in report.figures)))
    rows.append(("provenance", "Provenance", len(report.provenance.inputs), "run manifest inputs"))
    return pl.DataFrame(
        [(i + 1, *r) for i, r in enumerate(rows)],
        schema={"order": pl.Int64, "section": pl.String, "title": pl.String, "rows": pl.Int64, "sources": pl.String},
        orient="row",
    )
