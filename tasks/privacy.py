"""Participant data is personal data: keyed pseudonyms and the key's safe-keeping.

Where the pseudonymisation key comes from, first found wins:

1. the environment variable named by `study.pseudonym_key_env` (default `STUDYFLOW_PSEUDONYM_KEY`);
2. the Prefect Secret block named by `study.pseudonym_key_block`, when one is configured;
3. only when `study.demo: true` (the embedded demo): a local key file anchored to the study,
   `<study dir>/.studyflow/secrets/<study-id>.pseudonym.key`, created once with mode 0600.

Anything else refuses with a message naming the variable and the block looked for. So does a
value that does not look like a key (`check_key_strength`: at least 32 bytes of entropy, e.g.
`python -c "import secrets; print(secrets.token_hex(32))"`), so that naming an ordinary variable
such as PATH by mistake cannot make it the key. The key
itself is never a task or flow parameter, never logged, never written to the store or an
artifact: only its fingerprint (a keyed hash of a fixed text) is.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from schemas.study_config import StudyConfig

# The demo's key file lives in this folder next to study.yaml (never the working directory).
STUDY_SECRETS_DIR = Path(".studyflow") / "secrets"
_FINGERPRINT_TEXT = "studyflow-key-fingerprint"


class PseudonymKeyMissing(RuntimeError):
    """No pseudonymisation key could be found for a study."""


class PseudonymKeyWeak(PseudonymKeyMissing):
    """The value found is not a key: too short, too regular, or shaped like a path or prose."""


# A key must carry at least this much entropy (32 bytes), estimated from its alphabet and length.
MIN_KEY_BITS = 256
_HEX = re.compile(r"[0-9A-Fa-f]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_GENERATE = 'python -c "import secrets; print(secrets.token_hex(32))"'


def key_entropy_bits(value: str) -> float:
    """A generous estimate of a key's entropy: length times bits per character of its alphabet
    (hex 4, base64 6, other printable 6.55); 0 for a value that is repetitive."""
    text = value.strip()
    if not text:
        return 0.0
    alphabet = 16 if _HEX.fullmatch(text) else 64 if _BASE64.fullmatch(text) else 94
    symbols = len(text.rstrip("=")) if alphabet == 64 else len(text)
    # Empirical entropy per character must be near its alphabet's: "aaaa…" or "abab…" is no key.
    counts = [text.count(c) for c in set(text)]
    empirical = -sum(n / len(text) * math.log2(n / len(text)) for n in counts)
    if empirical < 0.75 * math.log2(min(alphabet, len(text))):
        return 0.0
    return symbols * math.log2(alphabet)


def check_key_strength(key: bytes, origin: str) -> None:
    """Refuse a value that does not look like a key (see the module docstring); names its origin only."""
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    shaped = (
        "it contains white space (prose is not a key)" if re.search(r"\s", text.strip())
        else "it looks like a path or a list of paths" if text.startswith(("/", "~", "./")) or ":" in text
        else ""
    )
    bits = key_entropy_bits(text) if not shaped else 0.0
    if bits < MIN_KEY_BITS:
        why = shaped or f"about {bits:.0f} bits of entropy, at least {MIN_KEY_BITS} (32 random bytes) are needed"
        raise PseudonymKeyWeak(
            f"the pseudonymisation key from {origin} does not look like a key: {why}. Put a random "
            f"key there, e.g. the output of {_GENERATE}, and check that study.pseudonym_key_env names "
            "the variable meant to hold the key."
        )


@dataclass(frozen=True)
class KeySource:
    """Where one study's key is looked for (names and paths only, never the key)."""

    study_id: str
    env_name: str
    block_name: str | None = None
    demo_file: Path | None = None

    @classmethod
    def of(cls, config: StudyConfig) -> KeySource:
        """The key source a study configuration declares."""
        meta = config.study
        demo_file = demo_key_file(config.base_dir, meta.id) if meta.demo else None
        return cls(meta.id, meta.pseudonym_key_env, meta.pseudonym_key_block, demo_file)


@dataclass(frozen=True)
class ResolvedKey:
    """A key and a description of where it came from (the description is safe to print)."""

    key: bytes
    origin: str

    def __repr__(self) -> str:  # never show the key, e.g. in a traceback's locals
        return f"ResolvedKey(origin={self.origin!r}, fingerprint={key_fingerprint(self.key)!r})"


# Key sources seen in this process, by (variable name, study id): lets `load_pseudonym_key`, which
# is given only those two names, find a study's block or demo file. Holds no key.
_SOURCES: dict[tuple[str, str], KeySource] = {}


def demo_key_file(study_dir: Path, study_id: str) -> Path:
    """The demo's local key file: in the study's folder, whatever the working directory."""
    return Path(study_dir).resolve() / STUDY_SECRETS_DIR / f"{study_id}.pseudonym.key"


