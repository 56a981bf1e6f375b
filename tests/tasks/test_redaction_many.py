"""The prefix-tree identifier pattern behind one look-behind, `redact_all` and `redact_column` give
what the flat pattern of one alternative per identifier gave."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence

import polars as pl
import pytest

from tasks import redaction
from tasks.redaction import PLACEHOLDERS, redact, redact_all, redact_column, redaction_pattern


def _flat_pattern(terms: Sequence[str], identifiers: Mapping[str, str]) -> re.Pattern[str]:
    """The pattern as built before the prefix tree: one alternative per identifier, longest first."""
    listed = sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True)
    term = "|".join(rf"(?<!\w){re.escape(t)}(?!\w)" for t in listed) or r"(?!x)x"
    known = sorted({i.strip() for i in identifiers if i.strip()}, key=len, reverse=True)
    ident = "|".join(re.escape(i) for i in known) or r"(?!x)x"
    return re.compile(
        rf"(?P<ident>{redaction._TOKEN_EDGE_BEFORE}(?i:{ident}){redaction._TOKEN_EDGE_AFTER})"
        rf"|(?P<email>{redaction._EMAIL})|(?P<term>(?i:{term}))|(?P<name>{redaction._NAME})"
        rf"|(?P<phone>{redaction._PHONE})|(?P<postcode>{redaction._POSTCODE})"
    )


def _old_redact(text: str, pattern: re.Pattern[str], replacements: Mapping[str, str]) -> tuple[str, list]:
    spans: list[tuple[int, int, int]] = []
    folded = {k.strip().casefold(): v for k, v in replacements.items()}

    def sub(match: re.Match[str]) -> str:
        group = match.lastgroup or "name"
        out = folded.get(match.group().casefold(), PLACEHOLDERS[group]) if group == "ident" else PLACEHOLDERS[group]
        spans.append((match.start(), match.end(), len(out)))
        return out

    return pattern.sub(sub, text), spans


# Prefixes of each other, case variants, separators that are not token characters, a code
# followed by a space and another code, one listed with surrounding blanks.
TRICKY_IDS = {
    "P-A-01": "Pshort", "P-A-012": "Plong", "p-a-0123": "Plonger", "AB 12": "Pspace", "AB": "Pab",
    "ab 1": "Pab1", "X.Y": "Pdot", " Q-9 ": "Pq9", "KI": "Pki", "Q_1": "Pq1",
}
TRICKY_TEXTS = [
    "P-A-01, P-A-012 and P-A-0123; p-a-01x P-A-0124 XP-A-01 P-A-01- -P-A-01",
    "AB 12 met AB 1 and AB; ab 12b; AB 123; ab 1.",
    "X.Y and x.y and X.Yz; Q-9 said q-9; Q_1 and Q_12",
    "Dr Ann Lee (ann@example.org) on 01234 567 890 at SW1A 1AA; Ki, KI, kı, ＫＩ, ſ",
    "Zoë Sutcliffe; ZOË SUTCLIFFE; Zoë Sutcliffes; P-A-01\nP-A-012\tAB 12",
    "",
    "x+44 20 7946 0958; call +44 (0)20 7946 0958 or 020 7946 0958x; mail:ann.lee+x@nhs.uk, .a@b.co",
    "_Dr Smith; Dr. J. R. Smith-Jones; aDr Who; SW1A1AA, sw1a 1aa, ÉC1A 1BB; -AB 12-; 3P-A-01",
    "İstanbul ıd Kelvin KI (U+212A) — P‐A‐01 with Unicode hyphens; P-A-01™",
]


def test_prefix_tree_and_guarded_pattern_redact_as_the_flat_pattern_on_tricky_codes() -> None:
    terms = ["Zoë Sutcliffe", "AB"]
    tree, flat = redaction_pattern(terms, TRICKY_IDS), _flat_pattern(terms, TRICKY_IDS)
    assert r"01(?:2" in tree.pattern  # the identifiers really are a tree here
    for text in TRICKY_TEXTS:
        assert redact(text, tree, TRICKY_IDS) == _old_redact(text, flat, TRICKY_IDS), text


def test_prefix_tree_matches_the_flat_pattern_on_random_codes_and_texts() -> None:
    rng = random.Random(11)
    alphabet = "PpAa-01 2.Kk_+@D"
    for _ in range(200):
        ids = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))): f"P{i}" for i in range(rng.randint(1, 12))}
        tree, flat = redaction_pattern((), ids), _flat_pattern((), ids)
        for _ in range(5):
            text = "".join(rng.choice(alphabet + "xıK(), \nrMS3") for _ in range(rng.randint(0, 60)))
            assert redact(text, tree, ids) == _old_redact(text, flat, ids), (ids, text)


def test_non_ascii_codes_keep_the_flat_alternation() -> None:
    ids = {"Pı-1": "Pa", "PI-1": "Pb"}
    assert redaction_pattern((), ids).pattern == rf"(?<!\w)(?:{_flat_pattern((), ids).pattern})"
    assert redact("pi-1 Pı-1", redaction_pattern((), ids), ids) == _old_redact("pi-1 Pı-1", _flat_pattern((), ids), ids)


def test_redact_all_equals_redact_one_by_one() -> None:
    pattern = redaction_pattern(["Zoë Sutcliffe"], TRICKY_IDS)
    assert redact_all(TRICKY_TEXTS, pattern, TRICKY_IDS) == [redact(t, pattern, TRICKY_IDS) for t in TRICKY_TEXTS]
    assert redact_all([], pattern, TRICKY_IDS) == []


@pytest.mark.parametrize(
    "values",
    [
        pl.Series("name", ["Interview P-A-01", None, "Interview P-A-01", "Dr Ann Lee", "", "ünïcode P-A-012"]),
        pl.Series("name", [None, None], dtype=pl.String),
        pl.Series("name", [], dtype=pl.String),
    ],
)
def test_redact_column_keeps_nulls_duplicates_and_name(values: pl.Series) -> None:
    pattern = redaction_pattern((), TRICKY_IDS)
    out = redact_column(values, pattern, TRICKY_IDS)
    expected = [None if v is None else _old_redact(v, _flat_pattern((), TRICKY_IDS), TRICKY_IDS)[0]
                for v in values.to_list()]
    assert out.name == "name" and out.dtype == pl.String
    assert out.to_list() == expected


# Every code point but the surrogates, once: a term's first character, folded by the class in
# the terms' look-ahead, must match exactly the characters the term itself matches there.
_ALL_CHARACTERS = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)


@pytest.mark.parametrize("first", ["k", "K", "s", "i", "I", "ë", "Ë", "µ", "-", "ß", "Σ", "ǅ"])
def test_term_look_ahead_folds_case_as_the_term_itself(first: str) -> None:
    as_literal = re.compile(rf"(?i:{re.escape(first)})")
    as_class = re.compile(rf"(?i:[{re.escape(first)}])")
    literal = [m.start() for m in as_literal.finditer(_ALL_CHARACTERS)]
    assert literal == [m.start() for m in as_class.finditer(_ALL_CHARACTERS)]
    assert len(literal) >= 1


def test_guarded_terms_redact_as_the_flat_pattern_on_random_terms_and_texts() -> None:
    rng = random.Random(12)
    alphabet = "kKsSiIëËa -.ſıİK"
    for _ in range(300):
        terms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 6))]
        guarded, flat = redaction_pattern(terms, {}), _flat_pattern(terms, {})
        for _ in range(5):
            text = "".join(rng.choice(alphabet + "xyz_,\n") for _ in range(rng.randint(0, 60)))
            assert redact(text, guarded, {}) == _old_redact(text, flat, {}), (terms, text)


def test_terms_are_tried_only_where_one_can_start() -> None:
    pattern = redaction_pattern(["Zoë Sutcliffe", "kirk", "-x"], {})
    assert r"(?P<term>(?i:(?=[Z\-k])" in pattern.pattern
    # U+212A KELVIN SIGN folds to k, as it does for the term itself.
    assert redact("ZOË SUTCLIFFE met KIRK and \u212airk; -X but not Kirkby", pattern)[0] == (
        "[redacted] met [redacted] and [redacted]; [redacted] but not Kirkby")
