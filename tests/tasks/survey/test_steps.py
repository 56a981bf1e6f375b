"""The survey step functions on their own: a StepInput built by hand in, a StepOutput out."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from schemas.datasets.sites import ROSTER, SITES
from schemas.datasets.survey import (
    ANSWERS,
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
    REMOVED,
    RESPONDENTS,
    RESPONSES,
    WEIGHTS,
)
from schemas.study_config import QualityConfig, StudyConfig, load_study_config
from schemas.survey import ITEM_PREFIX, RESPONSE_ATTRIBUTES
from tasks.demo.exports import QualtricsColumn, write_qualtrics_csv
from tasks.ingest.errors import InputError
from tasks.privacy import pseudonym
from tasks.quality.contracts import validate
from tasks.step import RawFile, RunFacts, StepInput
from tasks.step_io import waves_in_order
from tasks.survey import pipeline, steps
from tasks.survey.responses import RESPONDENT_COLUMNS
from tests.tasks.survey.conftest import COLUMNS, ToyStudy, build_study
from tests.tasks.survey.wave_run import run_in_memory

KEY = b"unit-test-key"
NAMES = {
    "sites": "sites.csv",
    "survey.w1.export": "w1.csv",
    "survey.w1.roster": "roster_w1.csv",
    "survey.w2.export": "w2.csv",
    "survey.w2.roster": "roster_w2.csv",
    "survey.freetext.obstacles.human": "human_obstacles.csv",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> ToyStudy:
    """A small version of the synthetic study (12 sites, 6 members each)."""
    # Smaller still trips scipy's Monte-Carlo Fisher test (a 1-element p-value array) in
    # tasks.survey.stats.chi_square_test for some tables; reported, not this module's to fix.
    return build_study(tmp_path_factory.mktemp("tiny"), n_sites=12, per_site=6)


@pytest.fixture(scope="module")
def config(tiny: ToyStudy) -> StudyConfig:
    """The small study's configuration."""
    return load_study_config(tiny.config)


def _files(root: Path, **replaced: bytes) -> dict[str, RawFile]:
    return {
        name: RawFile(name, replaced.get(name, (root / original).read_bytes()), original)
        for name, original in NAMES.items()
    }


@pytest.fixture(scope="module")
def waves(tiny: ToyStudy, config: StudyConfig) -> dict[str, dict[str, pl.DataFrame]]:
    """Both waves' tables from the step functions chained in memory."""
    files = _files(tiny.root)
    first, _ = run_in_memory(config, "w1", files, KEY)
    second, _ = run_in_memory(config, "w2", files, KEY, upstream=first)
    return {"w1": first, "w2": second}


def _input(config: StudyConfig, wave: str, tables: dict[str, pl.DataFrame], **kw) -> StepInput:
    return StepInput(config=config, wave=wave, tables=tables, waves=waves_in_order(config), **kw)


def _pick(tables: dict[str, pl.DataFrame], wave: str, *datasets) -> dict[str, pl.DataFrame]:
    return {d.resolve(wave=wave): tables[d.resolve(wave=wave)] for d in datasets}


def test_intake_pseudonymises_cleans_and_accounts_for_every_row(tiny, config) -> None:
    files = {n: f for n, f in _files(tiny.root).items() if n in ("sites", "survey.w1.export", "survey.w1.roster")}
    out = steps.intake(_input(config, "w1", {}, files=files, key=KEY, run=RunFacts(run_id="R1")))
    assert set(out.tables) == {SITES, ROSTER, REMOVED, CLEANING, INTAKE, RESPONSES}
    intake = out.tables[INTAKE]
    assert intake["rows_in"].to_list() == [12, 72, tiny.exports["w1"].height]
    assert (intake["rows_kept"] + intake["rows_quarantined"]).to_list() == intake["rows_in"].to_list()
    responses = out.tables[RESPONSES]
    # Only pseudonyms, the attributes and stored items: no export column, no raw id.
    assert all(c in RESPONSE_ATTRIBUTES or c.startswith(ITEM_PREFIX) for c in responses.columns)
    assert {"item:influence", "item:partners:1", "item:obstacles"} <= set(responses.columns)
    raw_ids = tiny.exports["w1"]["ResponseId"].to_list()
    assert not set(raw_ids) & _strings(responses)
    assert pseudonym(raw_ids[0], KEY, "R") == responses["respondent_id"][0]
    assert out.tables[REMOVED].height == 5 and out.tables[REMOVED]["respondent_id"].str.starts_with("R").all()
    for dataset, frame in out.tables.items():
        validate(frame, dataset.resolve(wave="w1"))
    # Nothing left out of the site list or roster: nothing quarantined, nothing noted about it.
    assert all(rows.height == 0 for rows in out.quarantine.values())
    assert not any("quarantined" in n for n in out.notes)


