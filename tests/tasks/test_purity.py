"""Functions compute, the runner does I/O: step and transform modules import no I/O machinery."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("prefect", "boto3", "botocore", "tasks.context", "tasks.storage.store", "tasks.step_io")
# Where I/O is allowed: the runner, the store seam and run bookkeeping, the quality gate and Data
# Docs builders, key loading, and the demo generator (it writes the demo's files).
IO_MODULES = (
    "tasks/context.py", "tasks/step_io.py", "tasks/storage/", "tasks/quality/steps.py",
    "tasks/quality/gx.py", "tasks/quality/offline_docs.py", "tasks/quality/docs.py",
    "tasks/privacy.py", "tasks/demo/",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_step_and_transform_modules_do_no_io() -> None:
    offenders = []
    for path in sorted((ROOT / "tasks").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(IO_MODULES):
            continue
        bad = sorted(m for m in _imports(path) if m.startswith(FORBIDDEN))
        if bad:
            offenders.append(f"{rel}: {', '.join(bad)}")
    assert offenders == []


def test_every_strand_lists_its_steps_in_a_pipeline_module() -> None:
    from tasks.pipeline import all_steps

    modules = {s.module for s in all_steps()}
    assert modules == {
        "tasks.survey.steps", "tasks.qualitative.steps", "tasks.triangulation.steps", "tasks.report.steps",
    }
