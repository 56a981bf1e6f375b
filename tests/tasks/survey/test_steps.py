"""The survey phase step on a file store: inputs through RunContext, every output published."""

from __future__ import annotations

import os
import struct
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from schemas.study_config import load_study_config
from tasks.context import RunContext
from tasks.ingest.survey_export import read_survey_export
from tasks.ingest.tables import read_table
from tasks.phase import PhaseResult
from tasks.privacy import pseudonym
from tasks.quality.contracts import validate
from tasks.storage.runs import ingest_inputs
from tasks.storage.store import open_store
from tasks.storage.tables import parquet_to_table
from tasks.survey.figures import change_data, coverage_data, freetext_data, proportions_data
from tasks.survey.steps import survey_wave_step, survey_wave_task
from tasks.survey.wave import analyse_wave

TABLES = (
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
    "estimates",
    "means",
    "associations",
    "freetext",
    "freetext_coded",
    "freetext_uncoded",
    "freetext_agreement",
)


def _context(config: Path, store: Path) -> RunContext:
    cfg = load_study_config(config)
    records = ingest_inputs(open_store(str(store)), cfg)
    return RunContext(
        store_url=str(store), run_id="test-run", config_path=str(config), inputs=tuple(records)
    )


@pytest.fixture(scope="module")
def run(
    toy_study, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RunContext, PhaseResult, PhaseResult]:
    """Both waves of the synthetic study, wave 2 with wave 1's outputs upstream."""
    ctx = _context(toy_study.config, tmp_path_factory.mktemp("store"))
    first = survey_wave_step(ctx, "w1", {})
    second = survey_wave_step(ctx, "w2", first.by_dataset())
    return ctx, first, second


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_task_wraps_the_step() -> None:
    assert survey_wave_task.fn is survey_wave_step and survey_wave_task.name == "survey-wave"


def test_every_table_published_and_valid(run) -> None:
    ctx, first, second = run
    assert first.phase == "survey_w1" and second.phase == "survey_w2"
    for result, wave in ((first, "w1"), (second, "w2")):
        tables = {o.dataset: o for o in result.outputs if o.key.endswith(".parquet")}
        expected = {f"survey.{wave}.{t}" for t in TABLES} | (
            {"survey.w2.change"} if wave == "w2" else set()
        )
        assert set(tables) == expected
        for record in tables.values():
            frame = ctx.read_table(record)  # validated against its pandera model on the way in
            assert record.rows == frame.height
    assert ctx.read_table(first.by_dataset()["survey.w1.freetext_agreement"]).height == 2
    assert ctx.read_table(second.by_dataset()["survey.w2.freetext_agreement"]).height == 0


def test_counts_add_up(run, toy_study) -> None:
    ctx, first, _ = run
    s = first.summary
    assert s["rows_in"] == toy_study.exports["w1"].height == s["respondents"] + s["removed"]
    assert s["removed"] == 5 and s["sites"] == 24 and s["roster"] == toy_study.rosters["w1"].height
    assert s["member_response_rate"] == pytest.approx(s["respondents"] / s["roster"])
    assert 0 < s["sites_covered_share"] <= 1 and "key_share.influence" in s
    removed = ctx.read_table(first.by_dataset()["survey.w1.removed"])
    assert sorted(removed["reason"].to_list()) == [
        "duplicate submission",
        "excluded status",
        "excluded status",
        "unknown role code",
        "unknown site",
    ]
    assert "rows in = kept + removed" in first.markdown and "### Figures" in first.markdown


def test_no_identifying_value_reaches_an_output(run, toy_study) -> None:
    ctx, first, second = run
    export = toy_study.exports["w1"]
    secrets = [
        *export["RecipientEmail"].to_list()[:20],
        *export["ResponseId"].to_list()[:20],
        *export["ExternalReference"].drop_nulls().to_list()[:20],
    ]
    store = ctx.store()
    for record in first.outputs + second.outputs:
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
    ctx, first, _ = run
    key = os.environ["STUDYFLOW_PSEUDONYM_KEY"].encode()
    respondents = ctx.read_table(first.by_dataset()["survey.w1.respondents"])
    roster = ctx.read_table(first.by_dataset()["survey.w1.roster"])
    raw = toy_study.exports["w1"].row(0, named=True)
    assert pseudonym(raw["ResponseId"], key, "R") in respondents["respondent_id"].to_list()
    assert set(respondents["member_id"].drop_nulls()) <= set(roster["member_id"])
    assert respondents["weight"].sum() == pytest.approx(roster.height)


