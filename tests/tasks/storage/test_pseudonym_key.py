"""A run refuses another pseudonymisation key than the store's last complete run, unless told."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.manifest import Manifest, PhaseRecord
from schemas.phases import PHASES
from tasks.privacy import PseudonymKeyMissing, key_fingerprint
from tasks.storage.runs import PseudonymKeyChanged, check_key_fingerprint, publish_run
from tasks.storage.steps import finalise_run, prepare_run
from tasks.storage.store import open_store

OLD_KEY = "7b1e6f0c2d9a4e8b5c3f1a0d6e2b9c4f8a1d3e5b7c9f0a2e4d6b8c1f3a5e7d9b"  # keys of 32 random bytes
NEW_KEY = "c3a91f5e0b7d2c8e4f6a1b9d3e5c7f0a2b4d6e8f1a3c5e7b9d0f2a4c6e8b1d3f"


def _store_with_earlier_run(root: Path, key: str) -> str:
    """A store whose `latest` is a complete run made with `key` (a fake manifest, no outputs)."""
    store_url = str(root / "store")
    manifest = Manifest(
        study_id="ccg_clinical_leadership",
        run_id="20250101T000000Z-aaaaaa",
        created="2025-01-01T00:00:00+00:00",
        code_version="c",
        config_sha256="cfg",
        parameters={"pseudonym_key_fingerprint": key_fingerprint(key.encode())},
        inputs=[],
        phases=[PhaseRecord(phase=p, status="completed", run_id="20250101T000000Z-aaaaaa") for p in PHASES],
        outputs=[],
        complete=True,
    )
    publish_run(open_store(store_url), manifest, None)
    return store_url


def test_another_key_refuses_and_names_both_fingerprints(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_url = _store_with_earlier_run(tmp_path, OLD_KEY)
    monkeypatch.setenv("STUDYFLOW_PSEUDONYM_KEY", NEW_KEY)
    with pytest.raises(PseudonymKeyChanged) as err:
        prepare_run(str(demo_copy), store_url)
    message = str(err.value)
    assert key_fingerprint(OLD_KEY.encode()) in message and key_fingerprint(NEW_KEY.encode()) in message
    assert "would not match" in message and "new_key" in message
    assert OLD_KEY not in message and NEW_KEY not in message
    # Refused before ingesting anything.
    assert open_store(store_url).list("raw/") == []


def test_new_key_proceeds_and_recomputes_every_phase(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_url = _store_with_earlier_run(tmp_path, OLD_KEY)
    monkeypatch.setenv("STUDYFLOW_PSEUDONYM_KEY", NEW_KEY)
    run = prepare_run(str(demo_copy), store_url, new_key=True)
    assert run.plan == {p: "run" for p in PHASES}
    assert run.key_fingerprint == key_fingerprint(NEW_KEY.encode()) == run.ctx.key_fingerprint


def test_the_same_key_proceeds(demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_url = _store_with_earlier_run(tmp_path, OLD_KEY)
    monkeypatch.setenv("STUDYFLOW_PSEUDONYM_KEY", OLD_KEY)
    assert prepare_run(str(demo_copy), store_url).previous is not None


def test_an_earlier_run_without_a_fingerprint_counts_as_another_key() -> None:
    previous = Manifest(
        study_id="s", run_id="R0", created="2025-01-01T00:00:00+00:00", code_version="c",
        config_sha256="cfg", parameters={}, inputs=[], phases=[], outputs=[], complete=True,
    )
    with pytest.raises(PseudonymKeyChanged, match="R0 recorded no key fingerprint"):
        check_key_fingerprint(previous, "Kabc")
    check_key_fingerprint(previous, "Kabc", new_key=True)
    check_key_fingerprint(None, "Kabc")


def test_a_run_outside_demo_mode_without_a_key_refuses(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = demo_copy.read_text()
    assert "demo: true" in text
    demo_copy.write_text(text.replace("demo: true", "demo: false"))
    monkeypatch.delenv("STUDYFLOW_PSEUDONYM_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PseudonymKeyMissing, match="STUDYFLOW_PSEUDONYM_KEY is not set") as err:
        prepare_run(str(demo_copy), str(tmp_path / "store"))
    assert "study.pseudonym_key_block" in str(err.value)
    assert not (tmp_path / "store").exists() or open_store(str(tmp_path / "store")).list("raw/") == []
    assert not (demo_copy.parent / ".studyflow").exists() and not (tmp_path / ".studyflow").exists()


def test_the_key_never_reaches_the_manifest_or_the_store(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDYFLOW_PSEUDONYM_KEY", NEW_KEY)
    store_url = str(tmp_path / "store")
    run = prepare_run(str(demo_copy), store_url)
    manifest = finalise_run(run, {}, {}).manifest
    assert manifest.parameters["pseudonym_key_fingerprint"] == key_fingerprint(NEW_KEY.encode())
    assert NEW_KEY not in manifest.model_dump_json() and NEW_KEY not in run.model_dump_json()
    store = open_store(store_url)
    for key in store.list(""):
        assert NEW_KEY.encode() not in store.get(key), key


@pytest.mark.usefixtures("prefect_harness")
def test_the_key_never_reaches_the_flow_run_parameters(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A study run refused for its key (fast: it stops in prepare-run) records only safe values."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.study import study_flow

    store_url = _store_with_earlier_run(tmp_path, OLD_KEY)
    monkeypatch.setenv("STUDYFLOW_PSEUDONYM_KEY", NEW_KEY)
    state = study_flow(str(demo_copy), store_url, return_state=True)
    assert state.is_failed()
    with pytest.raises(PseudonymKeyChanged):
        state.result()
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(state.state_details.flow_run_id)
        recorded = json.dumps(flow_run.parameters, default=str)
        assert flow_run.parameters["new_key"] is False
        assert NEW_KEY not in recorded and OLD_KEY not in recorded
        assert NEW_KEY not in (state.message or "")
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
        )
        assert task_runs and all(t.name.startswith(("study-id", "prepare-run")) for t in task_runs)
        assert all(NEW_KEY not in t.model_dump_json() for t in task_runs)


def test_a_run_that_loses_latest_to_the_same_work_is_superseded_not_failed(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from schemas.manifest import Manifest, PhaseRecord
    from schemas.phases import PHASES
    from tasks.storage.runs import publish_run

    monkeypatch.setenv("STUDYFLOW_PSEUDONYM_KEY", NEW_KEY)
    store_url = str(tmp_path / "store")
    first = prepare_run(str(demo_copy), store_url)
    earlier = Manifest(
        study_id=first.study_id, run_id="R0", created="2026-11-30T08:00:00+00:00",
        code_version=first.code_version, config_sha256=first.config_sha256,
        parameters={"pseudonym_key_fingerprint": first.key_fingerprint}, inputs=list(first.ctx.inputs),
        phases=[PhaseRecord(phase=p, status="completed", run_id="R0") for p in PHASES], outputs=[],
        previous_run=None, complete=True,
    )
    publish_run(open_store(store_url), earlier, None)
    # Two runs plan against R0 (nothing changed: every phase inherited), then race for `latest`.
    a = prepare_run(str(demo_copy), store_url)
    b = prepare_run(str(demo_copy), store_url)
    assert set(a.plan.values()) == set(b.plan.values()) == {"inherit"}
    won = finalise_run(a, {}, {})
    lost = finalise_run(b, {}, {})
    assert won.manifest.complete and won.published
    assert (lost.manifest.complete, lost.published, lost.winner, lost.same_as_winner) == (
        True, False, a.ctx.run_id, True
    )
    assert lost.manifest_key == f"runs/{b.ctx.run_id}/manifest.json"
    assert open_store(store_url).exists(lost.manifest_key)
    assert "another run (" + a.ctx.run_id + ") published meanwhile" in lost.message
