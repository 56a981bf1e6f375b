"""The survey step list on a file store: every step through the step runner, as the flow runs it."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import polars as pl
import pytest

import schemas.datasets.sites as sites_datasets
import schemas.datasets.survey as survey_datasets
from schemas.datasets import Dataset, dataset_for, produced_by, registry
from schemas.datasets.sites import ROSTER, SITES
from schemas.datasets.survey import (
    CHANGE,
    COVERAGE,
    ESTIMATES,
    FREETEXT,
    FREETEXT_AGREEMENT,
    INTAKE,
    REMOVED,
    RESPONDENTS,
    RESPONSES,
)
from tasks.privacy import pseudonym
from tasks.step_io import execute_step
from tasks.storage.tables import parquet_to_table
from tasks.survey.figures import change_data, coverage_data, freetext_data, proportions_data
from tasks.survey.pipeline import STEPS
from tests.tasks.survey.wave_run import WaveRun, run_wave, wave_context

PUBLISHED = (
    "sites",
    "roster",
    "respondents",
    "answers",
    "removed",
    "intake",
    "cleaning",
    "coverage",
    "profile",
    "weights",
    "weight_summary",
    "analysis",
    "analysis_labels",
    "estimates",
    "means",
    "associations",
    "freetext",
    "freetext_coded",
    "freetext_uncoded",
    "freetext_agreement",
)


@pytest.fixture(scope="module")
def run(toy_study, tmp_path_factory: pytest.TempPathFactory) -> tuple[WaveRun, WaveRun]:
    """Both waves of the synthetic study, wave 2 with wave 1's outputs upstream."""
    ctx = wave_context(toy_study.config, tmp_path_factory.mktemp("store"))
    first = run_wave(ctx, "w1")
    return first, run_wave(ctx, "w2", first.records)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_steps_are_in_dependency_order_and_named_as_the_registry_says() -> None:
    names = [s.name for s in STEPS]
    assert len(names) == len(set(names)) and all(n.startswith("survey.") for n in names)
    produced: set[str] = set()
    for step in STEPS:
        for use in step.uses:
            if use.wave == "this":
                assert use.dataset.producer in produced, (step.name, use.dataset.name)
        assert step.outputs == produced_by(step.name)
        produced.add(step.name)
    # Every dataset of the survey and sites modules is produced by a step of the list.
    ours = [
        d for module in (survey_datasets, sites_datasets)
        for d in vars(module).values() if isinstance(d, Dataset)
    ]
    assert len(ours) >= 20 and {d.producer for d in ours} <= set(names)
    assert set(ours) <= set(registry())


def test_every_table_published_and_valid(run) -> None:
    for result, wave in zip(run, ("w1", "w2"), strict=True):
        assert result.phase.phase == f"survey_{wave}"
        tables = {
            o.dataset: o for o in result.outputs
            if o.key.endswith(".parquet") and dataset_for(o.dataset).kind == "table"
        }
        files = {o.dataset: o.key.rsplit(".", 1)[1] for o in result.outputs
                 if dataset_for(o.dataset).kind == "file"}
        assert files == {f"survey.{wave}.analysis_{ext}": ext for ext in ("sav", "dta")}
        expected = {f"survey.{wave}.{t}" for t in PUBLISHED} | {RESPONSES.resolve(wave=wave)}
        assert set(tables) == expected | ({CHANGE.resolve(wave="w2")} if wave == "w2" else set())
        for record in tables.values():
            frame = result.ctx.read_table(record)  # validated against its contract on the way in
            assert record.rows == frame.height
    assert run[0].table(FREETEXT_AGREEMENT).height == 2
    assert run[1].table(FREETEXT_AGREEMENT).height == 0


def test_counts_add_up(run, toy_study) -> None:
    first = run[0]
    s = first.phase.summary
    assert s["rows_in"] == toy_study.exports["w1"].height == s["respondents"] + s["removed"]
    assert s["removed"] == 5 and s["sites"] == 24 and s["roster"] == toy_study.rosters["w1"].height
    assert s["member_response_rate"] == pytest.approx(s["respondents"] / s["roster"])
    assert 0 < s["sites_covered_share"] <= 1 and "key_share.influence" in s
    assert sorted(first.table(REMOVED)["reason"].to_list()) == [
        "duplicate submission",
        "excluded status",
        "excluded status",
        "unknown role code",
        "unknown site",
    ]
    markdown = first.phase.markdown
    assert markdown.startswith("## Wave 1 (2015)") and "rows in = kept + removed" in markdown
    assert markdown.index("### Cleaning") < markdown.index("### Figures")
    # The phase table lists the key shares, as the summary does.
    assert {r["variable"] for r in first.phase.table} == {"influence", "partners"}


def test_no_identifying_value_reaches_an_output(run, toy_study) -> None:
    export = toy_study.exports["w1"]
    human = (toy_study.root / "human_obstacles.csv").read_text()
    secrets = [
        *export["RecipientEmail"].to_list()[:20],
        *export["ResponseId"].to_list()[:20],
        *export["ExternalReference"].drop_nulls().to_list()[:20],
    ]
    assert all(rid in human for rid in export["ResponseId"].head(5).to_list())
    store = run[0].ctx.store()
    for record in run[0].outputs + run[1].outputs:
        data = store.get(record.key)
        if record.key.endswith(".parquet"):
            frame = parquet_to_table(data)
            assert not {"RecipientEmail", "IPAddress", "ResponseId", "ExternalReference"} & set(
                frame.columns
            )
            text = frame.select(pl.col(pl.String)).write_csv()
        else:
            text = data.decode("latin-1")
        assert "@example.org" not in text and "10.0.0." not in text
        assert not any(s in text for s in secrets), record.dataset


