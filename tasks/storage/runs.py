"""Runs in the store: ingesting inputs to raw/, planning what to re-run, manifests, `latest`."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version as package_version
from pathlib import Path

from schemas import inputs as input_files
from schemas.manifest import InputRecord, LatestPointer, Manifest, OutputRecord
from schemas.phases import PHASES
from schemas.study_config import ConfigError, StudyConfig
from tasks.pipeline import phase_upstream
from tasks.storage.catalog import (
    LATEST_KEY,
    QUARANTINE_PREFIX,
    REVIEW_PREFIX,
    RUNS_PREFIX,
    STAGED_RUNS_PREFIX,
    STEP_CACHE_PREFIX,
    manifest_key,
    raw_key,
    run_id_of,
    run_prefix,
)
from tasks.storage.store import (
    STAGING_PREFIX,
    ObjectMissing,
    ObjectStore,
    StoreError,
    VersionConflict,
    sha256_hex,
)

_CODE_PACKAGES = ("flows", "tasks", "schemas")


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: UTC timestamp plus random suffix."""
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def code_version() -> str:
    """Package version plus a hash of the pipeline's source files (works without git)."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for pkg in _CODE_PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return f"{package_version('studyflow')}+{digest.hexdigest()[:12]}"


def config_inputs(
    config: StudyConfig, *, missing_ok: Collection[str] = (), keep_missing: bool = False
) -> list[tuple[str, Path]]:
    """Every input file the study declares, as (logical name, resolved path); globs expanded.

    Each path is confined to the study folder (and `inputs_root`): InputPathError names the
    study.yaml key and the path of one that is not, before anything is read. A single-file input
    named in `missing_ok` (it arrived in the store) may be absent from the folder: it is left
    out, or listed with path None when `keep_missing` is set.
    """
    wanted: list[tuple[str, str, str, bool]] = [(input_files.SITES.name, "sites.path", config.sites.path, False)]
    for wave, w in config.survey.waves.items():
        wanted.append((input_files.EXPORT.resolve(wave=wave), f"survey.waves.{wave}.export", w.export, False))
        wanted.append((input_files.ROSTER.resolve(wave=wave), f"survey.waves.{wave}.roster.path", w.roster.path, False))
        if w.dictionary:
            wanted.append((input_files.DICTIONARY.resolve(wave=wave), f"survey.waves.{wave}.dictionary", w.dictionary, False))
    lookup = config.survey.respondent.site_lookup
    if lookup is not None:
        wanted.append((input_files.SITE_LOOKUP.name, "survey.respondent.site_lookup.path", lookup.path, False))
    for key, ft in config.survey.freetext.items():
        if ft.human_coded:
            wanted.append((input_files.human_coded_name(key), f"survey.freetext.{key}.human_coded", ft.human_coded, False))
    q = config.qualitative
    wanted.append((input_files.CODEBOOK.name, "qualitative.codebook", q.codebook, False))
    for family, section, declared in (
        (input_files.SCOPING_PROJECTS, "scoping", q.scoping), (input_files.CASE_PROJECTS, "case_studies", q.case_studies)
    ):
        for i, pattern in enumerate(declared.projects):
            wanted.append((family.name, f"qualitative.{section}.projects[{i}]", pattern, True))
        if declared.site_mapping is not None:
            wanted.append((input_files.site_map_name(section), f"qualitative.{section}.site_mapping.path",
                           declared.site_mapping.path, False))
    found: list[tuple[str, Path]] = []
    counters: dict[str, int] = {}
    for name, key, pattern, many in wanted:
        paths = config.input_files(key, pattern)
        if not paths and not many and name in missing_ok:
            if keep_missing:
                found.append((name, None))  # type: ignore[arg-type]
            continue
        if not paths:
            raise ConfigError(f"study.yaml {key}: no input file matches {pattern!r} (relative to {config.base_dir})")
        if not many and len(paths) > 1:
            raise ConfigError(f"study.yaml {key}: {pattern!r} matches {len(paths)} files, expected one")
        for path in paths:
            if many:
                i = counters.get(name, 0)
                counters[name] = i + 1
                found.append((f"{name}{i:03d}", path))
            else:
                found.append((name, path))
    return found


def ingest_file(store: ObjectStore, name: str, data: bytes, original_name: str) -> InputRecord:
    """Store an input under raw/ by content hash (a no-op when already there)."""
    digest = sha256_hex(data)
    info = store.put(raw_key(digest, original_name), data, metadata={"original-name": original_name})
    return InputRecord(
        name=name,
        key=info.key,
        sha256=digest,
        version=info.version,
        size=info.size,
        original_name=original_name,
    )


def ingest_inputs(store: ObjectStore, config: StudyConfig) -> list[InputRecord]:
    """Copy every declared input into raw/ (write-once) and record it, plus review files.

    Every path is confined before the first byte is read or stored. An input that arrived in the
    store (`study ingest`, the inbox) is read from there while the study folder's file is
    unchanged since it arrived (see tasks/storage/arrivals.py).
    """
    from tasks.storage.arrivals import ingest_current_inputs  # arrivals builds on this module

    records = ingest_current_inputs(store, config)
    # Researcher-owned review files live in the store; recording their hash makes an edited
    # review re-run triangulation. They are referenced where they are, never copied or rewritten.
    for key in store.list(REVIEW_PREFIX):
        info = store.head(key)
        records.append(
            InputRecord(
                name=f"{input_files.REVIEW.name}{key.removeprefix(REVIEW_PREFIX).rsplit('.', 1)[0]}",
                key=key,
                sha256=info.sha256,
                version=info.version,
                size=info.size,
                original_name=key.rsplit("/", 1)[-1],
            )
        )
    return records


def read_latest(store: ObjectStore) -> tuple[Manifest | None, str | None]:
    """The last complete manifest and the pointer's version (None, None if no run yet)."""
    try:
        info = store.head(LATEST_KEY)
    except ObjectMissing:
        return None, None
    pointer = LatestPointer.model_validate_json(store.get(LATEST_KEY))
    return read_manifest(store, pointer.run_id), info.version


