"""The steps of a survey wave: pure functions from what a step read to what it publishes.

Each function sees frames and bytes only (`StepInput`) and returns a `StepOutput`; the step
runner reads and writes the store. `tasks.survey.pipeline` declares them in dependency order.
Export ids exist only inside `intake` (and the human-coded ids inside `freetext`): everything a
step publishes, intermediates included, carries keyed pseudonyms instead.
"""

from __future__ import annotations

import polars as pl

from schemas.datasets.sites import ROSTER, SITES
from schemas.datasets.survey import (
    ANALYSIS,
    ANALYSIS_DTA,
    ANALYSIS_LABELS,
    ANALYSIS_SAV,
    ANSWERS,
    ASSOCIATIONS,
    CHANGE,
    CLEANING,
    COVERAGE,
    ESTIMATES,
    FIGURES,
    FREETEXT,
    FREETEXT_AGREEMENT,
    FREETEXT_CODED,
    FREETEXT_UNCODED,
    INTAKE,
    MEANS,
    PROFILE,
    REMOVED,
    RESPONDENTS,
    RESPONSES,
    WEIGHT_SUMMARY,
    WEIGHTS,
)
from schemas.inputs import DICTIONARY, EXPORT, SITE_LOOKUP, human_coded_name
from schemas.inputs import ROSTER as ROSTER_FILE
from schemas.inputs import SITES as SITES_FILE
from schemas.study_config import StudyConfig
from tasks.ingest.native_csv import read_csv_table
from tasks.ingest.spss import value_labels
from tasks.ingest.survey_export import SurveyExport, read_survey_export
from tasks.ingest.tables import TableRead, read_table, require_columns
from tasks.redaction import redaction_pattern
from tasks.step import FigureFile, RawFile, StepInput, StepOutput
from tasks.survey.analysis_file import analysis_file
from tasks.survey.change import change_table, panel_counts
from tasks.survey.cleaning import Cleaned, clean_export
from tasks.survey.coverage import coverage_table, profile_table
from tasks.survey.crosstabs import association_table, site_sums
from tasks.survey.estimates import ALL, breakdown_list, estimate_table, group_mapping, mean_table
from tasks.survey.figures import wave_figures
from tasks.survey.freetext import HUMAN_COLUMNS, pseudonymise_human, wave_freetext
from tasks.survey.instrument import answers_long, wave_variables
from tasks.survey.intake import (
    intake_table,
    respondent_site_links,
    usable_export,
    value_label_notes,
)
from tasks.survey.population import (
    rejected_lookup_rows,
    rejected_site_rows,
    roster_frame,
    site_frame,
)
from tasks.survey.responses import (
    ATTRIBUTES,
    RESPONDENT_PREFIX,
    recoded_items,
    removed_table,
    respondents_table,
    responses_table,
)
from tasks.survey.stats import kish_design_effect
from tasks.survey.summary import (
    figures_markdown,
    key_estimate_rows,
    missing_change_note,
    quarantine_note,
    wave_markdown,
    wave_summary,
)
from tasks.survey.weights import rake_to_roster, weight_summary

CONFIDENCE = 0.95
# The change is tested for the whole sample and by role.
CHANGE_BREAKDOWNS = (ALL, "role")


def _wave(inp: StepInput) -> str:
    if inp.wave is None or inp.wave not in inp.config.survey.waves:
        waves = ", ".join(inp.config.survey.waves)
        raise KeyError(f"survey wave {inp.wave!r} is not declared in study.yaml (waves: {waves})")
    return inp.wave


def _read(raw: RawFile, sheet: str | None = None) -> TableRead:
    # Large CSV rosters and site lists are parsed by polars; the Python reader handles the rest
    # (and every malformed file, naming the line).
    native = read_csv_table(raw.data, raw.original_name) if sheet is None else None
    return native if native is not None else read_table(raw.data, raw.original_name, sheet=sheet)


def _input_table(inp: StepInput, name: str, sheet: str | None) -> tuple[RawFile, TableRead]:
    raw = inp.file(name)
    return raw, _read(raw, sheet)


def _reader_notes(raw: RawFile, read: TableRead) -> list[str]:
    """What a reader tolerated (blank rows, encodings), reported rather than lost."""
    return [f"{raw.original_name}: {n}" for n in read.notes]


