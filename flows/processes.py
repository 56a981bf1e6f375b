"""Which local processes are still running: used to clean up after a `study` process that was killed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (it may be another program if pids were reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def command_line(pid: int) -> str:
    """The process's command line, '' when it cannot be read."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot), None when unknown: with the pid it names
    one process for good, since a reused pid starts later."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces; start time is field 22.
    return int(stat.rsplit(")", 1)[1].split()[19])


def same_process_alive(pid: int, ticks: int | None) -> bool:
    """Whether the process recorded as (pid, start ticks) is still running."""
    if not alive(pid):
        return False
    now = start_ticks(pid)
    return ticks is None or now is None or now == ticks


def record_this_process(path: Path, **fields: object) -> None:
    """Write `path` as JSON naming this process (pid, start ticks) and `fields`, whole or not at all.

    Written to a side file and renamed: a reader never sees half a record, which it would take
    for the record of a process that has gone.
    """
    pid = os.getpid()
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f"{path.name}.{pid}.tmp")
    staged.write_text(json.dumps({"pid": pid, "start_ticks": start_ticks(pid), **fields}))
    staged.replace(path)


def recorded_process_alive(record: dict[str, Any]) -> bool:
    """Whether the process a `record_this_process` record names is still running."""
    return same_process_alive(int(record["pid"]), record.get("start_ticks"))
