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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from schemas.expectations import Check
from tasks.frames import as_pandas
from tasks.quality.native_checks import ROW_CHECKS, evaluate, natively_checkable
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


_VIEWS = "tasks.quality.gx_views"
_CACHED_PAGE_VIEW = {"module_name": _VIEWS, "class_name": "CachedJinjaPageView"}
_CACHED_INDEX_VIEW = {"module_name": _VIEWS, "class_name": "CachedJinjaIndexPageView"}


def _keep_in_memory() -> None:
    """Stand-in for the ephemeral context's save of its own configuration (nothing reads it)."""


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
    # An ephemeral context keeps its configuration in memory, yet GX serialises all of it to YAML
    # into an in-memory store after every added data source, asset and batch definition (a sixth
    # of a demo gate); nothing reads that copy back, so this context skips writing it.
    context._save_project_config = _keep_in_memory  # type: ignore[method-assign]
    # show_how_to_buttons=False: no "how to" hints for GX users in a study's archived docs.
    site: dict[str, Any] = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "view": _CACHED_INDEX_VIEW},
        # GX's own views with templates compiled once per process (tasks/quality/gx_views.py).
        "site_section_builders": {
            section: {"view": _CACHED_PAGE_VIEW} for section in ("expectations", "validations", "profiling")
        },
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


# Frames up to this many rows go to GX whole; larger ones are checked natively on every row and
# GX validates a systematic sample of GX_SAMPLE_ROWS rows for the Data Docs (docs/quality-checks.md).
GX_FULL_ROWS = 200_000
GX_SAMPLE_ROWS = 20_000


def systematic_sample(frame: pl.DataFrame, rows: int) -> pl.DataFrame:
    """Every k-th row (k = ceil(height / rows)), from the first: deterministic and spread evenly."""
    step = max(1, -(-frame.height // rows))
    return frame.gather_every(step)


# An in-set check with a larger value set is shown on the sample through a flag column computed
# by polars against the whole set: GX copies its configuration many times per validation and the
# cost grows with the set (a national roster's site ids).
GX_MAX_VALUE_SET = 100


def sampled_checks(
    checks: Sequence[Check], native: Mapping[str, Mapping[str, Any]], sample: pl.DataFrame, height: int
) -> tuple[pl.DataFrame, list[Check]]:
    """The row checks as GX runs them on the sample, each noting what the gate found on every row.

    The sample's verdict on each check is the verdict on those rows; the whole-table checks (row
    counts, means, distinct sets, columns) are evaluated natively only and are not shown here.
    """
    out: list[Check] = []
    flags: list[pl.Expr] = []
    for check in checks:
        if check.expectation not in ROW_CHECKS:
            continue
        kwargs = dict(check.kwargs)
        how = f"Great Expectations on a systematic sample of {sample.height:,} rows"
        if check.expectation == "ExpectColumnValuesToBeInSet" and len(kwargs["value_set"]) > GX_MAX_VALUE_SET:
            flag = f"{kwargs['column']} in value set ({len(kwargs['value_set']):,} values)"
            dtype = sample.schema[kwargs["column"]]
            allowed = pl.Series(list(kwargs["value_set"]), strict=False).cast(dtype, strict=False)
            flags.append(
                pl.when(pl.col(kwargs["column"]).is_null()).then(None)
                .otherwise(pl.col(kwargs["column"]).is_in(allowed.drop_nulls().implode())).alias(flag)
            )
            kwargs = {"column": flag, "value_set": [True]}
            how += f", membership of the {len(check.kwargs['value_set']):,} values computed by polars"
        result = native[check.name]
        verdict = "passed" if result["success"] else "FAILED"
        why = (
            f"{check.why}\n\nAll {height:,} rows were checked by polars: {verdict} "
            f"({result['observed']}). Shown here: {how}."
        )
        out.append(replace(check, kwargs=kwargs, why=why.strip()))
    return (sample.with_columns(flags) if flags else sample), out


def _validate_with_gx(
    gx: Any, context: Any, source: Any, name: str, dataset: str, checks: Sequence[Check],
    frame: pl.DataFrame, keys: Sequence[str], run_id: Any,
) -> dict[str, dict[str, Any]]:
    """Run one dataset's suite through a GX checkpoint; results by check name."""
    by_name = {c.name: c for c in checks}
    asset = source.add_dataframe_asset(name=dataset)
    batch = asset.add_batch_definition_whole_dataframe(dataset)
    # The suite is stored once with all its expectations: adding them one by one stores the
    # suite again and compares each new expectation with every earlier one.
    suite = context.suites.add(
        gx.ExpectationSuite(name=dataset, expectations=[_expectation(c) for c in checks])
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=dataset, data=batch, suite=suite)
    )
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
    if keys:
        # Each unexpected value is reported with the columns naming its row.
        result_format["unexpected_index_column_names"] = list(keys)
    # The validation definition stores its result for the Data Docs itself; a checkpoint around
    # it (no actions) only re-checked and re-serialised the stored suite and definition.
    outcome = definition.run(
        batch_parameters={"dataframe": as_pandas(frame)}, result_format=result_format, run_id=run_id
    )
    found: dict[str, dict[str, Any]] = {}
    for res in outcome.results:
        check = by_name[res.expectation_config.meta["check"]]
        result = dict(res.result or {})
        found[check.name] = {
            "success": bool(res.success),
            "observed": observed_text(result, _exception_of(res.exception_info)),
            "element_count": result.get("element_count"),
            "unexpected_count": result.get("unexpected_count"),
        }
    missing = sorted(set(by_name) - set(found))
    if missing:
        raise RuntimeError(f"checkpoint {name!r}: GX returned no result for {dataset}: {missing}")
    return found


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
        frame = frames[dataset]
        keys = [c for c in (row_keys or {}).get(dataset, ()) if c in frame.columns]
        native: dict[str, dict[str, Any]] = {}
        gx_frame, gx_checks = frame, checks
        if frame.height > GX_FULL_ROWS and natively_checkable(checks):
            # Every row is checked by polars; GX validates a systematic sample for the Data Docs.
            native = {c.name: evaluate(c, frame, keys) for c in checks}
            gx_frame, gx_checks = sampled_checks(
                checks, native, systematic_sample(frame, GX_SAMPLE_ROWS), frame.height
            )
        found: dict[str, dict[str, Any]] = {}
        if gx_checks:
            found = _validate_with_gx(
                gx, context, source, name, dataset, gx_checks, gx_frame, keys, run_id
            )
        for check in checks:
            result = native.get(check.name) or found[check.name]
            rows.append(
                {
                    "checkpoint": name,
                    "dataset": dataset,
                    "check": check.name,
                    "expectation": check.expectation,
                    "severity": check.severity,
                    **result,
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
