"""Files a phase could not read go to quarantine/<run-id>/ with a report saying why."""

from __future__ import annotations

import json
import re

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.context import RunContext
from tasks.storage.catalog import quarantine_key, safe_name
from tasks.storage.runs import phase_inputs


def blamed_inputs(ctx: RunContext, phase: str, error: str) -> list[str]:
    """The phase's inputs whose file name the error message names."""
    prefixes = phase_inputs(ctx.config())[phase]
    return [
        rec.name
        for rec in ctx.inputs
        if rec.name.startswith(prefixes) and rec.original_name and rec.original_name in error
    ]


def quarantine_files(ctx: RunContext, phase: str, error: str) -> list[str]:
    """Copy the unreadable inputs of a failed phase to quarantine/ with a JSON report."""
    keys: list[str] = []
    store = ctx.store()
    for name in blamed_inputs(ctx, phase, error):
        rec = ctx.input(name)
        stem = f"files.{phase}.{re.sub(r'[^a-z0-9_]', '_', name.lower())}"
        key = quarantine_key(ctx.run_id, stem, ext=safe_name(rec.original_name).rsplit(".", 1)[-1])
        store.put(key, store.get(rec.key))
        report = {
            "run_id": ctx.run_id,
            "phase": phase,
            "input": name,
            "original_name": rec.original_name,
            "sha256": rec.sha256,
            "raw_key": rec.key,
            "error": error,
        }
        store.put(
            quarantine_key(ctx.run_id, stem, ext="report.json"),
            json.dumps(report, indent=2, sort_keys=True).encode(),
        )
        keys.append(key)
    return keys


quarantine_files_task = task(name="quarantine-files", cache_policy=NO_CACHE)(quarantine_files)
