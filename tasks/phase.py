"""What a phase step returns to its flow: outputs for the manifest, figures for the artifact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from schemas.manifest import OutputRecord

if TYPE_CHECKING:
    from tasks.step import StepResult


class PhaseResult(BaseModel):
    """The outcome of one phase step."""

    model_config = ConfigDict(frozen=True)

    phase: str
    outputs: list[OutputRecord]
    # Key figures (counts in/out, headline estimates) for the manifest and the artifact.
    summary: dict[str, float | int | str] = Field(default_factory=dict)
    # Markdown summarising what the phase did, published as a Prefect artifact by the flow.
    markdown: str = ""
    # Rows for a Prefect table artifact (list of flat dicts), optional.
    table: list[dict[str, float | int | str | None]] = Field(default_factory=list)
    # Data-quality results, one row per expectation (pass/fail), for a Prefect table artifact.
    checks: list[dict[str, float | int | str | bool | None]] = Field(default_factory=list)
    # Each step: executed in this run, or taken from the cache of the run that computed it.
    steps: list[dict[str, str]] = Field(default_factory=list)

    def by_dataset(self) -> dict[str, OutputRecord]:
        """Outputs keyed by dataset name."""
        return {o.dataset: o for o in self.outputs}


def phase_result(phase: str, results: Sequence[StepResult], run_id: str) -> PhaseResult:
    """One phase's result from its steps' results, in step order.

    Outputs are concatenated; summaries merged (a later step's key wins); markdown joined; the
    table artifact comes from the last step that set one; notes not already shown follow.
    """
    summary: dict[str, float | int | str] = {}
    table: list[dict[str, float | int | str | None]] = []
    for r in results:
        summary.update(r.summary)
        table = r.table or table
    markdown = "\n\n".join(r.markdown for r in results if r.markdown)
    # Notes are what readers tolerated or steps left out; each is shown once, in step order.
    notes = list(dict.fromkeys(n for r in results for n in r.notes if n not in markdown))
    if notes:
        markdown += "\n\n### Notes\n\n" + "\n".join(f"- {n}" for n in notes)
    return PhaseResult(
        phase=phase,
        outputs=[o for r in results for o in r.outputs],
        summary=summary,
        markdown=markdown,
        table=table,
        steps=[
            {"step": r.step, "wave": r.wave or "", "status": "executed" if r.run_id == run_id else "cached",
             "run_id": r.run_id}
            for r in results
        ],
    )
