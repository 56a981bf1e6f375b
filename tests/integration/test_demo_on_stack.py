"""The demo study on the local production stack (`make test-integration`, also run by .ci/run).

PostgreSQL, a Prefect server on it, an S3-compatible server and a process worker come from
`infra/local-stack.sh up`. The test then
1. deploys the root prefect.yaml's deployments (`prefect deploy --all`, with the Variables a
   worker reads at run start) and runs the full study through the worker from a clone of this
   repository, checking the store and the runs through the API;
2. serves the same deployments (`python -m deployments.serve`) and hands over data with
   `study ingest`: a new wave-2 export gives exactly one completed run in which only wave 2's
   and triangulation's steps executed; the same file again starts nothing; two arrivals inside
   the arrival window give one run; no run ends Failed, Crashed or Late.

The worker clones the committed code (git_clone pull step): commit before running it locally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tasks.pipeline import all_steps
from tests.infra.test_local_stack import ROOT, Stack, running_stack

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
WINDOW = 30  # seconds: the arrival window the test study declares
BUCKET_PREFIX = "s3://studyflow-data/e2e"


def _api(stack: Stack, path: str, body: dict[str, Any] | None = None, method: str | None = None) -> Any:
    url = stack.stack_env["PREFECT_API_URL"] + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method or ("POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def _env(stack: Stack) -> dict[str, str]:
    env = {**stack.env, **stack.stack_env, "STUDYFLOW_STORE": BUCKET_PREFIX}
    for key in [k for k in env if k.startswith("STUDYFLOW_STACK_")]:
        env.pop(key)
    env["PREFECT_HOME"] = str(stack.state / "client-home")
    # The worker was started with the stack's environment: serving with the same key source
    # (the session's test key, or the demo's key file next to study.yaml) keeps pseudonyms equal.
    return env


def _study(stack: Stack, env: dict[str, str]) -> Path:
    """The demo study, in a folder the worker and the served runner both read."""
    folder = stack.state / "demo"
    subprocess.run(
        [str(BIN / "study"), "demo-data", "--out", str(folder)], env=env, check=True,
        capture_output=True, timeout=300,
    )
    config = folder / "study.yaml"
    config.write_text(config.read_text() + f"\norchestration:\n  arrival_window_seconds: {WINDOW}\n")
    return config


def _runs(stack: Stack, deployment_ids: list[str]) -> list[dict[str, Any]]:
    return _api(stack, "/flow_runs/filter", {
        "deployments": {"id": {"any_": deployment_ids}}, "sort": "EXPECTED_START_TIME_ASC",
    })


def _deployment_ids(stack: Stack, study_id: str) -> dict[str, str]:
    found = _api(stack, "/deployments/filter", {"deployments": {"tags": {"all_": [f"study:{study_id}"]}}})
    return {d["name"]: d["id"] for d in found}


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _events(stack: Stack) -> list[str]:
    """The data-arrival and automation events so far, for failure messages."""
    found = _api(stack, "/events/filter", {"filter": {"event": {"prefix": ["studyflow", "prefect.automation"]}},
                                          "limit": 50})
    return [f"{e['occurred']} {e['event']} {e['resource'].get('prefect.resource.id')}" for e in found["events"]]


def _show(runs: list[dict[str, Any]], events: list[str]) -> None:
    """Print the runs and events (shown in full when the test fails)."""
    for r in runs:
        print("run", r["name"], r["created"], r["deployment_id"], r["state_type"], r["parameters"])
    for line in events:
        print("event", line)


def _finished(run: dict[str, Any]) -> bool:
    return run["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def _executed_steps(stack: Stack, flow_run_id: str) -> dict[str, str]:
    """Step task runs under a study run (its phase subflows included): name -> state name."""
    children = _api(stack, "/flow_runs/filter", {"flow_runs": {"parent_flow_run_id": {"any_": [flow_run_id]}}})
    ids = [flow_run_id, *(c["id"] for c in children)]
    tasks = _api(stack, "/task_runs/filter", {"flow_runs": {"id": {"any_": ids}}})
    steps = {s.name for s in all_steps()}
    return {t["name"]: t["state_name"] for t in tasks if t["name"].split("[", 1)[0] in steps}


def _store(env: dict[str, str]) -> Any:
    """The stack's store, opened in this process (this session runs only these tests)."""
    for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        os.environ[k] = env[k]
    from tasks.storage.store import clear_store_cache, open_store

    clear_store_cache()
    return open_store(BUCKET_PREFIX)


