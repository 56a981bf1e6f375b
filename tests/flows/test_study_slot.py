"""One run per study at a time: a second run of the same study waits for the first, then
plans against what it published (queued, never failed or cancelled)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from schemas.study_config import load_study_config
from tasks.storage.runs import read_latest
from tasks.storage.store import open_store

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_two_runs_of_one_study_queue_and_both_complete(demo_run, tmp_path: Path) -> None:
    from flows.slots import study_slot_name
    from flows.study import study_flow

    demo_copy, store = demo_run.copy(tmp_path / "copy")
    cfg = load_study_config(demo_copy)
    wave2 = cfg.resolve(cfg.survey.waves[cfg.survey.wave_for_phase("survey_w2")].export)[0]
    wave2.write_bytes(wave2.read_bytes() + b"\r\n")
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(study_flow, str(demo_copy), store, return_state=True) for _ in range(2)]
        states = [f.result() for f in futures]
    assert [s.name for s in states] == ["Completed", "Completed"]
    first, second = sorted((s.result() for s in states), key=lambda m: m.created + m.run_id)
    statuses = {m.run_id: {p.phase: p.status for p in m.phases} for m in (first, second)}
    # Whichever got the slot first re-ran wave 2 and triangulation; the other found nothing new.
    ran, waited = sorted((first, second), key=lambda m: statuses[m.run_id]["survey_w2"])
    assert statuses[ran.run_id]["survey_w2"] == "completed"
    assert set(statuses[waited.run_id].values()) == {"inherited"}
    assert waited.previous_run == ran.run_id
    latest, _ = read_latest(open_store(store))
    assert latest is not None and latest.run_id == waited.run_id

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(study_slot_name(cfg.study.id))
    assert (limit.limit, limit.active_slots) == (1, 0)


def _dead_pid() -> int:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


@pytest.mark.parametrize("holder", ["dead", "reused_pid", "unreadable", "alive"])
def test_a_slot_left_by_a_process_that_ended_is_given_back_once(holder: str, tmp_path: Path) -> None:
    import json
    import os
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.settings import PREFECT_HOME, temporary_settings

    from flows.processes import start_ticks
    from flows.slots import reclaim_abandoned_slot

    name = f"studyflow-study-test-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
        client.increment_concurrency_slots(names=[name], slots=1, mode="concurrency")
    record = tmp_path / "studyflow-slots" / f"{name}.json"
    record.parent.mkdir()
    me = os.getpid()
    record.write_text({
        "dead": json.dumps({"pid": (dead := _dead_pid()), "start_ticks": None}),
        # This pid, but a process started at another time: the pid was reused.
        "reused_pid": json.dumps({"pid": me, "start_ticks": (start_ticks(me) or 0) + 1}),
        "unreadable": '{"pid": ',
        "alive": json.dumps({"pid": me, "start_ticks": start_ticks(me)}),
    }[holder])
    with temporary_settings(updates={PREFECT_HOME: str(tmp_path)}):
        released = reclaim_abandoned_slot(name)
        again = reclaim_abandoned_slot(name)
    with get_client(sync_client=True) as client:
        active = client.read_global_concurrency_limit_by_name(name).active_slots
    if holder == "alive":
        assert (released, active, record.exists()) == (None, 1, True)
    else:
        assert released == {"dead": dead, "reused_pid": me, "unreadable": -1}[holder]
        assert (again, active, record.exists()) == (None, 0, False)
    assert sorted(p.name for p in record.parent.iterdir()) == ([record.name] if holder == "alive" else [])
