"""What a phase step returns to its flow: outputs for the manifest, figures for the artifact."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.manifest import OutputRecord


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

    def by_dataset(self) -> dict[str, OutputRecord]:
        """Outputs keyed by dataset name."""
        return {o.dataset: o for o in self.outputs}
