"""The qualitative strand's steps: pure functions of the tables and raw files they declare.

Scoping (tasks/qualitative/pipeline.py: SCOPING_STEPS): the projects are read into codebook,
sources and segments, then code frequencies, ranked areas and site profiles, then the summary.
Case studies (CASE_STEPS): the projects are read first (the selection compares with the cases
actually studied), then the selection from the scoping sites (with wave-1 site indicators when
that wave was published), matrices, co-occurrence, reliability, quotes, the .qdpx export and the
summary. Everything a step writes is redacted and pseudonymised first (see quotes.redact_model);
matrices and co-occurrence count each source's primary coder's segments; reliability compares
every coder on the unredacted offsets (it publishes counts and statistics, no text).
"""

from __future__ import annotations

import polars as pl

from schemas.datasets.qualitative import (
    ACTUAL_CASES,
    AREA_RANKING,
    CASE_SELECTION,
    CASES,
    CASES_CODEBOOK,
    CASES_NOTES,
    CASES_SEGMENTS,
    CASES_SOURCES,
    CODE_FREQUENCIES,
    COOCCURRENCE,
    DISAGREEMENTS,
    FRAMEWORK,
    MATRIX,
    MATRIX_BY_ROLE,
    MATRIX_BY_SOURCE_TYPE,
    PROJECT,
    QUOTES,
    RELIABILITY,
    SCOPING_CODEBOOK,
    SCOPING_NOTES,
    SCOPING_SEGMENTS,
    SCOPING_SOURCES,
    SEGMENT_OFFSETS,
    SELECTION_NOTES,
    SELECTION_SETS,
    SITE_PROFILES,
    SOURCE_LENGTHS,
    SOURCE_TEXTS,
    THEME_PRESENCE,
)
from schemas.datasets.survey import ANSWERS, RESPONDENTS
from schemas.inputs import site_map_name
from schemas.phases import SURVEY_PHASES
from schemas.study_config import QdaInputs, StudyConfig
from tasks.ingest.qdpx import write_qdpx
from tasks.qualitative import icr, matrices, scoping, selection, summaries
from tasks.qualitative.inputs import (
    CASE_INPUTS,
    CODEBOOK_INPUT,
    SCOPING_INPUTS,
    SITES_INPUT,
    load_projects,
    notes_table,
    read_codebook,
    read_sites,
    redacted_notes,
    site_ids,
    site_names,
    site_rule,
)
from tasks.qualitative.model import CASE_COLUMNS, SEGMENT_COLUMNS, CodedModel, primary_segments
from tasks.qualitative.qdpx_export import to_project
from tasks.qualitative.quotes import redact_model, select_quotes
from tasks.step import StepInput, StepOutput

# The columns joining a coding to its offsets in the unredacted text (combine() keeps one row
# per segment, code and coder).
_CODING_KEY = ["segment_id", "code_id", "coder"]


def _notes(table: pl.DataFrame) -> list[str]:
    return table.get_column("note").to_list()


def _key(inp: StepInput) -> bytes:
    # Without the key, build_model would take participant ids as already pseudonymous and publish
    # them as they are: a step reading projects must have it.
    if inp.key is None:
        raise RuntimeError("reading coded projects needs the pseudonymisation key (declare needs_key=True)")
    return inp.key


def _read_model(
    inp: StepInput, prefix: str, inputs: QdaInputs, *, scoping_sites: bool
) -> tuple[pl.DataFrame, CodedModel, pl.DataFrame]:
    """The codebook, every project under a prefix (merged, pseudonymised, redacted) and the coded lengths.

    Scoping sources must name a site of the sites table; case-study sources may name others
    (noted), and every case-study source must belong to a case. The last frame holds each
    source's length in the unredacted text the coders coded (reliability counts on it).
    """
    cfg, key = inp.config, _key(inp)
    codebook = read_codebook(inp.file(CODEBOOK_INPUT))
    sites = read_sites(inp.file(SITES_INPUT), cfg)
    section = "scoping" if scoping_sites else "case_studies"
    raw = load_projects(
        inp.files_with(prefix), inputs, codebook, cfg, key, require_case=not scoping_sites,
        require_site=scoping_sites, known_sites=site_ids(sites, cfg),
        rule=site_rule(inputs, section, inp.files.get(site_map_name(section))),
    )
    return codebook, redact_model(raw, cfg.qualitative.redact_terms), raw.sources.select("source_id", "length")


