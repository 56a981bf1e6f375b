"""Run bookkeeping as steps: prepare a run (ingest, plan) and finalise it (manifest, latest)."""

from __future__ import annotations

from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from schemas.manifest import Manifest, OutputRecord, PhaseRecord
from schemas.phases import PHASES
from schemas.study_config import StudyConfig, load_study_config
from tasks.context import RunContext
from tasks.phase import PhaseResult
from tasks.pipeline import phase_inputs
from tasks.privacy import key_fingerprint, pseudonym_key_for
from tasks.redaction import redact, redaction_pattern
from tasks.step import RunFacts
from tasks.storage.arrivals import (
    announcements_due,
    changed_inputs,
    dedupe_key,
    record_announcements,
    scan_inbox,
)
from tasks.storage.catalog import manifest_key, quarantine_prefix
from tasks.storage.runs import (
    LostLatestRace,
    check_key_fingerprint,
    code_version,
    config_sha256,
    ingest_inputs,
    inherited_outputs,
    new_run_id,
    plan_phases,
    publish_run,
    read_latest,
    utc_now_iso,
)
from tasks.storage.store import open_store

DATA_ARRIVED = "studyflow.data.arrived"


class RunPlan(BaseModel):
    """What a study run will do: its context, per-phase plan and what it inherits."""

    model_config = ConfigDict(frozen=True)

    ctx: RunContext
    study_id: str
    plan: dict[str, str]
    key_fingerprint: str
    code_version: str
    config_sha256: str
    previous: Manifest | None = None
    expected_latest: str | None = None

    def upstream(self, results: dict[str, PhaseResult]) -> dict[str, OutputRecord]:
        """Outputs available to downstream phases: this run's results plus inherited ones."""
        records: dict[str, OutputRecord] = {}
        if self.previous is not None:
            for phase in PHASES:
                if self.plan.get(phase) == "inherit":
                    records.update({o.dataset: o for o in inherited_outputs(self.previous, phase)})
        for result in results.values():
            records.update(result.by_dataset())
        return records


def prepare_run(
    config_path: str,
    store_url: str,
    phases: list[str] | None = None,
    run_id: str | None = None,
    new_key: bool = False,
) -> RunPlan:
    """Ingest the study's inputs into raw/ and decide which phases run and which are inherited.

    Refuses (PseudonymKeyChanged) when the pseudonymisation key is not the one the store's last
    complete run used, unless `new_key` says the change is intended: every phase then re-runs.
    """
    config = load_study_config(config_path)
    # The key is resolved first: a run without one, or with another one, stops before ingesting.
    fingerprint = key_fingerprint(pseudonym_key_for(config).key)
    store = open_store(store_url)
    previous, expected = read_latest(store)
    check_key_fingerprint(previous, fingerprint, new_key=new_key)
    inputs = ingest_inputs(store, config)
    code = code_version()
    cfg_sha = config_sha256(config_path)
    plan = plan_phases(
        inputs, previous, phase_prefixes=phase_inputs(config), code=code, config_sha256=cfg_sha,
        requested=phases, key_fingerprint=fingerprint,
    )
    ctx = RunContext(
        store_url=store_url,
        run_id=run_id or new_run_id(),
        config_path=str(config_path),
        inputs=tuple(inputs),
        key_fingerprint=fingerprint,
    )
    return RunPlan(
        ctx=ctx,
        study_id=config.study.id,
        plan=plan,
        key_fingerprint=fingerprint,
        code_version=code,
        config_sha256=cfg_sha,
        previous=previous,
        expected_latest=expected,
    )


