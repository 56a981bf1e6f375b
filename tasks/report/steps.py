"""The report step: render the study report from what the run published, as HTML and Markdown.

Outputs belong to the triangulation phase (the report closes it): report.html (self-contained,
figures embedded), report.md and report.contents (which section shows what, from which data).
The run's own facts (id, code version, inputs, phase records, counts) arrive in `inp.run`, so the
report names its run and is never cached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from schemas.datasets.survey import FIGURES
from schemas.datasets.triangulation import CONVERGENCE, REPORT_CONTENTS, REPORT_HTML, REPORT_MD
from tasks.report.content import FIGURE_TYPES, Provenance, build_report, contents
from tasks.report.render import render_html, render_markdown
from tasks.step import Blob, RunFacts, StepInput, StepOutput

PHASE = "triangulation"


def this_phase(
    phases: Sequence[Mapping[str, Any]], run_id: str, convergence: pl.DataFrame | None
) -> list[dict[str, Any]]:
    """Phase records with triangulation marked completed (it is finishing now) and its key figures."""
    summary: dict[str, Any] = {}
    if convergence is not None:
        codes = convergence.get_column("convergence").to_list()
        summary = {"propositions": convergence.height,
                   **{c.replace(" ", "_"): codes.count(c) for c in sorted(set(codes))}}
    records = [dict(p) for p in phases if p.get("phase") != PHASE]
    records.append({"phase": PHASE, "status": "completed", "run_id": run_id, "summary": summary})
    return records


def figures(blobs: Mapping[str, Blob]) -> list[Blob]:
    """The published figures among a step's blobs, by dataset name."""
    return [b for name, b in sorted(blobs.items()) if FIGURES.matches(name) and b.media_type in FIGURE_TYPES]


def provenance(run: RunFacts) -> Provenance:
    """What the run was: id, code version, configuration hash and its inputs in name order."""
    return Provenance(run_id=run.run_id, code_version=run.code_version, config_sha256=run.config_sha256,
                      inputs=tuple(sorted(run.inputs)))


def report(inp: StepInput) -> StepOutput:
    """Render the study report from every earlier table, the figures and the run's phase records."""
    run = inp.run
    built = build_report(
        inp.config, this_phase(run.phases, run.run_id, inp.maybe(CONVERGENCE)), inp.tables,
        figures(inp.blobs), provenance(run), run.inputs_per_phase, run.outputs_per_phase,
    )
    html = render_html(built).encode("utf-8")
    md = render_markdown(built).encode("utf-8")
    toc = contents(built)
    summary: dict[str, float | int | str] = {
        "report_sections": toc.height,
        "report_figures": len(built.figures),
        "report_html_bytes": len(html),
    }
    markdown = "\n".join([
        "## Study report",
        f"`{REPORT_HTML.name}` ({len(html)} bytes, {len(built.figures)} figures embedded) and "
        f"`{REPORT_MD.name}` of run `{run.run_id}`.",
    ])
    return StepOutput(
        tables={REPORT_CONTENTS: toc}, files={REPORT_HTML: html, REPORT_MD: md},
        summary=summary, markdown=markdown,
    )
