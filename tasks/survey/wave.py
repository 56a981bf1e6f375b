"""One survey wave end to end, as a pure function of its inputs: tables, figures and a summary."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from schemas.study_config import StudyConfig
from tasks.ingest.survey_export import SurveyExport
from tasks.privacy import pseudonymise
from tasks.redaction import redact_column, redaction_pattern
from tasks.survey.change import change_table
from tasks.survey.cleaning import MEMBER, RESPONSE, clean_export
from tasks.survey.coverage import coverage_table, profile_table
from tasks.survey.crosstabs import association_table
from tasks.survey.estimates import ALL, breakdown_list, estimate_table, group_mapping, mean_table
from tasks.survey.figures import (
    SurveyFigure,
    change_figure,
    coverage_figure,
    freetext_figure,
    proportions_figure,
)
from tasks.survey.freetext import (
    AGREEMENT_SCHEMA,
    agreement_table,
    category_frequencies,
    code_answers,
    coded_long,
    uncoded_answers,
)
from tasks.survey.instrument import ROW, answers_long, export_columns, value_column, wave_variables
from tasks.survey.population import rejected_site_rows, roster_frame, site_frame
from tasks.survey.weights import rake_to_roster

RESPONDENT_PREFIX = "R"
MEMBER_PREFIX = "P"
RESPONDENT_COLUMNS = [
    "wave",
    "respondent_id",
    "member_id",
    "site_id",
    "role",
    "role_group",
    "finished",
    "progress",
    "partial",
    "items",
    "answered",
    "item_missing_share",
    "straightlined",
    "straightlined_grids",
    "weight",
]


@dataclass(frozen=True, eq=False)
class WaveAnalysis:
    """Everything one wave publishes: tables by dataset suffix, figures, key figures, summary."""

    wave: str
    tables: dict[str, pl.DataFrame]
    figures: list[SurveyFigure]
    summary: dict[str, float | int | str]
    markdown: str
    notes: tuple[str, ...]
    # Input rows left out, as read, with their reason: written to quarantine/, never published.
    quarantine: dict[str, pl.DataFrame]


def _finite(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def analyse_wave(
    cfg: StudyConfig,
    wave: str,
    export: SurveyExport,
    sites_table: pl.DataFrame,
    roster_table: pl.DataFrame,
    key: bytes,
    *,
    human: Mapping[str, pl.DataFrame] | None = None,
    previous: tuple[str, pl.DataFrame] | None = None,
    names: Mapping[str, str] | None = None,
    confidence: float = 0.95,
) -> WaveAnalysis:
    """Clean, weight and estimate one wave; `previous` = (wave, estimates) of the earlier wave."""
    survey = cfg.survey
    wave_cfg = survey.waves[wave]
    names = dict(names or {})
    notes: list[str] = [f"export: {n}" for n in export.notes]
    variables = wave_variables(survey, wave)

    # Identifying columns never go further, unless the study maps respondents with them
    # (site, role, ids): those are read for mapping and never published as such.
    identifying = set(export.identifying_columns)
    r = survey.respondent
    mapping_columns = {
        r.id_column,
        r.site_column,
        r.role_column,
        r.member_column,
        r.status_column,
        r.finished_column,
        r.progress_column,
        r.submitted_column,
    }
    item_columns = {c for v in variables.values() for c in export_columns(v, wave).values()}
    leaking = sorted(identifying & item_columns)
    if leaking:
        raise ValueError(
            f"survey.variables use export columns flagged as identifying: {', '.join(leaking)}; "
            "rename them in the instrument or leave them out of study.yaml"
        )
    data = export.data.drop(sorted(identifying - mapping_columns))

    sites = site_frame(sites_table, cfg.sites, wave_cfg, names.get("sites", "sites"))
    site_rejects = rejected_site_rows(sites_table, cfg.sites)
    roster = roster_frame(
        roster_table,
        wave_cfg.roster,
        cfg.roles,
        r.role_codes,
        sites["site_id"],
        wave,
        key,
        names.get("roster", "roster"),
    )
    notes.extend(roster.notes)
    cleaned = clean_export(
        data,
        respondent=r,
        roles=cfg.roles,
        variables=variables,
        wave=wave,
        export_format=wave_cfg.format,
        site_ids=sites["site_id"],
        straightlining_min_items=survey.straightlining_min_items,
        name=names.get("export", "export"),
    )
    notes.extend(cleaned.notes)

    # Free text is coded (and checked against human coders) on the export's ids, then pseudonymised.
    coded = {}
    agreements = []
    for fkey, dictionary in survey.freetext.items():
        if dictionary.variable not in variables:
            continue
        coded[fkey] = code_answers(
            cleaned.kept, RESPONSE, value_column(dictionary.variable), dictionary
        )
        notes.extend(coded[fkey].notes)
        if human and fkey in human:
            table, more = agreement_table(
                coded[fkey], RESPONSE, human[fkey], dictionary, fkey, wave
            )
            agreements.append(table)
            notes.extend(more)

    kept = cleaned.kept.with_columns(
        pseudonymise(cleaned.kept[RESPONSE], key, RESPONDENT_PREFIX).alias("respondent_id"),
        pseudonymise(cleaned.kept[MEMBER], key, MEMBER_PREFIX).alias("member_id"),
    )
    ids = kept.select(RESPONSE, "respondent_id")
    for fkey, c in coded.items():
        coded[fkey] = type(c)(
            c.frame.join(ids, on=RESPONSE, maintain_order="left").drop(RESPONSE),
            c.categories,
            c.notes,
        )

    # Weights are aligned with `kept` row by row: the join must keep its order.
    with_attrs = kept.join(sites, on="site_id", how="left", maintain_order="left")
    roster_attrs = roster.frame.join(sites, on="site_id", how="left", maintain_order="left")
    weights = rake_to_roster(with_attrs, roster_attrs, survey.weighting)
    notes.extend(weights.notes)
    kept = kept.with_columns(weights.weights.alias("weight"), pl.lit(wave).alias("wave"))
    respondents = kept.select(RESPONDENT_COLUMNS)
    # Answers carry each respondent's cluster, role and weight for the estimates (no re-join of
    # millions of rows); the published table drops them again.
    design = ("site_id", "role", "weight")
    answers = answers_long(kept, variables, wave, "respondent_id", carry=design)

    breakdowns = breakdown_list(survey.breakdowns)
    mapping = group_mapping(respondents, sites, breakdowns)
    estimates = estimate_table(
        answers, respondents, mapping, variables, breakdowns, wave, confidence
    )
    means = mean_table(answers, respondents, mapping, variables, breakdowns, wave, confidence)
    associations = association_table(estimates, wave)
    coverage = coverage_table(sites, roster.frame, respondents, breakdowns, wave)
    profile = profile_table(roster.frame, respondents, cfg.roles, wave)

    membership = (
        respondents.select("respondent_id", "site_id", "role")
        .join(mapping, on=["site_id", "role"])
        .select("respondent_id", "breakdown", "group")
    )
    frequencies, coded_rows, uncoded = [], [], []
    for fkey, c in coded.items():
        dictionary = survey.freetext[fkey]
        frequencies.append(
            category_frequencies(
                c, "respondent_id", membership, dictionary, fkey, breakdowns, wave, confidence
            )
        )
        coded_rows.append(coded_long(c, "respondent_id", fkey, wave))
        uncoded.append(uncoded_answers(c, "respondent_id", fkey, dictionary.variable, wave))

    tables: dict[str, pl.DataFrame] = {
        "sites": sites,
        "roster": roster.frame,
        "respondents": respondents,
        "answers": answers.drop(design),
        "removed": cleaned.removed.select(
            pl.lit(wave).alias("wave"),
            pl.col(ROW).alias("row"),
            pseudonymise(cleaned.removed[RESPONSE], key, RESPONDENT_PREFIX).alias("respondent_id"),
            "step",
            "reason",
            "detail",
        ),
        "cleaning": cleaned.steps.with_columns(pl.lit(wave).alias("wave")),
        "coverage": coverage,
        "profile": profile,
        "weights": weights.margins.with_columns(pl.lit(wave).alias("wave")),
        "estimates": estimates,
        "means": means,
        "associations": associations,
    }
    if coded:
        tables["freetext"] = pl.concat(frequencies)
        tables["freetext_coded"] = pl.concat(coded_rows)
        # Open answers are published for a human coder, so names and contact details typed
        # into them are redacted first, with the same rules as qualitative quotes.
        pattern = redaction_pattern(cfg.qualitative.redact_terms)
        remainder = pl.concat(uncoded)
        tables["freetext_uncoded"] = remainder.with_columns(redact_column(remainder["text"], pattern))
        tables["freetext_agreement"] = (
            pl.concat(agreements) if agreements else pl.DataFrame(schema=AGREEMENT_SCHEMA)
        )
    if previous is not None:
        prev_wave, prev_estimates = previous
        tables["change"] = change_table(
            prev_estimates,
            estimates,
            wave=wave,
            previous_wave=prev_wave,
            breakdowns=(ALL, "role"),
            confidence=confidence,
        )

    tables["intake"] = intake_table(
        wave,
        [
            ("sites", names.get("sites", "sites"), sites_table.height, sites.height, site_rejects.height),
            ("roster", names.get("roster", "roster"), roster_table.height, roster.frame.height,
             roster.rejected.height),
            ("export", names.get("export", "export"), cleaned.rows_in, respondents.height,
             tables["removed"].height),
        ],
    )
    figures = _figures(cfg, wave, tables, breakdowns, sites)
    summary = _summary(cleaned.rows_in, tables, weights.design_effect, wave)
    markdown = _markdown(cfg, wave, tables, summary, notes)
    quarantine = {"sites": site_rejects, "roster": roster.rejected}
    return WaveAnalysis(wave, tables, figures, summary, markdown, tuple(notes), quarantine)


def intake_table(wave: str, rows: list[tuple[str, str, int, int, int]]) -> pl.DataFrame:
    """Rows in = rows kept + rows quarantined, per input table of the wave (checked here)."""
    for table, file, rows_in, kept, quarantined in rows:
        if rows_in != kept + quarantined:
            raise AssertionError(
                f"{file}: {rows_in} rows in but {kept} kept + {quarantined} quarantined: "
                f"rows of the {table} table went missing"
            )
    return pl.DataFrame(
        rows,
        schema={"input": pl.String, "file": pl.String, "rows_in": pl.Int64, "rows_kept": pl.Int64,
                "rows_quarantined": pl.Int64},
        orient="row",
    ).with_columns(pl.lit(wave).alias("wave")).select("wave", pl.all().exclude("wave"))


def _figures(
    cfg: StudyConfig,
    wave: str,
    tables: dict[str, pl.DataFrame],
    breakdowns: list[str],
    sites: pl.DataFrame,
) -> list[SurveyFigure]:
    """Key-code variables' proportions, free text by role, coverage, and change (later waves)."""
    survey = cfg.survey
    label = survey.waves[wave].label
    figures = [
        proportions_figure(tables["estimates"], k, v.question, label)
        for k, v in survey.variables.items()
        if wave in v.waves and v.type == "single_choice" and v.key_codes
    ]
    role_labels = {k: r.label for k, r in cfg.roles.items()}
    if "freetext" in tables:
        figures.extend(
            freetext_figure(
                tables["freetext"], fkey, survey.variables[d.variable].question, label, role_labels
            )
            for fkey, d in survey.freetext.items()
            if d.variable in tables["freetext"]["variable"].to_list()
        )
    # Coverage by the first breakdown that is a site attribute, else by role.
    site_breakdowns = [b for b in breakdowns if b in sites.columns and b != "site_id"]
    figures.append(coverage_figure(tables["coverage"], (site_breakdowns or ["role"])[0], label))
    if "change" in tables:
        previous = tables["change"]["previous_wave"][0] if tables["change"].height else None
        prev_label = survey.waves[previous].label if previous in survey.waves else "previous wave"
        figures.append(change_figure(tables["change"], label, prev_label))
    return figures