def _from_block(name: str) -> bytes | None:
    """The text of a Prefect Secret block, or None when no block of that name exists."""
    from prefect.blocks.system import Secret

    try:
        block = Secret.load(name, _sync=True)  # type: ignore[call-arg]  # sync even inside an event loop
    except ValueError as exc:  # "Unable to find block document named …"
        if "Unable to find block document" in str(exc):
            return None
        raise
    if not isinstance(block, Secret):
        raise TypeError(f"block {name!r} is not a Prefect Secret block")
    raw = block.value.get_secret_value()
    if not isinstance(raw, str) or not raw:
        raise PseudonymKeyMissing(
            f"Prefect Secret block {name!r} must hold the pseudonymisation key as a non-empty string"
        )
    return raw.encode("utf-8")


def _from_demo_file(path: Path) -> bytes:
    """The demo's key, created once (mode 0600) next to its study.yaml."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker created it meanwhile: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


def resolve_key(source: KeySource) -> ResolvedKey:
    """The key from its source: environment variable, then Secret block, then (demo only) file."""
    value = os.environ.get(source.env_name)
    if value:
        origin = f"environment variable {source.env_name}"
        check_key_strength(value.encode("utf-8"), origin)
        return ResolvedKey(value.encode("utf-8"), origin)
    if source.block_name:
        key = _from_block(source.block_name)
        if key:
            origin = f"Prefect Secret block {source.block_name!r}"
            check_key_strength(key, origin)
            return ResolvedKey(key, origin)
    if source.demo_file is not None:
        origin = f"demo key file {source.demo_file}"
        key = _from_demo_file(source.demo_file)
        check_key_strength(key, origin)
        return ResolvedKey(key, origin)
    block = (
        f"the Prefect Secret block {source.block_name!r} does not exist"
        if source.block_name
        else "no Prefect Secret block is configured (study.pseudonym_key_block)"
    )
    raise PseudonymKeyMissing(
        f"no pseudonymisation key for study {source.study_id!r}: the environment variable "
        f"{source.env_name} is not set and {block}. Set one of them; a local key file is only "
        "used by the embedded demo (study.demo: true)."
    )


def pseudonym_key_for(config: StudyConfig) -> ResolvedKey:
    """A study's key, looked for in the order its configuration declares (see module docstring)."""
    source = KeySource.of(config)
    _SOURCES[(source.env_name, source.study_id)] = source
    return resolve_key(source)


def load_pseudonym_key(env_name: str, study_id: str) -> bytes:
    """The key of a study known by its variable name and id (callers holding only those names).

    Uses the study's block and demo file when its configuration was seen in this process
    (`pseudonym_key_for`, called by every run's preparation); otherwise only the variable.
    Prefer `pseudonym_key_for(config)`, which never depends on what this process saw before.
    """
    source = _SOURCES.get((env_name, study_id), KeySource(study_id, env_name))
    return resolve_key(source).key


def key_fingerprint(key: bytes) -> str:
    """Identifies a key without revealing it: a keyed hash of a fixed text (safe to print)."""
    return pseudonym(_FINGERPRINT_TEXT, key, prefix="K")


def pseudonym(value: str, key: bytes, prefix: str = "P") -> str:
    """A keyed-hash pseudonym of one identifier (HMAC-SHA256, 12 hex digits)."""
    return f"{prefix}{hmac.digest(key, value.encode('utf-8'), hashlib.sha256).hex()[:12]}"


# HMAC-SHA256 (RFC 2104) pads the key to the hash's 64-byte block and XORs it with these bytes.
_BLOCK = 64
_INNER_PAD = bytes(b ^ 0x36 for b in range(256))
_OUTER_PAD = bytes(b ^ 0x5C for b in range(256))


def _pseudonyms(values: list[str], key: bytes, prefix: str) -> list[str]:
    """`pseudonym` of each value: the same HMAC-SHA256, from the keyed hash states computed once."""
    # hmac.digest sets the key up again on every call; copying the two keyed SHA-256 states is
    # about twice as fast for millions of roster ids, and gives the same digest.
    padded = (hashlib.sha256(key).digest() if len(key) > _BLOCK else key).ljust(_BLOCK, b"\0")
    inner, outer = hashlib.sha256(padded.translate(_INNER_PAD)), hashlib.sha256(padded.translate(_OUTER_PAD))
    out = []
    for value in values:
        first = inner.copy()
        first.update(value.encode("utf-8"))
        second = outer.copy()
        second.update(first.digest())
        out.append(prefix + second.hexdigest()[:12])
    return out


def pseudonymise(values: pl.Series, key: bytes, prefix: str = "P") -> pl.Series:
    """Pseudonyms for a column of identifiers; nulls stay null."""
    # One HMAC per distinct value, computed in Python outside any polars expression (see
    # tasks.frames). Mapping back by value costs more than it saves when every id is distinct
    # (a roster), and equal floats can print differently (0.0, -0.0): those are done per value.
    present = values.drop_nulls()
    distinct = present.unique()
    if distinct.len() == present.len() or values.dtype.is_float():
        listed = values.to_list()
        made = iter(_pseudonyms([str(v) for v in listed if v is not None], key, prefix))
        return pl.Series(values.name, [None if v is None else next(made) for v in listed], dtype=pl.String)
    pseudonyms = _pseudonyms([str(v) for v in distinct.to_list()], key, prefix)
    return values.replace_strict(distinct, pl.Series(pseudonyms, dtype=pl.String), default=None,
                                 return_dtype=pl.String).alias(values.name)
