"""`infra/local-stack.sh up|status|down` on this machine: PostgreSQL, a Prefect server on it, an
S3-compatible server with a versioned bucket, a process work pool with a worker; then nothing left.

One stack for the module (up ≈ 40 s on a new database, the worker's flow run ≈ 20 s, down ≈ 7 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# A started server or stack: `make test-integration` (CI runs it after `make test`).
pytestmark = [pytest.mark.integration, pytest.mark.server]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "infra" / "local-stack.sh"
PROBE = Path(__file__).resolve().with_name("stack_probe.py")


@dataclass
class Stack:
    state: Path
    env: dict[str, str]  # the process environment the script ran with
    stack_env: dict[str, str]  # what STATE/env exports
    pg_port: int
    prefect_port: int
    s3_port: int

    def run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT), *args], env=self.env, capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )


def _script_env(state: Path, pg_port: int, prefect_port: int, s3_port: int) -> dict[str, str]:
    """The script's environment: this venv, a private state folder and free ports."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "AWS_", "STUDYFLOW_STACK_"))
    }
    env.update(
        STUDYFLOW_STACK_DIR=str(state),
        STUDYFLOW_VENV=str(Path(sys.executable).parent.parent),
        STUDYFLOW_STACK_PG_PORT=str(pg_port),
        STUDYFLOW_STACK_PREFECT_PORT=str(prefect_port),
        STUDYFLOW_STACK_S3_PORT=str(s3_port),
        STUDYFLOW_STACK_TIMEOUT="150",
    )
    return env


def _private_state(prefix: str) -> Path:
    # A short path the `postgres` user can reach (pytest's tmp_path is private to root).
    state = Path(tempfile.mkdtemp(prefix=prefix))
    state.chmod(0o755)
    return state


def _parse_env_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            out[key] = value
    return out


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) of every process."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def _tree(roots: set[int]) -> set[int]:
    """The processes in `roots` and all their descendants."""
    table = _proc_table()
    found = {p for p in roots if p in table}
    grew = True
    while grew:
        kids = {pid for pid, (ppid, _) in table.items() if ppid in found} - found
        found |= kids
        grew = bool(kids)
    return found


def _alive(pid: int) -> bool:
    """A process exists and is not a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _marked(state: Path) -> set[int]:
    """Processes carrying the stack's marker variable for this state folder."""
    marker = f"STUDYFLOW_STACK_MEMBER={state}".encode()
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    pids.add(int(entry.name))
            except OSError:
                continue
    return {p for p in pids if _alive(p)}