def _area_path(codebook: pl.DataFrame, cfg: StudyConfig) -> str:
    return scoping.resolve_node(codebook, cfg.qualitative.area_theme, "qualitative.area_theme")


# --- scoping ---------------------------------------------------------------------------------


def scoping_segments(inp: StepInput) -> StepOutput:
    """Scoping projects → codebook, sources and coded segments (pseudonymised, redacted)."""
    codebook, model, _ = _read_model(inp, SCOPING_INPUTS, inp.config.qualitative.scoping, scoping_sites=True)
    notes = redacted_notes(model.notes, inp.config.qualitative.redact_terms)
    return StepOutput(tables={
        SCOPING_CODEBOOK: codebook,
        SCOPING_SOURCES: model.published_sources(),
        SCOPING_SEGMENTS: model.segments.select(SEGMENT_COLUMNS),
        SCOPING_NOTES: notes_table(notes),
    }, notes=tuple(notes), quarantine={"sources": model.quarantined})


def scoping_frequencies(inp: StepInput) -> StepOutput:
    """How often each code was applied: sites, sources, segments (primary coder's segments)."""
    coded, _ = primary_segments(inp.table(SCOPING_SEGMENTS))
    frequencies = scoping.code_frequencies(coded, inp.table(SCOPING_SOURCES), inp.table(SCOPING_CODEBOOK))
    return StepOutput(tables={CODE_FREQUENCIES: frequencies})


def area_ranking(inp: StepInput) -> StepOutput:
    """Areas ranked by the sites, then the segments, mentioning them; the top ones are targets."""
    codebook = inp.table(SCOPING_CODEBOOK)
    coded, _ = primary_segments(inp.table(SCOPING_SEGMENTS))
    ranking = scoping.area_ranking(coded, inp.table(SCOPING_SOURCES), codebook, _area_path(codebook, inp.config),
                                   inp.config.qualitative.target_areas_top)
    return StepOutput(tables={AREA_RANKING: ranking})


def site_profiles(inp: StepInput) -> StepOutput:
    """Each scoping site's maturity, focus areas and target areas (named from the sites table)."""
    cfg, q = inp.config, inp.config.qualitative
    codebook = inp.table(SCOPING_CODEBOOK)
    coded, _ = primary_segments(inp.table(SCOPING_SEGMENTS))
    maturity = scoping.resolve_node(codebook, q.maturity_theme, "qualitative.maturity_theme") if q.maturity_theme else None
    names = site_names(read_sites(inp.file(SITES_INPUT), cfg), cfg)
    profiles = scoping.site_profiles(coded, inp.table(SCOPING_SOURCES), codebook, inp.table(AREA_RANKING),
                                     _area_path(codebook, cfg), maturity, names, q.target_areas_top)
    return StepOutput(tables={SITE_PROFILES: profiles})


def scoping_summary(inp: StepInput) -> StepOutput:
    """The scoping phase's key figures, markdown and ranked-areas table."""
    sources, segments = inp.table(SCOPING_SOURCES), inp.table(SCOPING_SEGMENTS)
    ranking, profiles = inp.table(AREA_RANKING), inp.table(SITE_PROFILES)
    _, lead = primary_segments(segments)
    targets = "; ".join(ranking.filter(pl.col("is_target")).get_column("area").to_list())
    summary: dict[str, float | int | str] = {
        "sites": profiles.height,
        "sources": sources.height,
        "segments": segments.height,
        "lead_coder": lead or "",
        "target_areas": targets,
    }
    markdown = summaries.scoping_markdown(
        n_sites=profiles.height, n_sources=sources.height, n_segments=segments.height, lead=lead,
        ranking=ranking, top=inp.config.qualitative.target_areas_top, targets=targets,
        notes=_notes(inp.table(SCOPING_NOTES)),
    )
    return StepOutput(summary=summary, markdown=markdown,
                      table=ranking.select("rank", "area", "n_sites", "n_segments").to_dicts())