def _summary(
    rows_in: int, tables: dict[str, pl.DataFrame], deff: float, wave: str
) -> dict[str, float | int | str]:
    """Key figures for the manifest: counts in and out, coverage, headline shares."""
    overall = tables["coverage"].filter(pl.col("breakdown") == ALL).row(0, named=True)
    resp = tables["respondents"]
    summary: dict[str, float | int | str] = {
        "wave": wave,
        "rows_in": rows_in,
        "respondents": resp.height,
        "removed": tables["removed"].height,
        "sites": overall["sites"],
        "sites_covered": overall["sites_covered"],
        "sites_covered_share": _finite(overall["sites_share"]) or 0.0,
        "roster": overall["roster"],
        "member_response_rate": _finite(overall["response_rate"]) or 0.0,
        "straightlined": int(resp["straightlined"].sum()),
        "partial": int(resp["partial"].sum()),
    }
    if not math.isnan(deff):
        summary["weight_design_effect"] = deff
    keys = tables["estimates"].filter((pl.col("kind") == "key") & (pl.col("breakdown") == ALL))
    for row in keys.iter_rows(named=True):
        if row["weighted_proportion"] is not None:
            summary[f"key_share.{row['variable']}"] = row["weighted_proportion"]
    if "change" in tables:
        summary["significant_changes"] = int(tables["change"]["significant"].sum())
    return summary


