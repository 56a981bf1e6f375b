"""The phase steps on a file store: published tables, the .qdpx round trip, survey indicators, errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import qual_mini_study as mini
import yaml
from conftest import MiniRun, run_mini

from schemas.study_config import load_study_config
from tasks.context import RunContext
from tasks.ingest.errors import InputError
from tasks.ingest.qdpx import read_qdpx, write_qdpx
from tasks.qualitative import steps
from tasks.qualitative.model import SEGMENT_COLUMNS, build_model, codebook_table
from tasks.storage.runs import ingest_inputs
from tasks.storage.store import open_store

SCOPING_TABLES = {"scoping.codebook", "scoping.sources", "scoping.segments", "scoping.code_frequencies",
                  "scoping.area_ranking", "scoping.site_profiles"}
CASE_TABLES = {"cases.selection", "cases.selection_sets", "cases.cases", "cases.codebook", "cases.sources",
               "cases.segments", "cases.matrix", "cases.matrix_by_role", "cases.matrix_by_source_type",
               "cases.theme_presence", "cases.cooccurrence", "cases.framework", "cases.reliability",
               "cases.disagreements", "cases.quotes"}


def test_outputs_and_summaries(mini_run: MiniRun) -> None:
    assert set(mini_run.scoping.by_dataset()) == SCOPING_TABLES
    assert set(mini_run.cases.by_dataset()) == CASE_TABLES | {"cases.project"}
    for name in SCOPING_TABLES | CASE_TABLES:
        mini_run.table(name)  # read back and validated against its contract
    assert mini_run.scoping.summary["sites"] == len(mini.SITES)
    assert mini_run.cases.summary["cases"] == len(mini.CASES)
    assert "## Scoping" in mini_run.scoping.markdown and "## Case studies" in mini_run.cases.markdown
    assert steps.scoping_task.name == "scoping" and steps.case_studies_task.name == "case_studies"


def test_scoping_ranks_the_planted_areas(mini_run: MiniRun) -> None:
    ranking = mini_run.table("scoping.area_ranking")
    sites_per_area: dict[str, set[str]] = {}
    for site, areas in mini.SCOPING_AREAS.items():
        for area in areas:
            sites_per_area.setdefault(area, set()).add(site)
    got = {r["area"]: r["n_sites"] for r in ranking.iter_rows(named=True)}
    assert got == {a: len(s) for a, s in sites_per_area.items()}
    assert set(ranking.filter(pl.col("is_target")).get_column("area")) == {
        "Urgent care", "Frail older people", "Mental health"}
    profiles = mini_run.table("scoping.site_profiles")
    assert dict(profiles.select("site_id", "maturity").iter_rows()) == mini.SCOPING_MATURITY
    first_focus = {r["site_id"]: r["focus_areas"].split("; ")[0] for r in profiles.iter_rows(named=True)}
    assert first_focus == {s: areas[0] for s, areas in mini.SCOPING_AREAS.items()}
    assert profiles.filter(pl.col("site_id") == "S07").item(0, "n_target_areas") == 0


def test_selection_meets_constraints_and_compares_actual_cases(mini_run: MiniRun) -> None:
    sel = mini_run.table("cases.selection")
    chosen = sel.filter(pl.col("selected"))
    assert chosen.height == 3 and chosen.get_column("eligible").all()
    settings = {s[0]: s[3] for s in mini.SITES}
    picked = [settings[s] for s in chosen.get_column("site_id")]
    assert "inner_city" in picked and "mixed" in picked
    assert "S07" not in chosen.get_column("site_id").to_list()  # no target area coded there
    sets = mini_run.table("cases.selection_sets")
    assert {"selected", "actual", "random"} <= set(sets.get_column("set"))
    actual_sites = {mini_run.case_name(c): c for c in mini.CASES}
    tagged = sel.filter(pl.col("actual_case").is_not_null()).get_column("actual_case").unique().to_list()
    assert set(tagged) == set(actual_sites)


def test_qdpx_round_trip_gives_the_same_tables(mini_run: MiniRun) -> None:
    record = mini_run.cases.by_dataset()["cases.project"]
    data = mini_run.ctx.store().get(record.key)
    project = read_qdpx(data, "cases.qdpx", strict=True)
    cfg = mini_run.ctx.config()
    codebook = mini_run.table("cases.codebook")
    assert codebook_table(project.codes).equals(codebook)
    model = build_model(project, codebook, "cases.qdpx", cfg.qualitative.case_studies.source_variables,
                        key=None, role_map=steps.role_map(cfg))
    sort = ["source_id", "segment_id", "code_id"]
    assert model.published_sources().sort("source_id").equals(mini_run.table("cases.sources").sort("source_id"))
    assert model.segments.select(SEGMENT_COLUMNS).sort(sort).equals(mini_run.table("cases.segments").sort(sort))
    assert write_qdpx(project) == data  # stable bytes


def test_runs_are_reproducible(tmp_path: Path, mini_run: MiniRun) -> None:
    again = run_mini(tmp_path, mini_run.fmt)
    first = {o.dataset: o.sha256 for o in (*mini_run.scoping.outputs, *mini_run.cases.outputs)}
    second = {o.dataset: o.sha256 for o in (*again.scoping.outputs, *again.cases.outputs)}
    assert first == second


def _context(root: Path, edit: dict[str, object]) -> RunContext:
    study = mini.write_study(root / "study")
    data = yaml.safe_load(study.read_text())
    for dotted, value in edit.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    study.write_text(yaml.safe_dump(data, sort_keys=False))
    store = open_store(str(root / "store"))
    return RunContext(store_url=str(root / "store"), run_id="t", config_path=str(study),
                      inputs=tuple(ingest_inputs(store, load_study_config(study))))


INFLUENCE = {"type": "single_choice", "question": "Most influence?", "column": "Q1", "waves": ["w1"],
             "labels": {"1": "my CCG", "2": "NHS England"}, "key_codes": ["1"]}


def test_survey_indicators_feed_the_selection(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"survey.variables": {"influence": INFLUENCE},
                              "qualitative.case_selection.survey_indicators": ["influence"]})
    scoping = steps.scoping_step(ctx)
    missing = steps.case_studies_step(ctx, scoping.by_dataset())
    assert "survey indicators influence left out" in missing.markdown
    ctx = ctx.model_copy(update={"run_id": "t2"})  # published objects are write-once
    ids = [s[0] for s in mini.SITES]
    rid = [f"R{i:012x}" for i in range(len(ids) * 2)]
    respondents = pl.DataFrame({
        "wave": "w1", "respondent_id": rid, "member_id": None, "site_id": ids * 2, "role": "gp_chair",
        "role_group": "gp", "finished": True, "progress": 100.0, "partial": False, "items": 1, "answered": 1,
        "item_missing_share": 0.0, "straightlined": False, "straightlined_grids": None, "weight": 1.0,
    }, schema_overrides={"member_id": pl.String, "straightlined_grids": pl.String})
    answers = pl.DataFrame({
        "wave": "w1", "respondent_id": rid, "variable": "influence", "type": "single_choice",
        "code": ["1" if i % 3 else "2" for i in range(len(rid))], "label": None, "value": None, "missing": False,
    }, schema_overrides={"label": pl.String, "value": pl.Float64})
    upstream = {**scoping.by_dataset(),
                "survey.w1.respondents": ctx.write_table("survey.w1.respondents", respondents, "survey_w1"),
                "survey.w1.answers": ctx.write_table("survey.w1.answers", answers, "survey_w1")}
    with_survey = steps.case_studies_step(ctx, upstream)
    assert "left out" not in with_survey.markdown
    profile = ctx.read_table(with_survey.by_dataset()["cases.selection"]).get_column("profile").to_list()
    assert all("influence=" in p for p in profile)


def test_scoping_source_at_an_unknown_site_is_an_error(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {})
    sites = Path(ctx.config_path).parent / "sites.csv"
    sites.write_text("\n".join(line for line in sites.read_text().splitlines() if not line.startswith("S08")))
    ctx = RunContext(store_url=ctx.store_url, run_id="t2", config_path=ctx.config_path,
                     inputs=tuple(ingest_inputs(ctx.store(), ctx.config())))
    with pytest.raises(InputError) as info:
        steps.scoping_step(ctx)
    assert info.value.rule == "a source's site must be listed in the sites table"
    assert info.value.file.endswith(".qdpx") and "S08" in info.value.detail


def test_unknown_area_theme_names_the_key(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"qualitative.area_theme": "Nope"})
    with pytest.raises(ValueError, match="qualitative.area_theme"):
        steps.scoping_step(ctx)


def test_case_site_missing_from_the_sites_table_is_a_note(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {})
    scoping = steps.scoping_step(ctx)
    sites = Path(ctx.config_path).parent / "sites.csv"
    sites.write_text("\n".join(line for line in sites.read_text().splitlines() if not line.startswith("S06")))
    ctx = RunContext(store_url=ctx.store_url, run_id="t2", config_path=ctx.config_path,
                     inputs=tuple(ingest_inputs(ctx.store(), ctx.config())))
    result = steps.case_studies_step(ctx, scoping.by_dataset())
    assert "sites not in the sites table: S06" in result.markdown
