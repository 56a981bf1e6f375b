"""Input files that reach the store between runs (`study ingest`, the store inbox), and the
announcements the watcher makes for them.

An arrival is write-once: the file goes to raw/ by content hash and a small record goes under
arrivals/<input>/<sha256>.json. A run uses an input's newest arrival instead of the study
folder's file while that file is unchanged since the arrival was recorded (its hash then is kept
in the record); editing the folder's file afterwards makes the folder win again. So the newest
data wins without comparing clocks of different machines.

Announcements (`studyflow.data.arrived` events) are recorded per input and content hash, so the
same content is announced once; when the run for it fails, the watcher announces it again only
after a doubling delay, and says why it waits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.manifest import InputRecord, Manifest
from schemas.study_config import StudyConfig, read_confined
from tasks.storage.catalog import (
    ARRIVALS_PREFIX,
    INBOX_PREFIX,
    announcement_key,
    announcements_prefix,
    arrival_key,
    inbox_seen_key,
)
from tasks.storage.runs import config_inputs, ingest_file, list_manifests, read_latest
from tasks.storage.store import ObjectExists, ObjectMissing, ObjectStore, sha256_hex

# The longest the watcher waits before announcing again content whose run failed.
MAX_BACKOFF = timedelta(days=1)


class UnknownInput(ValueError):
    """`study ingest --input NAME` names no input the study declares."""


class Arrival(BaseModel):
    """One input file that arrived outside a run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: str
    sha256: str
    key: str
    version: str
    size: int
    original_name: str
    arrived: str  # ISO 8601, UTC
    source: Literal["ingest", "inbox"]
    # Hash of the study folder's file for this input when the arrival was recorded (None: absent).
    folder_sha256: str | None = None
    inbox_key: str | None = None

    def input_record(self) -> InputRecord:
        """The arrival as a run's input record."""
        return InputRecord(
            name=self.input, key=self.key, sha256=self.sha256, version=self.version,
            size=self.size, original_name=self.original_name,
        )


class CurrentInput(BaseModel):
    """What a run would read for one declared input now: the folder's file or an arrival."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    sha256: str
    path: Path | None = None
    arrival: Arrival | None = None


class Announcement(BaseModel):
    """One `studyflow.data.arrived` announcement of an input's content."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: str
    sha256: str
    attempt: int
    announced: str  # ISO 8601, UTC
    reason: str


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def declared_input_names(config: StudyConfig, store: ObjectStore | None = None) -> list[str]:
    """Logical names of the inputs the study declares (with files in the folder or arrived)."""
    arrived = set(latest_arrivals(store)) if store is not None else set()
    return [name for name, _ in config_inputs(config, missing_ok=arrived)]


def _folder_sha(path: Path | None) -> str | None:
    return sha256_hex(read_confined(path)) if path is not None else None


def record_arrival(
    store: ObjectStore,
    config: StudyConfig,
    name: str,
    data: bytes,
    original_name: str,
    *,
    source: Literal["ingest", "inbox"] = "ingest",
    inbox_key: str | None = None,
    now: datetime | None = None,
) -> Arrival | None:
    """Store a file for input NAME under raw/ and record its arrival.

    Returns None (and records nothing new) when this content already arrived for NAME or the
    last complete run already read it.
    """
    folder = dict(config_inputs(config, missing_ok=set(latest_arrivals(store)) | {name}, keep_missing=True))
    if name not in folder:
        raise UnknownInput(
            f"--input {name!r} is not an input of study {config.study.id}; declared inputs: "
            + ", ".join(sorted(folder))
        )
    digest = sha256_hex(data)
    key = arrival_key(name, digest)
    if store.exists(key):
        return None
    previous, _ = read_latest(store)
    if previous is not None and any(r.name == name and r.sha256 == digest for r in previous.inputs):
        return None
    record = ingest_file(store, name, data, original_name)
    arrival = Arrival(
        input=name, sha256=digest, key=record.key, version=record.version, size=record.size,
        original_name=original_name, arrived=_iso(_now(now)), source=source,
        folder_sha256=_folder_sha(folder[name]), inbox_key=inbox_key,
    )
    try:
        store.put(key, arrival.model_dump_json(indent=2).encode())
    except ObjectExists:
        return None  # a concurrent ingest of the same content recorded it first
    return arrival


def _arrival_keys(store: ObjectStore) -> Iterable[str]:
    return (k for k in store.list(ARRIVALS_PREFIX) if k.endswith(".json") and "/seen/" not in k)


def latest_arrivals(store: ObjectStore) -> dict[str, Arrival]:
    """The newest arrival of each input (by arrival time, then content hash)."""
    newest: dict[str, Arrival] = {}
    for key in _arrival_keys(store):
        arrival = Arrival.model_validate_json(store.get(key))
        held = newest.get(arrival.input)
        if held is None or (arrival.arrived, arrival.sha256) > (held.arrived, held.sha256):
            newest[arrival.input] = arrival
    return newest


def current_inputs(config: StudyConfig, store: ObjectStore) -> list[CurrentInput]:
    """Per declared input, what a run would read now: its newest arrival while the folder's file
    is unchanged since that arrival (or absent), else the folder's file."""
    arrivals = latest_arrivals(store)
    found: list[CurrentInput] = []
    for name, path in config_inputs(config, missing_ok=set(arrivals), keep_missing=True):
        arrival = arrivals.get(name)
        folder_sha = _folder_sha(path)
        if arrival is not None and (folder_sha is None or folder_sha == arrival.folder_sha256):
            found.append(CurrentInput(name=name, sha256=arrival.sha256, arrival=arrival))
        elif path is not None and folder_sha is not None:
            found.append(CurrentInput(name=name, sha256=folder_sha, path=path))
    return found


