"""`study graph`: the pipeline drawn from the registry, and the copy in the docs kept current."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from schemas.datasets import registry
from tasks.graph import graph_edges, mermaid, node_id
from tasks.pipeline import all_steps

ROOT = Path(__file__).resolve().parents[2]


def test_graph_has_every_step_dataset_and_edge() -> None:
    text = mermaid()
    assert text.startswith("flowchart LR\n")
    for step in all_steps():
        assert f'{node_id("s", step.name)}["{step.name}"]' in text
        for dataset in step.outputs:
            assert f"{node_id('s', step.name)} --> {node_id('d', dataset.name)}" in text
        for use in step.uses:
            assert re.search(rf"{node_id('d', use.dataset.name)} -->(\|[^|]*\|)? {node_id('s', step.name)}\n", text)
    produced = {d.name for s in all_steps() for d in s.outputs}
    assert produced == {d.name for d in registry() if d.family != "any"}
    edges = sum(len(s.uses) + len(s.outputs) for s in all_steps())
    assert len(graph_edges(all_steps())) == edges
    assert text.count(" --> ") + text.count(" -->|") == edges


def test_wave_selectors_label_their_edges() -> None:
    text = mermaid()
    assert "d_survey_wave_estimates -->|previous wave| s_survey_change" in text
    assert "d_survey_wave_respondents -->|first wave, optional| s_cases_selection" in text


def test_cli_prints_the_graph_and_the_docs_embed_it() -> None:
    result = CliRunner().invoke(app, ["graph"])
    assert result.exit_code == 0
    assert result.output == mermaid()
    docs = (ROOT / "docs" / "architecture.md").read_text()
    block = docs.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block == mermaid()