def read_manifest(store: ObjectStore, run_id: str) -> Manifest:
    """One run's manifest."""
    return Manifest.model_validate_json(store.get(manifest_key(run_id)))


def list_manifests(store: ObjectStore) -> list[Manifest]:
    """Every run manifest in the store, published or (incomplete runs) staged, oldest first."""
    keys = {k for k in store.list(RUNS_PREFIX) if k.endswith("/manifest.json")}
    keys |= {
        k.removeprefix(STAGING_PREFIX) for k in store.list(STAGED_RUNS_PREFIX) if k.endswith("/manifest.json")
    }
    return [Manifest.model_validate_json(store.get(k)) for k in sorted(keys)]


class PseudonymKeyChanged(RuntimeError):
    """The pseudonymisation key is not the one the store's last complete run used."""


def check_key_fingerprint(previous: Manifest | None, fingerprint: str, *, new_key: bool = False) -> None:
    """Refuse a run whose key differs from the last complete run's, unless `new_key` is given.

    Fingerprints are keyed hashes of a fixed text: they identify a key and are safe to print.
    """
    if previous is None or new_key:
        return
    before = previous.parameters.get("pseudonym_key_fingerprint")
    if before == fingerprint:
        return
    recorded = f"fingerprint {before}" if before else "no key fingerprint"
    raise PseudonymKeyChanged(
        f"pseudonymisation key changed: this run's key has fingerprint {fingerprint}, but the "
        f"store's last complete run {previous.run_id} recorded {recorded}. Pseudonyms made with "
        "another key would not match the earlier runs' (the same person would get a new id). "
        "Set the key used before (the environment variable or Prefect Secret block named in "
        "study.yaml), or pass new_key=True (`--new-key`) to recompute every phase with this key."
    )


