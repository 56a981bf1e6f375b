"""Session-wide test services: one S3-compatible server and one Prefect harness per session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.services import answers

# Tests never read a developer's real keys or send telemetry.
# A fixed test key of 32 bytes (keys must carry that much entropy; see tasks/privacy.py).
TEST_PSEUDONYM_KEY = "5e7a1c3f9b0d2e4a6c8f1b3d5e7a9c0f2b4d6e8a1c3f5b7d9e0a2c4f6b8d1e3a"
os.environ["STUDYFLOW_PSEUDONYM_KEY"] = TEST_PSEUDONYM_KEY
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A function returning a free TCP port on loopback."""
    return _free_port


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible HTTP server (moto's standalone server) on 127.0.0.1."""
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        pytest.fail(f"moto_server not found next to {sys.executable}: run `make test` to install dev extras")
    port = _free_port()
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    if not answers(url + "/moto-api/", proc, timeout=30, every=0.1):
        proc.kill()
        pytest.fail("moto_server did not start within 30 s")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture()
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """AWS environment pointing boto3 at the loopback server; returns the endpoint."""
    from tasks.storage.store import clear_store_cache

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clear_store_cache()
    yield s3_endpoint
    clear_store_cache()


@pytest.fixture()
def s3_bucket(s3_env: str) -> str:
    """A fresh versioned bucket on the loopback server."""
    import boto3

    name = f"studyflow-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test harness (temporary API + SQLite) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo study's inputs, generated once (seed 2013, scale 1); returns study.yaml."""
    from tasks.demo.generator import generate_demo_study

    out = tmp_path_factory.mktemp("demo")
    return Path(generate_demo_study(out, seed=2013, scale=1).config_path)


@pytest.fixture()
def demo_copy(demo_study: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the demo study a test may modify; returns its study.yaml."""
    target = tmp_path / "study"
    shutil.copytree(demo_study.parent, target)
    yield target / "study.yaml"


@dataclass(frozen=True)
class DemoRun:
    """One complete run of the demo study, shared by the session: never modify it in place."""

    config: Path
    store: Path
    manifest: Any
    flow_run_id: Any

    def copy(self, dest: Path) -> tuple[Path, str]:
        """A private copy of the study folder and the store (runs, cache, latest): (study.yaml, store)."""
        shutil.copytree(self.config.parent, dest / "study")
        shutil.copytree(self.store, dest / "store")
        return dest / "study" / "study.yaml", str(dest / "store")


@pytest.fixture(scope="session")
def demo_run(demo_study: Path, tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> DemoRun:
    """The demo study run once through the study flow, for every test that needs a complete run."""
    from flows.study import study_flow

    store = tmp_path_factory.mktemp("demo-run") / "store"
    state = study_flow(str(demo_study), str(store), return_state=True)
    return DemoRun(demo_study, store, state.result(), state.state_details.flow_run_id)
