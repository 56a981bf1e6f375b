"""The qualitative strand's raw inputs as tables: the codebook, the sites table, coded projects.

Pure: every function takes raw files already read (tasks.step.RawFile) and returns frames or a
CodedModel, so the steps can parse inside their functions; nothing here touches the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from schemas.study_config import QdaInputs, StudyConfig
from tasks.ingest.coded_segments_csv import read_coded_segments
from tasks.ingest.errors import InputError
from tasks.ingest.native_csv import read_csv_table
from tasks.ingest.qdpx import QdaProject, cases_from_sets, read_codebook_file, read_qdpx
from tasks.ingest.tables import TableRead, require_columns
from tasks.ingest.tables import read_table as read_input_table
from tasks.qualitative.model import (
    CodedModel,
    SiteRule,
    build_model,
    codebook_table,
    combine,
    project_from_segments,
)
from tasks.redaction import redact, redact_column, redaction_pattern
from tasks.step import RawFile

# Logical names of the raw inputs (tasks/storage/runs.py:config_inputs); a name ending in "."
# is the prefix of one input per project file.
CODEBOOK_INPUT = "qual.codebook"
SITES_INPUT = "sites"
SCOPING_INPUTS = "qual.scoping."
CASE_INPUTS = "qual.cases."


def read_codebook(file: RawFile) -> pl.DataFrame:
    """The study codebook (.qdc, or the codebook of a .qdpx) as the codebook table."""
    # A .qdpx codebook is read from its project.qde alone: its sources are neither inflated nor checked.
    codes, _ = read_codebook_file(file.data, file.original_name)
    return codebook_table(codes)


def _read_table(file: RawFile, sheet: str | None) -> TableRead:
    # A CSV site list is parsed by polars, as the survey steps read it (a national study's 210k
    # sites: 4 s in the Python reader, read by four steps); the Python reader reads the rest
    # (and every malformed file, naming the line).
    native = read_csv_table(file.data, file.original_name) if sheet is None else None
    return native if native is not None else read_input_table(file.data, file.original_name, sheet=sheet)


def read_sites(file: RawFile, cfg: StudyConfig) -> pl.DataFrame:
    """The sites table as strings, checked for its id column."""
    frame = _read_table(file, cfg.sites.sheet).frame
    require_columns(frame, [cfg.sites.id_column], file.original_name)
    return frame


def site_ids(sites: pl.DataFrame, cfg: StudyConfig) -> set[str]:
    """The ids listed in the sites table (trimmed)."""
    ids = sites.get_column(cfg.sites.id_column).cast(pl.String).str.strip_chars().drop_nulls()
    return set(ids.to_list())


def site_names(sites: pl.DataFrame, cfg: StudyConfig) -> pl.DataFrame | None:
    """site_id → site_name (first row per id), or None when the study names no name column."""
    if not cfg.sites.name_column or cfg.sites.name_column not in sites.columns:
        return None
    return sites.select(
        pl.col(cfg.sites.id_column).str.strip_chars().alias("site_id"),
        pl.col(cfg.sites.name_column).alias("site_name"),
    ).unique("site_id", keep="first", maintain_order=True)


def role_map(cfg: StudyConfig) -> dict[str, str]:
    """Role keys and labels (any case) → role key."""
    out = {label.label: key for key, label in cfg.roles.items()}
    out.update({key: key for key in cfg.roles})
    return out


def read_project(file: RawFile, inputs: QdaInputs, codebook: pl.DataFrame) -> QdaProject:
    """One coded project: a REFI-QDA .qdpx, or a coded-segment CSV turned into a project."""
    name = file.original_name
    if inputs.format == "qdpx":
        return cases_from_sets(read_qdpx(file.data, name), inputs.case_sets)
    segments = read_coded_segments(file.data, name)
    project = project_from_segments(
        segments.table, codebook, name, inputs.source_variables, inputs.case_site_variable,
    )
    return replace(project, notes=(*project.notes, *segments.notes))


def _known_series(known_sites: set[str] | pl.Series) -> pl.Series:
    return known_sites if isinstance(known_sites, pl.Series) else pl.Series(sorted(known_sites), dtype=pl.String)


def check_sites_of(
    models: Sequence[CodedModel], files: Sequence[str], known_sites: set[str] | pl.Series, *, require_site: bool
) -> list[CodedModel]:
    """`check_sites` of each project (its file named) in one pass over all their sources.

    The first project in order with a source at an unknown site raises where sites are
    required; otherwise each such project gets its note. One membership test for the phase:
    a national study checks thousands of projects against ~200k sites.
    """
    known = _known_series(known_sites)
    sources = pl.concat(
        [m.sources.select("source_id", "name", "site_id").with_columns(pl.lit(i, pl.Int64).alias("_project"))
         for i, m in enumerate(models)],
        how="vertical_relaxed",
    ) if models else pl.DataFrame(schema={"source_id": pl.String, "name": pl.String, "site_id": pl.String,
                                          "_project": pl.Int64})
    unknown = sources.filter(pl.col("site_id").is_not_null() & ~pl.col("site_id").is_in(known.implode()))
    if not unknown.height:
        return list(models)
    out = list(models)
    for (i,), found in unknown.group_by("_project", maintain_order=True):
        file = files[int(i)]  # type: ignore[call-overload]
        if require_site:
            row = found.row(0, named=True)
            raise InputError(file, f"source {row['name']} ({row['source_id']})",
                             "a source's site must be listed in the sites table",
                             f"site {row['site_id']!r}; {found.height} source(s) in all")
        sites = ", ".join(sorted(set(found.get_column("site_id").to_list())))
        out[int(i)] = replace(out[int(i)], notes=(*out[int(i)].notes,  # type: ignore[call-overload]
                                                    f"{file}: sites not in the sites table: {sites}"))
    return out


def check_sites(
    model: CodedModel, file: str, known_sites: set[str] | pl.Series, *, require_site: bool
) -> CodedModel:
    """A source at a site missing from the sites table: an error if sites are required, else a note."""
    return check_sites_of([model], [file], known_sites, require_site=require_site)[0]


def site_rule(inputs: QdaInputs, section: str, mapping: RawFile | None) -> SiteRule:
    """The site rule of a qualitative section, with its case-to-site mapping table read."""
    key = f"qualitative.{section}"
    if inputs.site_from != "mapping":
        return SiteRule(inputs.site_from, inputs.site_pattern, {}, key)
    config = inputs.site_mapping
    if config is None or mapping is None:
        raise ValueError(f"study.yaml {key}.site_from: mapping needs the table {key}.site_mapping.path")
    frame = _read_table(mapping, config.sheet).frame
    require_columns(frame, [config.case_column, config.site_column], mapping.original_name)
    pairs = frame.select(
        pl.col(config.case_column).str.strip_chars().alias("case"),
        pl.col(config.site_column).str.strip_chars().alias("site"),
    ).filter(pl.col("case").is_not_null() & (pl.col("case") != "") & pl.col("site").is_not_null() & (pl.col("site") != ""))
    clash = pairs.unique().filter(pl.col("case").is_duplicated())
    if clash.height:
        raise InputError(mapping.original_name, f"column {config.case_column!r}", "each case must map to one site",
                         f"case {clash.item(0, 'case')!r} is listed with different sites")
    return SiteRule("mapping", None, dict(pairs.unique("case").iter_rows()), key)


def no_sources_left(model: CodedModel, rule: SiteRule, file: str) -> InputError:
    """The error of a phase whose every source was quarantined: the commonest reason and the rule."""
    counts = model.quarantined.group_by("quarantine_reason").len().sort(["len", "quarantine_reason"],
                                                                        descending=[True, False])
    reason, n = counts.row(0)
    return InputError(
        file, f"all {model.quarantined.height} sources", "a qualitative phase needs at least one source linked to a site",
        f"{n} quarantined: {reason}; check study.yaml {rule.key}.site_from",
    )


def load_projects(
    files: Sequence[RawFile], inputs: QdaInputs, codebook: pl.DataFrame, cfg: StudyConfig, key: bytes,
    *, require_case: bool, require_site: bool, known_sites: set[str] | None,
    rule: SiteRule | None = None,
) -> CodedModel:
    """Read and validate every project file and merge them (pseudonymised, not yet redacted).

    A source at a site missing from the sites table is an error where sites are required
    (scoping) and a note otherwise (case studies). A source the site rule links to no site is
    quarantined with the rule that failed; a phase left with no source fails with that reason.
    """
    rule = rule or SiteRule(inputs.site_from, inputs.site_pattern)
    models: list[CodedModel] = []
    # Built once: a national study has ~200k sites and thousands of project files.
    known = pl.Series(sorted(known_sites), dtype=pl.String) if known_sites is not None else None
    names = [f.original_name for f in files]
    roles = role_map(cfg)
    try:
        for file in files:
            models.append(build_model(
                read_project(file, inputs, codebook), codebook, file.original_name, inputs.source_variables,
                site_variable=inputs.case_site_variable, key=key, require_case=require_case,
                require_site=require_site, role_map=roles, site_rule=rule,
            ))
    except Exception:
        # Projects are read in order and each is checked against the sites: an unknown site in
        # an earlier project is the error to report, as when each was checked once read.
        if known is not None and require_site:
            check_sites_of(models, names, known, require_site=True)
        raise
    if known is not None:
        models = check_sites_of(models, names, known, require_site=require_site)
    merged = combine(models, codebook)
    if merged.quarantined.height:
        # Quarantined rows are never published, but are kept as carefully: names in them redacted.
        pattern = redaction_pattern(cfg.qualitative.redact_terms, merged.identifiers)
        merged = replace(merged, quarantined=merged.quarantined.with_columns(
            redact_column(merged.quarantined.get_column(c), pattern, merged.identifiers).alias(c)
            for c in ("name", "case", "quarantine_reason")
        ))
    if merged.sources.is_empty() and merged.quarantined.height:
        raise no_sources_left(merged, rule, ", ".join(f.original_name for f in files))
    return merged


def redacted_notes(notes: Sequence[str], terms: Sequence[str]) -> list[str]:
    """Notes may quote source names and labels: names in them are redacted before they are kept."""
    pattern = redaction_pattern(terms)
    return [redact(n, pattern)[0] for n in notes]


def notes_table(notes: Sequence[str]) -> pl.DataFrame:
    """Notes as a one-column table (the `Notes` contract)."""
    return pl.DataFrame({"note": list(notes)}, schema={"note": pl.String})
