"""Publishing phase summaries as Prefect artifacts (the flows' window in the Prefect UI)."""

from __future__ import annotations

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from schemas.datasets import dataset_for
from schemas.datasets.quality import DATA_DOCS
from schemas.datasets.triangulation import REPORT_HTML
from schemas.manifest import Manifest
from tasks.phase import PhaseResult
from tasks.storage.catalog import run_prefix
from tasks.storage.store import object_url, open_store


def artifact_key(study_id: str, phase: str, kind: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes; same key = versioned history."""
    raw = f"{study_id}-{phase}-{kind}".lower()
    return "".join(ch if ch.isalnum() else "-" for ch in raw).strip("-")


def publish_phase_artifacts(study_id: str, result: PhaseResult) -> None:
    """A markdown summary, and a table of key figures, for one phase run."""
    outputs = "\n".join(
        f"| `{o.dataset}` | {o.rows if o.rows is not None else ''} | `{o.key}` |" for o in result.outputs
    )
    body = (
        f"{result.markdown}\n\n### Outputs\n\n| dataset | rows | key |\n|---|---:|---|\n{outputs}\n"
    )
    create_markdown_artifact(
        markdown=body,
        key=artifact_key(study_id, result.phase, "summary"),
        description=f"{result.phase}: what the phase did",
    )
    rows = result.table or [{"figure": k, "value": v} for k, v in sorted(result.summary.items())]
    if rows:
        create_table_artifact(
            table=rows,
            key=artifact_key(study_id, result.phase, "figures"),
            description=f"{result.phase}: key figures",
        )
    if result.checks:
        create_table_artifact(
            table=result.checks,
            key=artifact_key(study_id, result.phase, "quality"),
            description=f"{result.phase}: data-quality expectations, pass/fail",
        )


def _figures(summary: dict[str, float | int | str], limit: int = 6) -> str:
    shown = [f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in list(summary.items())[:limit]]
    return "; ".join(shown)


def _wave(step: dict[str, str]) -> str:
    return f" ({step['wave']})" if step.get("wave") else ""


def run_summary_markdown(manifest: Manifest, results: dict[str, PhaseResult], runner: str) -> str:
    """The parent run's summary: each phase ran / inherited / failed, steps executed or cached."""
    lines = [
        f"## Study run `{manifest.run_id}` ({'complete' if manifest.complete else 'incomplete'})",
        "",
        f"Task runner: {runner}. Previous complete run: {manifest.previous_run or 'none'}.",
        "",
        "| phase | status | from run | key figures |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {p.phase} | {p.status} | {p.run_id} | {p.error or _figures(p.summary)} |"
        for p in manifest.phases
    ]
    steps = [s for r in results.values() for s in r.steps]
    executed = [s for s in steps if s["status"] == "executed"]
    cached = [s for s in steps if s["status"] == "cached"]
    lines += ["", f"### Steps: {len(executed)} executed, {len(cached)} taken from the cache", ""]
    lines += [
        f"- `{s['step']}`{_wave(s)}: "
        f"cached from run {s['run_id']}"
        for s in cached
    ]
    inherited = [p for p in manifest.phases if p.status == "inherited"]
    if inherited:
        lines += ["", "### Inherited phases", ""]
        lines += [f"- {p.phase}: outputs of run {p.run_id}" for p in inherited]
    return "\n".join(lines)


def publish_run_artifacts(manifest: Manifest, results: dict[str, PhaseResult], runner: str) -> None:
    """The parent run's summary, and links to its report, its Data Docs and its run folder."""
    study = manifest.study_id
    create_markdown_artifact(
        markdown=run_summary_markdown(manifest, results, runner),
        key=artifact_key(study, "run", "summary"),
        description="What this study run did, phase by phase",
    )
    store = open_store(str(manifest.parameters.get("store_url", "")))
    links = [(artifact_key(study, "run", "folder"), object_url(store, run_prefix(manifest.run_id)),
              f"Run folder of {manifest.run_id}")]
    for out in manifest.outputs:
        entry = dataset_for(out.dataset)
        if entry is REPORT_HTML:
            links.append((artifact_key(study, "report", "html"), object_url(store, out.key), "Study report"))
        elif entry is DATA_DOCS:
            links.append((artifact_key(study, out.phase, "data-docs"), object_url(store, out.key),
                          f"Data Docs: {out.phase}"))
    for key, link, text in links:
        create_link_artifact(link=link, link_text=text, key=key, description=text)


def failure_markdown(run_id: str, failures: dict[str, str], steps: dict[str, list[str]]) -> str:
    """The failed run's artifact: each failed phase, the step its error names, its first error line.

    `steps` maps each phase to its step names; the step is the first of them the error mentions.
    """
    rows = []
    for phase, message in failures.items():
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        first = lines[0] if lines else "(no error message)"
        named = [s for s in steps.get(phase, []) if s in message]
        step = f"`{named[0]}`" if named else "(not named in the error)"
        rows.append(f"| {phase} | {step} | {first.replace('|', '&#124;')} |")
    return (
        f"## Run {run_id} failed\n\n`latest` still names the last complete run.\n\n"
        "| phase | step | first error line |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    )
