"""What a step is: one pure function with declared input and output datasets.

A phase is a list of steps. The step runner (`tasks.step_io`) reads a step's declared inputs
from the store, calls its function with a `StepInput`, validates and writes what the function
returns, and hands the records on. The function itself sees frames and bytes only: no store, no
Prefect, no file system.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from schemas.datasets import Dataset, produced_by
from schemas.manifest import OutputRecord
from schemas.study_config import StudyConfig

# Which wave's instance of a survey dataset a step reads: its own wave, the wave before it, the
# wave of the first survey phase (the case-selection frame), or every wave.
WaveSelector = Literal["this", "previous", "first", "all"]
Family = Literal["scoping", "survey", "case_studies", "triangulation"]


@dataclass(frozen=True)
class Use:
    """A dataset a step reads; optional ones are read when an earlier phase published them."""

    dataset: Dataset
    wave: WaveSelector = "this"
    optional: bool = False


@dataclass(frozen=True)
class RawFile:
    """One ingested input file: logical name, bytes and the name it had (for error messages)."""

    name: str
    data: bytes
    original_name: str


@dataclass(frozen=True)
class Blob:
    """A non-table dataset a step reads (a figure, a document): bytes, media type, store key."""

    dataset: str
    media_type: str
    data: bytes
    key: str


@dataclass(frozen=True)
class RunFacts:
    """Facts about the run a step may report (the study report's provenance)."""

    run_id: str = ""
    code_version: str = ""
    config_sha256: str = ""
    # (logical name, original file name, sha256) of every input of the run.
    inputs: tuple[tuple[str, str, str], ...] = ()
    # Each phase's record (phase, status, run_id, summary) as plain dicts.
    phases: tuple[Mapping[str, object], ...] = ()
    # Per phase: the input files it reads.
    inputs_per_phase: Mapping[str, int] = field(default_factory=dict)
    # Per phase: outputs published and table rows written.
    outputs_per_phase: Mapping[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class StepInput:
    """Everything a step function may look at, already read and validated."""

    config: StudyConfig
    wave: str | None = None
    tables: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    blobs: Mapping[str, Blob] = field(default_factory=dict)
    files: Mapping[str, RawFile] = field(default_factory=dict)
    # The pseudonymisation key, only for steps that declare they need it.
    key: bytes | None = None
    # Waves in phase order: previous/first selectors resolve against it.
    waves: tuple[str, ...] = ()
    run: RunFacts = field(default_factory=RunFacts)

    def name(self, dataset: Dataset, wave: str | None = None) -> str:
        """The concrete name of a dataset for this step's wave (or the wave given)."""
        parts = {"wave": wave or self.wave or ""} if "wave" in dataset.placeholders else {}
        return dataset.resolve(**parts)

    def table(self, dataset: Dataset, wave: str | None = None) -> pl.DataFrame:
        """A table the step declared; KeyError names it when it was not read."""
        name = self.name(dataset, wave)
        if name not in self.tables:
            raise KeyError(f"step input {name!r} was not read (declared and published upstream?)")
        return self.tables[name]

    def maybe(self, dataset: Dataset, wave: str | None = None) -> pl.DataFrame | None:
        """An optional table, or None when no earlier phase published it."""
        return self.tables.get(self.name(dataset, wave))

    def file(self, name: str) -> RawFile:
        """One raw input file by logical name."""
        if name not in self.files:
            raise KeyError(f"raw input {name!r} was not ingested for this step")
        return self.files[name]

    def files_with(self, prefix: str) -> list[RawFile]:
        """Raw input files whose logical name starts with a prefix, in name order."""
        return [self.files[n] for n in sorted(self.files) if n.startswith(prefix)]

    @property
    def previous_wave(self) -> str | None:
        """The wave before this one, in phase order."""
        if self.wave is None or self.wave not in self.waves:
            return None
        i = self.waves.index(self.wave)
        return self.waves[i - 1] if i > 0 else None


@dataclass(frozen=True)
class FigureFile:
    """One rendered figure: the `{figure}` part of its dataset name, its title, its files."""

    name: str
    title: str
    # Extension → bytes, one per format the dataset declares (png, svg).
    data: Mapping[str, bytes]


@dataclass(frozen=True)
class StepOutput:
    """What a step function returns; the runner writes it and checks it matches the registry."""

    tables: Mapping[Dataset, pl.DataFrame] = field(default_factory=dict)
    files: Mapping[Dataset, bytes] = field(default_factory=dict)
    figures: Mapping[Dataset, Sequence[FigureFile]] = field(default_factory=dict)
    # Input rows left out, by input table name: written to quarantine/, never published.
    quarantine: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # Key figures for the manifest and the phase artifact.
    summary: Mapping[str, float | int | str] = field(default_factory=dict)
    markdown: str = ""
    # Rows for the phase's table artifact.
    table: Sequence[Mapping[str, float | int | str | None]] = ()


class StepResult(BaseModel):
    """What one step run published (or, from the cache, what an earlier run published)."""

    model_config = ConfigDict(frozen=True)

    step: str
    phase: str
    wave: str | None = None
    run_id: str
    outputs: list[OutputRecord] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    summary: dict[str, float | int | str] = Field(default_factory=dict)
    markdown: str = ""
    table: list[dict[str, float | int | str | None]] = Field(default_factory=list)
    quarantined: list[str] = Field(default_factory=list)


StepFunction = Callable[[StepInput], StepOutput]


@cache
def load_function(function: str) -> StepFunction:
    """The step function a "module:function" reference names (imported on first use)."""
    module, _, name = function.partition(":")
    found: StepFunction = getattr(importlib.import_module(module), name)
    return found


@dataclass(frozen=True)
class Step:
    """One analysis step: a pure function, the datasets it reads, the files and config it uses."""

    name: str
    family: Family
    # "module:function": planning a run reads the declarations only; a step's module (and with it
    # scipy, matplotlib, the readers) is imported when the step first runs, not when a run starts.
    function: str
    uses: tuple[Use, ...] = ()
    # Raw inputs read, as logical-name prefixes ("survey.{wave}.export", "qual.scoping.").
    raw: tuple[str, ...] = ()
    # study.yaml sections the step reads: part of its cache key.
    config: tuple[str, ...] = ()
    needs_key: bool = False
    # Steps that only apply to some waves (the change needs an earlier wave).
    when: Callable[[StudyConfig, str | None], bool] | None = None
    # Steps whose output depends on the run itself (the report names it) are never cached.
    cacheable: bool = True

    @property
    def fn(self) -> StepFunction:
        """The step's function (its module imported on first use)."""
        return load_function(self.function)

    @property
    def module(self) -> str:
        """The module that defines the step's function (not imported)."""
        return self.function.partition(":")[0]

    @property
    def outputs(self) -> tuple[Dataset, ...]:
        """The datasets this step produces, from the registry."""
        return produced_by(self.name)

    def applies(self, config: StudyConfig, wave: str | None) -> bool:
        """Whether the step runs for this study (and wave)."""
        return self.when is None or self.when(config, wave)

    def raw_prefixes(self, wave: str | None) -> tuple[str, ...]:
        """The raw-input prefixes with the wave filled in."""
        return tuple(p.format(wave=wave or "") for p in self.raw)


def uses(*items: Dataset | Use) -> tuple[Use, ...]:
    """Normalise a step's inputs: a bare dataset is read for the step's own wave, required."""
    return tuple(i if isinstance(i, Use) else Use(i) for i in items)