def _export(inp: StepInput, wave: str) -> tuple[RawFile, SurveyExport]:
    """The wave's export, read with its data dictionary when the study gives one (REDCap)."""
    raw = inp.file(EXPORT.resolve(wave=wave))
    dictionary = inp.files.get(DICTIONARY.resolve(wave=wave))
    export = read_survey_export(
        raw.data,
        raw.original_name,
        inp.config.survey.waves[wave].format,
        dictionary.data if dictionary else None,
        dictionary.original_name if dictionary else None,
    )
    return raw, export


def _key(inp: StepInput) -> bytes:
    if inp.key is None:
        raise RuntimeError("this step pseudonymises and needs the key (declare needs_key=True)")
    return inp.key


def _clean(
    cfg: StudyConfig, wave: str, export: SurveyExport, name: str, sites: pl.DataFrame,
    site_links: pl.DataFrame | None = None,
) -> Cleaned:
    """The export's usable columns through the cleaning rules."""
    survey, variables = cfg.survey, wave_variables(cfg.survey, wave)
    return clean_export(
        usable_export(export, variables, wave, survey.respondent),
        respondent=survey.respondent,
        roles=cfg.roles,
        variables=variables,
        wave=wave,
        export_format=survey.waves[wave].format,
        site_ids=sites["site_id"],
        straightlining_min_items=survey.straightlining_min_items,
        name=name,
        site_links=site_links,
        # A study that lowered the check of kept submissions to a warning publishes an empty wave.
        allow_empty=cfg.quality.severity.get("survey.respondents_present") == "warn",
        status_labels=value_labels(export, survey.respondent.status_column) if survey.respondent.status_column else None,
    )


def intake(inp: StepInput) -> StepOutput:
    """Read sites, roster and export; clean and pseudonymise; account for every input row."""
    cfg, wave, key = inp.config, _wave(inp), _key(inp)
    wave_cfg = cfg.survey.waves[wave]
    sites_raw, sites_read = _input_table(inp, SITES_FILE.name, cfg.sites.sheet)
    roster_raw, roster_read = _input_table(inp, ROSTER_FILE.resolve(wave=wave), wave_cfg.roster.sheet)
    export_raw, export = _export(inp, wave)

    sites = site_frame(sites_read.frame, cfg.sites, wave_cfg, sites_raw.original_name)
    site_rejects = rejected_site_rows(sites_read.frame, cfg.sites)
    roster = roster_frame(
        roster_read.frame, wave_cfg.roster, cfg.roles, cfg.survey.respondent.role_codes,
        sites["site_id"], wave, key, roster_raw.original_name,
    )
    lookup = cfg.survey.respondent.site_lookup
    lookup_read = _input_table(inp, SITE_LOOKUP.name, lookup.sheet) if lookup else None
    links = respondent_site_links(
        cfg.survey.respondent, roster, lookup_read[1].frame if lookup_read else None,
        lookup_read[0].original_name if lookup_read else SITE_LOOKUP.name,
    )
    cleaned = _clean(cfg, wave, export, export_raw.original_name, sites, links)
    removed = removed_table(cleaned.removed, wave, key)
    intake_rows = [
        ("sites", sites_raw.original_name, sites_read.frame.height, sites.height, site_rejects.height),
        ("roster", roster_raw.original_name, roster_read.frame.height, roster.frame.height,
         roster.rejected.height),
        ("export", export_raw.original_name, cleaned.rows_in, cleaned.kept.height, removed.height),
    ]
    quarantine = {"sites": site_rejects, "roster": roster.rejected}
    # The runner files quarantined rows under the name of the dataset of the same table.
    where = {"sites": inp.name(SITES), "roster": inp.name(ROSTER)}
    if lookup and lookup_read:
        lookup_rejects = rejected_lookup_rows(lookup_read[1].frame, lookup.key_column, lookup.site_column)
        rows_in = lookup_read[1].frame.height
        intake_rows.append(("site_lookup", lookup_read[0].original_name, rows_in, rows_in - lookup_rejects.height,
                            lookup_rejects.height))
        quarantine["site_lookup"] = lookup_rejects
        where["site_lookup"] = f"survey.{wave}.site_lookup"
    notes = [
        *(f"export: {n}" for n in export.notes),
        *value_label_notes(export, wave_variables(cfg.survey, wave), wave, export_raw.original_name),
        *roster.notes,
        *cleaned.notes,
        *(quarantine_note(inp.run.run_id, where[t], t, r.height) for t, r in quarantine.items() if r.height),
        *_reader_notes(sites_raw, sites_read),
        *_reader_notes(roster_raw, roster_read),
    ]
    variables = wave_variables(cfg.survey, wave)
    return StepOutput(
        tables={
            SITES: sites,
            ROSTER: roster.frame,
            REMOVED: removed,
            CLEANING: cleaned.steps.with_columns(pl.lit(wave).alias("wave")),
            INTAKE: intake_table(wave, intake_rows),
            RESPONSES: responses_table(cleaned.kept, variables, key),
        },
        quarantine=quarantine,
        notes=tuple(notes),
    )