def phase_records(
    run: RunPlan, results: dict[str, PhaseResult], failures: dict[str, str]
) -> list[PhaseRecord]:
    """Each phase's status in this run: completed, inherited, failed or skipped."""
    records: list[PhaseRecord] = []
    for phase in PHASES:
        if phase in results:
            summary = results[phase].summary
            records.append(PhaseRecord(phase=phase, status="completed", run_id=run.ctx.run_id, summary=summary))
        elif phase in failures:
            # Errors can quote input text (source names, cells): names are redacted first.
            error = redact(failures[phase], redaction_pattern(run.ctx.config().qualitative.redact_terms))[0]
            records.append(PhaseRecord(phase=phase, status="failed", run_id=run.ctx.run_id, error=error))
        elif run.plan.get(phase) == "inherit" and run.previous is not None:
            before = next(p for p in run.previous.phases if p.phase == phase)
            records.append(
                PhaseRecord(phase=phase, status="inherited", run_id=before.run_id, summary=before.summary)
            )
        else:
            records.append(PhaseRecord(phase=phase, status="skipped", run_id=run.ctx.run_id))
    return records


def run_facts(run: RunPlan, results: dict[str, PhaseResult], failures: dict[str, str]) -> RunFacts:
    """What the report states about the run so far: provenance, phases, inputs and outputs."""
    ctx = run.ctx
    prefixes = phase_inputs(ctx.config())
    per_phase_inputs = {
        phase: sum(1 for rec in ctx.inputs if any(rec.name == p or rec.name.startswith(p) for p in pre))
        for phase, pre in prefixes.items()
    }
    per_phase_outputs: dict[str, tuple[int, int]] = {}
    for rec in run.upstream(results).values():
        n, rows = per_phase_outputs.get(rec.phase, (0, 0))
        per_phase_outputs[rec.phase] = (n + 1, rows + (rec.rows or 0))
    return RunFacts(
        run_id=ctx.run_id,
        code_version=run.code_version,
        config_sha256=run.config_sha256,
        inputs=tuple(sorted((rec.name, rec.original_name, rec.sha256) for rec in ctx.inputs)),
        phases=tuple(r.model_dump() for r in phase_records(run, results, failures)),
        inputs_per_phase=per_phase_inputs,
        outputs_per_phase=per_phase_outputs,
    )


class Publication(BaseModel):
    """How a run ended in the store: its manifest, and whether it became `latest`."""

    model_config = ConfigDict(frozen=True)

    manifest: Manifest
    published: bool
    # When another run became `latest` first: that run, and whether it read the same inputs
    # with the same code, configuration and key (then this run has nothing to add).
    winner: str | None = None
    same_as_winner: bool = False
    message: str = ""

    @property
    def manifest_key(self) -> str:
        """Where the run's manifest is stored."""
        return manifest_key(self.manifest.run_id)


def _same_work(a: Manifest, b: Manifest) -> bool:
    return (
        {(r.name, r.sha256) for r in a.inputs} == {(r.name, r.sha256) for r in b.inputs}
        and a.code_version == b.code_version
        and a.config_sha256 == b.config_sha256
        and a.parameters.get("pseudonym_key_fingerprint") == b.parameters.get("pseudonym_key_fingerprint")
    )


def finalise_run(
    run: RunPlan, results: dict[str, PhaseResult], failures: dict[str, str]
) -> Publication:
    """Write the manifest; switch `latest` only when every phase completed or was inherited.

    Losing the compare-and-swap on `latest` to another run is not an error: the manifest is kept
    and the publication says which run won, so the flow can re-plan or end as superseded.
    """
    phase_records_ = phase_records(run, results, failures)
    outputs: list[OutputRecord] = []
    for rec in phase_records_:
        if rec.status == "completed":
            outputs.extend(results[rec.phase].outputs)
        elif rec.status == "inherited" and run.previous is not None:
            outputs.extend(inherited_outputs(run.previous, rec.phase))
    complete = all(p.status in ("completed", "inherited") for p in phase_records_)
    manifest = Manifest(
        study_id=run.study_id,
        run_id=run.ctx.run_id,
        created=utc_now_iso(),
        code_version=run.code_version,
        config_sha256=run.config_sha256,
        parameters={
            "store_url": run.ctx.store_url,
            "config_path": run.ctx.config_path,
            "pseudonym_key_fingerprint": run.key_fingerprint,
        },
        inputs=list(run.ctx.inputs),
        phases=phase_records_,
        outputs=outputs,
        previous_run=run.previous.run_id if run.previous else None,
        complete=complete,
        quarantine=run.ctx.store().list(quarantine_prefix(run.ctx.run_id)),
    )
    store = run.ctx.store()
    try:
        publish_run(store, manifest, run.expected_latest)
    except LostLatestRace as lost:
        winner, _ = read_latest(store)
        return Publication(
            manifest=manifest,
            published=False,
            winner=lost.winner,
            same_as_winner=winner is not None and _same_work(manifest, winner),
            message=str(lost),
        )
    return Publication(manifest=manifest, published=complete)


