"""The coded-segment model: a REFI-QDA project (or a coded-segment CSV) as validated tables.

Tables (see schemas/qualitative.py): codebook (theme → category → code, REFI GUIDs kept),
sources (with their text, kept internal until redacted), segments (one row per coding of a
span: a REFI selection carrying two codes gives two rows with one segment_id) and cases.
Rules checked, each error naming the file, the place and the rule: every code exists in the
study codebook, offsets lie inside the source text, the quoted text equals the source slice,
every source belongs to one case (case studies) or names its site (scoping).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from schemas.study_config import SourceVariables
from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import (
    CASE_SOURCES_SCHEMA,
    CASE_VARIABLES_SCHEMA,
    CASES_SCHEMA,
    SELECTIONS_SCHEMA,
    SOURCE_VARIABLES_SCHEMA,
    SOURCES_SCHEMA,
    USERS_SCHEMA,
    QdaProject,
    stable_guid,
)
from tasks.privacy import pseudonymise

UNATTRIBUTED = "unattributed"
UNKNOWN_TYPE = "unknown"
SITE_SEPARATOR = ";"

CODEBOOK_COLUMNS = (
    "code_id", "name", "path", "parent_id", "theme", "category", "depth", "is_codable", "color",
    "description",
)
SOURCE_COLUMNS = (
    "source_id", "name", "case", "site_id", "source_type", "role", "participant_pseudonym", "length",
)
SEGMENT_COLUMNS = ("segment_id", "source_id", "start", "end", "text", "code_id", "coder")
CASE_COLUMNS = ("case", "case_guid", "site_ids")
# Sources left out because their site could not be linked, with the rule that failed.
QUARANTINE_COLUMNS = ("source_id", "name", "case", "n_codings", "quarantine_reason")
_MAX_ERRORS = 50


@dataclass(frozen=True)
class SiteRule:
    """How a project's sources and cases find their site (study.yaml `site_from` of a section)."""

    # variable | case_name | case_pattern | mapping
    kind: str = "variable"
    pattern: str | None = None
    # Case name -> site id (kind "mapping").
    mapping: Mapping[str, str] = field(default_factory=dict)
    # The study.yaml section the rule comes from, named in reasons and errors.
    key: str = "qualitative"

    def describe(self) -> str:
        """The rule in the study's words."""
        if self.kind == "case_name":
            return f"{self.key}.site_from: case_name (the case name is the site id)"
        if self.kind == "case_pattern":
            return f"{self.key}.site_pattern '{self.pattern}' on the case name"
        if self.kind == "mapping":
            return f"{self.key}.site_mapping (case name -> site id)"
        return f"{self.key}.source_variables.site or a single-site case"


def _empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema={c: (pl.Int64 if c == "n_codings" else pl.String) for c in QUARANTINE_COLUMNS})


def case_site_ids(cases: pl.DataFrame, rule: SiteRule) -> pl.DataFrame:
    """Cases with `site_ids` set by the rule ("" when the rule finds none); the variable rule keeps them."""
    name = pl.col("case").str.strip_chars()
    if rule.kind == "case_name":
        site = name
    elif rule.kind == "case_pattern":
        compiled = re.compile(str(rule.pattern))
        group = "site" if "site" in compiled.groupindex else 1
        found = {
            case: (m.group(group) or "").strip() if (m := compiled.search(case)) else ""
            for case in cases.get_column("case").drop_nulls().unique().to_list()
        }
        site = pl.col("case").replace_strict(found, default="", return_dtype=pl.String)
    elif rule.kind == "mapping":
        site = name.replace_strict(dict(rule.mapping), default="", return_dtype=pl.String)
    else:
        return cases
    return cases.with_columns(site.fill_null("").alias("site_ids"))


def _unlinked_reason(rule: SiteRule, variables: SourceVariables, site_variable: str) -> pl.Expr:
    """Why a source found no site, naming the rule that failed."""
    # concat_str, not pl.format: a pattern's own braces ("\\d{2}") are not placeholders.
    def around(before: str, after: str) -> pl.Expr:
        return pl.concat_str(pl.lit(before), pl.col("case"), pl.lit(after))

    no_case = pl.col("case").is_null()
    if rule.kind == "variable":
        return pl.when(pl.col("site_ids").str.contains(SITE_SEPARATOR, literal=True)).then(
            around("no site: case '", f"' covers several sites and the source variable {variables.site!r} is not set")
        ).otherwise(pl.lit(f"no site: set the source variable {variables.site!r} or the case variable "
                           f"{site_variable!r} of a single-site case ({rule.describe()})"))
    if rule.kind == "case_pattern":
        failed = around("no site: case name '", f"' does not match {rule.key}.site_pattern '{rule.pattern}'")
    elif rule.kind == "mapping":
        failed = around("no site: case '", f"' is not in {rule.key}.site_mapping")
    else:
        failed = around("no site: case '", f"' has a blank name ({rule.key}.site_from: case_name)")
    return pl.when(no_case).then(
        pl.lit(f"no site: the source belongs to no case, and {rule.describe()} reads the site from its case")
    ).otherwise(failed)