@pytest.fixture(scope="module")
def deployed(free_port: Callable[[], int]) -> Iterator[tuple[Stack, dict[str, str], Path, str]]:
    with running_stack(free_port) as stack:
        yield from _deploy(stack)


def _deploy(stack: Stack) -> Iterator[tuple[Stack, dict[str, str], Path, str]]:
    env = _env(stack)
    config = _study(stack, env)
    from schemas.study_config import load_study_config

    study_id = load_study_config(config).study.id
    branch = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    for name, value in (("studyflow_repository", str(ROOT)), ("studyflow_branch", branch),
                        ("studyflow_config", str(config)), ("studyflow_store", BUCKET_PREFIX)):
        _api(stack, "/variables/", {"name": name, "value": value})
    prefect_file = stack.state / "prefect.yaml"
    rendered = subprocess.run([sys.executable, "-m", "deployments.render", "--config", str(config)], cwd=ROOT,
                              env=env, capture_output=True, text=True, check=True).stdout
    prefect_file.write_text(rendered)
    deploy = subprocess.run(
        [str(BIN / "prefect"), "--no-prompt", "deploy", "--all", "--prefect-file", str(prefect_file)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    yield stack, env, config, study_id


def test_the_full_study_runs_through_a_deployment_on_the_worker(deployed: tuple[Stack, dict[str, str], Path, str]) -> None:
    stack, env, _, study_id = deployed
    ids = _deployment_ids(stack, study_id)
    assert f"{study_id}-arrivals" in ids and f"{study_id}-survey-w2" in ids
    run = _api(stack, f"/deployments/{ids[f'{study_id}-full']}/create_flow_run", {})
    final = _wait(lambda: (r := _api(stack, f"/flow_runs/{run['id']}")) and _finished(r) and r, 900, "the full run")
    worker_log = stack.state / "logs" / "worker.log"
    assert final["state_type"] == "COMPLETED", (final["state"]["message"], worker_log.read_text()[-4000:])
    steps = _executed_steps(stack, run["id"])
    assert len(steps) >= 28 and any(n.startswith("survey.intake[") for n in steps), steps

    store = _store(env)
    from tasks.storage.runs import read_latest

    latest, _ = read_latest(store)
    assert latest is not None and latest.complete and latest.study_id == study_id
    assert {p.phase: p.status for p in latest.phases} == {
        "scoping": "completed", "survey_w1": "completed", "case_studies": "completed",
        "survey_w2": "completed", "triangulation": "completed",
    }
    assert all(store.exists(o.key) for o in latest.outputs)


def test_ingest_gives_one_run_per_burst_and_nothing_for_known_content(
    deployed: tuple[Stack, dict[str, str], Path, str], tmp_path: Path
) -> None:
    stack, env, config, study_id = deployed
    from schemas.study_config import load_study_config
    from tasks.pipeline import steps_of
    from tasks.storage.runs import read_latest

    cfg = load_study_config(config)
    w1, w2 = cfg.survey.wave_for_phase("survey_w1"), cfg.survey.wave_for_phase("survey_w2")
    export = {w: cfg.resolve(cfg.survey.waves[w].export)[0] for w in (w1, w2)}
    # Served and work-pool deployments of the same names must not coexist: `serve` would update
    # the deployed ones in place and its runner could not load their (git-cloned) code.
    for deployment_id in _deployment_ids(stack, study_id).values():
        _api(stack, f"/deployments/{deployment_id}", method="DELETE")
        _api(stack, f"/automations/owned-by/prefect.deployment.{deployment_id}", method="DELETE")
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        served = subprocess.Popen(
            [sys.executable, "-m", "deployments.serve", "--config", str(config), "--store", BUCKET_PREFIX],
            cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        _wait(lambda: "being served" in log.read_text() or served.poll() is not None, 180, "serve to start")
        assert served.poll() is None, log.read_text()[-3000:]
        ids = _deployment_ids(stack, study_id)
        # The watcher's schedule is not what this test is about.
        _api(stack, f"/deployments/{ids[f'{study_id}-watch']}/pause_deployment", {})
        arrivals = ids[f"{study_id}-arrivals"]
        before = {r["id"] for r in _runs(stack, list(ids.values()))}

        def ingest(path: Path, name: str) -> str:
            done = subprocess.run(
                [str(BIN / "study"), "ingest", str(path), "--input", name, "--config", str(config),
                 "--store", BUCKET_PREFIX], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        def new_runs() -> list[dict[str, Any]]:
            # Runs the scheduler creates ahead (the weekly run, the watcher) are not arrivals.
            return [r for r in _runs(stack, list(ids.values())) if r["id"] not in before and not r["auto_scheduled"]]

        # 1. A new wave-2 export: one run, only wave 2's and triangulation's steps execute.
        new_w2 = tmp_path / "wave2-new.csv"
        new_w2.write_bytes(export[w2].read_bytes() + b"\r\n")
        out = ingest(new_w2, f"survey.{w2}.export")
        assert "announced survey." in out and "phases survey_w2" in out, out
        assert "Still processing" not in out, out
        runs = _wait(lambda: (n := new_runs()) and all(map(_finished, n)) and n, 600, "the arrival run")
        time.sleep(WINDOW + 5)  # nothing else may follow
        runs = new_runs()
        _show(runs, _events(stack))
        assert [(r["deployment_id"], r["state_type"]) for r in runs] == [(arrivals, "COMPLETED")]
        steps = _executed_steps(stack, runs[0]["id"])
        executed = {n.split("[")[0] for n, state in steps.items() if state != "Cached"}
        allowed = {s.name for s in (*steps_of("survey_w2"), *steps_of("triangulation"))}
        assert executed and executed <= allowed, executed - allowed
        store = _store(env)
        latest, _ = read_latest(store)
        assert latest is not None
        assert {p.phase: p.status for p in latest.phases} == {
            "scoping": "inherited", "survey_w1": "inherited", "case_studies": "inherited",
            "survey_w2": "completed", "triangulation": "completed",
        }
        before |= {r["id"] for r in runs}

        # 2. The same file again: nothing is announced, no run starts.
        out = ingest(new_w2, f"survey.{w2}.export")
        assert "already arrived" in out and "announced" not in out.replace("nothing announced", ""), out
        time.sleep(WINDOW + 10)
        assert new_runs() == []

        # 3. Two arrivals inside the window: one run covering both waves.
        newer_w1, newer_w2 = tmp_path / "wave1-new.csv", tmp_path / "wave2-newer.csv"
        newer_w1.write_bytes(export[w1].read_bytes() + b"\r\n")
        newer_w2.write_bytes(export[w2].read_bytes() + b"\r\n\r\n")
        # Handed over at the same moment (each `study ingest` takes seconds to start).
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(ingest, (newer_w1, newer_w2), (f"survey.{w1}.export", f"survey.{w2}.export")))
        runs = _wait(lambda: (n := new_runs()) and all(map(_finished, n)) and n, 600, "the burst's run")
        time.sleep(WINDOW + 5)
        runs = new_runs()
        _show(runs, _events(stack))
        assert [(r["deployment_id"], r["state_type"]) for r in runs] == [(arrivals, "COMPLETED")]
        latest, _ = read_latest(store)
        assert latest is not None
        statuses = {p.phase: p.status for p in latest.phases}
        assert statuses["survey_w1"] == statuses["survey_w2"] == "completed"

        # Nothing anywhere ended badly or late.
        everything = _api(stack, "/flow_runs/filter", {})
        bad = [(r["name"], r["state_name"]) for r in everything
               if r["state_type"] in ("FAILED", "CRASHED") or r["state_name"] == "Late"]
        assert bad == []
    finally:
        served.terminate()
        try:
            served.wait(timeout=30)
        except subprocess.TimeoutExpired:
            served.kill()
        print(log.read_text()[-3000:])
