"""The run manifest: what a run read, with which code and parameters, and what it wrote."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputRecord(_Frozen):
    """One input file as stored under raw/."""

    name: str  # logical input name, e.g. "survey.w1.export"
    key: str
    sha256: str
    version: str
    size: int
    original_name: str


class OutputRecord(_Frozen):
    """One dataset, figure or document written by a run."""

    dataset: str
    phase: str
    key: str
    sha256: str
    size: int
    media_type: str
    rows: int | None = None
    run_id: str  # the run that produced it (an inherited output names an earlier run)


class PhaseRecord(_Frozen):
    """How a phase went in this run."""

    phase: str
    status: Literal["completed", "inherited", "failed", "skipped"]
    run_id: str
    summary: dict[str, float | int | str] = Field(default_factory=dict)
    error: str | None = None


class Manifest(_Frozen):
    """Everything needed to reproduce and audit a run."""

    study_id: str
    run_id: str
    created: str
    code_version: str
    config_sha256: str
    parameters: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    inputs: list[InputRecord]
    phases: list[PhaseRecord]
    outputs: list[OutputRecord]
    previous_run: str | None = None
    complete: bool
    # Rows and files this run quarantined (keys under quarantine/<run-id>/, same store and rules).
    quarantine: list[str] = Field(default_factory=list)

    def output(self, dataset: str) -> OutputRecord:
        """The record of one output dataset."""
        for rec in self.outputs:
            if rec.dataset == dataset:
                return rec
        raise KeyError(f"run {self.run_id} has no output {dataset!r}")


class LatestPointer(_Frozen):
    """Content of latest.json: the last complete run."""

    run_id: str
    manifest_key: str
    manifest_sha256: str