# --- case studies ----------------------------------------------------------------------------


def _case_table(model: CodedModel, coded: pl.DataFrame) -> pl.DataFrame:
    """The cases with their number of sources and of (primary coder's) coded spans."""
    spans = (
        coded.join(model.sources.select("source_id", "case"), on="source_id").group_by("case")
        .agg(pl.col("segment_id").n_unique().alias("n_segments"))
    )
    return (
        model.cases.join(model.sources.group_by("case").agg(pl.len().alias("n_sources")), on="case", how="left")
        .join(spans, on="case", how="left")
        .with_columns(pl.col("n_sources", "n_segments").fill_null(0))
        .sort("case")
    )


def case_segments(inp: StepInput) -> StepOutput:
    """Case-study projects → cases, codebook, sources and coded segments (pseudonymised, redacted).

    Also kept for the later steps: the cases in project order (the selection compares with
    them), the redacted source texts (the exported project), and each coding's offsets in and
    each source's length of the unredacted text (the quotes' provenance; reliability).
    """
    q = inp.config.qualitative
    codebook, model, coded_lengths = _read_model(inp, CASE_INPUTS, q.case_studies, scoping_sites=False)
    coded, _ = primary_segments(model.segments)
    notes = redacted_notes(model.notes, q.redact_terms)
    return StepOutput(tables={
        CASES: _case_table(model, coded),
        CASES_CODEBOOK: codebook,
        CASES_SOURCES: model.published_sources(),
        CASES_SEGMENTS: model.segments.select(SEGMENT_COLUMNS),
        ACTUAL_CASES: model.cases.select("case", "site_ids"),
        SOURCE_TEXTS: model.sources.select("source_id", "text"),
        SEGMENT_OFFSETS: model.segments.select(*_CODING_KEY, "raw_start", "raw_end"),
        SOURCE_LENGTHS: coded_lengths,
        CASES_NOTES: notes_table(notes),
    }, notes=tuple(notes), quarantine={"sources": model.quarantined})


def _attribute_columns(sites: pl.DataFrame, cfg: StudyConfig, wave: str) -> tuple[dict[str, str], list[str]]:
    """Selection attribute → sites-table column (study, then wave-1 names), and notes on missing ones."""
    sel = cfg.qualitative.case_selection
    wave_attrs = cfg.survey.waves[wave].site_attributes
    wanted = list(dict.fromkeys([*sel.attributes, *(a for quota in sel.quotas for a in quota.where)]))
    columns: dict[str, str] = {}
    notes: list[str] = []
    for name in wanted:
        column = cfg.sites.attributes.get(name) or wave_attrs.get(name) or (name if name in sites.columns else None)
        if column is None or column not in sites.columns:
            notes.append(f"selection attribute {name!r} is not a column of the sites table")
            continue
        columns[name] = column
    return columns, notes


def _indicators(inp: StepInput, wave: str) -> tuple[pl.DataFrame | None, list[str], list[str]]:
    """Wave-1 site indicators (share answering a key code), their names, and notes."""
    sel, variables = inp.config.qualitative.case_selection, inp.config.survey.variables
    if not sel.survey_indicators:
        return None, [], []
    respondents, answers = inp.maybe(RESPONDENTS, wave), inp.maybe(ANSWERS, wave)
    if respondents is None or answers is None:
        return None, [], [f"wave-1 outputs ({inp.name(RESPONDENTS, wave)} / answers) missing: survey indicators "
                          f"{', '.join(sel.survey_indicators)} left out of the selection"]
    key_codes = {v: variables[v].key_codes for v in sel.survey_indicators if v in variables}
    notes = [f"survey indicator {v!r} is not a survey variable; left out"
             for v in sel.survey_indicators if v not in key_codes]
    return selection.survey_indicators(respondents, answers, key_codes), list(key_codes), notes