@dataclass(frozen=True, eq=False)
class CodedModel:
    """Validated qualitative tables; `sources` also carries each source's `text`."""

    codebook: pl.DataFrame
    sources: pl.DataFrame
    segments: pl.DataFrame
    cases: pl.DataFrame
    notes: tuple[str, ...] = field(default=())
    # Raw participant codes -> their pseudonyms (set when build_model pseudonymised): redaction
    # replaces a code quoted in a source's text or name by its pseudonym.
    identifiers: Mapping[str, str] = field(default_factory=dict)
    # Sources left out, with the rule that failed (QUARANTINE_COLUMNS); never published.
    quarantined: pl.DataFrame = field(default_factory=lambda: _empty_quarantine())

    def published_sources(self) -> pl.DataFrame:
        """The sources table without the source text."""
        return self.sources.select(SOURCE_COLUMNS)


def codebook_table(codes: pl.DataFrame) -> pl.DataFrame:
    """REFI codes (guid, name, parent_guid, path, depth, ...) as the codebook table."""
    parts = pl.col("path").str.split("/")
    return codes.select(
        pl.col("guid").alias("code_id"),
        "name",
        "path",
        pl.col("parent_guid").alias("parent_id"),
        parts.list.get(0).alias("theme"),
        pl.when(pl.col("depth") >= 2).then(parts.list.get(1, null_on_oob=True)).alias("category"),
        pl.col("depth").cast(pl.Int64),
        pl.col("is_codable").fill_null(True),
        "color",
        "description",
    ).sort("path")


def codebook_codes(codebook: pl.DataFrame) -> pl.DataFrame:
    """The codebook table back as a REFI codes frame (for writing a project)."""
    return codebook.select(
        pl.col("code_id").alias("guid"),
        "name",
        pl.col("parent_id").alias("parent_guid"),
        "is_codable",
        "color",
        "description",
        "path",
        "depth",
    )


def _raise(errors: list[InputError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors[:_MAX_ERRORS])


def _errors(frame: pl.DataFrame, file: str, place: pl.Expr, rule: str, detail: pl.Expr) -> list[InputError]:
    rows = frame.head(_MAX_ERRORS).select(place.alias("p"), detail.alias("d"))
    return [InputError(file, p, rule, d) for p, d in rows.iter_rows()]


def _source_variables(project: QdaProject, variables: SourceVariables) -> pl.DataFrame:
    names = {
        variables.site: "v_site",
        variables.source_type: "v_type",
        variables.role: "v_role",
        variables.participant: "v_participant",
    }
    long = (
        project.source_variables.filter(pl.col("name").is_in(list(names)))
        .with_columns(pl.col("name").replace_strict(names, return_dtype=pl.String))
        .with_columns(pl.col("value").str.strip_chars())
        .filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
        .unique(["source_guid", "name"], keep="first", maintain_order=True)
    )
    wide = project.sources.select(pl.col("guid").alias("source_guid"))
    for column in names.values():
        wide = wide.join(
            long.filter(pl.col("name") == column).select("source_guid", pl.col("value").alias(column)),
            on="source_guid",
            how="left",
        )
    return wide


def _cases(project: QdaProject, site_variable: str) -> pl.DataFrame:
    sites = (
        project.case_variables.filter(pl.col("name") == site_variable)
        .unique("case_guid", keep="first", maintain_order=True)
        .select("case_guid", pl.col("value").alias("site_ids"))
    )
    cleaned = (
        pl.col("site_ids").str.split(SITE_SEPARATOR).list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != "")).list.join(SITE_SEPARATOR)
    )
    return (
        project.cases.select(pl.col("guid").alias("case_guid"), pl.col("name").alias("case"))
        .join(sites, on="case_guid", how="left")
        .with_columns(cleaned.fill_null(""))
        .select(CASE_COLUMNS)
    )


