"""The Prefect API server a `study` command starts when no server is named (the embedded default).

Prefect would start the same server itself on the first API call (its `SubprocessASGIServer`),
but only after the whole `prefect.server` package is imported into the CLI's own process and
only when the flow begins. Started here instead, the server's process imports and migrates its
database on the other core while the CLI imports the pipeline and reads the study; the CLI then
points Prefect at it (`PREFECT_API_URL` for the run) and never imports the server package.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

# uvicorn's exit code when its port was taken between choosing it and binding it.
_PORT_TAKEN = 3
# The module Prefect's own ephemeral server runs: a process serving it is one of these servers.
APP_FACTORY = "prefect.server.api.server:create_app"


# The URLs of the servers this process started and is connected to (see `is_embedded`).
_embedded_urls: set[str] = set()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ApiServer:
    """One local Prefect API server process: launched at once, waited for when first needed."""

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        """The API's URL (what PREFECT_API_URL names)."""
        return f"http://127.0.0.1:{self.port}/api"

    def launch(self) -> int:
        """Start the server process (do not wait for it); its pid."""
        from prefect.settings import get_current_settings

        self.port = _free_port()
        env = {
            **os.environ,
            # As Prefect's ephemeral server: no UI, only the services an ephemeral server runs.
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            **get_current_settings().to_environment_variables(exclude_unset=True),
        }
        env.pop("PREFECT_API_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", APP_FACTORY, "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            env=env,
        )
        return self.process.pid

    def wait_ready(self, timeout: float) -> str:
        """Wait until the API answers its health check; its URL. Relaunches if the port was taken."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                assert self.process is not None, "launch() first"
                code = self.process.poll()
                if code == _PORT_TAKEN:
                    self.launch()
                    continue
                if code is not None:
                    raise RuntimeError(f"the Prefect API server exited with code {code} while starting")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return self.api_url
                time.sleep(0.05)
        raise RuntimeError(f"the Prefect API server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """End the server process (terminate, then kill after 5 s)."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def connected(server: ApiServer | None, timeout: float) -> Iterator[None]:
    """Prefect's clients use this server inside the block (nothing changes for None)."""
    if server is None:
        yield
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = server.wait_ready(timeout)
    _embedded_urls.add(url)
    try:
        # No flow-run heartbeats: this server ends with the process, so nothing is left to notice
        # a missed one, and each flow would wait up to a second at its end to stop sending them.
        with temporary_settings(updates={PREFECT_API_URL: url, "flows.heartbeat_frequency": None}):
            yield
    finally:
        _embedded_urls.discard(url)


def is_embedded(api_url: str | None) -> bool:
    """Whether `api_url` is a server this process started: one whose in-memory leases die with it
    and that runs no lease-expiry service."""
    return api_url is not None and api_url in _embedded_urls
