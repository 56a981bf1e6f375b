"""Participant data is personal data: keyed pseudonyms and the key's safe-keeping."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

SECRETS_DIR_ENV = "STUDYFLOW_SECRETS_DIR"
DEFAULT_SECRETS_DIR = ".studyflow/secrets"


def load_pseudonym_key(env_name: str, study_id: str) -> bytes:
    """The pseudonymisation key: from the named environment variable, else a local key file.

    The local file (created once, mode 0600, outside the object store and the repository) keeps
    pseudonyms stable across runs on one machine; production sets the environment variable.
    """
    value = os.environ.get(env_name)
    if value:
        return value.encode("utf-8")
    folder = Path(os.environ.get(SECRETS_DIR_ENV, DEFAULT_SECRETS_DIR))
    path = folder / f"{study_id}.pseudonym.key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


def pseudonym(value: str, key: bytes, prefix: str = "P") -> str:
    """A keyed-hash pseudonym of one identifier (HMAC-SHA256, 12 hex digits)."""
    return f"{prefix}{hmac.digest(key, value.encode('utf-8'), hashlib.sha256).hex()[:12]}"


def pseudonymise(values: pl.Series, key: bytes, prefix: str = "P") -> pl.Series:
    """Pseudonyms for a column of identifiers; nulls stay null."""
    # hmac.digest is the one-shot C path: about twice as fast as map_elements over hmac.new.
    out = [
        None if v is None else pseudonym(str(v), key, prefix) for v in values.to_list()
    ]
    return pl.Series(values.name, out, dtype=pl.String)
