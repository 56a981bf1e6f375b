"""Declarative data-quality checks (Great Expectations Core 1.x) per registry dataset.

One module per strand (`sites`, `survey`, `qualitative`, `triangulation`) declares, keyed by the
registry's `Dataset` constants (`schemas.datasets.*`):

- `SUITES = {dataset: builder}`: a builder takes a `SuiteContext` and returns the list of
  `Check`s for that dataset (value sets come from study.yaml or from sibling tables);
- `DERIVED = {dataset: (deriver, ...)}` (optional): small aggregate frames computed in polars from
  the phase's tables (per-site counts, per-source coders, ...), validated by their own suites; each
  derived frame is a registry dataset of kind "derived" (`schemas.datasets.quality`);
- `ROW_KEYS = {dataset: columns}` (optional): columns naming a row, reported with every
  unexpected value so a failure says which site, role or segment it is about.

A concrete dataset name finds its suite through the registry (`dataset_for`); a bare top-level
table (`TOP_LEVEL`, the study's "sites" frame) is checked as the dataset it stands for. Nothing
here imports Great Expectations: `tasks.quality.gx` turns a `Check` into a GX expectation by its
class name. Every check has a stable name; study.yaml `quality.severity` overrides its default
severity.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal, cast

import polars as pl

from schemas.datasets import Dataset, dataset_for, producers, registry
from schemas.datasets.sites import SITES
from schemas.study_config import StudyConfig

Severity = Literal["error", "warn"]
SEVERITIES: tuple[str, ...] = ("error", "warn")
# Bare tables a phase may hold besides registry datasets (the study-wide site frame): each is
# checked as the dataset it stands for, and a `requires` sibling of that name falls back to it.
TOP_LEVEL: Mapping[str, Dataset] = {"sites": SITES}
STRAND_MODULES: tuple[str, ...] = (
    "schemas.expectations.sites",
    "schemas.expectations.survey",
    "schemas.expectations.qualitative",
    "schemas.expectations.triangulation",
)


def entry_for(name: str) -> Dataset | None:
    """The registry dataset a concrete name is checked as (None when the registry has none)."""
    if name in TOP_LEVEL:
        return TOP_LEVEL[name]
    try:
        return dataset_for(name)
    except KeyError:
        return None


@dataclass(frozen=True)
class Check:
    """One expectation: its stable name, GX class, arguments, default severity and why it exists."""

    name: str
    expectation: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""
    severity: Severity = "error"
    # Tables the check's arguments come from, each by a sibling's last name component ("codebook";
    # "sites": a wave's site table next to its roster, else the top-level "sites" frame); the
    # check is skipped, and reported as skipped, when one is not among the phase's frames.
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuiteContext:
    """What a builder may look at: the study config (None when documenting) and the phase's frames."""

    # A concrete dataset name, or a registry name pattern when documenting.
    dataset: str
    config: StudyConfig | None = None
    frames: Mapping[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def documenting(self) -> bool:
        """True when building suites only to document them (no study, no data)."""
        return self.config is None

    @property
    def wave(self) -> str | None:
        """The survey wave key of a dataset whose registry name has a `{wave}`."""
        entry = entry_for(self.dataset)
        if entry is None or "wave" not in entry.placeholders or not entry.matches(self.dataset):
            return None
        return entry.parts_of(self.dataset)["wave"]

    def sibling_name(self, table: str) -> str:
        """The registry dataset next to this one named `table` (else a top-level table of that name).

        Next to a wave's roster, "sites" is that wave's site table: the registry dataset whose
        name differs only in its last component, with the same placeholders filled in.
        """
        entry = producers().get(self.dataset) or entry_for(self.dataset)
        if entry is None or not (entry.name == self.dataset or entry.matches(self.dataset)):
            raise KeyError(f"{self.dataset!r} is not a registry dataset: it has no siblings")
        sibling = producers().get(f"{entry.name.rsplit('.', 1)[0]}.{table}")
        if sibling is None:
            # A renamed or misspelt sibling must fail loudly, not skip its checks forever.
            raise KeyError(f"{entry.name!r} has no registry sibling {table!r}")
        # A registry name pattern (documenting) has pattern siblings.
        name = sibling.name if entry.name == self.dataset else sibling.resolve(**entry.parts_of(self.dataset))
        if table in TOP_LEVEL and name not in self.frames and table in self.frames:
            return table
        return name

    def sibling(self, table: str) -> pl.DataFrame | None:
        """A sibling table among the phase's frames, if present."""
        return self.frames.get(self.sibling_name(table))

    def values(self, table: str, column: str) -> list[Any]:
        """Sorted distinct non-null values of a sibling's column ([] when absent)."""
        frame = self.frames.get(self.sibling_name(table))
        if frame is None or column not in frame.columns:
            return []
        return sorted(frame.get_column(column).drop_nulls().unique().to_list())


SuiteBuilder = Callable[[SuiteContext], list[Check]]
Deriver = Callable[[SuiteContext], dict[str, pl.DataFrame]]


@dataclass(frozen=True)
class Declared:
    """Every strand's declarations, keyed by registry dataset."""

    suites: Mapping[Dataset, SuiteBuilder]
    derived: Mapping[Dataset, tuple[Deriver, ...]]
    row_keys: Mapping[Dataset, tuple[str, ...]]


@lru_cache(maxsize=1)
def declared() -> Declared:
    """The strand modules' SUITES, DERIVED and ROW_KEYS merged; each key a registry dataset."""
    known = set(registry())
    merged: dict[str, dict[Dataset, Any]] = {"SUITES": {}, "DERIVED": {}, "ROW_KEYS": {}}
    for name in STRAND_MODULES:
        module = importlib.import_module(name)
        for source, target in merged.items():
            for dataset, value in getattr(module, source, {}).items():
                if dataset not in known:
                    raise RuntimeError(f"{name}.{source}: {dataset.name!r} is not in the registry")
                if dataset in target:
                    raise RuntimeError(f"{source} of {dataset.name!r} declared twice")
                target[dataset] = tuple(value) if source != "SUITES" else value
    return Declared(merged["SUITES"], merged["DERIVED"], merged["ROW_KEYS"])


def row_keys(dataset: str) -> tuple[str, ...]:
    """Columns that name a row of a dataset in failure reports (may be empty)."""
    entry = entry_for(dataset)
    return declared().row_keys.get(entry, ()) if entry is not None else ()


def suite_builders() -> dict[Dataset, SuiteBuilder]:
    """Every dataset with a suite, and its builder."""
    return dict(declared().suites)


def derivers() -> dict[Dataset, tuple[Deriver, ...]]:
    """Every dataset that yields derived aggregate frames, and its derivers."""
    return dict(declared().derived)


def builder_for(dataset: str) -> SuiteBuilder | None:
    """The suite builder of a concrete dataset name, or None when it has no suite."""
    entry = entry_for(dataset)
    return declared().suites.get(entry) if entry is not None else None


def is_checked(dataset: str) -> bool:
    """Whether a concrete dataset has a suite or yields derived frames (the gate reads it)."""
    entry = entry_for(dataset)
    return entry is not None and (entry in declared().suites or entry in declared().derived)


def derive_frames(
    frames: Mapping[str, pl.DataFrame], config: StudyConfig | None
) -> dict[str, pl.DataFrame]:
    """Aggregate frames derived from the given frames (not including the inputs)."""
    out: dict[str, pl.DataFrame] = {}
    for dataset in sorted(frames):
        entry = entry_for(dataset)
        for deriver in declared().derived.get(entry, ()) if entry is not None else ():
            derived = deriver(SuiteContext(dataset, config, frames))
            for name in derived:
                found = entry_for(name)
                if found is None or found.kind != "derived":
                    raise RuntimeError(
                        f"{deriver.__name__} derived {name!r}, not a registry dataset of kind derived"
                    )
            out.update(derived)
    return out


def with_severity(checks: Iterable[Check], overrides: Mapping[str, str]) -> list[Check]:
    """Checks with study.yaml `quality.severity` overrides applied by check name."""
    out = []
    for check in checks:
        sev = overrides.get(check.name, check.severity)
        if sev not in SEVERITIES:
            raise ValueError(f"quality.severity[{check.name!r}] = {sev!r}: expected error or warn")
        out.append(replace(check, severity=cast(Severity, sev)) if sev != check.severity else check)
    return out


def build_suites(
    frames: Mapping[str, pl.DataFrame],
    config: StudyConfig | None,
    overrides: Mapping[str, str] | None = None,
) -> tuple[dict[str, list[Check]], list[tuple[str, Check]]]:
    """Suites for every frame that has one, and the (dataset, check) pairs skipped for a sibling."""
    suites: dict[str, list[Check]] = {}
    skipped: list[tuple[str, Check]] = []
    for dataset in sorted(frames):
        builder = builder_for(dataset)
        if builder is None:
            continue
        ctx = SuiteContext(dataset, config, frames)
        kept = []
        for check in builder(ctx):
            if all(ctx.sibling_name(t) in frames for t in check.requires):
                kept.append(check)
            else:
                skipped.append((dataset, check))
        if kept:
            suites[dataset] = with_severity(kept, overrides or {})
    return suites, skipped


def documented_suites() -> dict[Dataset, list[Check]]:
    """Every dataset's checks as built with no study and no data (for the docs page)."""
    return {d: b(SuiteContext(d.name)) for d, b in declared().suites.items()}


def known_check_names() -> set[str]:
    """Every check name study.yaml `quality.severity` may refer to."""
    return {c.name for checks in documented_suites().values() for c in checks}