def plan_phases(
    inputs: Iterable[InputRecord],
    previous: Manifest | None,
    *,
    phase_prefixes: dict[str, tuple[str, ...]],
    code: str,
    config_sha256: str,
    requested: Iterable[str] | None = None,
    key_fingerprint: str | None = None,
) -> dict[str, str]:
    """Decide per phase: "run" (inputs, code, config or key changed, or asked for) or "inherit"."""
    plan: dict[str, str] = {}
    # Another pseudonymisation key gives other pseudonyms: inheriting any phase would then mix
    # two keys' ids in one run, so everything is recomputed.
    key_changed = previous is not None and (
        previous.parameters.get("pseudonym_key_fingerprint") != key_fingerprint
    )
    if (
        previous is None
        or previous.code_version != code
        or previous.config_sha256 != config_sha256
        or key_changed
    ):
        return {p: "run" for p in PHASES}
    before = {r.name: r.sha256 for r in previous.inputs}
    now = {r.name: r.sha256 for r in inputs}
    done_before = {p.phase for p in previous.phases if p.status in ("completed", "inherited")}
    forced = set(requested or ())
    for phase in PHASES:
        prefixes = phase_prefixes[phase]
        names = {n for n in set(before) | set(now) if n.startswith(prefixes) or n in prefixes}
        changed = any(before.get(n) != now.get(n) for n in names)
        upstream_rerun = any(plan.get(u) == "run" for u in phase_upstream()[phase])
        missing = phase not in done_before
        plan[phase] = "run" if (changed or upstream_rerun or missing or phase in forced) else "inherit"
    return plan


def inherited_outputs(previous: Manifest, phase: str) -> list[OutputRecord]:
    """Outputs of a phase carried over unchanged from the previous complete run."""
    return [o for o in previous.outputs if o.phase == phase]


class LostLatestRace(VersionConflict):
    """A complete run could not become `latest`: another run published after this one planned."""

    def __init__(self, message: str, *, winner: str | None, manifest_key: str) -> None:
        super().__init__(message)
        self.winner = winner
        self.manifest_key = manifest_key


def publish_run(store: ObjectStore, manifest: Manifest, expected_latest: str | None) -> None:
    """Write the manifest; if the run is complete, publish it and switch `latest` (compare-and-swap).

    An incomplete run's manifest stays in staging with its objects. A complete run's objects are
    published first (its own and those a cached step reused from an earlier, unpublished run),
    then its manifest: a run whose manifest is under runs/ is whole, whenever the process died.
    """
    body = manifest.model_dump_json(indent=2).encode()
    info = store.put(manifest_key(manifest.run_id), body)
    if not manifest.complete:
        return
    own = run_prefix(manifest.run_id)
    # Objects a cached step reused from an earlier run that never completed are published first.
    for key in sorted({o.key for o in manifest.outputs if not o.key.startswith(own)}):
        store.publish(key)
    # Then this run's objects, its manifest last (on a folder store: one atomic rename).
    store.publish_prefix(own, last=info.key)
    pointer = LatestPointer(
        run_id=manifest.run_id, manifest_key=info.key, manifest_sha256=info.sha256
    )
    try:
        store.swap(LATEST_KEY, pointer.model_dump_json(indent=2).encode(), expected_version=expected_latest)
    except VersionConflict as exc:
        try:
            winner: str | None = LatestPointer.model_validate_json(store.get(LATEST_KEY)).run_id
        except ObjectMissing:
            winner = None
        raise LostLatestRace(
            f"run {manifest.run_id} finished but another run ({winner}) published meanwhile; its "
            f"manifest is stored at {info.key} and `latest` was left alone ({exc})",
            winner=winner,
            manifest_key=info.key,
        ) from None
    discard_staged(store, manifest.run_id)


def discard_staged(store: ObjectStore, run_id: str) -> list[str]:
    """Remove a published run's staged copies (best effort: `study gc` sweeps what is left)."""
    removed: list[str] = []
    for key in store.list(STAGING_PREFIX + run_prefix(run_id)):
        try:
            store.delete(key)
        except StoreError:
            continue
        removed.append(key)
    return removed


@dataclass(frozen=True)
class GcReport:
    """What `study gc` removed (by run) and what it kept."""

    removed: dict[str, list[str]] = field(default_factory=dict)
    kept_recent: list[str] = field(default_factory=list)
    cache_records: list[str] = field(default_factory=list)

    def lines(self, *, dry_run: bool = False) -> list[str]:
        """One line per removed run and a total, for the command line."""
        did, done = ("would remove", "would be removed") if dry_run else ("removed", "removed")
        out = [f"{did} run {rid}: {len(keys)} object(s)" for rid, keys in sorted(self.removed.items())]
        out += [f"kept incomplete run {rid}: younger than the age limit" for rid in self.kept_recent]
        if self.cache_records:
            out.append(f"{did} {len(self.cache_records)} step cache record(s) naming removed objects")
        total = sum(len(v) for v in self.removed.values())
        out.append(f"{total} object(s) {done}" if total else "nothing to remove")
        return out


