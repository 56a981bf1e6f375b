"""Redaction of names and identifiers in text that will be published.

Patterns, first match wins at a position: e-mail addresses → [email]; the study's `redact_terms`
(whole words, any case) → [redacted]; a title (Dr, Mr, Mrs, Ms, Miss, Mx, Prof, Professor, Sir,
Dame, Cllr, Councillor) followed by capitalised names or initials → [name]; telephone numbers
(leading 0 or +) → [phone]; UK-style postcodes → [postcode]. Placeholders never match again, so
redaction is idempotent. Used for qualitative quotes and for open survey answers alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

PLACEHOLDERS = {
    "email": "[email]",
    "term": "[redacted]",
    "name": "[name]",
    "phone": "[phone]",
    "postcode": "[postcode]",
}
PLACEHOLDER_PATTERN = r"\[(?:email|redacted|name|phone|postcode)\]"
_TITLE = r"(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sir|Dame|Cllr|Councillor)"
_UPPER = "A-ZÀ-ÖØ-Þ"
_NAME_WORD = rf"(?!{_TITLE}\b)[{_UPPER}](?:[^\W\d_]|['’-](?=[^\W\d_]))+"
_INITIAL = rf"[{_UPPER}]\.?"
_NAME = rf"\b{_TITLE}\.?[ \t]+(?:{_INITIAL}[ \t]+)*{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}}"
_EMAIL = r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_PHONE = r"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(0\)[ .-]?)?|0)\d{2,4}[ .-]?\d{3,4}[ .-]?\d{3,4}(?!\w)"
_POSTCODE = rf"\b[{_UPPER}]{{1,2}}\d[A-Z\d]?[ ]?\d[ABD-HJLNP-UW-Z]{{2}}\b"


def redaction_pattern(terms: Sequence[str] = ()) -> re.Pattern[str]:
    """The combined redaction pattern for a study's listed terms."""
    listed = sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True)
    term = "|".join(rf"(?<!\w){re.escape(t)}(?!\w)" for t in listed) or r"(?!x)x"
    return re.compile(
        rf"(?P<email>{_EMAIL})|(?P<term>(?i:{term}))|(?P<name>{_NAME})|(?P<phone>{_PHONE})|(?P<postcode>{_POSTCODE})"
    )


def redact(text: str, pattern: re.Pattern[str]) -> tuple[str, list[tuple[int, int, int]]]:
    """Redacted text and the replaced spans as (start, end, placeholder length) in the input."""
    spans: list[tuple[int, int, int]] = []

    def sub(match: re.Match[str]) -> str:
        placeholder = PLACEHOLDERS[match.lastgroup or "name"]
        spans.append((match.start(), match.end(), len(placeholder)))
        return placeholder

    return pattern.sub(sub, text), spans


def redact_column(values: pl.Series, pattern: re.Pattern[str]) -> pl.Series:
    """A string column with every value redacted (nulls stay null)."""
    return values.map_elements(lambda v: redact(v, pattern)[0], return_dtype=pl.String, skip_nulls=True)
