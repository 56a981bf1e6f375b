"""Run declarative check suites with Great Expectations Core 1.x and build offline Data Docs.

Great Expectations takes about 3 s to import, so it is imported only inside `run_checkpoint`;
importing this module is cheap. GX has no polars data source: frames are handed over as pandas.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from schemas.expectations import Check
from tasks.quality.offline_docs import make_offline, prune_unused_static

log = logging.getLogger(__name__)

SITE_NAME = "studyflow"
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "checkpoint": pl.String(),
    "dataset": pl.String(),
    "check": pl.String(),
    "expectation": pl.String(),
    "severity": pl.String(),
    "success": pl.Boolean(),
    "observed": pl.String(),
    "element_count": pl.Int64(),
    "unexpected_count": pl.Int64(),
    "why": pl.String(),
}
_GX_SEVERITY = {"error": "critical", "warn": "warning"}
_SHOWN_VALUES = 10


@dataclass(frozen=True)
class QualityReport:
    """Per-expectation results of one checkpoint, where its Data Docs are, and how long it took."""

    name: str
    results: pl.DataFrame
    # Local Data Docs folder (None once the docs live only in the store, at `docs_key`).
    docs_dir: Path | None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    docs_key: str | None = None

    @property
    def index_html(self) -> Path | None:
        """The local Data Docs index page, if the docs are still on disk."""
        return None if self.docs_dir is None else self.docs_dir / "index.html"

    def failures(self, severity: str | None = None) -> pl.DataFrame:
        """Failed expectations, optionally of one severity."""
        failed = self.results.filter(~pl.col("success"))
        return failed if severity is None else failed.filter(pl.col("severity") == severity)

    @property
    def passed(self) -> bool:
        """Whether no error-severity expectation failed."""
        return self.failures("error").is_empty()

    def summary(self) -> dict[str, int]:
        """Counts of expectations run, failed as errors and failed as warnings."""
        return {
            "expectations": self.results.height,
            "failed_error": self.failures("error").height,
            "failed_warn": self.failures("warn").height,
        }


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 300 else text[:297] + "..."


def _row_text(row: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.items())


def observed_text(result: Mapping[str, Any], exception: Mapping[str, Any] | None) -> str:
    """A short human-readable observed value from a GX expectation result."""
    if exception and exception.get("raised_exception"):
        return f"exception: {exception.get('exception_message')}"
    mismatched = (result.get("details") or {}).get("mismatched")
    if mismatched:
        return _short(mismatched)
    if "observed_value" in result:
        return _short(result["observed_value"])
    if "unexpected_count" in result:
        text = f"{result['unexpected_count']} of {result.get('element_count')} unexpected"
        rows = list(result.get("partial_unexpected_index_list") or [])[:_SHOWN_VALUES]
        if rows and all(isinstance(r, Mapping) for r in rows):
            shown = "; ".join(_row_text(r) for r in rows)
            return text + f": {shown}" if len(shown) <= 600 else text + f": {shown[:597]}..."
        values = list(result.get("partial_unexpected_list") or [])[:_SHOWN_VALUES]
        return text + (f", e.g. {_short(values)}" if values else "")
    return _short(dict(result)) if result else ""


def _exception_of(info: Any) -> dict[str, Any] | None:
    # GX reports a raised exception either flat or keyed by metric id.
    if not info:
        return None
    if "raised_exception" in info:
        return dict(info)
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return dict(value)
    return None


# Only GX's own element ids: a uuid in the data (REFI GUIDs in value sets) must stay as it is.
_UUID = re.compile(
    r"(?<=-collapse-body-)[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)
_LOAD_TIME = re.compile(r"(ge_load_time</span>.{0,400}?>)(\d{8}T\d{6}\.\d{6}Z)(<)", re.DOTALL)


def stabilise_docs(docs_dir: Path, run_time: datetime) -> None:
    """Replace the random element ids and batch load times GX writes, so rebuilds are identical."""
    stamp = run_time.strftime("%Y%m%dT%H%M%S.%fZ")
    for page in sorted(docs_dir.rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        rel = page.relative_to(docs_dir).as_posix()
        seen: dict[str, str] = {}

        def stable(m: re.Match[str], rel: str = rel, seen: dict[str, str] = seen) -> str:
            if m.group(0) not in seen:
                seen[m.group(0)] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rel}#{len(seen)}"))
            return seen[m.group(0)]

        new = _LOAD_TIME.sub(lambda m: m.group(1) + stamp + m.group(3), _UUID.sub(stable, html))
        if new != html:
            page.write_text(new, encoding="utf-8")


def _context(docs_dir: Path) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # No default temp docs site: only ours is built. Progress bars off (they go to stderr).
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        analytics_enabled=False,
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    # show_how_to_buttons=False: no "how to" hints for GX users in a study's archived docs.
    site: dict[str, Any] = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    context.add_data_docs_site(SITE_NAME, site)  # type: ignore[arg-type]
    return context


def _expectation(check: Check) -> Any:
    import great_expectations.expectations as gxe

    cls = getattr(gxe, check.expectation, None)
    if cls is None:
        raise ValueError(f"check {check.name!r}: no GX expectation class {check.expectation!r}")
    return cls(
        **dict(check.kwargs),
        severity=_GX_SEVERITY[check.severity],
        notes=check.why or None,
        meta={"check": check.name, "severity": check.severity},
    )


def run_checkpoint(
    name: str,
    frames: Mapping[str, pl.DataFrame],
    suites: Mapping[str, Sequence[Check]],
    docs_dir: Path,
    *,
    row_keys: Mapping[str, Sequence[str]] | None = None,
    run_time: datetime | None = None,
    build_docs: bool = True,
) -> QualityReport:
    """Validate each frame against its suite, build offline Data Docs in docs_dir, return results."""
    missing = sorted(set(suites) - set(frames))
    if missing:
        raise ValueError(f"checkpoint {name!r}: suites given for datasets with no frame: {missing}")
    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    timings["import"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    context = _context(docs_dir)
    source = context.data_sources.add_pandas(name="studyflow")
    timings["context"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    run_time = run_time or datetime.now(UTC)
    run_id = RunIdentifier(run_name=name, run_time=run_time)
    rows: list[dict[str, Any]] = []
    for dataset in sorted(suites):
        checks = list(suites[dataset])
        if not checks:
            continue
        by_name = {c.name: c for c in checks}
        if len(by_name) != len(checks):
            raise ValueError(f"suite {dataset!r} declares a check name twice")
        asset = source.add_dataframe_asset(name=dataset)
        batch = asset.add_batch_definition_whole_dataframe(dataset)
        suite = context.suites.add(gx.ExpectationSuite(name=dataset))
        for check in checks:
            suite.add_expectation(_expectation(check))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=dataset, data=batch, suite=suite)
        )
        result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
        keys = [c for c in (row_keys or {}).get(dataset, ()) if c in frames[dataset].columns]
        if keys:
            # Each unexpected value is reported with the columns naming its row.
            result_format["unexpected_index_column_names"] = keys
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{name}.{dataset}",
                validation_definitions=[definition],
                result_format=result_format,
            )
        )
        outcome = checkpoint.run(
            batch_parameters={"dataframe": frames[dataset].to_pandas()}, run_id=run_id
        )
        order = {c.name: i for i, c in enumerate(checks)}
        found = [r for sr in outcome.run_results.values() for r in sr.results]
        # Results in the suite's declared order (GX orders them by metric dependencies).
        for res in sorted(found, key=lambda r: order[r.expectation_config.meta["check"]]):
            check = by_name[res.expectation_config.meta["check"]]
            result = dict(res.result or {})
            rows.append(
                {
                    "checkpoint": name,
                    "dataset": dataset,
                    "check": check.name,
                    "expectation": check.expectation,
                    "severity": check.severity,
                    "success": bool(res.success),
                    "observed": observed_text(result, _exception_of(res.exception_info)),
                    "element_count": result.get("element_count"),
                    "unexpected_count": result.get("unexpected_count"),
                    "why": check.why,
                }
            )
    timings["checkpoint"] = time.perf_counter() - t0

    warnings: list[str] = []
    if build_docs:
        t0 = time.perf_counter()
        context.build_data_docs(site_names=[SITE_NAME])
        stabilise_docs(docs_dir, run_time)
        warnings = make_offline(docs_dir).warnings
        prune_unused_static(docs_dir)
        timings["docs"] = time.perf_counter() - t0

    results = pl.DataFrame(rows, schema=RESULT_SCHEMA)
    return QualityReport(
        name=name,
        results=results,
        docs_dir=docs_dir,
        timings={k: round(v, 3) for k, v in timings.items()},
        warnings=tuple(warnings),
    )