def weights(inp: StepInput) -> StepOutput:
    """Rake the respondents to the roster's margins; publish them with their weights."""
    wave = _wave(inp)
    sites = inp.table(SITES)
    responses = inp.table(RESPONSES).select(ATTRIBUTES)
    # Weights are aligned with the responses row by row: the joins keep their order.
    with_attrs = responses.join(sites, on="site_id", how="left", maintain_order="left")
    roster_attrs = inp.table(ROSTER).join(sites, on="site_id", how="left", maintain_order="left")
    raked = rake_to_roster(with_attrs, roster_attrs, inp.config.survey.weighting)
    return StepOutput(
        tables={
            RESPONDENTS: respondents_table(responses, raked.weights, wave),
            WEIGHTS: raked.margins.with_columns(pl.lit(wave).alias("wave")),
            WEIGHT_SUMMARY: weight_summary(raked.weights.to_numpy(), wave),
        },
        notes=raked.notes,
    )


def answers(inp: StepInput) -> StepOutput:
    """The answers in long form, one row per respondent and item, in instrument order."""
    wave = _wave(inp)
    variables = wave_variables(inp.config.survey, wave)
    items = recoded_items(inp.table(RESPONSES), variables)
    return StepOutput(tables={ANSWERS: answers_long(items, variables, wave, "respondent_id")})


def coverage(inp: StepInput) -> StepOutput:
    """Sites covered and members responding, and the respondents' roles against the roster's."""
    wave, cfg = _wave(inp), inp.config
    roster, respondents = inp.table(ROSTER), inp.table(RESPONDENTS)
    breakdowns = breakdown_list(cfg.survey.breakdowns)
    return StepOutput(
        tables={
            COVERAGE: coverage_table(inp.table(SITES), roster, respondents, breakdowns, wave),
            PROFILE: profile_table(roster, respondents, cfg.roles, wave),
        }
    )


def estimates(inp: StepInput) -> StepOutput:
    """Proportions and means, unweighted and design-based, overall and per breakdown group."""
    wave, survey = _wave(inp), inp.config.survey
    respondents = inp.table(RESPONDENTS)
    variables = wave_variables(survey, wave)
    breakdowns = breakdown_list(survey.breakdowns)
    mapping = group_mapping(respondents, inp.table(SITES), breakdowns)
    answers = inp.table(ANSWERS)
    options = survey.inference
    population_sites = inp.table(SITES).height if options.fpc else None
    args = (
        respondents, mapping, variables, breakdowns, wave, CONFIDENCE, options.t_intervals,
        population_sites,
    )
    return StepOutput(
        tables={ESTIMATES: estimate_table(answers, *args), MEANS: mean_table(answers, *args)}
    )


def associations(inp: StepInput) -> StepOutput:
    """Tests of independence of each variable (code, key codes) and each breakdown, with q-values."""
    wave, survey = _wave(inp), inp.config.survey
    respondents = inp.table(RESPONDENTS)
    mapping = group_mapping(respondents, inp.table(SITES), breakdown_list(survey.breakdowns))
    sums = site_sums(inp.table(ANSWERS), respondents, mapping, wave_variables(survey, wave))
    population_sites = inp.table(SITES).height if survey.inference.fpc else None
    table = association_table(inp.table(ESTIMATES), wave, sums, population_sites)
    return StepOutput(tables={ASSOCIATIONS: table})



def change(inp: StepInput) -> StepOutput:
    """Change of every estimate since the previous wave, with the panel overlap where it exists."""
    wave, previous = _wave(inp), inp.previous_wave
    earlier = inp.maybe(ESTIMATES, previous) if previous else None
    if previous is None or earlier is None:
        return StepOutput(notes=(missing_change_note(previous or "previous"),))
    before_answers, before_respondents = inp.maybe(ANSWERS, previous), inp.maybe(RESPONDENTS, previous)
    panel = (
        panel_counts(
            before_answers, before_respondents, inp.table(ANSWERS), inp.table(RESPONDENTS),
            wave_variables(inp.config.survey, wave),
        )
        if before_answers is not None and before_respondents is not None
        else None
    )
    table = change_table(
        earlier, inp.table(ESTIMATES), wave=wave, previous_wave=previous,
        breakdowns=CHANGE_BREAKDOWNS, confidence=CONFIDENCE, panel=panel,
    )
    return StepOutput(tables={CHANGE: table})



