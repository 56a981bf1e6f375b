"""The same CLI run against a started `prefect server`, checked through the server's API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.services import answers

# A started server or stack: `make test-integration` (CI runs it after `make test`).
pytestmark = [pytest.mark.integration, pytest.mark.server]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def prefect_server(
    tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]
) -> Iterator[dict[str, str]]:
    """`prefect server start` on a free loopback port with its own SQLite home."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_UI_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
    }
    log = (home / "server.log").open("wb")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    if not answers(api + "/health", proc, timeout=120, every=0.5):
        proc.kill()
        pytest.fail(f"prefect server did not start: {(home / 'server.log').read_text()[-2000:]}")
    yield env
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_cli_run_is_recorded_by_the_server(prefect_server: dict[str, str], demo_study: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = subprocess.run(
        [str(BIN / "study"), "run", "--config", str(demo_study), "--store", str(store)],
        env=prefect_server, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Report:" in result.stdout

    async def query() -> tuple[list, list]:
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            runs = await client.read_flow_runs()
            artifacts = await client.read_artifacts()
        return runs, artifacts

    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_server["PREFECT_API_URL"]}):
        runs, artifacts = asyncio.run(query())
    states = {r.name.split("-")[0]: r.state_type.value for r in runs}
    assert states["study"] == "COMPLETED"
    tags = {t for r in runs for t in r.tags}
    assert {"phase:scoping", "phase:survey_w1", "phase:case_studies", "phase:survey_w2", "phase:triangulation"} <= tags
    keys = {a.key for a in artifacts if a.key}
    assert any(k.endswith("survey-w1-summary") for k in keys)
    assert any(k.endswith("triangulation-summary") for k in keys)
    quality = [a for a in artifacts if a.key and a.key.endswith("survey-w1-quality")]
    assert quality and quality[0].type == "table"
    assert "survey.role_mix_within_tolerance" in str(quality[0].data)


def test_a_study_server_on_the_same_prefect_home_is_found_and_used(
    demo_study: Path, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    home, port, store = tmp_path / "home", free_port(), str(tmp_path / "store")
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_UI_ENABLED="false")
    log = (tmp_path / "server.log").open("wb")  # noqa: SIM115 - closed after the server stops
    server = subprocess.Popen([str(BIN / "study"), "server", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        assert answers(api + "/health", server, timeout=120, every=0.5), (tmp_path / "server.log").read_text()
        scoping = [str(BIN / "study"), "run", "--config", str(demo_study), "--store", store, "--phase", "scoping"]
        used = subprocess.run(scoping, env=env, capture_output=True, text=True, timeout=600)
        assert used.returncode == 0, used.stdout[-3000:] + used.stderr[-3000:]
        assert f"Using the Prefect server at {api} (`study server` on this Prefect home)" in used.stdout
        assert not (home / "studyflow-servers").exists()  # no embedded server was started

        async def flow_names() -> list[str]:
            from prefect.client.orchestration import get_client

            async with get_client() as client:
                return [r.name for r in await client.read_flow_runs()]

        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: api}):
            names = asyncio.run(flow_names())
        assert sum(n.startswith("study-") for n in names) == 1
        assert sum(n.startswith("scoping-") for n in names) == 1
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    # The server has ended: the next command starts its own, and forgets the stale record.
    after = subprocess.run(scoping, env=env, capture_output=True, text=True, timeout=600)
    assert after.returncode == 0, after.stdout[-3000:] + after.stderr[-3000:]
    assert "Using the Prefect server" not in after.stdout
    assert not (home / "studyflow-server.json").exists()
