"""Content hashes of the demo run's published tables: the refactor-safety net.

`python -m tests.flows.table_hashes record` runs the demo study (seed 2013, scale 1, the test
pseudonymisation key) and writes `demo_table_hashes.json`; the flow tests recompute the hashes on
their own demo run and compare. A table's hash covers its schema and every value in row order.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import polars as pl

HASH_FILE = Path(__file__).with_name("demo_table_hashes.json")
# Tables whose content names the run itself (its id, its start time) and so differ between two
# runs of identical inputs; every other table must hash the same.
RUN_DEPENDENT = frozenset({"report.contents"})


def table_hash(frame: pl.DataFrame) -> str:
    """sha256 over a table's schema and rows (NDJSON, row order kept)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([(n, str(t)) for n, t in frame.schema.items()]).encode())
    digest.update(frame.write_ndjson().encode())
    return digest.hexdigest()


def run_hashes(store_url: str, outputs: list) -> dict[str, str]:
    """Hash of every parquet output of a manifest, by dataset, run-dependent tables left out."""
    from tasks.storage.store import open_store
    from tasks.storage.tables import parquet_to_table

    store = open_store(store_url)
    return {
        o.dataset: table_hash(parquet_to_table(store.get(o.key)))
        for o in sorted(outputs, key=lambda o: o.dataset)
        if o.key.endswith(".parquet") and o.dataset not in RUN_DEPENDENT
        and not o.dataset.startswith("quality.")
    }


def _record(out_dir: Path) -> None:
    import os

    from tests.conftest import TEST_PSEUDONYM_KEY

    os.environ["STUDYFLOW_PSEUDONYM_KEY"] = TEST_PSEUDONYM_KEY
    from flows.study import study_flow
    from tasks.demo.generator import generate_demo_study

    config = generate_demo_study(out_dir / "demo", seed=2013, scale=1).config_path
    manifest = study_flow(str(config), str(out_dir / "store"))
    from schemas.datasets import dataset_for

    # Datasets passed only between steps are not published: the flow test expects them unrecorded.
    hashes = {
        name: digest for name, digest in run_hashes(str(out_dir / "store"), manifest.outputs).items()
        if not dataset_for(name).intermediate
    }
    HASH_FILE.write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n")
    print(f"{len(hashes)} table hashes written to {HASH_FILE}")


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["record"]:
        raise SystemExit("usage: python -m tests.flows.table_hashes record")
    with tempfile.TemporaryDirectory() as tmp:
        _record(Path(tmp))
