"""Logical names to store keys: the only place that spells the layout of the store.

raw/<sha256>/<original-name>            inputs, write-once, content-addressed
runs/<run-id>/<phase>/<name>.<ext>      a run's datasets (dataset "survey.w1.responses" lives at
                                        runs/<run-id>/survey/w1/responses.parquet)
runs/<run-id>/manifest.json             the run's manifest, written last but one
staging/runs/<run-id>/…                 where a run's objects are written until it completes
                                        (the store seam reads them by their runs/ key)
latest.json                             pointer to the last complete manifest, switched last
quarantine/<run-id>/<name>.<ext>        rejected rows and files, with reasons
review/<name>                           researcher-owned files the pipeline never overwrites
inbox/<input>/<file>                    files uploaded for an input, read by the watcher
arrivals/<input>/<sha256>.json          an input that arrived between runs (write-once)
arrivals/<input>/seen/<digest>          an inbox upload (key and version) already read
announcements/<input>/<sha256>/<n>.json the n-th data-arrived announcement of that content
cache/steps/<step>-<digest>             cached step results (Prefect result records), by content key
"""

from __future__ import annotations

import hashlib
import re

LATEST_KEY = "latest.json"
INBOX_PREFIX = "inbox/"
ARRIVALS_PREFIX = "arrivals/"
ANNOUNCEMENTS_PREFIX = "announcements/"
RUNS_PREFIX = "runs/"
RAW_PREFIX = "raw/"
REVIEW_PREFIX = "review/"
STEP_CACHE_PREFIX = "cache/steps/"
QUARANTINE_PREFIX = "quarantine/"
STAGED_RUNS_PREFIX = "staging/runs/"

_DATASET = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _dataset_path(dataset: str) -> str:
    if not _DATASET.match(dataset):
        raise ValueError(f"invalid dataset name {dataset!r} (dotted lower-case words expected)")
    return dataset.replace(".", "/")


def safe_name(name: str) -> str:
    """A file name reduced to characters safe in any object store key."""
    cleaned = _SAFE_NAME.sub("_", name.rsplit("/", 1)[-1]).strip("._") or "file"
    return cleaned[:200]


def raw_key(sha256: str, original_name: str) -> str:
    """Key of a write-once raw input."""
    return f"{RAW_PREFIX}{sha256}/{safe_name(original_name)}"


def dataset_key(run_id: str, dataset: str, ext: str = "parquet") -> str:
    """Key of a dataset written by a run."""
    return f"{RUNS_PREFIX}{run_id}/{_dataset_path(dataset)}.{ext}"


def docs_prefix(run_id: str) -> str:
    """Prefix under which a run's Data Docs site is stored."""
    return f"{RUNS_PREFIX}{run_id}/docs/"


def run_prefix(run_id: str) -> str:
    """Prefix under which everything a run wrote lives."""
    return f"{RUNS_PREFIX}{run_id}/"


def manifest_key(run_id: str) -> str:
    """Key of a run's manifest."""
    return f"{RUNS_PREFIX}{run_id}/manifest.json"


def quarantine_key(run_id: str, dataset: str, ext: str = "parquet") -> str:
    """Key of rows or a file quarantined by a run."""
    return f"{QUARANTINE_PREFIX}{run_id}/{_dataset_path(dataset)}.{ext}"


def quarantine_prefix(run_id: str) -> str:
    """Prefix of everything a run quarantined."""
    return f"{QUARANTINE_PREFIX}{run_id}/"


def review_key(name: str) -> str:
    """Key of a researcher-owned review file."""
    return f"{REVIEW_PREFIX}{safe_name(name)}"


def inbox_upload_key(input_name: str, file_name: str) -> str:
    """Key under which a file for an input is uploaded to the inbox."""
    return f"{INBOX_PREFIX}{_input_segment(input_name)}/{safe_name(file_name)}"


def step_cache_key(name: str) -> str:
    """Key of one cached step result (its content key comes from the step cache policy)."""
    return f"{STEP_CACHE_PREFIX}{safe_name(name)}"


def _input_segment(name: str) -> str:
    if not _DATASET.match(name.rstrip(".")):
        raise ValueError(f"invalid input name {name!r} (dotted lower-case words expected)")
    return name


def arrival_key(input_name: str, sha256: str) -> str:
    """Key of the record of one input's arrival with this content."""
    return f"{ARRIVALS_PREFIX}{_input_segment(input_name)}/{sha256}.json"


def inbox_seen_key(input_name: str, key: str, version: str) -> str:
    """Key of the marker saying an inbox upload (this key and version) was read."""
    digest = hashlib.sha256(f"{key}\n{version}".encode()).hexdigest()
    return f"{ARRIVALS_PREFIX}{_input_segment(input_name)}/seen/{digest}"


def announcements_prefix(input_name: str, sha256: str) -> str:
    """Prefix of the announcements of one input's content."""
    return f"{ANNOUNCEMENTS_PREFIX}{_input_segment(input_name)}/{sha256}/"


def announcement_key(input_name: str, sha256: str, attempt: int) -> str:
    """Key of the n-th announcement of one input's content."""
    return f"{announcements_prefix(input_name, sha256)}{attempt:04d}.json"


def run_id_of(key: str) -> str | None:
    """The run a stored key belongs to (runs/, staging/runs/ or quarantine/), else None."""
    for prefix in (STAGED_RUNS_PREFIX, RUNS_PREFIX, QUARANTINE_PREFIX):
        if key.startswith(prefix):
            rest = key[len(prefix):]
            return rest.split("/", 1)[0] if "/" in rest else None
    return None
