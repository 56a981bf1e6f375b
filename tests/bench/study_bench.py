"""`make bench`: the whole study at demo scale and at national scale, against a pandas baseline.

`python -m tests.bench.study_bench` generates the demo study at scale 1 and at the large scale
(about 1,000,000 survey responses over two waves), then for each runs, every time in a fresh
process: the whole study on an empty store, a no-change re-run, a re-run after one changed
answer in the wave-2 export, and the pandas baseline (tests/bench/pandas_baseline.py). It writes
bench/results.json and bench/results.md (the table the README shows) with wall time, time per
phase, step and quality gate, orchestration versus task time, peak RSS, rows per second,
executed versus cached steps, the ratio to the pandas baseline, the machine and its load.

Generated data and stores live under .studyflow/bench (git-ignored); a generated study is
reused while its scale, seed and the generator's source are unchanged. Timings are recorded,
never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / ".studyflow" / "bench"
RESULTS = ROOT / "bench" / "results.json"
TABLE = ROOT / "bench" / "results.md"
SEED = 2013
# 210 sites per block; ~1,000 export rows and ~3,150 roster members per block over the two waves.
LARGE_SCALE = 1000
# Scoping and case-study projects in the first blocks only: 3,472 coded segments per block, so
# 288 blocks give about 1,000,000 segments.
LARGE_QUALITATIVE_SCALE = 288
CHANGED_VARIABLE = "influence_managers"
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def _machine() -> dict[str, Any]:
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) * 1024
    import polars as pl

    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_bytes": mem,
        "python": platform.python_version(),
        "polars": pl.__version__,
        "platform": platform.platform(),
    }


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _child(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """Run a fresh Python process; its wall seconds, exit code and peak RSS (its own tree)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env or os.environ.copy())
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, proc.returncode, usage.ru_maxrss * 1024


def _generator_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "tasks" / "demo").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def generate(scale: int, qualitative_scale: int) -> dict[str, Any]:
    """Generate (or reuse) the demo study at a scale; its config path, counts and timing."""
    out = BENCH_DIR / f"scale{scale}" / "study"
    stamp = out.parent / "generated.json"
    want = {"scale": scale, "qualitative_scale": qualitative_scale, "seed": SEED,
            "generator": _generator_hash()}
    if stamp.exists():
        known = json.loads(stamp.read_text())
        if {k: known.get(k) for k in want} == want:
            return {**known, "reused": True}
    shutil.rmtree(out, ignore_errors=True)
    counts_file = out.parent / "counts.json"
    code = (
        "import json, sys; from pathlib import Path; from tasks.demo.generator import generate_demo_study; "
        f"d = generate_demo_study(Path({str(out)!r}), seed={SEED}, scale={scale}, "
        f"qualitative_scale={qualitative_scale}); "
        f"Path({str(counts_file)!r}).write_text(json.dumps(d.counts))"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"bench: generating the demo study at scale {scale} …", flush=True)
    wall, rc, rss = _child(["-c", code])
    if rc != 0:
        raise SystemExit(f"generating scale {scale} failed (exit {rc})")
    info = {
        **want,
        "config": str(out / "study.yaml"),
        "counts": json.loads(counts_file.read_text()),
        "generate_seconds": round(wall, 2),
        "generate_peak_rss_bytes": rss,
        "bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()),
    }
    stamp.write_text(json.dumps(info, indent=1))
    return {**info, "reused": False}


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def summarise_run(timings: dict[str, Any], wall: float, rss_tree: int, rows: int) -> dict[str, Any]:
    """Per phase, step and gate seconds; task versus orchestration time; steps executed/cached."""
    events = timings["events"]
    flow = next((e for e in events if e["kind"] == "flow"), None)
    work = [(e["start"], e["end"]) for e in events if e["kind"] in ("step", "gate")]
    task_seconds = _union(work)
    flow_seconds = flow["seconds"] if flow else 0.0
    submitted = timings.get("steps_submitted", [])
    samples = timings.get("rss_samples", [])

    def peak(start: float, end: float) -> int | None:
        inside = [rss for t, rss in samples if start <= t <= end]
        return max(inside) if inside else None

    executed = [e["name"] for e in events if e["kind"] == "step"]
    return {
        "wall_seconds": round(wall, 2),
        "error": timings.get("error"),
        "startup_seconds": round(flow["start"], 2) if flow else None,
        "flow_seconds": round(flow_seconds, 2),
        "task_seconds": round(task_seconds, 2),
        "orchestration_seconds": round(flow_seconds - task_seconds, 2),
        "task_seconds_summed": round(sum(b - a for a, b in work), 2),
        "phases": {e["name"]: e["seconds"] for e in events if e["kind"] == "phase"},
        # Highest resident memory sampled while each phase ran (phases overlap: shared peaks).
        "phase_peak_rss_bytes": {
            e["name"]: peak(e["start"], e["end"]) for e in events if e["kind"] == "phase"
        },
        "gates": {e["name"]: e["seconds"] for e in events if e["kind"] == "gate"},
        "steps": {e["name"]: e["seconds"] for e in sorted(events, key=lambda e: e["start"]) if e["kind"] == "step"},
        "steps_submitted": len(submitted),
        "steps_executed": len(executed),
        "steps_cached": len(submitted) - len(executed),
        "peak_rss_bytes": timings["peak_rss_bytes"],
        "peak_rss_tree_bytes": rss_tree,
        "rows_per_second": round(rows / wall) if wall else None,
    }