def _pct(value: object) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else "–"


def _markdown(
    cfg: StudyConfig,
    wave: str,
    tables: dict[str, pl.DataFrame],
    summary: Mapping[str, object],
    notes: list[str],
) -> str:
    """A short human summary: cleaning, coverage, headline estimates."""
    w = cfg.survey.waves[wave]
    lines = [
        f"## {w.label}" + ("" if str(w.year) in w.label else f" ({w.year})"),
        "",
        f"- Rows read: {summary['rows_in']}; kept: {summary['respondents']}; removed: {summary['removed']} "
        f"(rows in = kept + removed).",
        f"- Sites with at least one respondent: {summary['sites_covered']} of {summary['sites']} "
        f"({_pct(summary['sites_covered_share'])}); members responding: {summary['respondents']} of "
        f"{summary['roster']} ({_pct(summary['member_response_rate'])}).",
        f"- Partial responses kept: {summary['partial']}; straight-lining flagged: {summary['straightlined']}.",
        "",
        "### Cleaning",
        "",
        "| step | in | removed | out | flagged |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s['step']} | {s['rows_in']} | {s['removed']} | {s['rows_out']} | {s['flagged']} |"
        for s in tables["cleaning"].iter_rows(named=True)
    ]
    reasons = tables["removed"].group_by("reason").len().sort("reason")
    if reasons.height:
        lines += [
            "",
            "Removed by reason: " + ", ".join(f"{r} {n}" for r, n in reasons.iter_rows()) + ".",
        ]
    coverage = tables["coverage"].filter(pl.col("breakdown") != ALL)
    if coverage.height:
        lines += [
            "",
            "### Coverage",
            "",
            "| breakdown | group | sites covered | members responding |",
            "|---|---|---:|---:|",
        ]
        lines += [
            f"| {r['breakdown']} | {r['group']} | {r['sites_covered']}/{r['sites']} "
            f"({_pct(r['sites_share'])}) | {r['respondents']}/{r['roster']} "
            f"({_pct(r['response_rate'])}) |"
            for r in coverage.iter_rows(named=True)
        ]
    keyed = tables["estimates"].filter((pl.col("kind") == "key") & (pl.col("breakdown") == ALL))
    if keyed.height:
        lines += [
            "",
            "### Key estimates (95% CI)",
            "",
            "| variable | answer | weighted | CI (design-based) | unweighted | CI (Wilson) | n |",
            "|---|---|---:|---|---:|---|---:|",
        ]
        lines += [
            f"| {r['variable']} | {r['label']} | {_pct(r['weighted_proportion'])} | "
            f"{_pct(r['weighted_lower'])}–{_pct(r['weighted_upper'])} | {_pct(r['proportion'])} | "
            f"{_pct(r['lower'])}–{_pct(r['upper'])} | {r['n']} |"
            for r in keyed.iter_rows(named=True)
        ]
    if "change" in tables:
        sig = tables["change"].filter(pl.col("significant") & (pl.col("breakdown") == ALL))
        lines += [
            "",
            f"### Change since the previous wave: {sig.height} significant whole-sample change(s)",
        ]
        shown = sig.head(20)
        lines += [
            f"- {r['variable']} / {r['label']}: {100 * r['weighted_difference']:+.1f} pp"
            for r in shown.iter_rows(named=True)
            if r["weighted_difference"] is not None
        ]
        if sig.height > shown.height:
            lines.append(f"- … and {sig.height - shown.height} more (see the change table)")
    if notes:
        lines += ["", "### Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines)
