"""A source's or case's site from the case name, a pattern on it, or a mapping table; the rest quarantined."""

from __future__ import annotations

import polars as pl
import pytest
import qual_mini_study as mini

from schemas.study_config import CaseSiteMapping, QdaInputs, SourceVariables
from tasks.ingest.errors import InputError
from tasks.ingest.qdpx import QdaProject, read_qdpx, write_qdpx
from tasks.qualitative.inputs import no_sources_left, site_rule
from tasks.qualitative.model import SiteRule, build_model, codebook_table, combine
from tasks.step import RawFile

VARS = SourceVariables()
# The mini study's cases A, B, C renamed after their sites, as the school-trust study names them.
NAMES = {"A": "Trust S01", "B": "Trust S03", "C": "Case C (pilot)"}


def _codebook() -> pl.DataFrame:
    return codebook_table(mini.project("cb", []).codes)


def _project_without_site_variables() -> QdaProject:
    project = read_qdpx(write_qdpx(mini.project("cases", mini.case_sources())), "cases.qdpx")
    return QdaProject(
        name=project.name, codes=project.codes, sources=project.sources,
        source_variables=project.source_variables.filter(pl.col("name") != "site_id"),
        users=project.users, selections=project.selections,
        cases=project.cases.with_columns(pl.col("name").replace(NAMES)),
        case_variables=project.case_variables.head(0), case_sources=project.case_sources,
    )


def _sites(model) -> dict[str, str | None]:
    return dict(model.sources.group_by("case").agg(pl.col("site_id").unique().first()).iter_rows())


def test_site_from_a_pattern_on_the_case_name_quarantines_what_does_not_match() -> None:
    rule = SiteRule("case_pattern", r"^Trust (?P<site>S\d{2})$", key="qualitative.case_studies")
    project = _project_without_site_variables()
    model = build_model(project, _codebook(), "cases.qdpx", VARS, site_rule=rule)
    assert _sites(model) == {"Trust S01": "S01", "Trust S03": "S03"}
    assert model.cases.sort("case").select("case", "site_ids").rows() == [("Trust S01", "S01"), ("Trust S03", "S03")]
    q = model.quarantined
    assert q.height == 5 and set(q["case"].to_list()) == {"Case C (pilot)"}
    assert q["quarantine_reason"].unique().to_list() == [
        r"no site: case name 'Case C (pilot)' does not match qualitative.case_studies.site_pattern '^Trust (?P<site>S\d{2})$'"
    ]
    # Rows in = kept + quarantined, and the quarantined sources' codings are gone with them.
    assert model.sources.height + q.height == project.sources.height
    n_codings = project.selections.height
    assert model.segments.height + q["n_codings"].sum() == n_codings
    assert not set(model.segments["source_id"].to_list()) & set(q["source_id"].to_list())
    assert model.notes[-1] == (
        "cases.qdpx: 5 source(s) with no site quarantined (qualitative.case_studies.site_pattern "
        "'^Trust (?P<site>S\\d{2})$' on the case name)"
    )


def test_site_from_the_case_name_and_a_group_number() -> None:
    model = build_model(_project_without_site_variables(), _codebook(), "c.qdpx", VARS,
                        site_rule=SiteRule("case_name"))
    assert _sites(model) == {"Trust S01": "Trust S01", "Trust S03": "Trust S03", "Case C (pilot)": "Case C (pilot)"}
    model = build_model(_project_without_site_variables(), _codebook(), "c.qdpx", VARS,
                        site_rule=SiteRule("case_pattern", r"(S\d+|C)\b"))
    assert _sites(model) == {"Trust S01": "S01", "Trust S03": "S03", "Case C (pilot)": "C"}


def test_site_from_a_mapping_table() -> None:
    inputs = QdaInputs(projects=["c.qdpx"], site_from="mapping",
                       site_mapping=CaseSiteMapping(path="map.csv", case_column="case", site_column="site"))
    table = RawFile("qual.site_map.case_studies", b"case,site\nTrust S01,S01\n Case C (pilot) ,S06\n", "map.csv")
    rule = site_rule(inputs, "case_studies", table)
    assert rule.mapping == {"Trust S01": "S01", "Case C (pilot)": "S06"}
    model = build_model(_project_without_site_variables(), _codebook(), "c.qdpx", VARS, site_rule=rule)
    assert _sites(model) == {"Trust S01": "S01", "Case C (pilot)": "S06"}
    assert model.quarantined["quarantine_reason"].unique().to_list() == [
        "no site: case 'Trust S03' is not in qualitative.case_studies.site_mapping"
    ]
    clash = RawFile("m", b"case,site\nA,S1\nA,S2\n", "map.csv")
    with pytest.raises(InputError, match="each case must map to one site"):
        site_rule(inputs, "case_studies", clash)


