"""Redaction of names and identifiers in text that will be published.

Patterns, first match wins at a position: known raw identifiers (participant codes), each
replaced by its pseudonym (or [id] when none is given); e-mail addresses → [email]; the study's `redact_terms`
(whole words, any case) → [redacted]; a title (Dr, Mr, Mrs, Ms, Miss, Mx, Prof, Professor, Sir,
Dame, Cllr, Councillor) followed by capitalised names or initials → [name]; telephone numbers
(leading 0 or +) → [phone]; UK-style postcodes → [postcode]. Placeholders never match again, so
redaction is idempotent. Used for qualitative quotes and for open survey answers alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import polars as pl

PLACEHOLDERS = {
    "ident": "[id]",
    "email": "[email]",
    "term": "[redacted]",
    "name": "[name]",
    "phone": "[phone]",
    "postcode": "[postcode]",
}
PLACEHOLDER_PATTERN = r"\[(?:email|redacted|name|phone|postcode)\]"
# An identifier is a whole token: "P-A-001" is not found inside "P-A-0012" or "XP-A-001".
_TOKEN_EDGE_BEFORE, _TOKEN_EDGE_AFTER = r"(?<![\w-])", r"(?![\w-])"
_TITLE = r"(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sir|Dame|Cllr|Councillor)"
_UPPER = "A-ZÀ-ÖØ-Þ"
_NAME_WORD = rf"(?!{_TITLE}\b)[{_UPPER}](?:[^\W\d_]|['’-](?=[^\W\d_]))+"
_INITIAL = rf"[{_UPPER}]\.?"
_NAME = rf"\b{_TITLE}\.?[ \t]+(?:{_INITIAL}[ \t]+)*{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}}"
_EMAIL = r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_PHONE = r"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(0\)[ .-]?)?|0)\d{2,4}[ .-]?\d{3,4}[ .-]?\d{3,4}(?!\w)"
_POSTCODE = rf"\b[{_UPPER}]{{1,2}}\d[A-Z\d]?[ ]?\d[ABD-HJLNP-UW-Z]{{2}}\b"


def _identifier_trie(known: Sequence[str]) -> str | None:
    """The known identifiers as one prefix-tree alternation, or None when they cannot be one.

    A flat alternation of n identifiers costs n tries at every token start, so redacting all
    sources was quadratic in participants. The tree matches the same strings with the same
    preference: siblings differ in their lower-cased character, which for ASCII means no text
    character matches two siblings, so the identifiers that match at a position form a chain of
    prefixes and the greedy tree tries the longest first, as the longest-first flat list did.
    Non-ASCII identifiers (whose case folding can join siblings) keep the flat alternation.
    """
    if not known or not all(i.isascii() for i in known) or max(map(len, known)) > 200:
        return None
    root: dict[str, tuple[str, dict]] = {}  # lower-cased char -> (char as written, child)
    ends: set[int] = set()  # ids of the nodes where an identifier ends
    for ident in known:
        node = root
        for char in ident:
            node = node.setdefault(char.lower(), (char, {}))[1]
        ends.add(id(node))

    def alternation(node: dict[str, tuple[str, dict]]) -> str:
        branches = [re.escape(char) + alternation(child) for _, (char, child) in sorted(node.items())]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        # An identifier ending here is tried after every longer one through this node.
        return f"(?:{body})?" if id(node) in ends else body

    return alternation(root)


def _term_alternation(listed: Sequence[str]) -> str:
    """The listed terms, longest first, behind a look-ahead for their first characters.

    Without it every term was tried at every word start (12 terms: 70% of the scan of a case
    study's texts). Inside the pattern's (?i:...) the class folds case exactly as the terms'
    own first characters do, so it only skips positions where no term can start. Each term's
    own look-behind is the pattern's leading look-behind, tested at the same position.
    """
    if not listed:
        return r"(?!x)x"
    firsts = "".join(sorted({re.escape(t[0]) for t in listed}))
    body = "|".join(rf"{re.escape(t)}(?!\w)" for t in listed)
    return rf"(?=[{firsts}])(?:{body})"


def redaction_pattern(terms: Sequence[str] = (), identifiers: Mapping[str, str] | None = None) -> re.Pattern[str]:
    """The combined redaction pattern for a study's listed terms and known raw identifiers."""
    listed = sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True)
    term = _term_alternation(listed)
    known = sorted({i.strip() for i in identifiers or () if i.strip()}, key=len, reverse=True)
    ident = _identifier_trie(known) or "|".join(re.escape(i) for i in known) or r"(?!x)x"
    # Every alternative starts where no word character precedes (its own look-behind, or \b
    # before a letter), so the leading (?<!\w) changes no match; it lets the engine leave a
    # position inside a word after one test instead of one per alternative (3x faster).
    return re.compile(
        rf"(?<!\w)(?:(?P<ident>{_TOKEN_EDGE_BEFORE}(?i:{ident}){_TOKEN_EDGE_AFTER})|(?P<email>{_EMAIL})|(?P<term>(?i:{term}))|(?P<name>{_NAME})|(?P<phone>{_PHONE})|(?P<postcode>{_POSTCODE}))"
    )


def _folded(replacements: Mapping[str, str] | None) -> dict[str, str]:
    return {k.strip().casefold(): v for k, v in (replacements or {}).items()}


def _redact_one(text: str, pattern: re.Pattern[str], folded: Mapping[str, str]) -> tuple[str, list[tuple[int, int, int]]]:
    spans: list[tuple[int, int, int]] = []

    def sub(match: re.Match[str]) -> str:
        group = match.lastgroup or "name"
        placeholder = folded.get(match.group().casefold(), PLACEHOLDERS[group]) if group == "ident" else PLACEHOLDERS[group]
        spans.append((match.start(), match.end(), len(placeholder)))
        return placeholder

    return pattern.sub(sub, text), spans


def redact(
    text: str, pattern: re.Pattern[str], replacements: Mapping[str, str] | None = None
) -> tuple[str, list[tuple[int, int, int]]]:
    """Redacted text and the replaced spans as (start, end, replacement length) in the input.

    `replacements` gives each known identifier's pseudonym (matched in any case).
    """
    return _redact_one(text, pattern, _folded(replacements))


def redact_all(
    texts: Sequence[str], pattern: re.Pattern[str], replacements: Mapping[str, str] | None = None
) -> list[tuple[str, list[tuple[int, int, int]]]]:
    """`redact` of many texts, with the replacements prepared once (a phase has thousands of both)."""
    folded = _folded(replacements)
    return [_redact_one(text, pattern, folded) for text in texts]


def redact_column(
    values: pl.Series, pattern: re.Pattern[str], replacements: Mapping[str, str] | None = None
) -> pl.Series:
    """A string column with every value redacted (nulls stay null)."""
    # Each distinct value once, in Python and outside polars' thread pool (a Python function in
    # an expression can deadlock, see tasks.frames), then mapped back by value.
    values = values.cast(pl.String)
    distinct = values.drop_nulls().unique(maintain_order=True)
    redacted = [text for text, _ in redact_all(distinct.to_list(), pattern, replacements)]
    return values.replace_strict(distinct, pl.Series(redacted, dtype=pl.String), default=None,
                                 return_dtype=pl.String)