def run_started(run_id: str) -> datetime | None:
    """When a run started, read from its id (None for ids not made by `new_run_id`)."""
    try:
        return datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def collect_garbage(
    store: ObjectStore, older_than: timedelta, *, now: datetime | None = None, dry_run: bool = False
) -> GcReport:
    """Remove what incomplete runs older than `older_than` left: staged objects, stray published
    objects, quarantine copies and incomplete manifests.

    Every object a complete manifest names is kept, including objects of an earlier incomplete
    run that a cached step reused; so is everything under a complete run's folder. Step cache
    records that name a removed object are removed too, so no later run reuses a missing result.
    """
    now = now or datetime.now(UTC)
    complete = {m.run_id: m for m in list_manifests(store) if m.complete and store.is_published(manifest_key(m.run_id))}
    keep = {manifest_key(rid) for rid in complete} | {o.key for m in complete.values() for o in m.outputs}
    removed: dict[str, list[str]] = {}
    recent: set[str] = set()
    keys = [*store.list(STAGED_RUNS_PREFIX), *store.list(RUNS_PREFIX), *store.list(QUARANTINE_PREFIX)]
    for key in keys:
        rid = run_id_of(key)
        if rid is None:
            continue
        logical = key.removeprefix(STAGING_PREFIX)
        staged_copy = key.startswith(STAGING_PREFIX)
        if staged_copy and store.is_published(logical):
            pass  # a published object's staging copy: redundant, whatever its age
        elif rid in complete or logical in keep:
            continue
        else:
            started = run_started(rid)
            if started is None or now - started < older_than:
                recent.add(rid)
                continue
        removed.setdefault(rid, []).append(key)
    gone = {k for keys_ in removed.values() for k in keys_}
    if not dry_run:
        for key in sorted(gone):
            store.delete(key)
    # Only keys removed from their logical place (not redundant staging copies) can break a cache record.
    lost = {k.removeprefix(STAGING_PREFIX) for k in gone} - {k for k in keep}
    lost = {k for k in lost if dry_run or not store.exists(k)}
    cache = _cache_records_naming(store, lost) if lost else []
    if not dry_run:
        for key in cache:
            store.delete(key)
    removed = {rid: sorted(keys_) for rid, keys_ in removed.items()}
    return GcReport(removed=removed, kept_recent=sorted(recent - set(removed)), cache_records=cache)


def _cache_records_naming(store: ObjectStore, keys: set[str]) -> list[str]:
    """Step cache records (Prefect result records) whose step result names one of `keys`."""
    from prefect.results import ResultRecord

    found = []
    for cache_key in store.list(STEP_CACHE_PREFIX):
        try:
            result: object = ResultRecord.deserialize(store.get(cache_key)).result
        except Exception:  # noqa: BLE001 - a record we cannot read is left alone
            continue
        outputs = getattr(result, "outputs", None) or []
        if any(getattr(o, "key", None) in keys for o in outputs):
            found.append(cache_key)
    return found


def config_sha256(config_path: str | Path) -> str:
    """Hash of the study configuration file's bytes."""
    return sha256_hex(Path(config_path).read_bytes())


def utc_now_iso() -> str:
    """Current UTC time in ISO 8601 (manifests only; never inside datasets)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def manifest_summary(manifest: Manifest) -> dict[str, object]:
    """A short JSON-able summary of a manifest for listings."""
    return {
        "run_id": manifest.run_id,
        "created": manifest.created,
        "complete": manifest.complete,
        "phases": {p.phase: p.status for p in manifest.phases},
        "outputs": len(manifest.outputs),
    }


def dumps(obj: object) -> str:
    """Stable JSON text."""
    return json.dumps(obj, indent=2, sort_keys=True, default=str)
