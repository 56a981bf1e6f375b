"""Which input files a failed phase could not read (named by its error message)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from schemas.manifest import InputRecord


def blamed_inputs(
    inputs: Iterable[InputRecord], prefixes: Sequence[str], error: str
) -> list[InputRecord]:
    """The phase's inputs (by logical-name prefix) whose file name the error message names."""
    return [
        rec
        for rec in inputs
        if rec.name.startswith(tuple(prefixes)) and rec.original_name and rec.original_name in error
    ]


def quarantine_stem(phase: str, input_name: str) -> str:
    """The dataset-style name a quarantined input file is stored under."""
    return f"files.{phase}.{re.sub(r'[^a-z0-9_]', '_', input_name.lower())}"
