"""Faults on the way to the store: an S3 outage mid-run, a kill while publishing, a killed CLI.

The S3 server is the loopback one (moto), reached through a TCP proxy the test can cut and
restore: a cut is what a stopped server looks like to the client (connections refused), while
the server keeps its objects so the test can look at what the failed run left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from tasks.storage.runs import collect_garbage, list_manifests, read_latest
from tasks.storage.store import clear_store_cache, open_store

ROOT = Path(__file__).resolve().parents[2]


class Proxy:
    """A loopback TCP proxy to the S3 server that can be cut (connections refused) and restored."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


@pytest.mark.integration
@pytest.mark.usefixtures("prefect_harness")
def test_s3_outage_mid_run_fails_cleanly_leaves_nothing_visible_and_the_rerun_completes(
    demo_study: Path, s3_bucket: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from flows.cli import friendly_error
    from flows.study import study_flow

    proxy = Proxy(int(s3_endpoint.rsplit(":", 1)[1]))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("STUDYFLOW_S3_MAX_ATTEMPTS", "3")
    clear_store_cache()
    url = f"s3://{s3_bucket}/ccg"
    direct = boto3.client("s3", endpoint_url=s3_endpoint)

    def staged() -> int:
        return direct.list_objects_v2(Bucket=s3_bucket, Prefix="ccg/staging/").get("KeyCount", 0)

    def cut_when_outputs_are_written() -> None:
        deadline = time.monotonic() + 900
        while staged() < 15 and time.monotonic() < deadline:
            time.sleep(0.2)
        proxy.cut()

    watcher = threading.Thread(target=cut_when_outputs_are_written, daemon=True)
    watcher.start()
    with pytest.raises(Exception) as info:
        study_flow(str(demo_study), url)
    watcher.join()
    message, code = friendly_error(info.value)
    # One clear line: the store could not be reached (after retries), or the phases it broke.
    assert "could not be reached" in message and code == 1, message
    assert "Traceback" not in message

    proxy.restore()
    clear_store_cache()
    store = open_store(url)
    assert store.list("runs/") == []  # nothing of the failed run is visible
    assert read_latest(store) == (None, None)
    assert store.list("staging/")  # what it wrote waits in staging for gc

    # The re-run is the whole demo on S3 (this is also the test that the study runs against S3).
    manifest = study_flow(str(demo_study), url)
    assert manifest.complete
    latest, _ = read_latest(store)
    assert latest is not None and latest.run_id == manifest.run_id
    assert all(store.is_published(o.key) for o in manifest.outputs)
    assert f"runs/{manifest.run_id}/manifest.json" in store.list("runs/")
    assert store.list("raw/")
    visible_runs = {k.split("/")[1] for k in store.list("runs/")}
    assert visible_runs == {manifest.run_id}
    report = collect_garbage(store, timedelta(0))
    assert all(store.is_published(o.key) for o in manifest.outputs)
    assert store.list("staging/") == [] and set(report.removed) <= {
        k for k in report.removed if k != manifest.run_id
    }
    proxy.cut()


_PUBLISHER = """
import sys
from schemas.manifest import Manifest
from tasks.storage.runs import publish_run, read_latest
from tasks.storage.store import open_store
store = open_store(sys.argv[1])
manifest = Manifest.model_validate_json(open(sys.argv[2]).read())
_, version = read_latest(store)
print("publishing", flush=True)
publish_run(store, manifest, version)
print("published", flush=True)
"""


@pytest.mark.parametrize("backend", ["file", "s3"])
def test_sigkill_while_publishing_leaves_nothing_half_visible(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from schemas.manifest import Manifest, OutputRecord, PhaseRecord
    from schemas.phases import PHASES

    env = dict(os.environ)
    if backend == "file":
        url = str(tmp_path / "store")
    else:
        bucket = request.getfixturevalue("s3_bucket")
        url = f"s3://{bucket}/study"
        env.update({k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")})
    store = open_store(url)
    for attempt, delay in enumerate((0.05, 0.3, 0.8, None)):
        run_id = f"2026010{attempt + 1}T000000Z-{uuid.uuid4().hex[:6]}"
        outputs = []
        for i in range(300):
            info = store.put(f"runs/{run_id}/survey/t{i:03d}.parquet", f"{run_id}-{i}".encode())
            outputs.append(OutputRecord(dataset=f"survey.t{i:03d}", phase="survey_w1", key=info.key, sha256=info.sha256,
                                        size=info.size, media_type="x", run_id=run_id))
        manifest = Manifest(study_id="s", run_id=run_id, created="2026-01-01T00:00:00+00:00", code_version="c",
                            config_sha256="c", inputs=[], outputs=outputs, complete=True,
                            phases=[PhaseRecord(phase=p, status="completed", run_id=run_id) for p in PHASES])
        path = tmp_path / f"{run_id}.json"
        path.write_text(manifest.model_dump_json())
        proc = subprocess.Popen([sys.executable, "-c", _PUBLISHER, url, str(path)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "publishing"
        if delay is None:
            assert proc.wait(timeout=300) == 0
        else:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        # Whatever the moment: every run a reader can see is whole, `latest` names a whole run.
        visible = [m for m in list_manifests(store) if store.is_published(f"runs/{m.run_id}/manifest.json")]
        for m in visible:
            assert m.complete and all(store.is_published(o.key) for o in m.outputs), m.run_id
        latest, _ = read_latest(store)
        assert latest is None or latest.run_id in {m.run_id for m in visible}
        assert not [k for k in store.list() if "/.tmp-" in k or k.startswith(".tmp-")]
        # gc removes whatever a kill left outside whole runs; whole runs keep every object.
        collect_garbage(store, timedelta(0))
        for key in store.list("runs/"):
            assert key.split("/")[1] in {m.run_id for m in visible}, key
    # The last attempt was left to finish: its run is published and named by `latest`.
    latest, _ = read_latest(store)
    assert latest is not None and latest.run_id == run_id


def _study_cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _server_record(home: Path, proc: subprocess.Popen[str], timeout: float = 300) -> tuple[Path, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the CLI ended before starting its API server: {proc.communicate()[0]}")
        records = list((home / "studyflow-servers").glob("*.json"))
        if records:
            return records[0], int(json.loads(records[0].read_text())["server"])
        time.sleep(0.2)
    raise AssertionError("the CLI never started its ephemeral API server")


def _gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            # A zombie (exited, not yet reaped by its dead parent's reaper) counts as gone.
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.2)
    return False


@pytest.fixture()
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}")
    return env


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ending_the_cli_ends_its_api_server(demo_study: Path, tmp_path: Path, cli_env: dict[str, str], sig: int) -> None:
    proc = _study_cli("run", "--config", str(demo_study), "--store", str(tmp_path / "store"), env=cli_env)
    record, server = _server_record(tmp_path / "prefect-home", proc)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == (130 if sig == signal.SIGINT else 128 + sig), out
    assert "Traceback" not in out
    assert f"interrupted ({signal.Signals(sig).name}): this run published nothing" in out
    assert _gone(server), f"API server {server} still running after {signal.Signals(sig).name}"
    assert not record.exists()


@pytest.mark.integration
def test_a_cli_killed_with_sigkill_leaves_no_server_after_the_next_start(
    demo_study: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    proc = _study_cli("run", "--config", str(demo_study), "--store", str(tmp_path / "store"), env=cli_env)
    _, server = _server_record(tmp_path / "prefect-home", proc)
    proc.kill()
    proc.wait(timeout=30)
    assert not _gone(server, timeout=2)  # SIGKILL gave the CLI no chance: the server is orphaned
    nxt = _study_cli("runs", "--store", str(tmp_path / "store"), env=cli_env)
    out, _ = nxt.communicate(timeout=120)
    assert nxt.returncode == 0, out
    assert _gone(server), f"orphan API server {server} survived the next start"


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_a_run_killed_while_holding_the_study_slot_does_not_block_the_next(
    demo_study: Path, tmp_path: Path, cli_env: dict[str, str], sig: int
) -> None:
    home, store = tmp_path / "prefect-home", str(tmp_path / "store")
    proc = _study_cli("run", "--config", str(demo_study), "--store", store, env=cli_env)
    deadline = time.monotonic() + 300
    while not list((home / "studyflow-slots").glob("*.json")):
        assert proc.poll() is None and time.monotonic() < deadline, "the run never took the study slot"
        time.sleep(0.2)
    holder = json.loads(next((home / "studyflow-slots").glob("*.json")).read_text())["pid"]
    assert holder == proc.pid
    proc.send_signal(sig)
    proc.wait(timeout=120)  # not communicate(): after SIGKILL the orphaned server keeps stdout open
    assert proc.stdout is not None
    proc.stdout.close()
    # The embedded server kept the slot's lease in memory and is gone: without the holder record
    # the next run would wait for the slot for a day.
    nxt = _study_cli("run", "--config", str(demo_study), "--store", store, "--phase", "scoping", env=cli_env)
    out, _ = nxt.communicate(timeout=600)
    assert nxt.returncode == 0, out
    assert f"was still held by process {holder}, which has ended: released it" in out
    assert not list((home / "studyflow-slots").iterdir())