prepare_run_task = task(name="prepare-run", cache_policy=NO_CACHE)(prepare_run)
finalise_run_task = task(name="finalise-run", cache_policy=NO_CACHE)(finalise_run)


class WatchTick(BaseModel):
    """What one watcher tick found: the announcement to make (if any) and why others wait."""

    model_config = ConfigDict(frozen=True)

    labels: dict[str, str] | None = None
    due: dict[str, tuple[int, str]] = {}
    changed: dict[str, str] = {}
    notes: list[str] = []


def arrival_labels(config: StudyConfig, inputs: dict[str, str], attempt: int) -> dict[str, str]:
    """Labels of one `studyflow.data.arrived` event for some inputs (name → sha256)."""
    prefixes = phase_inputs(config)
    phases = [p for p in PHASES if any(n == x or n.startswith(x) for n in inputs for x in prefixes[p])]
    return {
        "studyflow.study": config.study.id,
        "studyflow.inputs": ",".join(sorted(inputs)),
        "studyflow.phases": ",".join(phases),
        # The content hash names the announcement, so one change is announced once per attempt.
        "studyflow.sha256": dedupe_key(inputs),
        "studyflow.attempt": str(attempt),
    }


def detect_new_data(config_path: str, store_url: str, now: datetime | None = None) -> WatchTick:
    """Read the store inbox, then decide the one announcement due for the study's changed inputs.

    Content announced before is announced again only after a doubling back-off, and the tick's
    notes say why it waits (its run failed, or none has completed yet).
    """
    config = load_study_config(config_path)
    store = open_store(store_url)
    _, notes = scan_inbox(store, config, now=now)
    changed = changed_inputs(config, store)
    base = timedelta(seconds=config.orchestration.announce_backoff_seconds)
    due, waiting = announcements_due(store, changed, base=base, now=now)
    labels = None
    if due:
        labels = arrival_labels(config, {n: changed[n] for n in due}, max(a for a, _ in due.values()))
    return WatchTick(labels=labels, due=due, changed=changed, notes=[*notes, *waiting])


def announce(config_path: str, store_url: str, tick: WatchTick, now: datetime | None = None) -> str | None:
    """Emit the tick's `studyflow.data.arrived` event and record it; returns the event id."""
    if tick.labels is None:
        return None
    event_id = emit_data_arrived(tick.labels)
    record_announcements(open_store(store_url), tick.changed, tick.due, now=now)
    return event_id


def emit_data_arrived(labels: dict[str, str]) -> str | None:
    """Emit one `studyflow.data.arrived` event; returns the event id (None if not sent)."""
    from prefect.events import emit_event

    event = emit_event(
        event=DATA_ARRIVED,
        resource={"prefect.resource.id": f"studyflow.arrival.{labels['studyflow.sha256']}", **labels},
    )
    return str(event.id) if event is not None else None


detect_new_data_task = task(name="detect-new-data", cache_policy=NO_CACHE)(detect_new_data)
announce_task = task(name="announce-data-arrived", cache_policy=NO_CACHE)(announce)
