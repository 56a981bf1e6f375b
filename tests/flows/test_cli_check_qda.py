"""Tests for `study check-qda`: a QDA export judged by the REFI-QDA schemas from the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from tests.tasks.ingest.qdpx.test_schema import maxqda_like, maxqda_zip

runner = CliRunner()


def test_a_valid_export_is_ok(tmp_path: Path) -> None:
    path = tmp_path / "trusts.qdpx"
    path.write_bytes(maxqda_zip(maxqda_like("{{{}}}")))
    result = runner.invoke(app, ["check-qda", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == "OK: trusts.qdpx is valid against the REFI-QDA schema\n"


def test_an_invalid_export_names_the_xpath_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "trusts.qdpx"
    path.write_bytes(maxqda_zip(maxqda_like().replace(b'color="#0080ff"', b'color="0080ff"')))
    result = runner.invoke(app, ["check-qda", str(path)])
    assert result.exit_code == 1
    assert "trusts.qdpx: project.qde: /Project/CodeBook/Codes/Code/Code/@color: must be valid against" in " ".join(
        result.output.split()
    )
    lenient = runner.invoke(app, ["check-qda", "--lenient", str(path)])
    assert lenient.exit_code == 0, lenient.output
    assert lenient.output.splitlines()[-1] == "OK: trusts.qdpx is tolerated by the lenient reader"
    assert lenient.output.startswith("note: tolerated: color must be #RRGGBB or #RGB - at project.qde: ")


def test_a_folder_or_missing_file_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    for target, said in ((tmp_path, "is a directory"), (tmp_path / "absent.qdpx", "does not exist")):
        result = runner.invoke(app, ["check-qda", str(target)])
        assert result.exit_code == 2
        assert said in " ".join(result.output.replace("│", " ").split()) and "Traceback" not in result.output