def _human_coded(inp: StepInput, key: bytes) -> tuple[dict[str, pl.DataFrame], list[str]]:
    """Each dictionary's human-coded sample, its response ids pseudonymised, and reader notes."""
    human: dict[str, pl.DataFrame] = {}
    notes: list[str] = []
    for fkey in inp.config.survey.freetext:
        if human_coded_name(fkey) not in inp.files:
            continue
        raw, read = _input_table(inp, human_coded_name(fkey), None)
        notes += _reader_notes(raw, read)
        require_columns(read.frame, HUMAN_COLUMNS, raw.original_name)
        human[fkey] = pseudonymise_human(read.frame, key, RESPONDENT_PREFIX)
    return human, notes


def freetext(inp: StepInput) -> StepOutput:
    """Code open answers with the dictionaries; frequencies, remainder, agreement with coders."""
    cfg, wave, key = inp.config, _wave(inp), _key(inp)
    survey = cfg.survey
    human, reader_notes = _human_coded(inp, key)
    variables = wave_variables(survey, wave)
    dictionaries = {k: d for k, d in survey.freetext.items() if d.variable in variables}
    if not dictionaries:
        return StepOutput(notes=tuple(reader_notes))
    respondents = inp.table(RESPONDENTS)
    breakdowns = breakdown_list(survey.breakdowns)
    mapping = group_mapping(respondents, inp.table(SITES), breakdowns)
    membership = (
        respondents.select("respondent_id", "site_id", "role")
        .join(mapping, on=["site_id", "role"])
        .select("respondent_id", "breakdown", "group")
    )
    coded = wave_freetext(
        recoded_items(inp.table(RESPONSES), variables),
        "respondent_id",
        membership,
        dictionaries,
        human,
        breakdowns,
        wave,
        redaction_pattern(cfg.qualitative.redact_terms),
        CONFIDENCE,
    )
    return StepOutput(
        tables={
            FREETEXT: coded.frequencies,
            FREETEXT_CODED: coded.coded,
            FREETEXT_UNCODED: coded.uncoded,
            FREETEXT_AGREEMENT: coded.agreement,
        },
        notes=(*coded.notes, *reader_notes),
    )


def summary(inp: StepInput) -> StepOutput:
    """The wave's key figures, markdown summary and key-estimate table."""
    wave = _wave(inp)
    cleaning, removed = inp.table(CLEANING), inp.table(REMOVED)
    respondents, coverage, estimates = inp.table(RESPONDENTS), inp.table(COVERAGE), inp.table(ESTIMATES)
    change = inp.maybe(CHANGE)
    # Rows read = rows into the first cleaning step.
    rows_in = int(cleaning["rows_in"][0])
    deff = kish_design_effect(respondents["weight"].to_numpy())
    key_figures = wave_summary(wave, rows_in, respondents, removed, coverage, estimates, change, deff)
    return StepOutput(
        summary=key_figures,
        markdown=wave_markdown(
            inp.config, wave, key_figures, cleaning, removed, coverage, estimates, change
        ),
        table=key_estimate_rows(estimates),
    )


def figures(inp: StepInput) -> StepOutput:
    """Draw each figure from the tables it shows, as PNG and SVG."""
    wave = _wave(inp)
    drawn = wave_figures(
        inp.config, wave, inp.table(ESTIMATES), inp.table(COVERAGE), inp.maybe(FREETEXT),
        inp.maybe(CHANGE),
    )
    files = [FigureFile(f.name, f.title, {"png": f.png, "svg": f.svg}) for f in drawn]
    listed = [(FIGURES.resolve(wave=wave, figure=f.name), f.title) for f in drawn]
    return StepOutput(figures={FIGURES: files}, markdown=figures_markdown(inp.run.run_id, listed))


def analysis_files(inp: StepInput) -> StepOutput:
    """The wave's analysis-ready file (respondents × variables, weights): .sav, .dta and a table."""
    wave = _wave(inp)
    made = analysis_file(
        inp.table(RESPONSES), inp.table(RESPONDENTS), wave_variables(inp.config.survey, wave), wave
    )
    return StepOutput(
        tables={ANALYSIS: made.frame, ANALYSIS_LABELS: made.labels_table()},
        files={ANALYSIS_SAV: made.sav, ANALYSIS_DTA: made.dta},
    )