def selection_features(inp: StepInput, sites: pl.DataFrame) -> tuple[pl.DataFrame, list[str], list[str]]:
    """Site features for the selection (attributes, wave-1 indicators), distance features, notes."""
    cfg = inp.config
    wave = cfg.survey.wave_for_phase(SURVEY_PHASES[0])
    columns, notes = _attribute_columns(sites, cfg, wave)
    features = selection.site_features(sites, cfg.sites.id_column, columns)
    distance = [a for a in cfg.qualitative.case_selection.attributes if a in columns]
    indicators, names, more = _indicators(inp, wave)
    if indicators is not None:
        features = features.join(indicators, on="site_id", how="left")
    return features, distance + names, notes + more


def case_selection(inp: StepInput) -> StepOutput:
    """Choose the case sites among the scoping sites and compare with the cases actually studied."""
    cfg = inp.config
    features, distance, notes = selection_features(inp, read_sites(inp.file(SITES_INPUT), cfg))
    chosen = selection.select_cases(
        inp.table(SITE_PROFILES).select("site_id", "target_areas"), features, distance,
        cfg.qualitative.case_selection, actual=inp.table(ACTUAL_CASES),
    )
    notes = redacted_notes([*notes, *chosen.notes], cfg.qualitative.redact_terms)
    return StepOutput(tables={
        CASE_SELECTION: chosen.selection,
        SELECTION_SETS: chosen.sets,
        SELECTION_NOTES: notes_table(notes),
    }, notes=tuple(notes))


def _enriched(inp: StepInput) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The primary coder's segments with source and code attributes, and their overlapping pairs."""
    coded, _ = primary_segments(inp.table(CASES_SEGMENTS))
    enriched = matrices.enrich(coded, inp.table(CASES_SOURCES), inp.table(CASES_CODEBOOK))
    return enriched, matrices.overlap_pairs(enriched)


def case_matrices(inp: StepInput) -> StepOutput:
    """Case × code, role and source-type counts, theme presence and the framework matrix."""
    codebook = inp.table(CASES_CODEBOOK)
    case_names = sorted(inp.table(CASES).get_column("case").to_list())
    enriched, pairs = _enriched(inp)
    enriched = matrices.cocoding(enriched, pairs)
    return StepOutput(tables={
        MATRIX: matrices.case_matrix(enriched, codebook, case_names),
        MATRIX_BY_ROLE: matrices.breakdown(enriched, "role"),
        MATRIX_BY_SOURCE_TYPE: matrices.breakdown(enriched, "source_type"),
        THEME_PRESENCE: matrices.theme_presence(enriched, codebook, case_names),
        FRAMEWORK: matrices.framework(enriched, matrices.exemplars(enriched)),
    })


def case_cooccurrence(inp: StepInput) -> StepOutput:
    """Codes applied to overlapping spans, and codes applied in the same source."""
    enriched, pairs = _enriched(inp)
    return StepOutput(tables={COOCCURRENCE: matrices.cooccurrence(enriched, pairs)})