def run_study(config: str, store: Path, label: str, api_url: str | None = None) -> dict[str, Any]:
    """`study run` in a fresh process, timed by tests/bench/run_study.py (on a running server if given)."""
    out = store.parent / f"timings-{label}.json"
    load_before = _load()
    env = {**os.environ, **({"PREFECT_API_URL": api_url} if api_url else {})}
    wall, rc, rss = _child(
        ["-m", "tests.bench.run_study", "--config", config, "--store", str(store), "--out", str(out)], env
    )
    if rc != 0 or not out.exists():
        return {"error": f"exit {rc}", "wall_seconds": round(wall, 2), "load_before": load_before}
    return {"timings": json.loads(out.read_text()), "wall": wall, "rss": rss, "load_before": load_before,
            "load_after": _load()}


def change_one_answer(export: Path, config: str) -> str:
    """Change one answer of the last submission in a Qualtrics export, in place; say which."""
    import yaml

    cfg = yaml.safe_load(Path(config).read_text())
    spec = cfg["survey"]["variables"][CHANGED_VARIABLE]
    data = export.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text, encoding = data[3 if bom else 0:].decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = data.decode("cp1252"), "cp1252"
    header = next(csv.reader([text[: text.index("\r\n")]]))
    wave = next(k for k, w in cfg["survey"]["waves"].items() if Path(w["export"]).name == export.name)
    column = header.index((spec.get("wave_columns") or {}).get(wave, spec["column"]))
    lines = text.split("\r\n")
    for i in range(len(lines) - 1, 3, -1):
        fields = next(csv.reader([lines[i]]), [])
        if len(fields) == len(header) and any(f.strip() for f in fields) and fields[column] in "12345":
            old = fields[column] or "(blank)"
            fields[column] = "2" if fields[column] != "2" else "3"
            buffer = io.StringIO(newline="")
            csv.writer(buffer, lineterminator="").writerow(fields)
            lines[i] = buffer.getvalue()
            body = "\r\n".join(lines).encode(encoding)
            export.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body)
            return f"{export.name} line {i + 1}: {header[column]} {old} -> {fields[column]}"
    raise RuntimeError(f"no submission with an answer to {CHANGED_VARIABLE} in {export}")


# Runs on a Prefect server that is already running (`make ui`), as a researcher re-running during
# fieldwork would: the same CLI, without starting the embedded API server per command.
ON_SERVER = ("full_on_server", "no_change_on_server")


