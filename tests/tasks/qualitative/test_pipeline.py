"""Both step lists through the step runner on a file store: tables, summaries, round trip, errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import qual_mini_study as mini
import tiny_qual as tq
import yaml
from conftest import MiniRun, mini_context, run_mini, run_steps

from schemas.datasets import produced_by, registry
from schemas.datasets.qualitative import (
    AREA_RANKING,
    CASE_SELECTION,
    CASES_CODEBOOK,
    CASES_SEGMENTS,
    CASES_SOURCES,
    PROJECT,
    SELECTION_SETS,
    SITE_PROFILES,
)
from schemas.datasets.survey import ANSWERS, RESPONDENTS
from schemas.manifest import OutputRecord
from tasks.context import RunContext
from tasks.ingest.errors import InputError
from tasks.ingest.qdpx import read_qdpx, write_qdpx
from tasks.qualitative.inputs import role_map
from tasks.qualitative.model import SEGMENT_COLUMNS, build_model, codebook_table
from tasks.qualitative.pipeline import CASE_STEPS, SCOPING_STEPS
from tasks.qualitative.scoping import CodebookNodeError
from tasks.step_io import records_of

SCOPING_KEYS = ["sites", "sources", "segments", "lead_coder", "target_areas"]
CASE_KEYS = ["cases", "sources", "segments", "lead_coder", "double_coded_sources", "quotes", "n_selected",
             "selected_sites", "selection_search", "diversity_selected", "diversity_actual", "diversity_random",
             *(f"{unit}_{stat}_coder_a_coder_b" for unit in ("presence", "segment", "character")
               for stat in ("kappa", "alpha"))]


def _families(family: str) -> set[str]:
    return {d.name for d in registry() if d.family == family}


def test_step_lists_follow_the_registry() -> None:
    earlier = {d.name for step in SCOPING_STEPS for d in step.outputs}
    for family, steps in (("scoping", SCOPING_STEPS), ("case_studies", CASE_STEPS)):
        produced: set[str] = set()
        for step in steps:
            assert step.family == family
            for use in step.uses:
                # Read only what an earlier step of the list, scoping, or a survey wave wrote.
                assert use.dataset.name in produced | earlier or use.dataset in (RESPONDENTS, ANSWERS), (step.name, use)
            produced |= {d.name for d in step.outputs}
            assert all(d.producer == step.name for d in produced_by(step.name))
        assert produced == _families(family)
    # Only the steps reading coded projects pseudonymise, so only they get the key.
    assert {s.name for s in (*SCOPING_STEPS, *CASE_STEPS) if s.needs_key} == {"scoping.segments", "cases.segments"}
    wave1 = [u for u in CASE_STEPS[1].uses if u.dataset in (RESPONDENTS, ANSWERS)]
    assert [(u.wave, u.optional) for u in wave1] == [("first", True), ("first", True)]


def test_outputs_and_summaries(mini_run: MiniRun) -> None:
    written = set(mini_run.records())
    assert written == _families("scoping") | _families("case_studies")
    for record in mini_run.records().values():
        if record.key.endswith(".parquet"):
            mini_run.ctx.read_table(record)  # read back and validated against its contract
    scoping, cases = mini_run.scoping, mini_run.cases
    assert list(scoping.summary) == SCOPING_KEYS and list(cases.summary) == CASE_KEYS
    assert scoping.summary["sites"] == len(mini.SITES) and cases.summary["cases"] == len(mini.CASES)
    assert scoping.markdown.startswith("## Scoping") and cases.markdown.startswith("## Case studies")
    assert scoping.table == mini_run.table(AREA_RANKING).select("rank", "area", "n_sites", "n_segments").to_dicts()
    assert {r["site_id"] for r in cases.table} == set(
        mini_run.table(CASE_SELECTION).filter(pl.col("selected")).get_column("site_id"))


def test_scoping_ranks_the_planted_areas(mini_run: MiniRun) -> None:
    ranking = mini_run.table(AREA_RANKING)
    sites_per_area: dict[str, set[str]] = {}
    for site, areas in mini.SCOPING_AREAS.items():
        for area in areas:
            sites_per_area.setdefault(area, set()).add(site)
    got = {r["area"]: r["n_sites"] for r in ranking.iter_rows(named=True)}
    assert got == {a: len(s) for a, s in sites_per_area.items()}
    assert set(ranking.filter(pl.col("is_target")).get_column("area")) == {
        "Urgent care", "Frail older people", "Mental health"}
    profiles = mini_run.table(SITE_PROFILES)
    assert dict(profiles.select("site_id", "maturity").iter_rows()) == mini.SCOPING_MATURITY
    first_focus = {r["site_id"]: r["focus_areas"].split("; ")[0] for r in profiles.iter_rows(named=True)}
    assert first_focus == {s: areas[0] for s, areas in mini.SCOPING_AREAS.items()}
    assert profiles.filter(pl.col("site_id") == "S07").item(0, "n_target_areas") == 0


def test_selection_meets_constraints_and_compares_actual_cases(mini_run: MiniRun) -> None:
    sel = mini_run.table(CASE_SELECTION)
    chosen = sel.filter(pl.col("selected"))
    assert chosen.height == 3 and chosen.get_column("eligible").all()
    settings = {s[0]: s[3] for s in mini.SITES}
    picked = [settings[s] for s in chosen.get_column("site_id")]
    assert "inner_city" in picked and "mixed" in picked
    assert "S07" not in chosen.get_column("site_id").to_list()  # no target area coded there
    sets = mini_run.table(SELECTION_SETS)
    assert {"selected", "actual", "random"} <= set(sets.get_column("set"))
    actual_sites = {mini_run.case_name(c): c for c in mini.CASES}
    tagged = sel.filter(pl.col("actual_case").is_not_null()).get_column("actual_case").unique().to_list()
    assert set(tagged) == set(actual_sites)


def test_qdpx_round_trip_gives_the_same_tables(mini_run: MiniRun) -> None:
    data = mini_run.ctx.store().get(mini_run.records()[PROJECT.resolve()].key)
    project = read_qdpx(data, "cases.qdpx", strict=True)
    cfg = mini_run.ctx.config()
    codebook = mini_run.table(CASES_CODEBOOK)
    assert codebook_table(project.codes).equals(codebook)
    model = build_model(project, codebook, "cases.qdpx", cfg.qualitative.case_studies.source_variables,
                        key=None, role_map=role_map(cfg))
    sort = ["source_id", "segment_id", "code_id"]
    assert model.published_sources().sort("source_id").equals(mini_run.table(CASES_SOURCES).sort("source_id"))
    assert model.segments.select(SEGMENT_COLUMNS).sort(sort).equals(mini_run.table(CASES_SEGMENTS).sort(sort))
    assert write_qdpx(project) == data  # stable bytes


def test_no_table_holds_a_raw_identifier_or_a_planted_name(mini_run: MiniRun) -> None:
    """Published and intermediate tables alike: participant ids pseudonymised, names redacted."""
    sources = [*mini.scoping_sources(), *mini.case_sources()]
    raw_ids = {s.participant for s in sources if s.participant}
    names = {w for person in mini.PEOPLE for w in person.split()[1:]} | {mini.EMAIL}
    assert raw_ids and all(any(n in s.text for s in sources) for n in names)  # planted in the inputs
    leaks = []
    for name, record in mini_run.records().items():
        if not record.key.endswith(".parquet"):
            continue
        frame = mini_run.ctx.read_table(record)
        for column in (c for c, t in frame.schema.items() if t == pl.String):
            for value in frame.get_column(column).drop_nulls().unique():
                if value in raw_ids or any(n in value for n in names):
                    leaks.append((name, column, value))
    assert leaks == []


def test_runs_are_reproducible(tmp_path: Path, mini_run: MiniRun) -> None:
    again = run_mini(tmp_path, mini_run.fmt)
    assert {n: r.sha256 for n, r in again.records().items()} == {n: r.sha256 for n, r in mini_run.records().items()}


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
    return mini_context(study, root)


def _survey_records(ctx: RunContext) -> dict[str, OutputRecord]:
    """Wave-1 respondents (two per site) and their answers to `influence`, written as survey_w1 would."""
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
    return {name: ctx.write_table(name, frame, "survey_w1")
            for name, frame in ((RESPONDENTS.resolve(wave="w1"), respondents),
                                (ANSWERS.resolve(wave="w1"), answers))}


def test_survey_indicators_feed_the_selection(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"survey.variables": {"influence": tq.INFLUENCE},
                              "qualitative.case_selection.survey_indicators": ["influence"]})
    scoping = records_of(run_steps(ctx, SCOPING_STEPS, {}))
    missing = run_steps(ctx, CASE_STEPS, scoping)
    assert "survey indicators influence left out" in missing[-1].markdown
    ctx = ctx.model_copy(update={"run_id": "t2"})  # written objects are write-once
    with_survey = run_steps(ctx, CASE_STEPS, {**scoping, **_survey_records(ctx)})
    assert "left out" not in with_survey[-1].markdown
    profile = ctx.read_table(records_of(with_survey)[CASE_SELECTION.resolve()]).get_column("profile").to_list()
    assert all("influence=" in p for p in profile)


def _without_site(ctx: RunContext, site: str, run_id: str) -> RunContext:
    sites = Path(ctx.config_path).parent / "sites.csv"
    sites.write_text("\n".join(line for line in sites.read_text().splitlines() if not line.startswith(site)))
    return mini_context(Path(ctx.config_path), Path(ctx.store_url).parent, run_id)


def test_scoping_source_at_an_unknown_site_is_an_error(tmp_path: Path) -> None:
    ctx = _without_site(_context(tmp_path, {}), "S08", "t2")
    with pytest.raises(InputError) as info:
        run_steps(ctx, SCOPING_STEPS, {})
    assert info.value.rule == "a source's site must be listed in the sites table"
    assert info.value.file.endswith(".qdpx") and "S08" in info.value.detail


def test_unknown_area_theme_names_the_key(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"qualitative.area_theme": "Nope"})
    with pytest.raises(CodebookNodeError, match="qualitative.area_theme"):
        run_steps(ctx, SCOPING_STEPS, {})


def test_case_site_missing_from_the_sites_table_is_a_note(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {})
    scoping = records_of(run_steps(ctx, SCOPING_STEPS, {}))
    cases = run_steps(_without_site(ctx, "S06", "t2"), CASE_STEPS, scoping)
    segments_step = next(r for r in cases if r.step == "cases.segments")
    assert segments_step.notes == ["cases.qdpx: sites not in the sites table: S06"]
    assert cases[-1].markdown.endswith("- note: cases.qdpx: sites not in the sites table: S06")
