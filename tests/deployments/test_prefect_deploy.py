"""On a started `prefect server`: `prefect deploy --all` from the repository root, the failure
alert end to end, and `study server`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

# A started server or stack: `make test-integration` (CI runs it after `make test`).
pytestmark = [pytest.mark.integration, pytest.mark.server]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent


def _start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:
        return subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _stop(popen: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGKILL)
    if popen.poll() is None:
        popen.wait(timeout=10)


def _api(url: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST", headers={"Content-Type": "application/json"},
    )
    for attempt in range(5):
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            # The server answers 503 (retry later) while its SQLite database is busy, as Prefect's
            # own client retries it.
            if exc.code != 503 or attempt == 4:
                raise
            time.sleep(float(exc.headers.get("Retry-After") or 2))


def _wait_healthy(api: str, popen: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if _api(f"{api}/health") is True:
                return
        except OSError:
            pass
        if popen.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"prefect server did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]) -> Iterator[dict[str, str]]:
    """`prefect server start` on a free loopback port, SQLite in a private PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-deploy-home")
    api = f"http://127.0.0.1:{free_port()}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home), PREFECT_API_URL=api, PREFECT_UI_API_URL=api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    port = api.split(":")[2].split("/")[0]
    log = home / "server.log"
    popen = _start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", port], env, log, home)
    try:
        _wait_healthy(api, popen, log)
        yield env
    finally:
        _stop(popen)


def test_prefect_deploy_all_from_the_repository_root(server: dict[str, str], tmp_path: Path) -> None:
    api = server["PREFECT_API_URL"]
    started = time.monotonic()
    pool = subprocess.run(
        [str(BIN / "prefect"), "work-pool", "create", "studyflow", "--type", "process"],
        env=server, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = subprocess.run(
        [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
        env=server, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    print(f"work pool + deploy --all: {time.monotonic() - started:.1f} s")

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    for dep in spec["deployments"]:
        flow = "watch-inputs" if dep["name"].endswith("-watch") else "study"
        got = _api(f"{api}/deployments/name/{flow}/{dep['name']}")
        assert got["tags"] == dep["tags"]
        assert got["work_pool_name"] == "studyflow"
        assert got["entrypoint"] == dep["entrypoint"]
        assert got["parameters"] == dep["parameters"]
        props = got["parameter_openapi_schema"]["properties"]
        assert {"config_path", "store_url"} <= set(props)
        assert got["pull_steps"] == spec["pull"]  # Variables in pull steps are resolved per run
        schedules = [s["schedule"] for s in got["schedules"]]
        assert [s.get("timezone") for s in schedules] == [s["timezone"] for s in dep.get("schedules", [])]
        if dep["name"].endswith("-full"):
            assert schedules[0]["cron"] == "0 6 * * 1"
        if dep["name"].endswith("-watch"):
            assert schedules[0]["interval"] == 600
        automations = _api(f"{api}/automations/related-to/prefect.deployment.{got['id']}")
        triggers = [a["trigger"] for a in automations]
        assert len(triggers) == len(dep.get("triggers", []))
        for t, want in zip(triggers, dep.get("triggers", []), strict=True):
            assert t["match"] == want["match"]
            assert t["expect"] == want["expect"]
            assert t["match"]["studyflow.study"] == "ccg_clinical_leadership"
    names = {d["name"] for d in _api(f"{api}/deployments/filter", {})}
    assert "ccg_clinical_leadership-survey-w2" in names


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Receiver.received.append(json.loads(body or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_failed_study_run_notifies_the_alert_webhook(server: dict[str, str], tmp_path: Path) -> None:
    study_id = "e2e-alert"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    served: subprocess.Popen[bytes] | None = None
    log = tmp_path / "serve.log"
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
        setup = subprocess.run(
            [sys.executable, "-c",
             "import sys; from prefect.blocks.notifications import CustomWebhookNotificationBlock as B; "
             "B(name='alerts', url=sys.argv[1], json_data={'subject': '{{subject}}', 'body': '{{body}}'})"
             ".save('e2e-alerts', overwrite=True)", url],
            env=server, cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert setup.returncode == 0, setup.stderr[-3000:]
        alert = subprocess.run(
            [sys.executable, "-m", "deployments.alerts", "--study-id", study_id, "--block", "custom-webhook/e2e-alerts"],
            env=server, cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert alert.returncode == 0, alert.stdout + alert.stderr[-3000:]
        served = _start([sys.executable, str(HERE / "failing_study_probe.py"), study_id],
                        {**server, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}, log, HERE)
        api = server["PREFECT_API_URL"]
        deadline = time.monotonic() + 30
        while True:
            try:
                deployment = _api(f"{api}/deployments/name/study/{study_id}-fail")
                break
            except OSError:
                if served.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"probe deployment not served:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        _api(f"{api}/deployments/{deployment['id']}/create_flow_run", {})
        deadline = time.monotonic() + 45
        while not _Receiver.received and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _Receiver.received, f"no notification within 45 s:\n{log.read_text()[-3000:]}"
        note = _Receiver.received[0]
        assert "Failed" in note["subject"], note
        assert f"study:{study_id}" in note["body"], note
        assert "Failed: survey_w2: boom" in note["body"], note
    finally:
        if served is not None:
            _stop(served)
        httpd.shutdown()
        httpd.server_close()


def test_study_server_prints_the_ui_address_and_serves_it(tmp_path: Path, free_port: Callable[[], int]) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path), COLUMNS="40")  # a narrow terminal must not break the URL
    log = tmp_path / "server.log"
    popen = _start([str(BIN / "study"), "server", "--port", str(port)], env, log, tmp_path)
    try:
        ui = f"http://127.0.0.1:{port}"
        _wait_healthy(f"{ui}/api", popen, log)
        with urllib.request.urlopen(ui, timeout=10) as resp:
            assert resp.status == 200
        out = log.read_text(errors="replace")
        assert f"Prefect UI:  {ui}\n" in out
        assert f"export PREFECT_API_URL={ui}/api\n" in out
    finally:
        _stop(popen)
    assert popen.returncode is not None