def test_intake_quarantines_rows_and_names_their_key(tiny, config) -> None:
    roster = pl.concat(
        [tiny.rosters["w1"], pl.DataFrame({"member": ["x1", "x2"], "site": ["S000", "NOWHERE"], "role": ["9", "2"]})]
    )
    sites = (tiny.root / "sites.csv").read_bytes() + b",Nameless,North,good,good\n"
    files = _files(tiny.root, **{"survey.w1.roster": roster.write_csv().encode(), "sites": sites})
    files = {n: f for n, f in files.items() if n in ("sites", "survey.w1.export", "survey.w1.roster")}
    out = steps.intake(_input(config, "w1", {}, files=files, key=KEY, run=RunFacts(run_id="R1")))
    assert out.quarantine["roster"]["quarantine_reason"].to_list() == [
        "unknown role",
        "site not in the site list",
    ]
    assert out.quarantine["sites"]["name"].to_list() == ["Nameless"]
    assert "1 row(s) of the sites table quarantined: `quarantine/R1/survey/w1/sites.parquet`" in out.notes
    assert "2 row(s) of the roster table quarantined: `quarantine/R1/survey/w1/roster.parquet`" in out.notes
    intake = out.tables[INTAKE].rows_by_key("input", named=True, unique=True)
    assert intake["roster"]["rows_quarantined"] == 2 and intake["sites"]["rows_quarantined"] == 1


def test_intake_needs_the_key(tiny, config) -> None:
    with pytest.raises(RuntimeError, match="needs the key"):
        steps.intake(_input(config, "w1", {}, files=_files(tiny.root)))


def test_unknown_wave_is_named(config) -> None:
    with pytest.raises(KeyError, match="w9"):
        steps.weights(_input(config, "w9", {}))


def test_weights_rake_the_responses_to_the_roster(waves, config) -> None:
    t = waves["w1"]
    out = steps.weights(_input(config, "w1", _pick(t, "w1", SITES, ROSTER, RESPONSES)))
    respondents = out.tables[RESPONDENTS]
    assert respondents.columns == RESPONDENT_COLUMNS
    assert respondents["respondent_id"].to_list() == t[RESPONSES.resolve(wave="w1")]["respondent_id"].to_list()
    assert respondents["weight"].sum() == pytest.approx(t[ROSTER.resolve(wave="w1")].height)
    margins = out.tables[WEIGHTS]
    assert set(margins["margin"]) == {"role", "region"}
    # Raking meets the roster's shares on every margin.
    assert margins["weighted_share"].to_list() == pytest.approx(margins["population_share"].to_list(), abs=1e-6)


def test_answers_come_from_the_stored_items(waves, config) -> None:
    t = waves["w1"]
    out = steps.answers(_input(config, "w1", _pick(t, "w1", RESPONSES)))
    answers = out.tables[ANSWERS]
    n = t[RESPONSES.resolve(wave="w1")].height
    # One row per respondent for each single-column item; free text is not an answer row.
    per = answers.filter(pl.col("variable") != "partners").group_by("variable").len()
    assert set(per["len"]) == {n} and "obstacles" not in per["variable"].to_list()
    assert answers.columns == ["wave", "respondent_id", "variable", "type", "code", "label", "value", "missing"]


def test_change_needs_the_previous_waves_estimates(waves, config) -> None:
    later = _pick(waves["w2"], "w2", ESTIMATES)
    alone = steps.change(_input(config, "w2", later))
    assert not alone.tables and alone.notes == (
        "no estimates of wave 'w1' upstream: the change table was not built",
    )
    both = {**later, **_pick(waves["w1"], "w1", ESTIMATES)}
    table = steps.change(_input(config, "w2", both)).tables[CHANGE]
    assert set(table["previous_wave"]) == {"w1"} and set(table["breakdown"]) == {"all", "role"}


def test_change_and_freetext_apply_only_where_they_can(config) -> None:
    assert not pipeline.has_previous_wave(config, "w1") and pipeline.has_previous_wave(config, "w2")
    assert not pipeline.has_previous_wave(config, None)
    assert pipeline.has_dictionaries(config, "w1")
    assert not pipeline.has_dictionaries(config.model_copy(update={"survey": config.survey.model_copy(update={"freetext": {}})}), "w1")


def test_freetext_compares_with_coders_on_pseudonyms(tiny, waves, config) -> None:
    t = waves["w1"]
    human = {"survey.freetext.obstacles.human": _files(tiny.root)["survey.freetext.obstacles.human"]}
    inp = _input(config, "w1", _pick(t, "w1", SITES, RESPONDENTS, RESPONSES), files=human, key=KEY)
    out = steps.freetext(inp)
    assert set(out.tables) == {FREETEXT, FREETEXT_CODED, FREETEXT_UNCODED, FREETEXT_AGREEMENT}
    agreement = out.tables[FREETEXT_AGREEMENT]
    # The human file's 30 ids are export ids: they meet the coded answers only as pseudonyms.
    coded_ids = set(t[RESPONSES.resolve(wave="w1")].filter(pl.col("item:obstacles").is_not_null())["respondent_id"])
    matched = len(coded_ids & _human_pseudonyms(tiny))
    assert matched > 0 and agreement["n"].unique().to_list() == [matched]
    assert agreement.filter(pl.col("category") == "time")["kappa"].item() is not None
    raw = set(pl.read_csv(tiny.root / "human_obstacles.csv")["response_id"])
    for frame in out.tables.values():
        assert not raw & _strings(frame)
    # Without the key the human ids could not be matched: the step refuses to run.
    with pytest.raises(RuntimeError, match="needs the key"):
        steps.freetext(_input(config, "w1", inp.tables, files=human))


