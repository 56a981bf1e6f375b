"""The qualitative phase steps: the only module of the strand that reads inputs and writes tables.

scoping_step: scoping projects → codebook, sources, segments, code frequencies, ranked areas,
site profiles. case_studies_step: case selection from the scoping sites (with wave-1 site
indicators when the survey outputs are there), then the case-study projects → matrices,
co-occurrence, framework, reliability, disagreements, quotes and the coded project as .qdpx.
Everything published is redacted and pseudonymised first (see quotes.redact_model).
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.manifest import OutputRecord
from schemas.study_config import QdaInputs, StudyConfig
from tasks.context import RunContext
from tasks.ingest.coded_segments_csv import read_coded_segments
from tasks.ingest.errors import InputError
from tasks.ingest.qdpx import read_qdc, read_qdpx, write_qdpx
from tasks.ingest.tables import read_table as read_input_table
from tasks.ingest.tables import require_columns
from tasks.phase import PhaseResult
from tasks.privacy import load_pseudonym_key
from tasks.qualitative import icr, matrices, scoping, selection
from tasks.qualitative.model import (
    SEGMENT_COLUMNS,
    CodedModel,
    build_model,
    codebook_table,
    combine,
    primary_segments,
    project_from_segments,
)
from tasks.qualitative.qdpx_export import to_project
from tasks.qualitative.quotes import redact_model, select_quotes
from tasks.redaction import redact, redaction_pattern

SCOPING = "scoping"
CASES = "case_studies"
QDPX_MEDIA_TYPE = "application/zip"


def read_codebook(ctx: RunContext) -> pl.DataFrame:
    """The study codebook (.qdc, or the codebook of a .qdpx) as the codebook table."""
    data, name = ctx.read_input("qual.codebook")
    codes = read_qdpx(data, name).codes if name.lower().endswith(".qdpx") else read_qdc(data, name)
    return codebook_table(codes)


def read_sites(ctx: RunContext, cfg: StudyConfig) -> pl.DataFrame:
    """The sites table as strings, checked for its id column."""
    data, name = ctx.read_input("sites")
    frame = read_input_table(data, name, sheet=cfg.sites.sheet).frame
    require_columns(frame, [cfg.sites.id_column], name)
    return frame


def role_map(cfg: StudyConfig) -> dict[str, str]:
    """Role keys and labels (any case) → role key."""
    out = {label.label: key for key, label in cfg.roles.items()}
    out.update({key: key for key in cfg.roles})
    return out


def load_projects(
    ctx: RunContext, prefix: str, inputs: QdaInputs, codebook: pl.DataFrame, *, require_case: bool,
    require_site: bool, known_sites: set[str] | None,
) -> CodedModel:
    """Read and validate every project under an input prefix and merge them (not yet redacted).

    A source at a site missing from the sites table is an error where sites are required
    (scoping) and a note otherwise (case studies).
    """
    cfg = ctx.config()
    key = load_pseudonym_key(cfg.study.pseudonym_key_env, cfg.study.id)
    models = []
    for logical in ctx.input_names(prefix):
        data, name = ctx.read_input(logical)
        if inputs.format == "qdpx":
            project = read_qdpx(data, name)
        else:
            segments = read_coded_segments(data, name)
            project = project_from_segments(
                segments.table, codebook, name, inputs.source_variables, inputs.case_site_variable,
            )
            project = replace(project, notes=(*project.notes, *segments.notes))
        model = build_model(
            project, codebook, name, inputs.source_variables, site_variable=inputs.case_site_variable,
            key=key, require_case=require_case, require_site=require_site, role_map=role_map(cfg),
        )
        if known_sites is not None:
            unknown = model.sources.filter(pl.col("site_id").is_not_null() & ~pl.col("site_id").is_in(list(known_sites)))
            if unknown.height and require_site:
                row = unknown.row(0, named=True)
                raise InputError(name, f"source {row['name']} ({row['source_id']})",
                                 "a source's site must be listed in the sites table",
                                 f"site {row['site_id']!r}; {unknown.height} source(s) in all")
            if unknown.height:
                sites = ", ".join(sorted(set(unknown.get_column("site_id").to_list())))
                model = replace(model, notes=(*model.notes, f"{name}: sites not in the sites table: {sites}"))
        models.append(model)
    return combine(models, codebook)


def _site_ids(sites: pl.DataFrame, cfg: StudyConfig) -> set[str]:
    return set(sites.get_column(cfg.sites.id_column).cast(pl.String).str.strip_chars().drop_nulls().to_list())


def _bullets(frame: pl.DataFrame, template: str, limit: int = 10) -> str:
    def shown(value: object) -> object:
        return f"{value:.3f}" if isinstance(value, float) else ("n/a" if value is None else value)

    rows = frame.head(limit).iter_rows(named=True)
    return "\n".join(template.format(**{k: shown(v) for k, v in row.items()}) for row in rows)


def _redacted(notes: tuple[str, ...] | list[str], cfg: StudyConfig) -> list[str]:
    """Notes may quote source names and labels: names in them are redacted before publishing."""
    pattern = redaction_pattern(cfg.qualitative.redact_terms)
    return [redact(n, pattern)[0] for n in notes]


def scoping_step(ctx: RunContext) -> PhaseResult:
    """Scoping: code frequencies across sites, ranked areas and site profiles."""
    cfg = ctx.config()
    q = cfg.qualitative
    codebook = read_codebook(ctx)
    sites = read_sites(ctx, cfg)
    raw = load_projects(ctx, "qual.scoping.", q.scoping, codebook, require_case=False, require_site=True,
                        known_sites=_site_ids(sites, cfg))
    model = redact_model(raw, q.redact_terms)
    coded, lead = primary_segments(model.segments)
    area_path = scoping.resolve_node(codebook, q.area_theme, "qualitative.area_theme")
    maturity_path = (
        scoping.resolve_node(codebook, q.maturity_theme, "qualitative.maturity_theme") if q.maturity_theme else None
    )
    names = None
    if cfg.sites.name_column and cfg.sites.name_column in sites.columns:
        names = sites.select(pl.col(cfg.sites.id_column).str.strip_chars().alias("site_id"),
                             pl.col(cfg.sites.name_column).alias("site_name")).unique(
                                 "site_id", keep="first", maintain_order=True)
    freq = scoping.code_frequencies(coded, model.sources, codebook)
    ranking = scoping.area_ranking(coded, model.sources, codebook, area_path, q.target_areas_top)
    profiles = scoping.site_profiles(coded, model.sources, codebook, ranking, area_path, maturity_path, names,
                                     q.target_areas_top)
    tables = {
        "scoping.codebook": codebook,
        "scoping.sources": model.published_sources(),
        "scoping.segments": model.segments.select(SEGMENT_COLUMNS),
        "scoping.code_frequencies": freq,
        "scoping.area_ranking": ranking,
        "scoping.site_profiles": profiles,
    }
    outputs = [ctx.write_table(name, frame, SCOPING) for name, frame in tables.items()]
    targets = ranking.filter(pl.col("is_target"))
    summary: dict[str, float | int | str] = {
        "sites": profiles.height,
        "sources": model.sources.height,
        "segments": model.segments.height,
        "lead_coder": lead or "",
        "target_areas": "; ".join(targets.get_column("area").to_list()),
    }
    markdown = "\n".join([
        "## Scoping",
        f"{profiles.height} sites, {model.sources.height} sources, {model.segments.height} coded segments "
        f"(counts from each source's primary coder; lead coder {lead}).",
        "",
        "### Areas ranked by sites, then segments",
        _bullets(ranking, "{rank}. {area}: {n_sites} sites, {n_segments} segments"),
        "",
        f"Target areas (top {q.target_areas_top}): {summary['target_areas'] or 'none'}.",
        *(f"- note: {n}" for n in _redacted(model.notes, cfg)),
    ])
    return PhaseResult(phase=SCOPING, outputs=outputs, summary=summary, markdown=markdown,
                       table=ranking.select("rank", "area", "n_sites", "n_segments").to_dicts())


def _features(
    ctx: RunContext, cfg: StudyConfig, sites: pl.DataFrame, upstream: dict[str, OutputRecord], notes: list[str]
) -> tuple[pl.DataFrame, list[str]]:
    """Site features for selection (attributes and wave-1 indicators) and the distance feature names."""
    sel = cfg.qualitative.case_selection
    wave = cfg.survey.wave_for_phase("survey_w1")
    wave_attrs = cfg.survey.waves[wave].site_attributes
    wanted = list(dict.fromkeys([*sel.attributes, *(a for quota in sel.quotas for a in quota.where)]))
    columns: dict[str, str] = {}
    for name in wanted:
        column = cfg.sites.attributes.get(name) or wave_attrs.get(name) or (name if name in sites.columns else None)
        if column is None or column not in sites.columns:
            notes.append(f"selection attribute {name!r} is not a column of the sites table")
            continue
        columns[name] = column
    features = selection.site_features(sites, cfg.sites.id_column, columns)
    distance = [a for a in sel.attributes if a in columns]
    if sel.survey_indicators:
        respondents, answers = upstream.get(f"survey.{wave}.respondents"), upstream.get(f"survey.{wave}.answers")
        if respondents is None or answers is None:
            notes.append(f"wave-1 outputs (survey.{wave}.respondents / answers) missing: survey indicators "
                         f"{', '.join(sel.survey_indicators)} left out of the selection")
        else:
            key_codes = {v: cfg.survey.variables[v].key_codes for v in sel.survey_indicators if v in cfg.survey.variables}
            for v in sel.survey_indicators:
                if v not in key_codes:
                    notes.append(f"survey indicator {v!r} is not a survey variable; left out")
            indicators = selection.survey_indicators(ctx.read_table(respondents), ctx.read_table(answers), key_codes)
            features = features.join(indicators, on="site_id", how="left")
            distance += list(key_codes)
    return features, distance


def case_studies_step(ctx: RunContext, upstream: dict[str, OutputRecord]) -> PhaseResult:
    """Case selection, then the case-study analysis tables, quotes and the .qdpx round trip."""
    cfg = ctx.config()
    q = cfg.qualitative
    notes: list[str] = []
    codebook = read_codebook(ctx)
    sites = read_sites(ctx, cfg)
    raw = load_projects(ctx, "qual.cases.", q.case_studies, codebook, require_case=True, require_site=False,
                        known_sites=_site_ids(sites, cfg))
    model = redact_model(raw, q.redact_terms)

    profiles = ctx.read_table(upstream["scoping.site_profiles"])
    features, distance = _features(ctx, cfg, sites, upstream, notes)
    chosen = selection.select_cases(profiles.select("site_id", "target_areas"), features, distance,
                                     q.case_selection, actual=model.cases)
    notes += chosen.notes

    coded, lead = primary_segments(model.segments)
    case_names = sorted(model.cases.get_column("case").to_list())
    enriched = matrices.enrich(coded, model.sources, codebook)
    pairs = matrices.overlap_pairs(enriched)
    enriched = matrices.cocoding(enriched, pairs)
    ranked = matrices.exemplars(enriched)
    double = icr.double_coded_sources(model.segments)
    share = double.height / model.sources.height if model.sources.height else 0.0
    if share < q.double_coded_share_min:
        notes.append(f"only {share:.1%} of sources are double-coded (minimum {q.double_coded_share_min:.0%})")
    reliability = icr.reliability_table(model.segments, model.sources, codebook, lead)
    case_table = model.cases.join(
        model.sources.group_by("case").agg(pl.len().alias("n_sources")), on="case", how="left"
    ).join(
        coded.join(model.sources.select("source_id", "case"), on="source_id").group_by("case")
        .agg(pl.col("segment_id").n_unique().alias("n_segments")), on="case", how="left",
    ).with_columns(pl.col("n_sources", "n_segments").fill_null(0)).sort("case")
    tables = {
        "cases.selection": chosen.selection,
        "cases.selection_sets": chosen.sets,
        "cases.cases": case_table,
        "cases.codebook": codebook,
        "cases.sources": model.published_sources(),
        "cases.segments": model.segments.select(SEGMENT_COLUMNS),
        "cases.matrix": matrices.case_matrix(enriched, codebook, case_names),
        "cases.matrix_by_role": matrices.breakdown(enriched, "role"),
        "cases.matrix_by_source_type": matrices.breakdown(enriched, "source_type"),
        "cases.theme_presence": matrices.theme_presence(enriched, codebook, case_names),
        "cases.cooccurrence": matrices.cooccurrence(enriched, pairs),
        "cases.framework": matrices.framework(enriched, ranked),
        "cases.reliability": reliability,
        "cases.disagreements": icr.disagreement_table(model.segments, model.sources, codebook, lead),
        "cases.quotes": select_quotes(ranked, model.sources),
    }
    outputs = [ctx.write_table(name, frame, CASES) for name, frame in tables.items()]
    project = to_project(model, f"{cfg.study.id} case studies", q.case_studies.source_variables,
                         q.case_studies.case_site_variable)
    outputs.append(ctx.write_bytes("cases.project", write_qdpx(project), "qdpx", QDPX_MEDIA_TYPE, CASES))

    pooled = reliability.filter(pl.col("code_id") == icr.POOLED)
    summary: dict[str, float | int | str] = {
        "cases": len(case_names),
        "sources": model.sources.height,
        "segments": model.segments.height,
        "lead_coder": lead or "",
        "double_coded_sources": double.height,
        "quotes": tables["cases.quotes"].height,
        **chosen.summary,
    }
    for row in pooled.iter_rows(named=True):
        for stat in ("kappa", "alpha"):
            if row[stat] is not None:
                summary[f"{row['level']}_{stat}_{row['coder_b']}"] = round(float(row[stat]), 4)
    presence = tables["cases.theme_presence"]
    markdown = "\n".join([
        "## Case studies",
        f"Selected cases: {chosen.summary.get('selected_sites', '')} ({chosen.summary.get('selection_search', '')}).",
        _bullets(chosen.sets, "- {set}: mean distance {mean_distance}, min {min_distance}, quotas met {quota_share}"),
        "",
        f"{len(case_names)} cases, {model.sources.height} sources, {model.segments.height} coded segments; "
        f"matrices use each source's primary coder (lead coder {lead}).",
        "",
        "### Themes by number of cases",
        _bullets(presence, "- {theme}: {n_cases} of {n_cases_total} cases, {n_segments} segments"),
        "",
        f"### Inter-coder reliability ({double.height} double-coded sources)",
        _bullets(pooled, "- {coder_a} vs {coder_b}, {level}: agreement {agreement}, kappa {kappa}, alpha {alpha}"),
        "",
        f"{tables['cases.quotes'].height} redacted quotes; coded project written back as .qdpx.",
        *(f"- note: {n}" for n in _redacted((*notes, *model.notes), cfg)),
    ])
    return PhaseResult(phase=CASES, outputs=outputs, summary=summary, markdown=markdown,
                       table=chosen.selection.filter(pl.col("selected")).select("site_id", "reason").to_dicts())


scoping_task = task(name="scoping", cache_policy=NO_CACHE)(scoping_step)
case_studies_task = task(name="case_studies", cache_policy=NO_CACHE)(case_studies_step)
