"""Which pandera model validates which logical dataset: one place per dataset.

Each schema module declares `DATASETS = {pattern: Model}`; patterns use `*` for one dotted
component (e.g. "survey.*.responses" for every wave).
"""

from __future__ import annotations

import importlib
from fnmatch import fnmatchcase
from functools import lru_cache

import pandera.polars as pa

SCHEMA_MODULES = (
    "schemas.sites",
    "schemas.survey",
    "schemas.qualitative",
    "schemas.triangulation",
    "schemas.report",
    "schemas.quality",
)


@lru_cache(maxsize=1)
def dataset_models() -> dict[str, type[pa.DataFrameModel]]:
    """All dataset patterns and their models."""
    merged: dict[str, type[pa.DataFrameModel]] = {}
    for name in SCHEMA_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        for pattern, model in getattr(module, "DATASETS", {}).items():
            if pattern in merged:
                raise RuntimeError(f"dataset pattern {pattern!r} declared twice")
            merged[pattern] = model
    return merged


def model_for(dataset: str) -> type[pa.DataFrameModel]:
    """The pandera model of a dataset; every published table must have one."""
    for pattern, model in dataset_models().items():
        if len(pattern.split(".")) == len(dataset.split(".")) and fnmatchcase(dataset, pattern):
            return model
    raise KeyError(f"no pandera model declared for dataset {dataset!r}")
