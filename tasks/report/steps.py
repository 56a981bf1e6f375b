"""The report step: read what the run published, render the study report as HTML and Markdown.

Outputs belong to the triangulation phase (the report closes it): report.html (self-contained,
figures embedded), report.md and report.contents (which section shows what, from which data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.manifest import OutputRecord
from tasks.context import RunContext
from tasks.phase import PhaseResult
from tasks.report.content import FIGURE_TYPES, Figure, Provenance, build_report, contents
from tasks.report.render import render_html, render_markdown
from tasks.storage.runs import code_version, config_sha256, phase_inputs

PHASE = "triangulation"
SURVEY_SUFFIXES = ("coverage", "estimates", "change", "freetext")
CASE_TABLES = ("cases.selection", "cases.framework", "cases.matrix", "cases.theme_presence", "cases.reliability",
               "cases.quotes")
TRIANGULATION_TABLES = ("triangulation.convergence", "triangulation.joint_displays")


def wanted_tables(config_waves: Sequence[str]) -> list[str]:
    """The datasets the report reads (those present upstream are read)."""
    survey = [f"survey.{w}.{s}" for w in config_waves for s in SURVEY_SUFFIXES]
    return [*survey, "scoping.area_ranking", *CASE_TABLES, *TRIANGULATION_TABLES]


def inputs_per_phase(ctx: RunContext) -> dict[str, int]:
    """How many input files each phase reads."""
    return {
        phase: sum(1 for rec in ctx.inputs if any(rec.name.startswith(p) for p in prefixes))
        for phase, prefixes in phase_inputs(ctx.config()).items()
    }


def outputs_per_phase(upstream: Mapping[str, OutputRecord]) -> dict[str, tuple[int, int]]:
    """Per phase: outputs published and table rows written."""
    out: dict[str, tuple[int, int]] = {}
    for rec in upstream.values():
        n, rows = out.get(rec.phase, (0, 0))
        out[rec.phase] = (n + 1, rows + (rec.rows or 0))
    return out


def _this_phase(phases: Sequence[Mapping[str, Any]], run_id: str, tables: Mapping[str, pl.DataFrame]) -> list[dict[str, Any]]:
    """Phase records with triangulation marked completed (it is finishing now) and its key figures."""
    conv = tables.get("triangulation.convergence")
    summary: dict[str, Any] = {}
    if conv is not None:
        codes = conv.get_column("convergence").to_list()
        summary = {"propositions": conv.height, **{c.replace(" ", "_"): codes.count(c) for c in sorted(set(codes))}}
    records = [dict(p) for p in phases if p.get("phase") != PHASE]
    records.append({"phase": PHASE, "status": "completed", "run_id": run_id, "summary": summary})
    return records


def report_step(
    ctx: RunContext, upstream: dict[str, OutputRecord], phases: list[dict[str, Any]]
) -> PhaseResult:
    """Render and publish the study report from every earlier output and the phase records."""
    cfg = ctx.config()
    waves = sorted(cfg.survey.waves, key=lambda w: cfg.survey.waves[w].phase)
    tables = {name: ctx.read_table(upstream[name]) for name in wanted_tables(waves) if name in upstream}
    store = ctx.store()
    figures = [
        Figure(dataset=rec.dataset, media_type=rec.media_type, data=store.get(rec.key), key=rec.key)
        for rec in sorted(upstream.values(), key=lambda r: r.dataset)
        if rec.media_type in FIGURE_TYPES
    ]
    provenance = Provenance(
        run_id=ctx.run_id,
        code_version=code_version(),
        config_sha256=config_sha256(ctx.config_path),
        inputs=tuple(sorted((rec.name, rec.original_name, rec.sha256) for rec in ctx.inputs)),
    )
    report = build_report(
        cfg, _this_phase(phases, ctx.run_id, tables), tables, figures, provenance,
        inputs_per_phase(ctx), outputs_per_phase(upstream),
    )
    html = render_html(report).encode("utf-8")
    md = render_markdown(report).encode("utf-8")
    toc = contents(report)
    outputs = [
        ctx.write_bytes("report.html", html, "html", "text/html; charset=utf-8", PHASE),
        ctx.write_bytes("report.md", md, "md", "text/markdown; charset=utf-8", PHASE),
        ctx.write_table("report.contents", toc, PHASE),
    ]
    summary: dict[str, float | int | str] = {
        "report_sections": toc.height,
        "report_figures": len(report.figures),
        "report_html_bytes": len(html),
    }
    markdown = "\n".join([
        "## Study report",
        f"`{outputs[0].key}` ({len(html)} bytes, {len(report.figures)} figures embedded) and `{outputs[1].key}`.",
    ])
    return PhaseResult(phase=PHASE, outputs=outputs, summary=summary, markdown=markdown)


report_task = task(name="report", cache_policy=NO_CACHE)(report_step)