def test_scoping_sources_without_a_site_are_quarantined_and_none_left_is_an_error() -> None:
    project = _project_without_site_variables()
    rule = SiteRule(key="qualitative.scoping")
    model = build_model(project, _codebook(), "scoping.qdpx", VARS, require_case=False, require_site=True,
                        site_rule=rule)
    assert model.sources.is_empty() and model.quarantined.height == project.sources.height
    merged = combine([model], _codebook())
    error = no_sources_left(merged, rule, "scoping.qdpx")
    assert error.rule == "a qualitative phase needs at least one source linked to a site"
    assert error.detail == (
        f"{project.sources.height} quarantined: no site: set the source variable 'site_id' or the case variable "
        "'site_ids' of a single-site case (qualitative.scoping.source_variables.site or a single-site case); "
        "check study.yaml qualitative.scoping.site_from"
    )


def test_site_rule_options_are_checked_in_study_yaml() -> None:
    with pytest.raises(ValueError, match="needs a group"):
        QdaInputs(projects=["p"], site_from="case_pattern", site_pattern="Trust S")
    with pytest.raises(ValueError, match="site_from: mapping needs site_mapping"):
        QdaInputs(projects=["p"], site_from="mapping")
    with pytest.raises(ValueError, match="only read with site_from: case_pattern"):
        QdaInputs(projects=["p"], site_pattern="(x)")


def test_case_studies_read_their_sites_from_a_mapping_table_ingested_with_the_study(tmp_path) -> None:
    """The mapping is a study input (ingested, read by the step); a source's own site variable still wins."""
    import yaml
    from conftest import mini_context, run_steps

    from schemas.datasets.qualitative import CASES
    from tasks.qualitative.pipeline import CASE_STEPS, SCOPING_STEPS
    from tasks.step_io import records_of
    from tasks.storage.tables import parquet_to_table

    study = mini.write_study(tmp_path / "study")
    (study.parent / "case_sites.csv").write_text("case,site\nA,S01\nC,S06\n")
    data = yaml.safe_load(study.read_text())
    data["qualitative"]["case_studies"].update({
        "site_from": "mapping", "site_mapping": {"path": "case_sites.csv", "case_column": "case", "site_column": "site"}})
    study.write_text(yaml.safe_dump(data, sort_keys=False))
    ctx = mini_context(study, tmp_path)
    assert "qual.site_map.case_studies" in {r.name for r in ctx.inputs}
    scoping = records_of(run_steps(ctx, SCOPING_STEPS, {}))
    cases = records_of(run_steps(ctx, CASE_STEPS[:1], scoping))
    table = parquet_to_table(ctx.store().get(cases[CASES.resolve()].key))
    # B is not in the mapping: its case names no site, but its sources carry their own site_id.
    assert table.select("case", "site_ids").sort("case").rows() == [("A", "S01"), ("B", ""), ("C", "S06")]


def test_quarantined_source_names_are_redacted_like_published_ones(tmp_path) -> None:
    import tiny_qual as tq

    from tasks.ingest.qdpx import write_qdc
    from tasks.qualitative.inputs import load_projects, read_codebook

    cfg = tq.study_config(tmp_path)
    cfg = cfg.model_copy(update={"qualitative": cfg.qualitative.model_copy(update={"redact_terms": ["Case C"]})})
    codebook = read_codebook(RawFile("qual.codebook", write_qdc(mini.project("cb", []).codes, "cb.qdc"), "cb.qdc"))
    files = [RawFile("qual.cases.000", write_qdpx(_project_without_site_variables()), "cases.qdpx")]
    rule = SiteRule("case_pattern", r"^Trust (S\d+)$", key="qualitative.case_studies")
    model = load_projects(files, cfg.qualitative.case_studies, codebook, cfg, b"k", require_case=True,
                          require_site=False, known_sites=None, rule=rule)
    names = model.quarantined["name"].to_list()
    assert len(names) == 5 and not any("Case C" in n for n in names)
    assert all("Case C" not in r for r in model.quarantined["quarantine_reason"].to_list())