def ingest_current_inputs(store: ObjectStore, config: StudyConfig) -> list[InputRecord]:
    """Every current input in raw/ (write-once) as a run's input records."""
    records: list[InputRecord] = []
    for current in current_inputs(config, store):
        if current.arrival is not None:
            records.append(current.arrival.input_record())
        else:
            assert current.path is not None
            records.append(ingest_file(store, current.name, read_confined(current.path), current.path.name))
    return records


def scan_inbox(store: ObjectStore, config: StudyConfig, now: datetime | None = None) -> tuple[list[Arrival], list[str]]:
    """Record files uploaded to inbox/<input>/… as arrivals; returns them and notes on the rest.

    Uploads stay where they are (the store is never pruned by the pipeline); a marker per key and
    version makes each upload read once.
    """
    names = set(declared_input_names(config, store))
    arrivals: list[Arrival] = []
    notes: list[str] = []
    for key in store.list(INBOX_PREFIX):
        name = key.removeprefix(INBOX_PREFIX).split("/", 1)[0]
        if name not in names or "/" not in key.removeprefix(INBOX_PREFIX):
            notes.append(
                f"{key}: not under inbox/<input>/ for a declared input of study {config.study.id} "
                f"(declared: {', '.join(sorted(names))}); left in the inbox, not ingested"
            )
            continue
        info = store.head(key)
        seen = inbox_seen_key(name, key, info.version)
        if store.exists(seen):
            continue
        arrival = record_arrival(
            store, config, name, store.get(key), key.rsplit("/", 1)[-1],
            source="inbox", inbox_key=key, now=now,
        )
        store.put(seen, key.encode())
        if arrival is None:
            notes.append(f"{key}: same content as an earlier arrival for {name}; nothing new")
        else:
            arrivals.append(arrival)
    return arrivals, notes


def changed_inputs(config: StudyConfig, store: ObjectStore) -> dict[str, str]:
    """Inputs whose current content differs from what the last complete run read (name → sha)."""
    previous, _ = read_latest(store)
    before = {r.name: r.sha256 for r in previous.inputs} if previous else {}
    return {c.name: c.sha256 for c in current_inputs(config, store) if before.get(c.name) != c.sha256}


def _announcements(store: ObjectStore, name: str, sha: str) -> list[Announcement]:
    return sorted(
        (Announcement.model_validate_json(store.get(k)) for k in store.list(announcements_prefix(name, sha))),
        key=lambda a: a.attempt,
    )


def _failed_runs_with(manifests: list[Manifest], name: str, sha: str, since: str) -> list[Manifest]:
    return [
        m for m in manifests
        if not m.complete and m.created >= since and any(r.name == name and r.sha256 == sha for r in m.inputs)
    ]


def backoff(attempt: int, base: timedelta) -> timedelta:
    """Delay before announcing again after `attempt` announcements: base, 2×base, 4×base … ≤ 1 day."""
    return min(base * (2 ** max(attempt - 1, 0)), MAX_BACKOFF)


def announcements_due(
    store: ObjectStore,
    changed: dict[str, str],
    *,
    base: timedelta,
    now: datetime | None = None,
) -> tuple[dict[str, tuple[int, str]], list[str]]:
    """Which changed inputs to announce now (name → (attempt, reason)) and why the others wait."""
    moment = _now(now)
    due: dict[str, tuple[int, str]] = {}
    waiting: list[str] = []
    manifests: list[Manifest] | None = None
    for name, sha in sorted(changed.items()):
        history = _announcements(store, name, sha)
        if not history:
            due[name] = (1, "new content")
            continue
        last = history[-1]
        if manifests is None:
            manifests = list_manifests(store)
        failed = _failed_runs_with(manifests, name, sha, last.announced)
        why = (
            f"its run {failed[-1].run_id} failed" if failed
            else "no run has completed with it yet (queued, running or not started)"
        )
        next_at = datetime.fromisoformat(last.announced) + backoff(last.attempt, base)
        if moment >= next_at:
            due[name] = (last.attempt + 1, f"announced {last.attempt}x, {why}")
        else:
            waiting.append(
                f"{name} ({sha[:12]}): announced {last.attempt}x, last at {last.announced}; {why}; "
                f"not announced again before {_iso(next_at)}"
            )
    return due, waiting


def record_announcements(
    store: ObjectStore, changed: dict[str, str], due: dict[str, tuple[int, str]], now: datetime | None = None
) -> list[Announcement]:
    """Write one announcement record per announced input."""
    moment = _iso(_now(now))
    written: list[Announcement] = []
    for name, (attempt, reason) in due.items():
        record = Announcement(input=name, sha256=changed[name], attempt=attempt, announced=moment, reason=reason)
        try:
            store.put(announcement_key(name, changed[name], attempt), record.model_dump_json(indent=2).encode())
        except ObjectExists:
            continue  # another watcher tick announced this attempt first
        written.append(record)
    return written


def dedupe_key(inputs: dict[str, str]) -> str:
    """The content hash that names one announcement: over the sorted (input, sha256) pairs."""
    return sha256_hex("".join(f"{n}={s}\n" for n, s in sorted(inputs.items())).encode())


__all__ = [
    "Announcement", "Arrival", "CurrentInput", "ObjectMissing", "UnknownInput", "announcements_due",
    "backoff", "changed_inputs", "current_inputs", "declared_input_names", "dedupe_key",
    "ingest_current_inputs", "latest_arrivals", "record_announcements", "record_arrival", "scan_inbox",
]
