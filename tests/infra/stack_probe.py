"""A trivial flow for the local stack's worker: it writes one object to STUDYFLOW_STORE.

`python stack_probe.py POOL TOKEN` (with the stack's env file sourced) deploys it to the work
pool, runs it once through the worker and prints the run's final state type and result key.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from prefect import flow


@flow(name="stack-probe", log_prints=True)
def stack_probe(token: str) -> str:
    """Write `probes/<token>.txt` to the store the worker's environment names."""
    from tasks.storage.store import open_store

    store = open_store(os.environ["STUDYFLOW_STORE"])
    key = f"probes/{token}.txt"
    store.put(key, token.encode())
    print(f"wrote {key} to {store.url}")
    return key


def main(pool: str, token: str) -> int:
    from prefect.deployments import run_deployment

    here = Path(__file__).resolve().parent
    stack_probe.from_source(source=str(here), entrypoint="stack_probe.py:stack_probe").deploy(
        name="probe", work_pool_name=pool, print_next_steps=False, ignore_warnings=True
    )
    run = run_deployment("stack-probe/probe", parameters={"token": token}, timeout=150)
    state = run.state
    print(f"STATE {state.type.value if state else 'NONE'} {state.message if state else ''}")
    return 0 if state is not None and state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
