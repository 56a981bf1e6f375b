"""Publishing phase summaries as Prefect artifacts (the flows' window in the Prefect UI)."""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks.phase import PhaseResult


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
