"""One timed `study run` in this process: `make bench` starts it fresh for every measurement.

`python -m tests.bench.run_study --config study.yaml --store DIR --out timings.json` runs the CLI's
`study run` exactly as a researcher would, with light wrappers that record when each phase, step
and quality gate starts and ends (wall clock, the thread it ran on). The wrappers only observe:
they call the real functions with the real arguments. Nothing here asserts a timing.
"""

from __future__ import annotations

import time

PROCESS_START = time.perf_counter()

import argparse  # noqa: E402
import functools  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

EVENTS: list[dict[str, Any]] = []
SUBMITTED: list[str] = []
_LOCK = threading.Lock()


def _record(kind: str, name: str, start: float, end: float, **extra: Any) -> None:
    with _LOCK:
        EVENTS.append(
            {"kind": kind, "name": name, "start": round(start - PROCESS_START, 4),
             "end": round(end - PROCESS_START, 4), "seconds": round(end - start, 4), **extra}
        )


def _timed(kind: str, name_of: Any, fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _record(kind, name_of(*args, **kwargs), t0, time.perf_counter())

    return wrapper


def instrument() -> None:
    """Wrap the study flow, each phase, each step's execution and each quality gate with timers."""
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    import flows.phases as phases
    import flows.steps as steps
    import flows.study as study
    from tasks.quality.steps import quality_gate_step

    steps.execute_step = _timed(
        "step", lambda ctx, step, wave, *a, **k: f"{step.name}[{wave}]" if wave else step.name,
        steps.execute_step,
    )
    original_step_task = steps.step_task

    def counted_step_task(step: Any, ctx: Any, wave: Any, settings: Any) -> Any:
        with _LOCK:
            SUBMITTED.append(f"{step.name}[{wave}]" if wave else step.name)
        return original_step_task(step, ctx, wave, settings)

    steps.step_task = counted_step_task
    phases._phase = _timed(
        "phase", lambda ctx, phase, *a, **k: phase, phases._phase  # type: ignore[arg-type]
    )
    phases.quality_gate_task = task(name="quality-gate", cache_policy=NO_CACHE)(
        _timed("gate", lambda ctx, result: result.phase, quality_gate_step)
    )
    study.study_flow = _timed("flow", lambda *a, **k: "study", study.study_flow)


RSS_SAMPLES: list[tuple[float, int]] = []


def _sample_rss(stop: threading.Event, every: float = 0.25) -> None:
    """Resident memory over time (from /proc), to tell which phases and steps hold the peak."""
    page = os.sysconf("SC_PAGE_SIZE")
    while not stop.wait(every):
        try:
            rss = int(Path("/proc/self/statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            return
        RSS_SAMPLES.append((round(time.perf_counter() - PROCESS_START, 2), rss))


def main() -> None:
    """Run `study run` once with timers; write the events, outcome and peak RSS as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    # A fixed key for generated bench data only (strong enough for the key check; not a secret).
    os.environ.setdefault("STUDYFLOW_PSEUDONYM_KEY", hashlib.sha256(b"studyflow bench").hexdigest())
    t_import = time.perf_counter()
    instrument()
    stop = threading.Event()
    threading.Thread(target=_sample_rss, args=(stop,), daemon=True, name="rss").start()
    from flows.cli import app

    imported = time.perf_counter()
    error: str | None = None
    try:
        code = app(["run", "--config", args.config, "--store", args.store], standalone_mode=False)
        if code not in (0, None):
            error = f"exit {code}"
    except SystemExit as exc:  # typer.Exit in standalone_mode=False surfaces as an exit code
        if exc.code not in (0, None):
            error = f"exit {exc.code}"
    except Exception as exc:  # noqa: BLE001 - recorded in the results, the bench goes on
        error = f"{type(exc).__name__}: {exc}"
    end = time.perf_counter()
    stop.set()
    Path(args.out).write_text(
        json.dumps(
            {
                "events": EVENTS,
                "steps_submitted": SUBMITTED,
                "rss_samples": RSS_SAMPLES,
                "error": error,
                "import_seconds": round(imported - t_import, 3),
                "process_seconds": round(end - PROCESS_START, 3),
                "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
