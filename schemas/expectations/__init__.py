"""Declarative data-quality checks (Great Expectations Core 1.x) per published dataset.

One module per strand (`sites`, `survey`, `qualitative`) declares

- `SUITES = {dataset pattern: builder}`: a builder takes a `SuiteContext` and returns the list of
  `Check`s for that dataset (value sets come from study.yaml or from sibling tables);
- `DERIVED = {dataset pattern: deriver}` (optional): small aggregate frames computed in polars from
  the phase's tables (per-site counts, per-source coders, ...), validated by their own suites;
- `ROW_KEYS = {dataset pattern: columns}` (optional): columns naming a row, reported with every
  unexpected value so a failure says which site, role or segment it is about.

Patterns use `*` for one dotted component, as in `schemas.registry`. Nothing here imports Great
Expectations: `tasks.quality.gx` turns a `Check` into a GX expectation by its class name.
Every check has a stable name; study.yaml `quality.severity` overrides its default severity.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Literal, cast

import polars as pl

from schemas.study_config import StudyConfig

Severity = Literal["error", "warn"]
SEVERITIES: tuple[str, ...] = ("error", "warn")
# One-component datasets a bare `requires` name falls back to when it has no sibling.
TOP_LEVEL: frozenset[str] = frozenset({"sites"})
STRAND_MODULES: tuple[str, ...] = (
    "schemas.expectations.sites",
    "schemas.expectations.survey",
    "schemas.expectations.qualitative",
    "schemas.expectations.triangulation",
)


@dataclass(frozen=True)
class Check:
    """One expectation: its stable name, GX class, arguments, default severity and why it exists."""

    name: str
    expectation: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""
    severity: Severity = "error"
    # Datasets the check's arguments come from: a sibling's last component ("codebook", "sites":
    # "survey.w1.sites" next to "survey.w1.roster", else the top-level "sites") or a full name;
    # the check is skipped, and reported as skipped, when a sibling is not among the phase's frames.
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuiteContext:
    """What a builder may look at: the study config (None when documenting) and the phase's frames."""

    dataset: str
    config: StudyConfig | None = None
    frames: Mapping[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def documenting(self) -> bool:
        """True when building suites only to document them (no study, no data)."""
        return self.config is None

    @property
    def prefix(self) -> str:
        """The dataset name without its last component ("survey.w1" for "survey.w1.answers")."""
        return self.dataset.rsplit(".", 1)[0]

    @property
    def wave(self) -> str | None:
        """The survey wave key of a "survey.<wave>.<table>" dataset."""
        parts = self.dataset.split(".")
        return parts[1] if parts[0] == "survey" and len(parts) == 3 else None

    def sibling_name(self, table: str) -> str:
        """The dataset with the same prefix and last component `table` (else a top-level one)."""
        if "." in table:
            return table
        sibling = f"{self.prefix}.{table}"
        if table in TOP_LEVEL and sibling not in self.frames and table in self.frames:
            return table
        return sibling

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


def _matches(pattern: str, dataset: str) -> bool:
    return len(pattern.split(".")) == len(dataset.split(".")) and fnmatchcase(dataset, pattern)


@lru_cache(maxsize=1)
def _strands() -> tuple[dict[str, SuiteBuilder], dict[str, Deriver], dict[str, tuple[str, ...]]]:
    suites: dict[str, SuiteBuilder] = {}
    derived: dict[str, Deriver] = {}
    keys: dict[str, tuple[str, ...]] = {}
    for name in STRAND_MODULES:
        module = importlib.import_module(name)
        for target, source in ((suites, "SUITES"), (derived, "DERIVED"), (keys, "ROW_KEYS")):
            for pattern, value in getattr(module, source, {}).items():
                if pattern in target:
                    raise RuntimeError(f"{source} pattern {pattern!r} declared twice")
                target[pattern] = value  # type: ignore[assignment]
    return suites, derived, keys


def row_keys(dataset: str) -> tuple[str, ...]:
    """Columns that name a row of a dataset in failure reports (may be empty)."""
    for pattern, columns in _strands()[2].items():
        if _matches(pattern, dataset):
            return tuple(columns)
    return ()


def suite_builders() -> dict[str, SuiteBuilder]:
    """Every dataset pattern with a suite, and its builder."""
    return dict(_strands()[0])


def derivers() -> dict[str, Deriver]:
    """Every dataset pattern that yields derived aggregate frames, and its deriver."""
    return dict(_strands()[1])


def builder_for(dataset: str) -> SuiteBuilder | None:
    """The suite builder of a dataset, or None when it has no suite."""
    for pattern, builder in _strands()[0].items():
        if _matches(pattern, dataset):
            return builder
    return None


def derive_frames(
    frames: Mapping[str, pl.DataFrame], config: StudyConfig | None
) -> dict[str, pl.DataFrame]:
    """Aggregate frames derived from the given frames (not including the inputs)."""
    out: dict[str, pl.DataFrame] = {}
    for dataset in sorted(frames):
        for pattern, deriver in _strands()[1].items():
            if _matches(pattern, dataset):
                out.update(deriver(SuiteContext(dataset, config, frames)))
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


def documented_suites() -> dict[str, list[Check]]:
    """Every pattern's checks as built with no study and no data (for the docs page)."""
    return {p: b(SuiteContext(p)) for p, b in _strands()[0].items()}


def known_check_names() -> set[str]:
    """Every check name study.yaml `quality.severity` may refer to."""
    return {c.name for checks in documented_suites().values() for c in checks}