def _normalise_roles(role: pl.Expr, role_map: Mapping[str, str] | None) -> pl.Expr:
    if not role_map:
        return role
    lowered = {k.strip().lower(): v for k, v in role_map.items()}
    return role.str.to_lowercase().replace_strict(lowered, default=role, return_dtype=pl.String)


def build_model(
    project: QdaProject,
    codebook: pl.DataFrame,
    file: str,
    variables: SourceVariables,
    *,
    site_variable: str = "site_ids",
    key: bytes | None = None,
    require_case: bool = True,
    require_site: bool = False,
    role_map: Mapping[str, str] | None = None,
    site_rule: SiteRule | None = None,
) -> CodedModel:
    """Validate a project against the study codebook and return the model tables.

    `key` pseudonymises participant ids (HMAC); None takes them as already pseudonymous.
    `role_map` maps role labels or keys (any case) to canonical role keys. `site_rule` says where
    a case's site comes from (default: the REFI variables). A source whose site the rule cannot
    find is quarantined with the rule that failed (with its codings) where sites are required,
    and wherever the rule reads the site from the case (case name, pattern, mapping).
    """
    notes = list(project.notes)
    errors: list[InputError] = []
    rule = site_rule or SiteRule()
    cases = case_site_ids(_cases(project, site_variable), rule)
    links = project.case_sources.join(cases, left_on="case_guid", right_on="case_guid", how="inner")
    multi = links.group_by("source_guid").agg(pl.col("case").sort()).filter(pl.col("case").list.len() > 1)
    names = project.sources.select(pl.col("guid").alias("source_guid"), pl.col("name").alias("source_name"))
    errors += _errors(
        multi.join(names, on="source_guid", how="left"), file,
        pl.format("source {} ({})", "source_name", "source_guid"),
        "a source must belong to exactly one case",
        pl.format("cases {}", pl.col("case").list.join(", ")),
    )
    one_case = links.unique("source_guid", keep="first", maintain_order=True).select(
        "source_guid", "case", "site_ids"
    )
    meta = _source_variables(project, variables)
    sources = (
        project.sources.rename({"guid": "source_guid"})
        .join(meta, on="source_guid", how="left")
        .join(one_case, on="source_guid", how="left")
        .with_columns(
            pl.coalesce(
                "v_site",
                pl.when(~pl.col("site_ids").str.contains(SITE_SEPARATOR, literal=True) & (pl.col("site_ids") != ""))
                .then(pl.col("site_ids")),
            ).alias("site_id"),
            pl.col("v_type").str.to_lowercase().fill_null(UNKNOWN_TYPE).alias("source_type"),
            _normalise_roles(pl.col("v_role"), role_map).alias("role"),
            pl.col("text").str.len_chars().cast(pl.Int64).alias("length"),
        )
    )
    if require_case:
        errors += _errors(
            sources.filter(pl.col("case").is_null()), file, pl.format("source {} ({})", "name", "source_guid"),
            "every source must belong to a case", pl.lit("link it to a case in the project"),
        )
    quarantined = _empty_quarantine()
    if require_site or rule.kind != "variable":
        unlinked = sources.filter(pl.col("site_id").is_null())
        if unlinked.height:
            counts = project.selections.group_by("source_guid").len("n_codings")
            quarantined = unlinked.join(counts, on="source_guid", how="left").select(
                pl.col("source_guid").alias("source_id"), "name", "case",
                pl.col("n_codings").fill_null(0).cast(pl.Int64),
                _unlinked_reason(rule, variables, site_variable).alias("quarantine_reason"),
            )
            sources = sources.filter(pl.col("site_id").is_not_null())
            project = replace(project, selections=project.selections.join(
                quarantined.select(pl.col("source_id").alias("source_guid")), on="source_guid", how="anti"))
            notes.append(f"{file}: {unlinked.height} source(s) with no site quarantined ({rule.describe()})")
    identifiers: dict[str, str] = {}
    if key is not None:
        participant = pseudonymise(sources.get_column("v_participant"), key, "P")
        identifiers = {
            raw: pseudo for raw, pseudo in zip(sources.get_column("v_participant").to_list(), participant.to_list(), strict=True)
            if raw is not None and raw.strip()
        }
    else:
        participant = sources.get_column("v_participant")
    sources = sources.with_columns(participant.alias("participant_pseudonym")).select(
        pl.col("source_guid").alias("source_id"), *SOURCE_COLUMNS[1:], "text"
    )

    codes = project.codes.select(pl.col("guid").alias("code_guid"), pl.col("path").alias("project_path"))
    by_path = codebook.select(pl.col("path").alias("project_path"), pl.col("code_id").alias("by_path"))
    known = codebook.select(pl.col("code_id").alias("code_guid"), pl.lit(True).alias("known"))
    users = project.users.select(pl.col("guid").alias("user_guid"), pl.col("name").alias("coder"))
    selections = (
        project.selections.join(codes, on="code_guid", how="left")
        .join(by_path, on="project_path", how="left")
        .join(known, on="code_guid", how="left")
        .join(users, on="user_guid", how="left")
        .join(
            sources.select(pl.col("source_id").alias("source_guid"), pl.col("name").alias("source_name"),
                           pl.col("text").alias("source_text"), "length"),
            on="source_guid", how="left",
        )
        .with_columns(
            pl.when(pl.col("known")).then(pl.col("code_guid")).otherwise(pl.col("by_path")).alias("code_id"),
            pl.col("coder").fill_null(UNATTRIBUTED),
        )
    )
    place = pl.format("selection {} in source {}", "guid", "source_name")
    errors += _errors(
        selections.filter(pl.col("code_id").is_null()), file, place,
        "every code must exist in the codebook",
        pl.format("code {} ({})", "code_guid", pl.col("project_path").fill_null("not in the project's codebook")),
    )
    inside = (pl.col("start") >= 0) & (pl.col("start") <= pl.col("end")) & (pl.col("end") <= pl.col("length"))
    errors += _errors(
        selections.filter(~inside.fill_null(False)), file, place,
        "a segment's offsets must lie inside its source text",
        pl.format("start {}, end {}, text length {}", "start", "end", "length"),
    )
    sliced = pl.col("source_text").str.slice(pl.col("start"), pl.col("end") - pl.col("start"))
    errors += _errors(
        selections.filter(inside.fill_null(False) & pl.col("text").is_not_null() & (pl.col("text") != sliced)),
        file, place, "a segment's quoted text must equal the source text at its offsets",
        pl.format("start {}, end {}", "start", "end"),
    )
    _raise(errors)
    unattributed = selections.filter(pl.col("user_guid").is_null()).height
    if unattributed:
        notes.append(f"{file}: {unattributed} coding(s) name no coder; attributed to {UNATTRIBUTED!r}")
    segments = selections.select(
        pl.col("guid").alias("segment_id"),
        pl.col("source_guid").alias("source_id"),
        "start",
        "end",
        sliced.alias("text"),
        "code_id",
        "coder",
    )
    used = sources.join(cases.select("case"), on="case", how="semi").select("case").unique()
    if require_case:
        # A case no source belongs to has nothing to count; it is left out, and said so.
        # (Cases whose sources were quarantined are said so in the quarantine note.)
        empty = (cases.join(used, on="case", how="anti").join(quarantined.select("case"), on="case", how="anti")
                 .get_column("case").sort().to_list())
        if empty:
            notes.append(f"{file}: case(s) with no coded source left out: {', '.join(empty)}")
    return CodedModel(
        codebook=codebook,
        sources=sources,
        segments=segments,
        cases=cases.join(used, on="case", how="semi") if require_case else cases,
        notes=tuple(notes),
        identifiers=identifiers,
        quarantined=quarantined,
    )