def case_reliability(inp: StepInput) -> StepOutput:
    """Agreement, kappa and alpha of every coder pair (and all coders), and where pairs differ.

    Counted on the text the coders coded: the codings' unredacted offsets and the sources'
    unredacted lengths, never the redacted copy whose offsets moved.
    """
    q = inp.config.qualitative
    segments, sources, codebook = inp.table(CASES_SEGMENTS), inp.table(CASES_SOURCES), inp.table(CASES_CODEBOOK)
    _, lead = primary_segments(segments)
    coded, lengths = icr.coded_text(segments, inp.table(SEGMENT_OFFSETS), inp.table(SOURCE_LENGTHS))
    double = icr.double_coded_sources(segments).height
    reliability = icr.reliability_table(coded, lengths, codebook, lead)
    notes = [*summaries.double_coding_notes(double, sources.height, q.double_coded_share_min),
             *summaries.interval_notes(reliability)]
    return StepOutput(tables={
        RELIABILITY: reliability,
        DISAGREEMENTS: icr.disagreement_table(coded, sources, codebook, lead),
    }, notes=tuple(redacted_notes(notes, q.redact_terms)))


def case_quotes(inp: StepInput) -> StepOutput:
    """The strongest exemplar spans per case × theme as redacted quotes with provenance and attribution."""
    sources = inp.table(CASES_SOURCES)
    segments = inp.table(CASES_SEGMENTS).join(inp.table(SEGMENT_OFFSETS), on=_CODING_KEY, how="left",
                                              maintain_order="left")
    coded, _ = primary_segments(segments)
    enriched = matrices.enrich(coded, sources, inp.table(CASES_CODEBOOK))
    ranked = matrices.exemplars(matrices.cocoding(enriched, matrices.overlap_pairs(enriched)))
    labels = {key: role.label for key, role in inp.config.roles.items()}
    return StepOutput(tables={QUOTES: select_quotes(ranked, sources, role_labels=labels)})


def case_project(inp: StepInput) -> StepOutput:
    """The redacted, pseudonymised coded case studies written back as a REFI-QDA .qdpx."""
    cfg, q = inp.config, inp.config.qualitative
    sources = inp.table(CASES_SOURCES).join(inp.table(SOURCE_TEXTS), on="source_id", how="left",
                                            maintain_order="left")
    model = CodedModel(codebook=inp.table(CASES_CODEBOOK), sources=sources, segments=inp.table(CASES_SEGMENTS),
                       cases=inp.table(CASES).select(CASE_COLUMNS))
    project = to_project(model, f"{cfg.study.id} case studies", q.case_studies.source_variables,
                         q.case_studies.case_site_variable)
    return StepOutput(files={PROJECT: write_qdpx(project)})


def case_summary(inp: StepInput) -> StepOutput:
    """The case-study phase's key figures, markdown and the chosen sites with their reasons."""
    q = inp.config.qualitative
    cases, sources, segments = inp.table(CASES), inp.table(CASES_SOURCES), inp.table(CASES_SEGMENTS)
    chosen, sets = inp.table(CASE_SELECTION), inp.table(SELECTION_SETS)
    reliability, quotes = inp.table(RELIABILITY), inp.table(QUOTES)
    _, lead = primary_segments(segments)
    double = icr.double_coded_sources(segments).height
    pooled = reliability.filter(pl.col("code_id") == icr.POOLED)
    picked = selection.outcome_summary(chosen, sets)
    summary: dict[str, float | int | str] = {
        "cases": cases.height,
        "sources": sources.height,
        "segments": segments.height,
        "lead_coder": lead or "",
        "double_coded_sources": double,
        "quotes": quotes.height,
        **picked,
        **summaries.agreement_figures(pooled),
    }
    notes = [
        *_notes(inp.table(SELECTION_NOTES)),
        *redacted_notes(summaries.double_coding_notes(double, sources.height, q.double_coded_share_min),
                        q.redact_terms),
        *_notes(inp.table(CASES_NOTES)),
    ]
    markdown = summaries.case_markdown(
        picked=picked, sets=sets, n_cases=cases.height, n_sources=sources.height, n_segments=segments.height,
        lead=lead, presence=inp.table(THEME_PRESENCE), double_coded=double, pooled=pooled,
        n_quotes=quotes.height, notes=notes,
    )
    return StepOutput(summary=summary, markdown=markdown,
                      table=chosen.filter(pl.col("selected")).select("site_id", "reason").to_dicts())