def test_figures_are_pngs_and_svgs_of_the_published_tables(run) -> None:
    ctx, first, second = run
    store = ctx.store()
    figures = {
        (o.dataset, o.key.rsplit(".", 1)[1]): o
        for o in first.outputs + second.outputs
        if not o.key.endswith(".parquet")
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
    # The data the figure functions draw is a slice of the published tables.
    est = ctx.read_table(first.by_dataset()["survey.w1.estimates"])
    influence = proportions_data(est, "influence")
    assert influence["code"].to_list() == ["1", "2", "3", "4"] and influence["n"].n_unique() == 1
    coverage = coverage_data(ctx.read_table(first.by_dataset()["survey.w1.coverage"]), "region")
    assert sorted(coverage["group"].to_list()) == ["Midlands", "North", "South"]
    freq = freetext_data(ctx.read_table(second.by_dataset()["survey.w2.freetext"]), "obstacles")
    assert set(freq["category"]) == {"time", "will"}
    change = change_data(ctx.read_table(second.by_dataset()["survey.w2.change"]))
    assert change["kind"].unique().to_list() == ["key"] and change.height == 2


def test_change_table_only_in_wave_two(run) -> None:
    ctx, _, second = run
    change = ctx.read_table(second.by_dataset()["survey.w2.change"])
    assert set(change["breakdown"]) == {"all", "role"}
    assert change["previous_wave"].unique().to_list() == ["w1"]
    assert "significant_changes" in second.summary


def test_wave_two_without_upstream_has_no_change(toy_study, tmp_path: Path) -> None:
    ctx = _context(toy_study.config, tmp_path / "store")
    result = survey_wave_step(ctx, "w2", {})
    assert "survey.w2.change" not in result.by_dataset()
    assert "change table was not built" in result.markdown


def test_rerun_gives_identical_bytes(run, toy_study, tmp_path: Path) -> None:
    _, first, _ = run
    ctx = _context(toy_study.config, tmp_path / "again")
    again = survey_wave_step(ctx, "w1", {})
    assert [(o.dataset, o.key, o.sha256) for o in again.outputs] == [
        (o.dataset, o.key, o.sha256) for o in first.outputs
    ]


def test_unknown_wave_is_named(run) -> None:
    ctx, _, _ = run
    with pytest.raises(KeyError, match="w9"):
        survey_wave_step(ctx, "w9", {})


def test_wave_with_every_row_removed_still_publishes(toy_study) -> None:
    cfg = load_study_config(toy_study.config)
    data = (toy_study.root / "w1.csv").read_bytes()
    export = read_survey_export(data, "w1.csv", "qualtrics")
    previews = replace(export, data=export.data.with_columns(pl.lit("1").alias("Status")))
    sites = read_table((toy_study.root / "sites.csv").read_bytes(), "sites.csv").frame
    roster = read_table((toy_study.root / "roster_w1.csv").read_bytes(), "roster_w1.csv").frame
    result = analyse_wave(cfg, "w1", previews, sites, roster, b"key")
    assert result.summary["respondents"] == 0 and result.summary["removed"] == export.data.height
    for name, frame in result.tables.items():
        validate(frame, f"survey.w1.{name}")
    assert result.tables["estimates"].filter(pl.col("breakdown") == "all")["n"].sum() == 0
    assert result.summary["sites_covered_share"] == 0.0


def test_rows_in_equal_rows_kept_plus_quarantined(run) -> None:
    ctx, first, _ = run
    intake = ctx.read_table(first.by_dataset()["survey.w1.intake"])
    assert intake["input"].to_list() == ["sites", "roster", "export"]
    for row in intake.iter_rows(named=True):
        assert row["rows_in"] == row["rows_kept"] + row["rows_quarantined"]
    export = intake.row(2, named=True)
    removed = ctx.read_table(first.by_dataset()["survey.w1.removed"])
    respondents = ctx.read_table(first.by_dataset()["survey.w1.respondents"])
    assert (export["rows_kept"], export["rows_quarantined"]) == (respondents.height, removed.height)