def _stack_pids(stack: Stack) -> set[int]:
    roots = set()
    for name in ("prefect-server", "s3", "worker"):
        pidfile = stack.state / "run" / f"{name}.pid"
        if pidfile.exists():
            roots.add(int(pidfile.read_text().strip()))
    pm = stack.state / "pg" / "data" / "postmaster.pid"
    if pm.exists():
        roots.add(int(pm.read_text().splitlines()[0]))
    return _tree(roots) | _marked(stack.state)


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _get_json(url: str, data: bytes | None = None) -> object:
    req = urllib.request.Request(
        url, data=data, method="POST" if data is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


@contextlib.contextmanager
def running_stack(free_port: Callable[[], int]) -> Iterator[Stack]:
    """`up` on private state and free ports; on exit `down`, and nothing is left running."""
    if not (ROOT / ".venv" / "bin" / "moto_server").exists() and not Path(sys.executable).with_name("moto_server").exists():
        pytest.fail("moto_server is not installed: run `make venv-dev`")
    state = _private_state("sf-stack-")
    s = Stack(
        state=state, env={}, stack_env={},
        pg_port=free_port(), prefect_port=free_port(), s3_port=free_port(),
    )
    s.env = _script_env(state, s.pg_port, s.prefect_port, s.s3_port)
    try:
        started = time.monotonic()
        up = s.run("up")
        assert up.returncode == 0, f"up failed:\n{up.stdout}\n{up.stderr}"
        print(f"local-stack up took {time.monotonic() - started:.1f} s")
        s.stack_env = _parse_env_file(state / "env")
        yield s
    finally:
        # Whatever a test did: leave nothing running.
        leftover = _stack_pids(s)
        s.run("down", timeout=120)
        for pid in leftover:
            if _alive(pid):
                os.kill(pid, 9)
        subprocess.run(["rm", "-rf", str(state)], check=False)


@pytest.fixture(scope="module")
def stack(free_port: Callable[[], int]) -> Iterator[Stack]:
    with running_stack(free_port) as s:
        yield s


def test_up_writes_env_file(stack: Stack) -> None:
    e = stack.stack_env
    assert e["PREFECT_API_URL"] == f"http://127.0.0.1:{stack.prefect_port}/api"
    assert e["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{stack.s3_port}"
    assert e["STUDYFLOW_STORE"] == "s3://studyflow-data/study"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} <= e.keys()
    # Sourcing it works in a shell.
    out = subprocess.run(
        ["bash", "-c", f'. "{stack.state}/env" && echo "$PREFECT_API_URL $STUDYFLOW_STORE"'],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert out == [e["PREFECT_API_URL"], e["STUDYFLOW_STORE"]]


def test_prefect_server_healthy_and_backed_by_postgresql(stack: Stack) -> None:
    api = stack.stack_env["PREFECT_API_URL"]
    assert _get_json(f"{api}/health") is True
    assert _get_json(f"{api}/admin/version") == "3.8.8"
    url = (stack.state / "prefect-db.url").read_text().strip()
    assert url.startswith("postgresql+asyncpg://prefect:") and f"@127.0.0.1:{stack.pg_port}/prefect" in url

    async def query() -> tuple[set[str], list[str]]:
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            tables = {r["table_name"] for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )}
            pools = [r["name"] for r in await conn.fetch("SELECT name FROM work_pool")]
        finally:
            await conn.close()
        return tables, pools

    tables, pools = asyncio.run(query())
    # Prefect's schema lives in PostgreSQL, and the pool the script created through the API is
    # a row there: the server writes to this database, not to SQLite.
    assert {"flow", "flow_run", "deployment", "work_pool", "alembic_version"} <= tables
    assert "studyflow" in pools
    # The database runs as the postgres user, from the state folder.
    if os.getuid() == 0:
        import pwd

        pid = int((stack.state / "pg" / "data" / "postmaster.pid").read_text().splitlines()[0])
        assert Path(f"/proc/{pid}").stat().st_uid == pwd.getpwnam("postgres").pw_uid


def test_bucket_exists_versioned_and_store_works(stack: Stack) -> None:
    import boto3

    e = stack.stack_env
    s3 = boto3.client(
        "s3", endpoint_url=e["AWS_ENDPOINT_URL"], aws_access_key_id=e["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"], region_name=e["AWS_REGION"],
    )
    assert "studyflow-data" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert s3.get_bucket_versioning(Bucket="studyflow-data")["Status"] == "Enabled"


def test_work_pool_exists_and_worker_is_online(stack: Stack) -> None:
    api = stack.stack_env["PREFECT_API_URL"]
    pool = _get_json(f"{api}/work_pools/studyflow")
    assert isinstance(pool, dict) and pool["type"] == "process"
    workers = _get_json(f"{api}/work_pools/studyflow/workers/filter", b"{}")
    assert isinstance(workers, list) and any(w["status"] == "ONLINE" for w in workers)


def test_worker_runs_a_deployment_that_writes_to_the_store(stack: Stack) -> None:
    token = uuid.uuid4().hex[:12]
    env = {**stack.env, **stack.stack_env}
    for key in [k for k in env if k.startswith("STUDYFLOW_STACK_")]:
        env.pop(key)
    env["PREFECT_HOME"] = str(stack.state / "client-home")
    result = subprocess.run(
        [sys.executable, str(PROBE), "studyflow", token], env=env, capture_output=True,
        text=True, timeout=180, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "STATE COMPLETED" in result.stdout

    import boto3

    e = stack.stack_env
    s3 = boto3.client(
        "s3", endpoint_url=e["AWS_ENDPOINT_URL"], aws_access_key_id=e["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"], region_name=e["AWS_REGION"],
    )
    body = s3.get_object(Bucket="studyflow-data", Key=f"study/probes/{token}.txt")["Body"].read()
    assert body == token.encode()


def test_up_again_is_idempotent_and_status_reports_everything(stack: Stack) -> None:
    again = stack.run("up")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already running") == 4
    status = stack.run("status")
    assert status.returncode == 0, status.stdout + status.stderr
    lines = {line.split()[0]: line for line in status.stdout.splitlines() if line.strip()}
    for name in ("postgres", "prefect-server", "s3", "worker"):
        assert "running" in lines[name], status.stdout
    assert "(healthy)" in lines["prefect-server"]


def test_down_leaves_no_process_behind(stack: Stack) -> None:
    pids = _stack_pids(stack)
    assert len(pids) >= 4, pids  # postmaster, server, S3 server, worker (and children)
    down = stack.run("down", timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    deadline = time.monotonic() + 10  # zombies are reaped by init, not by us
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.2)
    assert not [p for p in pids if _alive(p)], "processes left after down"
    assert not _marked(stack.state)
    for port in (stack.pg_port, stack.prefect_port, stack.s3_port):
        assert not _port_open(port), f"port {port} still open after down"
    status = stack.run("status")
    assert status.returncode == 3
    assert status.stdout.count("stopped") == 4
    assert not (stack.state / "env").exists()


def test_up_fails_clearly_when_a_port_is_taken(free_port: Callable[[], int]) -> None:
    """A foreign listener on the PostgreSQL port makes `up` fail with a clear message."""
    import socket

    state = _private_state("sf-stack-busy-")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = _script_env(state, port, free_port(), free_port())
        try:
            result = subprocess.run(
                ["bash", str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=120
            )
        finally:
            subprocess.run(["bash", str(SCRIPT), "down"], env=env, capture_output=True, timeout=120)
            subprocess.run(["rm", "-rf", str(state)], check=False)
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr


def test_up_names_the_log_of_a_service_that_fails(tmp_path: Path, free_port: Callable[[], int]) -> None:
    """A Prefect server that exits at once: `up` fails, says which and where its log is."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    # The real interpreter (asyncpg, boto3), but a `prefect` that fails.
    (venv / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv / "bin" / "python").chmod(0o755)
    (venv / "bin" / "moto_server").symlink_to(Path(sys.executable).with_name("moto_server"))
    fake = venv / "bin" / "prefect"
    fake.write_text("#!/bin/sh\necho 'simulated prefect failure' >&2\nexit 3\n")
    fake.chmod(0o755)
    state = _private_state("sf-stack-fail-")
    env = {**_script_env(state, free_port(), free_port(), free_port()), "STUDYFLOW_VENV": str(venv)}
    try:
        result = subprocess.run(
            ["bash", str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        subprocess.run(["bash", str(SCRIPT), "down"], env=env, capture_output=True, timeout=120)
        leftover = _marked(state)
        subprocess.run(["rm", "-rf", str(state)], check=False)
    assert result.returncode == 1
    assert "prefect server failed to start: the process exited" in result.stderr
    assert f"log: {state}/logs/prefect-server.log" in result.stderr
    assert "simulated prefect failure" in result.stderr
    assert not leftover
