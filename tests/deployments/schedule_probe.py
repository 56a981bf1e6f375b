"""A trivial flow served with a short interval schedule, for tests/deployments/test_schedules.py.

`python schedule_probe.py SECONDS` serves deployment `schedule-probe/every-<SECONDS>s` (no work
pool) until SIGTERM; the server's scheduler creates its runs and the runner executes them.
"""

from __future__ import annotations

import sys

from prefect import flow


@flow(name="schedule-probe")
def tick() -> str:
    """Nothing to do: the run completing is the point."""
    return "tick"


if __name__ == "__main__":
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    tick.serve(name=f"every-{seconds}s", interval=seconds, tags=["test:schedule"])
