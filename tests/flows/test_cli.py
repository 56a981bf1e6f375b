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
