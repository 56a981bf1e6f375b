"""The pipeline drawn from the registry: phases, steps, datasets and edges, as Mermaid."""

from __future__ import annotations

import re

from schemas.datasets import Dataset, registry
from tasks.pipeline import all_steps
from tasks.step import Step

_FAMILY_TITLES = {
    "scoping": "Scoping interviews",
    "survey": "Survey wave (each wave: survey_w1, survey_w2)",
    "case_studies": "Case studies",
    "triangulation": "Triangulation and report",
}
_WAVE_LABELS = {"previous": "previous wave", "first": "first wave", "all": "every wave"}


def node_id(kind: str, name: str) -> str:
    """A Mermaid-safe node id for a step ("s_…") or a dataset ("d_…")."""
    return f"{kind}_{re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_')}"


def graph_edges(steps: tuple[Step, ...]) -> list[tuple[str, str, str]]:
    """(from, to, label) edges: dataset → step for every use, step → dataset for every output."""
    edges: list[tuple[str, str, str]] = []
    for step in steps:
        for use in step.uses:
            label = _WAVE_LABELS.get(use.wave, "") if "wave" in use.dataset.placeholders else ""
            if use.optional:
                label = f"{label}, optional".strip(", ")
            edges.append((node_id("d", use.dataset.name), node_id("s", step.name), label))
        edges.extend((node_id("s", step.name), node_id("d", d.name), "") for d in step.outputs)
    return edges


def _dataset_node(dataset: Dataset) -> str:
    shape = ('[("', '")]') if dataset.kind == "table" else ('[/"', '"/]')
    return f"{node_id('d', dataset.name)}{shape[0]}{dataset.name}{shape[1]}"


def mermaid(steps: tuple[Step, ...] | None = None) -> str:
    """The whole pipeline as a Mermaid flowchart: one subgraph per phase with its steps."""
    steps = all_steps() if steps is None else steps
    produced = {d.name for s in steps for d in s.outputs}
    lines = ["flowchart LR"]
    for family, title in _FAMILY_TITLES.items():
        members = [s for s in steps if s.family == family]
        if not members:
            continue
        lines.append(f'  subgraph {family}["{title}"]')
        for step in members:
            lines.append(f'    {node_id("s", step.name)}["{step.name}"]')
            lines.extend(f"    {_dataset_node(d)}" for d in step.outputs)
        lines.append("  end")
    used = {u.dataset.name for s in steps for u in s.uses}
    lines.extend(f"  {_dataset_node(d)}" for d in registry() if d.name in used - produced)
    for src, dst, label in graph_edges(steps):
        lines.append(f"  {src} -->|{label}| {dst}" if label else f"  {src} --> {dst}")
    return "\n".join(lines) + "\n"