def _strings(frame: pl.DataFrame) -> set[str]:
    return {v for c in frame.select(pl.col(pl.String)).iter_columns() for v in c.to_list()}


def _human_pseudonyms(tiny: ToyStudy) -> set[str]:
    ids = pl.read_csv(tiny.root / "human_obstacles.csv")["response_id"].to_list()
    return {pseudonym(i, KEY, "R") for i in ids}


def test_freetext_without_a_dictionary_for_the_wave_publishes_nothing(waves, config) -> None:
    survey = config.survey
    later = survey.variables["obstacles"].model_copy(update={"waves": ["w2"]})
    variables = {**survey.variables, "obstacles": later}
    other = config.model_copy(update={"survey": survey.model_copy(update={"variables": variables})})
    t = waves["w1"]
    out = steps.freetext(_input(other, "w1", _pick(t, "w1", SITES, RESPONDENTS, RESPONSES), key=KEY))
    assert not out.tables and not out.notes


def test_summary_counts_and_markdown(waves, config) -> None:
    t = waves["w2"]
    used = _pick(t, "w2", CLEANING, REMOVED, RESPONDENTS, COVERAGE, ESTIMATES, CHANGE)
    out = steps.summary(_input(config, "w2", used))
    s = out.summary
    assert s["rows_in"] == s["respondents"] + s["removed"] and s["wave"] == "w2"
    assert s["weight_design_effect"] >= 1.0 and "significant_changes" in s
    assert out.markdown.startswith("## Wave 2 (2017)") and "### Key estimates (95% CI)" in out.markdown
    assert [r["variable"] for r in out.table] == ["influence", "partners"]
    # Without a change table (a first wave, or no earlier estimates) no change is summarised.
    first = steps.summary(_input(config, "w2", {k: v for k, v in used.items() if k != CHANGE.resolve(wave="w2")}))
    assert "significant_changes" not in first.summary and "### Change" not in first.markdown


def test_figures_draw_only_the_tables_they_show(waves, config) -> None:
    t = waves["w2"]
    used = _pick(t, "w2", ESTIMATES, COVERAGE, FREETEXT, CHANGE)
    out = steps.figures(_input(config, "w2", used, run=RunFacts(run_id="R2")))
    files = out.figures[FIGURES]
    assert [f.name for f in files] == ["fig_influence", "fig_freetext_obstacles", "fig_coverage", "fig_change"]
    assert all(set(f.data) == {"png", "svg"} for f in files)
    assert "`runs/R2/survey/w2/fig_change.png` (SVG: `runs/R2/survey/w2/fig_change.svg`)" in out.markdown
    assert out.markdown.startswith("### Figures")
    # Free text and change are optional: without them, their figures are not drawn.
    fewer = steps.figures(_input(config, "w2", _pick(t, "w2", ESTIMATES, COVERAGE)))
    assert [f.name for f in fewer.figures[FIGURES]] == ["fig_influence", "fig_coverage"]


def test_wave_with_every_row_removed_still_publishes(tiny, config) -> None:
    previews = tiny.exports["w1"].with_columns(pl.lit("1").alias("Status"))
    specs = [QualtricsColumn(export_tag=c, question_text=c, import_id=f"QID_{c}") for c in COLUMNS]
    files = _files(tiny.root, **{"survey.w1.export": write_qualtrics_csv(specs, previews)})
    # By default a wave left with no submission fails at intake, naming the rule that removed them.
    with pytest.raises(InputError, match=r"a survey wave needs at least one kept submission \(26 removed by "
                       r"exclude_status: excluded status \(study.yaml survey.respondent.exclude_status\)\)"):
        run_in_memory(config, "w1", files, KEY)
    # A study that lowered the kept-submissions check to a warning publishes the empty wave.
    config = config.model_copy(update={"quality": QualityConfig(severity={"survey.respondents_present": "warn"})})
    tables, outputs = run_in_memory(config, "w1", files, KEY)
    s = outputs["survey.summary"].summary
    assert s["respondents"] == 0 and s["removed"] == previews.height
    assert s["sites_covered_share"] == 0.0 and "weight_design_effect" not in s
    estimates = tables[ESTIMATES.resolve(wave="w1")]
    assert estimates.filter(pl.col("breakdown") == "all")["n"].sum() == 0
    assert tables[RESPONSES.resolve(wave="w1")].height == 0