def test_pseudonyms_are_keyed_and_link_to_the_roster(run, toy_study) -> None:
    first = run[0]
    key = os.environ["STUDYFLOW_PSEUDONYM_KEY"].encode()
    respondents = first.table(RESPONDENTS)
    roster = first.table(ROSTER)
    raw = toy_study.exports["w1"].row(0, named=True)
    assert pseudonym(raw["ResponseId"], key, "R") in respondents["respondent_id"].to_list()
    assert set(respondents["member_id"].drop_nulls()) <= set(roster["member_id"])
    assert respondents["weight"].sum() == pytest.approx(roster.height)
    # The intermediate carries the same pseudonyms, in the same order.
    responses = first.table(RESPONSES)
    assert responses["respondent_id"].to_list() == respondents["respondent_id"].to_list()


def test_figures_are_pngs_and_svgs_of_the_published_tables(run) -> None:
    first, second = run
    store = first.ctx.store()
    figures = {
        (o.dataset, o.key.rsplit(".", 1)[1]): o
        for o in first.outputs + second.outputs
        if dataset_for(o.dataset).kind == "figure"
    }
    names = {d for d, _ in figures}
    assert names == {
        f"survey.{w}.fig_{f}"
        for w in ("w1", "w2")
        for f in ("influence", "freetext_obstacles", "coverage")
    } | {"survey.w2.fig_change"}
    for (_dataset, ext), record in figures.items():
        data = store.get(record.key)
        if ext == "png":
            width, height = _png_size(data)
            assert 400 <= width <= 3000 and 150 <= height <= 4000 and record.size > 5000
            assert record.media_type == "image/png"
        else:
            assert ext == "svg" and data.startswith(b"<?xml") and b"<svg" in data
    # The phase markdown names every figure file by its key.
    for (dataset, _ext), record in figures.items():
        wave = dataset_for(dataset).parts_of(dataset)["wave"]
        assert f"`{record.key}`" in (first if wave == "w1" else second).phase.markdown
    # The data the figure functions draw is a slice of the published tables.
    influence = proportions_data(first.table(ESTIMATES), "influence")
    assert influence["code"].to_list() == ["1", "2", "3", "4"] and influence["n"].n_unique() == 1
    coverage = coverage_data(first.table(COVERAGE), "region")
    assert sorted(coverage["group"].to_list()) == ["Midlands", "North", "South"]
    assert set(freetext_data(second.table(FREETEXT), "obstacles")["category"]) == {"time", "will"}
    change = change_data(second.table(CHANGE))
    assert change["kind"].unique().to_list() == ["key"] and change.height == 2


def test_change_table_only_in_wave_two(run) -> None:
    first, second = run
    assert "survey.change" not in {r.step for r in first.results}
    change = second.table(CHANGE)
    assert set(change["breakdown"]) == {"all", "role"}
    assert change["previous_wave"].unique().to_list() == ["w1"]
    assert "significant_changes" in second.phase.summary
    assert "### Change since the previous wave" in second.phase.markdown


def test_wave_two_without_upstream_has_no_change(toy_study, tmp_path: Path) -> None:
    second = run_wave(wave_context(toy_study.config, tmp_path / "store"), "w2")
    assert CHANGE.resolve(wave="w2") not in second.records
    assert "significant_changes" not in second.phase.summary
    assert "change table was not built" in second.phase.markdown


def test_rerun_gives_identical_bytes(run, toy_study, tmp_path: Path) -> None:
    again = run_wave(wave_context(toy_study.config, tmp_path / "again"), "w1")
    assert [(o.dataset, o.key, o.sha256) for o in again.outputs] == [
        (o.dataset, o.key, o.sha256) for o in run[0].outputs
    ]


def test_unknown_wave_is_named(run) -> None:
    with pytest.raises(KeyError, match="w9"):
        execute_step(run[0].ctx, STEPS[0], "w9", {})


def test_rows_in_equal_rows_kept_plus_quarantined(run) -> None:
    first = run[0]
    intake = first.table(INTAKE)
    assert intake["input"].to_list() == ["sites", "roster", "export"]
    for row in intake.iter_rows(named=True):
        assert row["rows_in"] == row["rows_kept"] + row["rows_quarantined"]
    export = intake.row(2, named=True)
    kept = (export["rows_kept"], export["rows_quarantined"])
    assert kept == (first.table(RESPONDENTS).height, first.table(REMOVED).height)
    assert first.table(SITES).height == intake.row(0, named=True)["rows_kept"]


def test_quarantined_rows_are_stored_where_the_notes_say(tmp_path: Path) -> None:
    from tests.tasks.survey.conftest import build_study

    study = build_study(tmp_path / "study", n_sites=6, per_site=4)
    roster = study.rosters["w1"]
    bad = pl.DataFrame({"member": ["stray"], "site": ["NOWHERE"], "role": ["2"]})
    pl.concat([roster, bad]).write_csv(study.root / "roster_w1.csv")
    ctx = wave_context(study.config, tmp_path / "store", run_id="quarantine-run")
    result = execute_step(ctx, STEPS[0], "w1", {})
    assert len(result.quarantined) == 1
    rows = parquet_to_table(ctx.store().get(result.quarantined[0]))
    assert rows.select("member", "quarantine_reason").rows() == [
        ("stray", "site not in the site list")
    ]
    assert f"1 row(s) of the roster table quarantined: `{result.quarantined[0]}`" in result.notes