def combine(models: list[CodedModel], codebook: pl.DataFrame) -> CodedModel:
    """Merge the models of several projects; a source in several projects must keep its text."""
    if not models:
        empty = pl.DataFrame(schema={c: pl.String for c in (*SOURCE_COLUMNS, "text")}).with_columns(
            pl.col("length").cast(pl.Int64)
        )
        seg = pl.DataFrame(schema={c: pl.String for c in SEGMENT_COLUMNS}).with_columns(
            pl.col("start", "end").cast(pl.Int64)
        )
        return CodedModel(codebook, empty, seg, pl.DataFrame(schema={c: pl.String for c in CASE_COLUMNS}))
    sources = pl.concat([m.sources for m in models], how="vertical_relaxed")
    clash = sources.group_by("source_id").agg(pl.col("text").n_unique().alias("n"), pl.col("name").first()).filter(
        pl.col("n") > 1
    )
    _raise(
        _errors(clash, "case-study projects", pl.format("source {} ({})", "name", "source_id"),
                "a source in several projects must have the same text", pl.lit("texts differ"))
    )
    sources = sources.unique("source_id", keep="first", maintain_order=True)
    segments = pl.concat([m.segments for m in models], how="vertical_relaxed").unique(
        ["segment_id", "code_id", "coder"], keep="first", maintain_order=True
    )
    cases = pl.concat([m.cases for m in models], how="vertical_relaxed").unique(
        "case", keep="first", maintain_order=True
    )
    notes = tuple(n for m in models for n in m.notes)
    identifiers = {raw: pseudo for m in models for raw, pseudo in m.identifiers.items()}
    quarantined = pl.concat([m.quarantined for m in models], how="vertical_relaxed")
    return CodedModel(codebook, sources, segments, cases, notes, identifiers, quarantined)


