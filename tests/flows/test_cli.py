"""The `study` command as a user types it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app

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
