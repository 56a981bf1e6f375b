"""End to end: the same code path as `make demo`, under one session-wide Prefect harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.datasets import model_for
from schemas.phases import PHASES
from tasks.storage.runs import list_manifests, read_latest
from tasks.storage.store import open_store
from tasks.storage.tables import parquet_to_table

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def first_run(demo_run):
    """The session's complete run of the demo study (a fresh local store)."""
    return str(demo_run.store), demo_run.manifest


def test_every_phase_completes_and_is_published(first_run) -> None:
    store_url, manifest = first_run
    assert manifest.complete
    assert [(p.phase, p.status) for p in manifest.phases] == [(p, "completed") for p in PHASES]
    assert {o.phase for o in manifest.outputs} == set(PHASES)
    latest, _ = read_latest(open_store(store_url))
    assert latest is not None and latest.run_id == manifest.run_id


def test_every_output_is_in_the_store_and_validates(first_run) -> None:
    store_url, manifest = first_run
    store = open_store(store_url)
    tables = [o for o in manifest.outputs if o.key.endswith(".parquet")]
    assert len(tables) >= 15
    for out in manifest.outputs:
        assert store.head(out.key).sha256 == out.sha256, out.key
    for out in tables:
        frame = parquet_to_table(store.get(out.key))
        assert frame.height == out.rows, out.dataset
        model_for(out.dataset).validate(frame, lazy=True)


def test_inputs_are_raw_and_content_addressed(first_run) -> None:
    store_url, manifest = first_run
    store = open_store(store_url)
    assert {i.name for i in manifest.inputs} >= {
        "sites", "survey.w2014.export", "survey.w2016.export", "survey.w2014.roster", "qual.codebook",
        "qual.scoping.000", "qual.cases.005",
    }
    for rec in manifest.inputs:
        assert rec.key == f"raw/{rec.sha256}/{rec.key.rsplit('/', 1)[1]}"
        assert store.head(rec.key).sha256 == rec.sha256


def test_second_run_with_nothing_changed_inherits_everything(demo_run, tmp_path: Path) -> None:
    from flows.study import study_flow

    config, store_url = demo_run.copy(tmp_path)
    first = demo_run.manifest
    again = study_flow(str(config), store_url)
    assert {p.status for p in again.phases} == {"inherited"}
    assert again.previous_run == first.run_id
    assert sorted(o.key for o in again.outputs) == sorted(o.key for o in first.outputs)
    assert [m.run_id for m in list_manifests(open_store(store_url))] == [first.run_id, again.run_id]


def test_published_tables_match_the_recorded_hashes(first_run) -> None:
    """Refactoring changes no number: every table hashes as recorded before the step graph."""
    import json

    from schemas.datasets import dataset_for
    from tests.flows.table_hashes import HASH_FILE, run_hashes

    store_url, manifest = first_run
    recorded = json.loads(HASH_FILE.read_text())
    hashes = run_hashes(store_url, manifest.outputs)
    assert {name: hashes.get(name) for name in recorded} == recorded
    # Anything else is a dataset passed between steps, declared as such in the registry.
    extra = sorted(set(hashes) - set(recorded))
    assert extra and all(dataset_for(name).intermediate for name in extra), extra


def test_only_the_study_flow_run_sends_heartbeats(demo_run) -> None:
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    with get_client(sync_client=True) as client:
        phases = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[demo_run.flow_run_id])))
        assert len(phases) == len(PHASES)
        runs = [demo_run.flow_run_id, *(p.id for p in phases)]
        deadline = time.monotonic() + 30
        while True:  # events are stored by the server's event persister, a moment after
            page = client.read_events(EventFilter(
                event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
                resource=EventResourceFilter(id=[f"prefect.flow-run.{r}" for r in runs]),
            ), limit=50)
            beating = {e.resource.id.removeprefix("prefect.flow-run.") for e in page.events}
            if str(demo_run.flow_run_id) in beating or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert str(demo_run.flow_run_id) in beating
    assert not beating & {str(p.id) for p in phases}
