"""Step-level caching by content, kept in the study's own store.

A step's cache key is the content hash of the dataset records and raw files it reads, its code
version (the source of the modules it imports, transitively) and the study.yaml sections it
declares, plus the pseudonymisation key's fingerprint. Prefect looks the key up in a result
storage block that reads and writes `cache/steps/<key>` through the store seam, so a cache hit
shows as a Cached task run in the UI and works the same on a laptop folder or a bucket.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from prefect.cache_policies import CachePolicy
from prefect.context import TaskRunContext
from prefect.filesystems import WritableFileSystem

from schemas.manifest import OutputRecord
from schemas.study_config import StudyConfig
from tasks.context import RunContext
from tasks.step import Step
from tasks.step_io import StepResult, input_records, records_of
from tasks.storage.catalog import step_cache_key
from tasks.storage.store import ObjectExists, ObjectMissing, open_store

ROOT = Path(__file__).resolve().parents[2]
_PACKAGES = ("flows", "tasks", "schemas")
# The runner's own modules shape every output: they belong to every step's code version.
_RUNNER_MODULES = ("tasks.step_io", "tasks.step")


def _module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


# CPython 3.11 keeps ast.parse's recursion-depth count in state shared by all threads: two steps
# parsing at once failed with "AST constructor recursion depth mismatch".
_PARSE_LOCK = threading.Lock()


def _imports(path: Path) -> set[str]:
    """Project modules a source file imports (absolute imports of flows, tasks, schemas)."""
    found: set[str] = set()
    source = path.read_bytes()
    with _PARSE_LOCK:
        tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # "from tasks.survey import cleaning" imports a submodule.
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] in _PACKAGES}


@lru_cache(maxsize=256)
def module_closure_digest(*modules: str) -> str:
    """sha256 over the source of some modules and every project module they import."""
    seen: dict[str, Path] = {}
    queue = list(modules)
    while queue:
        module = queue.pop()
        if module in seen:
            continue
        path = _module_file(module)
        if path is None:
            continue
        seen[module] = path
        # A package's parents run on import too.
        parts = module.split(".")
        queue.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        queue.extend(_imports(path) - set(seen))
    digest = hashlib.sha256()
    for module in sorted(seen):
        digest.update(module.encode())
        digest.update(seen[module].read_bytes())
    return digest.hexdigest()


def step_code_version(step: Step) -> str:
    """The code version of a step: its function's module closure and the runner's."""
    return module_closure_digest(step.module, *_RUNNER_MODULES)


def config_section_digest(config: StudyConfig, sections: tuple[str, ...]) -> str:
    """sha256 of the study.yaml sections a step declares it reads."""
    data = config.model_dump(mode="json", include=set(sections))
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def step_cache_digest(
    ctx: RunContext, step: Step, wave: str | None, available: Mapping[str, OutputRecord]
) -> str:
    """The content key of one step run: what it reads, its code, its config, the key."""
    config = ctx.config()
    records = input_records(step, config, wave, available)
    prefixes = step.raw_prefixes(wave)
    raw = sorted(
        (r.name, r.sha256) for r in ctx.inputs
        if any(r.name == p or (p.endswith(".") and r.name.startswith(p)) for p in prefixes)
    )
    payload = {
        "step": step.name,
        "wave": wave,
        "inputs": sorted((name, rec.sha256) for name, rec in records.items()),
        "raw": raw,
        "code": step_code_version(step),
        "config": config_section_digest(config, step.config),
        "key": ctx.key_fingerprint if step.needs_key else "",
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class StepInputsPolicy(CachePolicy):
    """Prefect cache policy for step tasks: the key is `step_cache_digest` of the call."""

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        """The step's content key, or None (never cached) for steps that name their run."""
        from tasks.pipeline import step_named

        step = step_named(inputs["step"])
        if not step.cacheable:
            return None
        earlier: list[StepResult] = inputs.get("earlier") or []
        available = {**inputs.get("upstream", {}), **records_of(earlier)}
        return f"{step.name}-{step_cache_digest(inputs['ctx'], step, inputs.get('wave'), available)}"


class StoreCache(WritableFileSystem):
    """Prefect result storage on the study's store (`cache/steps/…`), through the store seam."""

    _block_type_name = "studyflow step cache"
    _block_type_slug = "studyflow-step-cache"

    store_url: str

    def read_path(self, path: str, _sync: bool = True) -> bytes:  # type: ignore[override]
        """A cached result record's bytes; a missing key reads as a cache miss."""
        try:
            return open_store(self.store_url).get(step_cache_key(path))
        except ObjectMissing:
            raise ValueError(f"no cached step result {path!r}") from None

    def write_path(self, path: str, content: bytes, _sync: bool = True) -> str:  # type: ignore[override]
        """Store a result record; the first writer of a key wins (same inputs, same outputs)."""
        key = step_cache_key(path)
        with contextlib.suppress(ObjectExists):
            open_store(self.store_url).put(key, content)
        return key

    async def aread_path(self, path: str) -> bytes:
        """Async form of read_path (Prefect's async engine calls it)."""
        return self.read_path(path)

    async def awrite_path(self, path: str, content: bytes) -> str:
        """Async form of write_path."""
        return self.write_path(path, content)


# Phases run side by side in threads: the first save per process happens once, under this lock.
_SAVE_LOCK = threading.Lock()


@lru_cache(maxsize=16)
def _saved_cache(store_url: str, api_url: str | None) -> StoreCache:
    from prefect.exceptions import ObjectAlreadyExists

    block = StoreCache(store_url=store_url)
    name = "studyflow-cache-" + hashlib.sha256(store_url.encode()).hexdigest()[:12]
    for attempt in range(3):
        try:
            block.save(name, overwrite=True)
            break
        except ObjectAlreadyExists:
            # Another process (a second worker, a served runner) registered the block type or
            # document between Prefect's check and its create: saving again finds it.
            if attempt == 2:
                raise
    return block


def step_cache_storage(store_url: str) -> StoreCache:
    """The store's cache block, saved on the Prefect API once per process and API (Prefect
    requires a task's result storage to be a saved block)."""
    from prefect.settings import get_current_settings

    with _SAVE_LOCK:
        return _saved_cache(store_url, get_current_settings().api.url)
