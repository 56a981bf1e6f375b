"""The data-quality gate of a phase: run its suites, publish results and Data Docs, stop on errors."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.datasets.quality import DATA_DOCS, QUALITY_RESULTS
from schemas.expectations import (
    build_suites,
    derive_frames,
    is_checked,
    known_check_names,
    row_keys,
)
from schemas.manifest import OutputRecord
from tasks.context import RunContext
from tasks.phase import PhaseResult
from tasks.pipeline import phase_inputs
from tasks.quality.gx import QualityReport, run_checkpoint
from tasks.quality.quarantine_files import blamed_inputs, quarantine_stem
from tasks.storage.catalog import docs_prefix, quarantine_key, safe_name

log = logging.getLogger(__name__)
_SHOWN_FAILURES = 10


class QualityGateError(RuntimeError):
    """An error-severity expectation failed; the message names dataset, check and observed value."""

    def __init__(self, phase: str, failures: pl.DataFrame, docs_key: str | None = None) -> None:
        self.phase = phase
        self.failures = failures
        lines = [
            f"  - {r['dataset']}: {r['check']} ({r['expectation']}) failed; observed {r['observed']}"
            f"\n    why it matters: {r['why']}"
            for r in failures.head(_SHOWN_FAILURES).iter_rows(named=True)
        ]
        more = failures.height - min(failures.height, _SHOWN_FAILURES)
        tail = f"\n  … and {more} more" if more else ""
        where = f"\nData Docs: {docs_key}" if docs_key else ""
        super().__init__(
            f"phase {phase}: {failures.height} data-quality check(s) of severity error failed:\n"
            + "\n".join(lines)
            + tail
            + where
        )


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        from prefect.exceptions import MissingContextError
        from prefect.logging import get_run_logger

        try:
            return get_run_logger()
        except MissingContextError:
            return log
    except ImportError:  # pragma: no cover - prefect is a dependency
        return log


def _run_time(run_id: str) -> datetime:
    """The run's start time from its id (deterministic Data Docs for task retries)."""
    try:
        return datetime.strptime(run_id.split("-", 1)[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)


def docs_key(run_id: str, phase: str, relative: str) -> str:
    """Store key of one Data Docs file of a phase."""
    return f"{docs_prefix(run_id)}{phase}/{relative}"


def publish_docs(ctx: RunContext, phase: str, docs_dir: Path) -> OutputRecord:
    """Copy a built Data Docs tree into the store (one object per file); record its index page."""
    store = ctx.store()
    index: OutputRecord | None = None
    for path in sorted(p for p in docs_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(docs_dir).as_posix()
        info = store.put(docs_key(ctx.run_id, phase, relative), path.read_bytes())
        if relative == "index.html":
            index = OutputRecord(
                dataset=DATA_DOCS.resolve(phase=phase),
                phase=phase,
                key=info.key,
                sha256=info.sha256,
                size=info.size,
                media_type=DATA_DOCS.formats[0][1],
                run_id=ctx.run_id,
            )
    if index is None:
        raise RuntimeError(f"Data Docs of phase {phase} have no index.html in {docs_dir}")
    return index


def quality_gate(
    ctx: RunContext, phase: str, frames: Mapping[str, pl.DataFrame]
) -> tuple[QualityReport, list[OutputRecord]]:
    """Run the phase's suites, publish results + Data Docs, raise QualityGateError on errors."""
    logger = _logger()
    config = ctx.config()
    overrides = dict(config.quality.severity)
    unknown = sorted(set(overrides) - known_check_names())
    if unknown:
        logger.warning("study.yaml quality.severity names no known check: %s", ", ".join(unknown))
    all_frames = {**frames, **derive_frames(frames, config)}
    suites, skipped = build_suites(all_frames, config, overrides)
    for dataset, check in skipped:
        logger.info("quality %s: %s on %s skipped (needs %s)", phase, check.name, dataset,
                    ", ".join(check.requires))
    used = {d: all_frames[d] for d in suites}
    with tempfile.TemporaryDirectory(prefix=f"studyflow-docs-{phase}-") as tmp:
        docs_dir = Path(tmp)
        report = run_checkpoint(
            phase,
            used,
            suites,
            docs_dir,
            row_keys={d: row_keys(d) for d in used},
            run_time=_run_time(ctx.run_id),
        )
        for message in report.warnings:
            logger.warning("quality %s: %s", phase, message)
        results = ctx.write_table(QUALITY_RESULTS.resolve(phase=phase), report.results, phase)
        index = publish_docs(ctx, phase, docs_dir)
    report = replace(
        report,
        docs_dir=None,
        docs_key=index.key,
        skipped=tuple(f"{d}: {c.name}" for d, c in skipped),
    )
    for row in report.failures("warn").iter_rows(named=True):
        logger.warning("quality %s: %s on %s: observed %s", phase, row["check"], row["dataset"],
                       row["observed"])
    errors = report.failures("error")
    if not errors.is_empty():
        raise QualityGateError(phase, errors, index.key)
    return report, [results, index]


def quality_gate_step(ctx: RunContext, result: PhaseResult) -> PhaseResult:
    """Gate a finished phase: check its published tables, add results and Data Docs to it."""
    tables = {o.dataset: o for o in result.outputs if o.key.endswith(".parquet") and is_checked(o.dataset)}
    frames = {name: ctx.read_table(rec) for name, rec in sorted(tables.items())}
    report, records = quality_gate(ctx, result.phase, frames)
    warned = report.failures("warn").height
    checked = report.results.height
    summary = {**result.summary, "quality_checks": checked, "quality_warnings": warned}
    note = (
        f"\n\n### Data quality\n\n{checked} expectation(s) checked, {warned} warning(s); "
        f"Data Docs: `{records[-1].key}`"
    )
    checks = report.results.select(
        "dataset", "check", "severity", "success", pl.col("observed").cast(pl.String)
    ).to_dicts()
    return result.model_copy(
        update={
            "outputs": [*result.outputs, *records],
            "summary": summary,
            "markdown": result.markdown + note,
            "checks": checks,
        }
    )


quality_gate_task = task(name="quality-gate", cache_policy=NO_CACHE)(quality_gate_step)


def quarantine_files(ctx: RunContext, phase: str, error: str) -> list[str]:
    """Copy the inputs a failed phase could not read to quarantine/ with a JSON report."""
    store = ctx.store()
    keys: list[str] = []
    prefixes = phase_inputs(ctx.config())[phase]
    for rec in blamed_inputs(ctx.inputs, prefixes, error):
        stem = quarantine_stem(phase, rec.name)
        key = quarantine_key(ctx.run_id, stem, ext=safe_name(rec.original_name).rsplit(".", 1)[-1])
        store.put(key, store.get(rec.key))
        report = {
            "run_id": ctx.run_id,
            "phase": phase,
            "input": rec.name,
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