@contextlib.contextmanager
def running_server() -> Iterator[str]:
    """A local Prefect server (`study server`) for the on-server runs; its API URL."""
    import socket

    from tests.services import answers

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(BENCH_DIR / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "server", "--port", str(port)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    try:
        if not answers(f"{api}/health", proc, timeout=180, every=0.5):
            raise SystemExit(f"the bench's Prefect server did not start (see {log.name})")
        yield api
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def bench_study(scale: int, qualitative_scale: int, runs: tuple[str, ...]) -> dict[str, Any]:
    """Generate, then run the study (full, no change, one changed wave-2 answer) and the baseline."""
    gen = generate(scale, qualitative_scale)
    config = gen["config"]
    counts = gen["counts"]
    rows = sum(v for k, v in counts.items() if k.endswith("_rows"))
    work = BENCH_DIR / f"scale{scale}" / "runs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    store = work / "store"
    result: dict[str, Any] = {"scale": scale, "generate": gen, "export_rows": rows, "runs": {}}
    for label in runs:
        print(f"bench: scale {scale}: {label} …", flush=True)
        if label == "baseline_pandas":
            out = work / "baseline.json"
            load_before = _load()
            wall, rc, rss = _child(
                ["-m", "tests.bench.pandas_baseline", "--config", config, "--out", str(out)]
            )
            base = json.loads(out.read_text()) if rc == 0 else {"error": f"exit {rc}"}
            result["runs"][label] = {
                "wall_seconds": round(wall, 2), "peak_rss_bytes": rss, "load_before": load_before,
                "wave_seconds": base.get("wave_seconds"), "results": base.get("results"),
                "error": base.get("error"),
            }
            continue
        restore: Path | None = None
        export = Path(config).parent / next(
            w["export"] for w in _waves(config) if w["phase"] == "survey_w2"
        )
        if label == "changed_wave2":
            restore = work / "export.orig"
            shutil.copyfile(export, restore)
            result["changed"] = change_one_answer(export, config)
        try:
            if label in ON_SERVER:
                with running_server() as api:
                    # The on-server pair shares its own store: full first, then no change.
                    raw = run_study(config, work / "store-on-server", label, api)
            else:
                raw = run_study(config, store, label)
        finally:
            if restore is not None:
                shutil.copyfile(restore, export)
                restore.unlink()
        if "timings" not in raw:
            result["runs"][label] = raw
            continue
        summary = summarise_run(raw["timings"], raw["wall"], raw["rss"], rows)
        result["runs"][label] = {**summary, "load_before": raw["load_before"], "load_after": raw["load_after"]}
    _ratios(result)
    return result


def _waves(config: str) -> list[dict[str, Any]]:
    import yaml

    return list(yaml.safe_load(Path(config).read_text())["survey"]["waves"].values())


def _ratios(result: dict[str, Any]) -> None:
    """Pandas baseline seconds over study seconds, per survey wave phase (above 1: study faster)."""
    base = result["runs"].get("baseline_pandas", {}).get("wave_seconds") or {}
    full = result["runs"].get("full", {})
    ratios: dict[str, float] = {}
    for phase, seconds in base.items():
        ours = (full.get("phases") or {}).get(phase)
        if ours:
            ratios[phase] = round(seconds / ours, 2)
    result["baseline_over_study_phase"] = ratios
    if full.get("wall_seconds") and result["runs"].get("changed_wave2", {}).get("wall_seconds"):
        result["changed_over_full"] = round(
            result["runs"]["changed_wave2"]["wall_seconds"] / full["wall_seconds"], 3
        )


def _gib(n: int | None) -> str:
    return f"{n / 2**30:.2f} GiB" if n else "–"


def table(results: dict[str, Any]) -> str:
    """The Markdown table of a results file (what the README shows)."""
    m = results["machine"]
    lines = [
        f"Measured {results['measured']} on {m['cores_usable']} cores, {_gib(m['memory_bytes'])} memory "
        f"(Python {m['python']}, polars {m['polars']}); load average before each run in brackets.",
        "",
        "| study | run | wall s | flow s | task s | orchestration s | steps run / cached | peak RSS | rows/s | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in results["studies"]:
        name = f"scale {s['scale']} ({s['export_rows']:,} export rows)"
        for label, r in s["runs"].items():
            load = ", ".join(str(x) for x in r.get("load_before", []))
            if label == "baseline_pandas":
                lines.append(
                    f"| {name} | pandas baseline | {r['wall_seconds']} | – | – | – | – | "
                    f"{_gib(r.get('peak_rss_bytes'))} | – | {load} |"
                )
                continue
            if r.get("error"):
                lines.append(f"| {name} | {label} | {r.get('wall_seconds')} | failed: {r['error']} |||||||")
                continue
            lines.append(
                f"| {name} | {label} | {r['wall_seconds']} | {r['flow_seconds']} | {r['task_seconds']} | "
                f"{r['orchestration_seconds']} | {r['steps_executed']} / {r['steps_cached']} | "
                f"{_gib(r['peak_rss_bytes'])} | {r['rows_per_second']:,} | {load} |"
            )
    lines += ["", "| study | phase | study s (full run) | of which gate s | pandas baseline s | baseline / study |",
              "|---|---|---:|---:|---:|---:|"]
    for s in results["studies"]:
        full = s["runs"].get("full", {})
        base = s["runs"].get("baseline_pandas", {}).get("wave_seconds") or {}
        for phase, seconds in (full.get("phases") or {}).items():
            gate = (full.get("gates") or {}).get(phase, "–")
            b = base.get(phase)
            ratio = s.get("baseline_over_study_phase", {}).get(phase)
            lines.append(f"| scale {s['scale']} | {phase} | {seconds:.2f} | {gate} | {b if b is not None else '–'} | "
                         f"{ratio if ratio is not None else '–'} |")
        if "changed_over_full" in s:
            lines.append(f"| scale {s['scale']} | re-run after one changed wave-2 answer / full run | "
                         f"{s['changed_over_full']:.0%} |  |  |  |")
    return "\n".join(lines) + "\n"


def update_readme(markdown: str) -> None:
    """Replace the README's bench table (between its markers) with the latest one."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{markdown}{README_END}{tail}")


def add_measured_run(
    scale: int, label: str, timings_file: Path, wall: float, baseline_file: Path | None = None
) -> None:
    """Add one run measured outside `main` (e.g. under py-spy) to bench/results.json and the table.

    The run must have been made by tests/bench/run_study.py in a fresh process, on the study this
    bench generated at that scale; `wall` is its process wall time as measured by the caller.
    """
    results = json.loads(RESULTS.read_text())
    gen = json.loads((BENCH_DIR / f"scale{scale}" / "generated.json").read_text())
    rows = sum(v for k, v in gen["counts"].items() if k.endswith("_rows"))
    timings = json.loads(timings_file.read_text())
    study = next((s for s in results["studies"] if s["scale"] == scale), None)
    if study is None:
        study = {"scale": scale, "generate": {**gen, "reused": True}, "export_rows": rows, "runs": {}}
        results["studies"].append(study)
    study["runs"][label] = summarise_run(timings, wall, timings["peak_rss_bytes"], rows)
    if baseline_file is not None:
        base = json.loads(baseline_file.read_text())
        study["runs"]["baseline_pandas"] = {
            "wall_seconds": base["process_seconds"], "peak_rss_bytes": base["peak_rss_bytes"],
            "wave_seconds": base["wave_seconds"], "results": base["results"], "error": None,
        }
    _ratios(study)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    TABLE.write_text(table(results))


def main() -> None:
    """Run the benchmark and write bench/results.json, bench/results.md and the README table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large-scale", type=int, default=LARGE_SCALE,
                        help=f"scale of the large study (default {LARGE_SCALE}; 0 skips it)")
    parser.add_argument("--large-qualitative-scale", type=int, default=LARGE_QUALITATIVE_SCALE,
                        help="blocks of the large study with qualitative projects "
                        f"(default {LARGE_QUALITATIVE_SCALE}: about 1M coded segments)")
    parser.add_argument("--generate-only", action="store_true", help="generate the studies, run nothing")
    parser.add_argument("--runs", default="full,no_change,changed_wave2,baseline_pandas",
                        help="runs of each study; the demo also runs --demo-runs")
    parser.add_argument("--demo-runs", default=",".join(ON_SERVER),
                        help="extra runs of the demo: the full run and a no-change re-run on a running server")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    parser.add_argument("--skip-demo", action="store_true",
                        help="run only the large study; keep the demo's results from bench/results.json")
    args = parser.parse_args()
    runs = tuple(r for r in args.runs.split(",") if r)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    # One Prefect home for the bench (as a researcher's ~/.prefect): its database is created by a
    # warm-up flow, untimed, so the first measured run does not pay for creating it.
    env_home = BENCH_DIR / "prefect-home"
    os.environ["PREFECT_HOME"] = str(env_home)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # On a loaded machine the ephemeral API server can take longer than Prefect's default to start.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    if not env_home.exists():
        _child(["-c", "from prefect import flow\n@flow\ndef warm() -> int:\n    return 1\nwarm()"])
    if args.generate_only:
        for scale, qual in ((1, 1), (args.large_scale, min(args.large_qualitative_scale, args.large_scale))):
            if scale:
                print(json.dumps(generate(scale, qual)["counts"]))
        return
    kept = []
    if args.skip_demo and RESULTS.exists():
        kept = [s for s in json.loads(RESULTS.read_text())["studies"] if s["scale"] == 1]
    demo_runs = runs + tuple(r for r in args.demo_runs.split(",") if r)
    studies = kept if args.skip_demo else [bench_study(1, 1, demo_runs)]
    if args.large_scale:
        qual = min(args.large_qualitative_scale, args.large_scale)
        studies.append(bench_study(args.large_scale, qual, runs))
    results = {
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": _machine(),
        "studies": studies,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    markdown = table(results)
    TABLE.write_text(markdown)
    if not args.no_readme:
        update_readme(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
