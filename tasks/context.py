"""The run context handed to every phase step: where the store is, which run, which inputs."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict

from schemas.manifest import InputRecord, OutputRecord
from schemas.study_config import StudyConfig, load_study_config
from tasks.quality.contracts import ContractError, validate
from tasks.storage.catalog import dataset_key
from tasks.storage.store import ObjectStore, open_store, sha256_hex
from tasks.storage.tables import parquet_to_table, table_to_parquet


@lru_cache(maxsize=8)
def _config(path: str, _mtime: float) -> StudyConfig:
    return load_study_config(path)


class RunContext(BaseModel):
    """Where a run reads and writes; small and serialisable, so it can cross task boundaries."""

    model_config = ConfigDict(frozen=True)

    store_url: str
    run_id: str
    config_path: str
    inputs: tuple[InputRecord, ...] = ()
    # Identifies the pseudonymisation key without revealing it (part of step cache keys).
    key_fingerprint: str = ""

    def store(self) -> ObjectStore:
        """The object store of this run."""
        return open_store(self.store_url)

    def config(self) -> StudyConfig:
        """The study configuration (cached per file version)."""
        return _config(self.config_path, Path(self.config_path).stat().st_mtime)

    def input(self, name: str) -> InputRecord:
        """The record of one logical input."""
        for rec in self.inputs:
            if rec.name == name:
                return rec
        raise KeyError(f"run {self.run_id} has no input {name!r}")

    def input_names(self, prefix: str) -> list[str]:
        """Logical input names starting with a prefix, in order."""
        return [rec.name for rec in self.inputs if rec.name.startswith(prefix)]

    def has_input(self, name: str) -> bool:
        """Whether a logical input was ingested."""
        return any(rec.name == name for rec in self.inputs)

    def read_input(self, name: str) -> tuple[bytes, str]:
        """An input's bytes and its original file name (for error messages)."""
        rec = self.input(name)
        return self.store().get(rec.key), rec.original_name

    def write_table(self, dataset: str, frame: pl.DataFrame, phase: str) -> OutputRecord:
        """Validate a table against its contract and write it as parquet under this run."""
        frame = validate(frame, dataset, where=f"run {self.run_id}, phase {phase}")
        data = table_to_parquet(frame)
        rec = self.write_bytes(dataset, data, "parquet", "application/vnd.apache.parquet", phase)
        return rec.model_copy(update={"rows": frame.height})

    def write_bytes(
        self, dataset: str, data: bytes, ext: str, media_type: str, phase: str
    ) -> OutputRecord:
        """Write a figure, document or other file under this run."""
        info = self.store().put(dataset_key(self.run_id, dataset, ext), data)
        return OutputRecord(
            dataset=dataset,
            phase=phase,
            key=info.key,
            sha256=info.sha256,
            size=info.size,
            media_type=media_type,
            run_id=self.run_id,
        )

    def read_table(self, record: OutputRecord) -> pl.DataFrame:
        """Read a published table: its bytes must hash as recorded, its schema must hold.

        Values were checked in full when the table was written; the content hash proves these
        are the same bytes, so reading checks columns and types only.
        """
        data = self.store().get(record.key)
        if sha256_hex(data) != record.sha256:
            raise ContractError(
                record.dataset, f"reading {record.key}",
                pl.DataFrame({"column": [""], "check": ["sha256 as recorded"], "index": [""],
                              "failure_case": [f"{sha256_hex(data)} != {record.sha256}"]}),
            )
        return validate(parquet_to_table(data), record.dataset, where=f"reading {record.key}", schema_only=True)
