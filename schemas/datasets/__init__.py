"""The dataset registry: every dataset a run publishes, declared once.

A `Dataset` names a logical dataset ("survey.{wave}.estimates"), its pandera model, the step
that produces it, its phase and how it is stored. The catalog turns a resolved name into a store
key, the step runner validates through `model_for`, the phase graph is derived from which step
produces what, and `study graph` draws the registry. Code refers to datasets through the
constants declared in the strand modules (`schemas.datasets.survey`, …), never by spelling
their names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import pandera.polars as pa

# "derived": a small frame the quality gate computes in memory from a phase's tables only to check
# it (per-site counts, coders per source); it has no contract and is never stored.
Kind = Literal["table", "figure", "file", "derived"]
# A phase family: the phase whose steps produce the dataset; "survey" means the wave's phase,
# "any" a dataset every phase publishes (its data-quality results).
Family = Literal["scoping", "survey", "case_studies", "triangulation", "any"]

PARQUET = "application/vnd.apache.parquet"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
STRAND_MODULES: tuple[str, ...] = (
    "schemas.datasets.sites",
    "schemas.datasets.survey",
    "schemas.datasets.qualitative",
    "schemas.datasets.triangulation",
    "schemas.datasets.quality",
)


@dataclass(frozen=True)
class Dataset:
    """One logical dataset: name pattern, contract, producer, phase family and storage."""

    name: str
    producer: str
    family: Family
    model: type[pa.DataFrameModel] | None = None
    kind: Kind = "table"
    # Store extensions and media types: a figure is stored twice (PNG and SVG).
    formats: tuple[tuple[str, str], ...] = (("parquet", PARQUET),)
    description: str = ""
    # Passed between steps rather than read by people (still validated and stored with the run).
    intermediate: bool = False

    def __post_init__(self) -> None:
        if self.kind == "table" and self.model is None:
            raise ValueError(f"dataset {self.name!r}: a table needs a pandera model")

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The `{…}` parts of the name, e.g. ("wave",)."""
        return tuple(_PLACEHOLDER.findall(self.name))

    def resolve(self, **parts: str) -> str:
        """The concrete dataset name, e.g. resolve(wave="w2014") → "survey.w2014.estimates"."""
        missing = [p for p in self.placeholders if p not in parts]
        if missing:
            raise KeyError(f"dataset {self.name!r} needs {', '.join(missing)}")
        return self.name.format(**{p: parts[p] for p in self.placeholders})

    def pattern(self) -> re.Pattern[str]:
        """A regular expression matching the dataset's concrete names."""
        body = _PLACEHOLDER.sub("[a-z0-9_]+", re.escape(self.name).replace(r"\{", "{").replace(r"\}", "}"))
        return re.compile(f"^{body}$")

    def matches(self, name: str) -> bool:
        """Whether a concrete name is an instance of this dataset."""
        return bool(self.pattern().match(name))

    def parts_of(self, name: str) -> dict[str, str]:
        """The placeholder values of a concrete name ({"wave": "w2014"})."""
        names = self.placeholders
        body = _PLACEHOLDER.sub("([a-z0-9_]+)", re.escape(self.name).replace(r"\{", "{").replace(r"\}", "}"))
        match = re.match(f"^{body}$", name)
        if match is None:
            raise KeyError(f"{name!r} is not an instance of dataset {self.name!r}")
        return dict(zip(names, match.groups(), strict=True))


def _declared(module: object) -> Iterator[Dataset]:
    for value in vars(module).values():
        if isinstance(value, Dataset):
            yield value


@lru_cache(maxsize=1)
def registry() -> tuple[Dataset, ...]:
    """Every declared dataset, in declaration order across the strand modules."""
    import importlib

    seen: dict[str, Dataset] = {}
    for name in STRAND_MODULES:
        for dataset in _declared(importlib.import_module(name)):
            if dataset.name in seen and seen[dataset.name] is not dataset:
                raise RuntimeError(f"dataset {dataset.name!r} declared twice")
            seen[dataset.name] = dataset
    return tuple(seen.values())


def dataset_for(name: str) -> Dataset:
    """The registry entry a concrete dataset name belongs to."""
    found = [d for d in registry() if d.matches(name)]
    # A literal name beats a pattern ("cases.codebook" over "cases.{figure}" style families).
    found.sort(key=lambda d: len(d.placeholders))
    if not found:
        raise KeyError(f"no dataset {name!r} is declared in schemas.datasets")
    return found[0]


def model_for(dataset: str) -> type[pa.DataFrameModel]:
    """The pandera model of a dataset; every published table must have one."""
    entry = dataset_for(dataset)
    if entry.model is None:
        raise KeyError(f"dataset {dataset!r} is a {entry.kind}, with no pandera model")
    return entry.model


def produced_by(step: str) -> tuple[Dataset, ...]:
    """The datasets a step produces, in declaration order."""
    return tuple(d for d in registry() if d.producer == step)


def producers() -> Mapping[str, Dataset]:
    """Dataset name pattern → entry (for documentation and checks)."""
    return {d.name: d for d in registry()}
