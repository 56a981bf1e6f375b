"""The `study` command as a user types it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.fresh_interpreter import step_modules_loaded_by

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "demo-data", "run", "runs", "check-config"):
        assert command in result.output


def test_check_config_reports_the_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "study.yaml"
    bad.write_text("study: {id: x, title: t, colour: red}\n")
    result = runner.invoke(app, ["check-config", str(bad)])
    assert result.exit_code == 2
    assert "study.colour: unknown key" in result.output


def test_run_rejects_an_unknown_phase(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--config", str(tmp_path / "s.yaml"), "--phase", "wave3"])
    assert result.exit_code == 2
    assert "--phase 'wave3': expected one of scoping" in result.output


def test_runs_on_an_empty_store(tmp_path: Path) -> None:
    result = runner.invoke(app, ["runs", "--store", str(tmp_path / "empty")])
    assert result.exit_code == 0
    assert result.output.strip() == f"No runs in {(tmp_path / 'empty').as_uri()} yet."


def test_runs_lists_full_run_ids_and_marks_latest(tmp_path: Path) -> None:
    from schemas.manifest import Manifest, PhaseRecord
    from schemas.phases import PHASES
    from tasks.storage.runs import publish_run
    from tasks.storage.store import open_store

    store = open_store(str(tmp_path / "st"))
    for run_id, expected in (("20260101T000000Z-aaaaaa", None), ("20260102T000000Z-bbbbbb", "x")):
        manifest = Manifest(
            study_id="s", run_id=run_id, created="2026-01-01T00:00:00+00:00", code_version="c",
            config_sha256="c", inputs=[], outputs=[], complete=True,
            phases=[PhaseRecord(phase=p, status="completed", run_id=run_id) for p in PHASES],
        )
        latest = store.head("latest.json").version if expected else None
        publish_run(store, manifest, latest)
    result = runner.invoke(app, ["runs", "--store", str(tmp_path / "st")])
    assert result.exit_code == 0
    assert "20260101T000000Z-aaaaaa " in result.output
    assert "20260102T000000Z-bbbbbb *" in result.output
    assert "5 completed" in result.output


def _outside_study(demo_copy: Path) -> Path:
    text = demo_copy.read_text()
    sites = text.split("sites:\n", 1)[1].split("path: ", 1)[1].split("\n", 1)[0]
    demo_copy.write_text(text.replace(f"path: {sites}", "path: /proc/self/environ", 1))
    return demo_copy


@pytest.mark.usefixtures("prefect_harness")
def test_an_input_outside_the_study_is_one_line_and_stores_nothing(demo_copy: Path, tmp_path: Path) -> None:
    config = _outside_study(demo_copy)
    result = runner.invoke(app, ["run", "--config", str(config), "--store", str(tmp_path / "store")])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        "study.yaml sites.path: '/proc/self/environ': absolute paths are not allowed; give a path "
        "relative to study.yaml, or list its folder in inputs_root"
    )
    assert not (tmp_path / "store" / "raw").exists()


@pytest.mark.usefixtures("prefect_harness")
def test_debug_shows_the_traceback(demo_copy: Path, tmp_path: Path) -> None:
    from schemas.study_config import InputPathError

    config = _outside_study(demo_copy)
    result = runner.invoke(app, ["--debug", "run", "--config", str(config), "--store", str(tmp_path / "s")])
    assert isinstance(result.exception, InputPathError)


def test_friendly_errors_name_the_problem() -> None:
    from flows.cli import friendly_error
    from tasks.storage.store import StoreError, StoreUnavailable

    assert friendly_error(StoreUnavailable("store s3://b could not be reached")) == (
        "store unavailable: store s3://b could not be reached. Nothing was published; run again when the "
        "store is back.", 1)
    assert friendly_error(StoreError("the bucket 'b' does not exist")) == ("store error: the bucket 'b' does not exist", 1)
    assert friendly_error(RecursionError("deep"))[0].startswith("input nested too deeply to read")
    assert friendly_error(ValueError("bad\nsecond line")) == (
        "ValueError: bad (run with --debug for the traceback)", 1)


def test_gc_says_what_it_removed(tmp_path: Path) -> None:
    from tasks.storage.store import open_store

    store = open_store(str(tmp_path / "st"))
    store.put("runs/20200101T000000Z-abcdef/survey/x.parquet", b"x")
    store.put("quarantine/20200101T000000Z-abcdef/survey/w1/rows.parquet", b"q")
    dry = runner.invoke(app, ["gc", "--store", str(tmp_path / "st"), "--dry-run"])
    assert dry.exit_code == 0 and "would remove run 20200101T000000Z-abcdef: 2 object(s)" in dry.output
    assert store.exists("runs/20200101T000000Z-abcdef/survey/x.parquet")
    result = runner.invoke(app, ["gc", "--store", str(tmp_path / "st")])
    assert result.exit_code == 0
    assert result.output.splitlines() == ["removed run 20200101T000000Z-abcdef: 2 object(s)", "2 object(s) removed"]
    assert store.list() == []


def test_a_run_loads_the_step_modules_of_its_phases_and_their_downstream_while_the_server_starts() -> None:
    loaded = step_modules_loaded_by(
        "from flows.cli import _load_steps_while_the_server_starts\n"
        "_load_steps_while_the_server_starts(['survey_w2'])"
    )
    assert loaded == "tasks.report.steps,tasks.survey.steps,tasks.triangulation.steps"