def _guids(frame: pl.DataFrame, column: str, kind: str, *prefix: str) -> pl.Expr:
    """Stable GUIDs (uuid5) of a string column, computed once per distinct value."""
    # The GUIDs are computed here, outside any polars expression: a Python function inside an
    # expression runs on polars' thread pool and needs the GIL, which deadlocks when a step on
    # another thread holds the GIL while waiting for that pool (DataFrame.to_pandas does).
    distinct = frame.get_column(column).drop_nulls().unique().to_list()
    mapping = {v: stable_guid(kind, *prefix, v) for v in distinct}
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String)


def _hex12(values: pl.Series) -> pl.Series:
    """Integers as 12 lower-case hexadecimal digits."""
    return pl.Series(values.name, np.char.mod("%012x", values.cast(pl.Int64).to_numpy()), dtype=pl.String)


def project_from_segments(
    frame: pl.DataFrame, codebook: pl.DataFrame, file: str, variables: SourceVariables, site_variable: str
) -> QdaProject:
    """A coded-segment CSV (source, case, speaker_role, start, end, code, coder, text) as a project.

    The CSV carries no transcripts, so each source's text is rebuilt from its segments (gaps
    become spaces); overlapping segments that quote different text then fail the slice check.
    Codes match the codebook by path, else by a unique name. Columns named as the source
    variables (site, source type, participant) are carried over when present; without a site
    column a case's site is the case itself, and a source with a speaker role is an interview.
    """
    data = frame.with_columns(
        (pl.int_range(pl.len()) + 2).alias("_line"),
        pl.col("start", "end").cast(pl.Int64, strict=False),
        pl.col("text").fill_null(""),
        pl.col("coder").fill_null(UNATTRIBUTED),
    )
    unique_names = codebook.filter(pl.col("name").is_unique().over("name"))
    by_name = unique_names.select(pl.col("name").alias("code"), pl.col("code_id").alias("by_name"))
    by_path = codebook.select(pl.col("path").alias("code"), pl.col("code_id").alias("by_path"))
    data = (
        data.join(by_path, on="code", how="left")
        .join(by_name, on="code", how="left")
        .with_columns(pl.coalesce("by_path", "by_name").alias("code_guid"))
    )
    errors = _errors(
        data.filter(pl.col("code_guid").is_null()), file, pl.format("row {}", "_line"),
        "every code must exist in the codebook", pl.format("code {}", "code"),
    )
    bad = data.filter(
        pl.col("start").is_null() | pl.col("end").is_null() | (pl.col("start") < 0) | (pl.col("end") < pl.col("start"))
    )
    errors += _errors(bad, file, pl.format("row {}", "_line"), "offsets must satisfy 0 <= start <= end",
                      pl.format("start {}, end {}", "start", "end"))
    length = pl.col("text").str.len_chars()
    errors += _errors(
        data.filter((pl.col("end") - pl.col("start")) != length), file, pl.format("row {}", "_line"),
        "a segment's quoted text must be end - start characters long",
        pl.format("start {}, end {}, text has {} characters", "start", "end", length),
    )
    _raise(errors)

    data = data.with_columns(
        _guids(data, "source", "source", file).alias("source_guid"),
        _guids(data, "coder", "user").alias("user_guid"),
        _guids(data, "case", "case").alias("case_guid"),
    )
    # A segment's GUID: its source's GUID with the last group replaced by the segment's ordinal
    # among the source's distinct (start, end, coder) spans, so ids are stable for one input.
    ordinal = data.select(pl.struct("start", "end", "coder").rank("dense").over("source_guid")).to_series()
    data = data.with_columns((pl.col("source_guid").str.slice(0, 24) + _hex12(ordinal)).alias("guid"))
    pieces = (
        data.sort("source_guid", "start", "end")
        .with_columns(reached=pl.col("end").cum_max().shift(1).over("source_guid").fill_null(0))
        .with_columns(from_=pl.max_horizontal("start", "reached"))
        .with_columns(
            piece=pl.col("text").str.slice(pl.col("from_") - pl.col("start"), (pl.col("end") - pl.col("from_")).clip(0)),
            gap=(pl.col("from_") - pl.col("reached")).clip(0),
        )
        .with_columns(piece=pl.col("piece").str.pad_start(pl.col("piece").str.len_chars() + pl.col("gap"), " "))
    )
    sources = pieces.group_by("source_guid", maintain_order=True).agg(
        pl.col("source").first().alias("name"), pl.col("piece").str.join("").alias("text")
    )
    extra = (variables.site, variables.source_type, variables.participant)
    spoken = pl.when(pl.col("speaker_role").is_not_null()).then(pl.lit("interview"))
    var_frames = [
        data.select("source_guid", pl.lit(name).alias("name"), pl.col(name).cast(pl.String).alias("value"))
        for name in extra if name in data.columns
    ]
    var_frames += [
        data.select("source_guid", pl.lit(variables.role).alias("name"), pl.col("speaker_role").alias("value")),
        data.select("source_guid", pl.lit(variables.source_type).alias("name"), spoken.alias("value")),
    ]
    source_variables = (
        pl.concat(var_frames).drop_nulls("value").unique(["source_guid", "name"], keep="first", maintain_order=True)
    )
    cases = data.drop_nulls("case").unique("case", keep="first", maintain_order=True).select(
        pl.col("case_guid").alias("guid"), pl.col("case").alias("name")
    )
    site = pl.col(variables.site) if variables.site in data.columns else pl.col("case")
    case_sites = (
        data.drop_nulls("case").group_by("case_guid", maintain_order=True)
        .agg(site.cast(pl.String).drop_nulls().unique(maintain_order=True).str.join(SITE_SEPARATOR).alias("value"))
        .select("case_guid", pl.lit(site_variable).alias("name"), "value")
    )
    return QdaProject(
        name=file,
        codes=codebook_codes(codebook),
        sources=sources.select(pl.col("source_guid").alias("guid"), "name", "text",
                               pl.lit(None, pl.String).alias("plain_text_path")).cast(pl.Schema(SOURCES_SCHEMA)),
        source_variables=source_variables.cast(pl.Schema(SOURCE_VARIABLES_SCHEMA)),
        users=data.unique("coder", maintain_order=True).select(pl.col("user_guid").alias("guid"),
                                                                pl.col("coder").alias("name")).cast(pl.Schema(USERS_SCHEMA)),
        selections=data.select(
            "guid", "source_guid", "start", "end", pl.col("code_guid"), "user_guid", "text"
        ).cast(pl.Schema(SELECTIONS_SCHEMA)),
        cases=cases.cast(pl.Schema(CASES_SCHEMA)),
        case_variables=case_sites.cast(pl.Schema(CASE_VARIABLES_SCHEMA)),
        case_sources=data.drop_nulls("case").unique(["case_guid", "source_guid"], maintain_order=True)
        .select("case_guid", "source_guid").cast(pl.Schema(CASE_SOURCES_SCHEMA)),
    )


def primary_segments(segments: pl.DataFrame, lead_coder: str | None = None) -> tuple[pl.DataFrame, str | None]:
    """Segments of each source's primary coder, and the lead coder.

    The lead coder is `lead_coder` if given, else the coder with the most segments (ties: first
    by name). A source the lead coder did not code keeps its own most prolific coder (ties: by
    name), so single-coded sources by a second coder still count once and only once.
    """
    if segments.is_empty():
        return segments, lead_coder
    if lead_coder is None:
        counts = segments.group_by("coder").len().sort(["len", "coder"], descending=[True, False])
        lead_coder = str(counts.item(0, "coder"))
    per_source = (
        segments.group_by("source_id", "coder").len()
        .with_columns(is_lead=pl.col("coder") == lead_coder)
        .sort(["source_id", "is_lead", "len", "coder"], descending=[False, True, True, False])
        .unique("source_id", keep="first", maintain_order=True)
        .select("source_id", "coder")
    )
    return segments.join(per_source, on=["source_id", "coder"], how="semi"), lead_coder
