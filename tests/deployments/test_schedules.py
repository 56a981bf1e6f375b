"""Schedules fire: a real `prefect server start` creates the scheduled runs of a served deployment
and the runner executes them to completion.

With SQLAlchemy 2.1 the 3.8 server's scheduler fails every loop (`InvalidRequestError: Can't
evaluate bulk DML statement`) and never creates a run, while the UI still shows the schedule.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

# A started server or stack: `make test-integration` (CI runs it after `make test`).
pytestmark = [pytest.mark.integration, pytest.mark.server]

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
INTERVAL = 5  # seconds between scheduled runs
DEPLOYMENT = f"schedule-probe/every-{INTERVAL}s"


def test_sqlalchemy_is_below_2_1() -> None:
    major, minor = (int(p) for p in version("sqlalchemy").split(".")[:2])
    assert (major, minor) < (2, 1), (
        f"SQLAlchemy {version('sqlalchemy')}: Prefect 3.8's scheduler creates no runs with 2.1"
    )


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


def _start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> Proc:
    with log.open("wb") as fh:
        # Its own session, so stopping it stops its children too (the runner's flow runs).
        popen = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    return Proc(popen, log)


def _stop(proc: Proc) -> None:
    """SIGTERM the process group, then SIGKILL what is left after 20 s."""
    pgid = proc.popen.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.popen.wait(timeout=20)
    # The group's other members (flow runs) too, even if the leader has exited.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    if proc.popen.poll() is None:
        proc.popen.wait(timeout=10)


def _api(url: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST", headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]
) -> Iterator[tuple[dict[str, str], Proc]]:
    """`prefect server start` on a free loopback port, SQLite in a private PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-sched-home")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api,
        PREFECT_UI_API_URL=api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="INFO",
    )
    proc = _start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env, home / "server.log", HERE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if _api(f"{api}/health") is True:
                    break
            except OSError:
                pass
            if proc.popen.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"prefect server did not start:\n{proc.tail()}")
            time.sleep(0.5)
        yield env, proc
    finally:
        _stop(proc)


@pytest.fixture()
def served(server: tuple[dict[str, str], Proc], tmp_path: Path) -> Iterator[Proc]:
    """The probe flow served with an interval schedule (no work pool), stopped afterwards."""
    env = {**server[0], "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    proc = _start(
        [sys.executable, str(HERE / "schedule_probe.py"), str(INTERVAL)], env,
        tmp_path / "serve.log", HERE,
    )
    try:
        yield proc
    finally:
        _stop(proc)


def test_scheduled_runs_are_created_and_one_completes(
    server: tuple[dict[str, str], Proc], served: Proc
) -> None:
    env, server_proc = server
    api = env["PREFECT_API_URL"]

    def context() -> str:
        return f"\n--- serve log ---\n{served.tail()}\n--- server log ---\n{server_proc.tail()}"

    deadline = time.monotonic() + 60
    deployment: dict[str, Any] | None = None
    while deployment is None:
        try:
            deployment = _api(f"{api}/deployments/name/{DEPLOYMENT}")
        except OSError:
            if served.popen.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"deployment {DEPLOYMENT} was not created{context()}")
            time.sleep(1)
    assert deployment["schedules"], "the served deployment has no schedule"
    assert deployment["schedules"][0]["schedule"]["interval"] == INTERVAL

    # The server's scheduler (not the runner) creates runs; then one must reach Completed.
    runs: list[dict[str, Any]] = []
    scheduled_seen_at = completed_at = None
    started = time.monotonic()
    deadline = started + 120
    while time.monotonic() < deadline:
        runs = _api(
            f"{api}/flow_runs/filter",
            {"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}},
        )
        auto = [r for r in runs if r["auto_scheduled"]]
        if auto and scheduled_seen_at is None:
            scheduled_seen_at = time.monotonic() - started
        if any(r["state_type"] == "COMPLETED" for r in auto):
            completed_at = time.monotonic() - started
            break
        if served.popen.poll() is not None:
            pytest.fail(f"the serving process exited{context()}")
        if "InvalidRequestError" in server_proc.tail(200_000):
            pytest.fail(f"the server's scheduler fails (SQLAlchemy {version('sqlalchemy')}){context()}")
        time.sleep(1)
    print(f"first scheduled run after {scheduled_seen_at} s, first completed after {completed_at} s")
    assert scheduled_seen_at is not None, f"no scheduled run was created in 120 s{context()}"
    states = sorted(r["state_type"] for r in runs)
    assert completed_at is not None, f"no scheduled run completed in 120 s: {states}{context()}"
    assert len([r for r in runs if r["auto_scheduled"]]) >= 2, states
    assert "InvalidRequestError" not in server_proc.tail(200_000), "the scheduler logged errors"
    assert not [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")], states
