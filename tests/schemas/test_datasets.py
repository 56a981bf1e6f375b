"""The dataset registry: every dataset declared once, produced by a step, spelled nowhere else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemas.datasets import Dataset, dataset_for, model_for, produced_by, registry
from schemas.datasets.survey import ESTIMATES, FIGURES
from schemas.survey import Estimates

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("flows", "tasks", "schemas", "deployments")


def test_names_resolve_and_match() -> None:
    assert ESTIMATES.resolve(wave="w2014") == "survey.w2014.estimates"
    assert dataset_for("survey.w2014.estimates") is ESTIMATES
    # A literal dataset wins over the figure family that could also match its name.
    assert dataset_for("survey.w2014.fig_change") is FIGURES
    assert FIGURES.parts_of("survey.w2016.fig_coverage") == {"wave": "w2016", "figure": "fig_coverage"}
    assert model_for("survey.w2016.estimates") is Estimates
    with pytest.raises(KeyError, match="needs wave"):
        ESTIMATES.resolve()
    with pytest.raises(KeyError, match="no dataset 'survey.w1' is declared"):
        dataset_for("survey.w1")


def test_a_table_needs_a_model() -> None:
    with pytest.raises(ValueError, match="a table needs a pandera model"):
        Dataset("x.y", "x", "scoping")


def test_every_step_output_is_declared_and_every_producer_exists() -> None:
    from tasks.pipeline import all_steps

    steps = {s.name for s in all_steps()}
    for dataset in registry():
        if dataset.family == "any":
            continue
        assert dataset.producer in steps, f"{dataset.name}: producer {dataset.producer!r} is no step"
    for name in steps:
        for dataset in produced_by(name):
            assert dataset.producer == name


def _literal_forms(dataset: Dataset) -> list[re.Pattern[str]]:
    """Ways a name could be spelled in code: literally, with * wildcards, or as an f-string."""
    parts = re.split(r"\{[a-z_]+\}", dataset.name)
    if len(parts) == 1:
        return [re.compile(rf"[\"']{re.escape(dataset.name)}[\"']")]
    # f"survey.{wave}.estimates", "survey.*.estimates", "survey." + wave + ".estimates"
    tail = re.escape(parts[-1])
    head = re.escape(parts[0])
    return [re.compile(rf"[\"']{head}(\{{[^}}]*\}}|\*)[^\"']*{tail}[\"']")] if tail else []


def test_no_dataset_name_is_spelled_outside_the_registry() -> None:
    offenders = []
    files = [p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py") if "datasets" not in p.parts and p.name != "inputs.py"]
    patterns = [(d, f) for d in registry() for f in _literal_forms(d)]
    for path in files:
        text = path.read_text()
        for dataset, form in patterns:
            for match in form.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)} ({dataset.name})")
    assert offenders == []
