"""Waiting for a service a test (or the bench) started on loopback."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from typing import Any


def answers(url: str, proc: subprocess.Popen[Any], timeout: float, every: float = 0.2) -> bool:
    """Whether `url` answers (HTTP 2xx) before `timeout` seconds pass and while `proc` still runs."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if 200 <= reply.status < 300:
                    return True
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(every)
