"""A wave's intake: what of the export may be used, and the accounting of every input row."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from schemas.study_config import RespondentConfig, Variable
from tasks.ingest.survey_export import SurveyExport
from tasks.survey.instrument import export_columns
from tasks.survey.population import RosterFrame, lookup_links


def mapping_columns(respondent: RespondentConfig) -> set[str]:
    """Export columns read to map a respondent (id, site or its link, role, member, status, completion)."""
    r = respondent
    return {
        c
        for c in (
            r.id_column,
            r.site_column,
            r.site_lookup.export_column if r.site_lookup else None,
            r.role_column,
            r.member_column,
            r.status_column,
            r.finished_column,
            r.progress_column,
            r.submitted_column,
        )
        if c
    }


def usable_export(
    export: SurveyExport, variables: Mapping[str, Variable], wave: str, respondent: RespondentConfig
) -> pl.DataFrame:
    """The export without its identifying columns, unless the study maps respondents with them."""
    # Mapping columns (site, role, ids) are read for mapping and never published as such; an
    # item in an identifying column is refused, since its answers would be published.
    identifying = set(export.identifying_columns)
    item_columns = {c for v in variables.values() for c in export_columns(v, wave).values()}
    leaking = sorted(identifying & item_columns)
    if leaking:
        raise ValueError(
            f"survey.variables use export columns flagged as identifying: {', '.join(leaking)}; "
            "rename them in the instrument or leave them out of study.yaml"
        )
    return export.data.drop(sorted(identifying - mapping_columns(respondent)))


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


def respondent_site_links(
    respondent: RespondentConfig, roster: RosterFrame, lookup: pl.DataFrame | None, lookup_name: str
) -> pl.DataFrame | None:
    """link -> site_id for a study that finds a submission's site through the roster or a lookup
    table (survey.respondent.site_from); None when the export names the site itself."""
    if respondent.site_from == "roster":
        return roster.sites_by_member
    if respondent.site_from == "lookup":
        config = respondent.site_lookup
        if config is None or lookup is None:
            raise ValueError("survey.respondent.site_from: lookup needs the site lookup table (site_lookup.path)")
        return lookup_links(lookup, config.key_column, config.site_column, lookup_name)
    return None


def value_label_notes(export: SurveyExport, variables: Mapping[str, Variable], wave: str, name: str) -> list[str]:
    """Where an SPSS export's own answer labels disagree with study.yaml's `labels` (a code it does
    not declare, or a code labelled otherwise: a reversed scale shows here first)."""
    if export.format != "spss" or export.choices.is_empty():
        return []
    notes = []
    for key, var in variables.items():
        if var.type not in ("single_choice", "likert"):
            continue
        column = export_columns(var, wave)[None]
        rows = export.choices.filter(pl.col("field") == column)
        for code, label in rows.select("code", "label").iter_rows():
            if code in var.missing_codes:
                continue
            declared = var.labels.get(code)
            if declared is None:
                notes.append(f"{name}: {column!r} labels code {code} {label!r}, which survey.variables.{key}.labels "
                             "does not declare (declare it, or list it in missing_codes)")
            elif declared.strip().lower() != label.strip().lower():
                notes.append(f"{name}: {column!r} labels code {code} {label!r}, but survey.variables.{key}.labels "
                             f"says {declared!r}")
    return notes
