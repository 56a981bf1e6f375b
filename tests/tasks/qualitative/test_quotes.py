"""Redaction (patterns, offset moving, idempotence) and the published quotes."""

from __future__ import annotations

import polars as pl
import pytest
import qual_mini_study as mini
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.datasets.qualitative import CASES_SEGMENTS, CASES_SOURCES, QUOTES
from tasks.qualitative.model import CodedModel
from tasks.qualitative.quotes import redact, redact_model, redaction_pattern

PATTERN = redaction_pattern(["Hartwell Surgery", "Project Ivy"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I met Dr Sarah Jones today.", "I met [name] today."),
        ("Mr. J. Smith and Mrs Zoë O'Brien-Hart agreed.", "[name] and [name] agreed."),
        ("Professor Neil Hollis said so.", "[name] said so."),
        ("Ring 0113 496 0123 or +44 (0)20 7946 0958.", "Ring [phone] or [phone]."),
        ("Mail alice.b@example.nhs.uk now", "Mail [email] now"),
        ("At hartwell surgery and Project Ivy.", "At [redacted] and [redacted]."),
        ("Postcode LS1 4AP.", "Postcode [postcode]."),
        # Not identifiers: years, money, site codes, titles without a name, role words.
        ("In 2013 2014 2015 we spent £250k at CCG012.", "In 2013 2014 2015 we spent £250k at CCG012."),
        ("The Dr said the GP Chair and the Nurse Practitioner agreed.",
         "The Dr said the GP Chair and the Nurse Practitioner agreed."),
    ],
)
def test_patterns(text: str, expected: str) -> None:
    assert redact(text, PATTERN)[0] == expected
    assert redact(expected, PATTERN)[0] == expected  # idempotent


TOKENS = ["the", "board", "Dr Alice Pemberton", "met", "a.b@example.org", "0113 496 0123", "Hartwell Surgery",
          "care", "Ms Priya Desai", "in", "Zoë"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=30),
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=12),
)
def test_offsets_follow_the_redacted_text(tokens: list[str], cuts: list[tuple[int, int]]) -> None:
    text = " ".join(tokens)
    bounds = [0]
    for token in tokens:
        bounds.append(bounds[-1] + len(token) + 1)
    bounds[-1] = len(text)
    starts = [b for b in bounds[:-1]]
    ends = [b - 1 for b in bounds[1:-1]] + [len(text)]
    rows = []
    for i, (a, b) in enumerate(cuts):
        s, e = starts[a % len(starts)], ends[b % len(ends)]
        if s <= e:
            rows.append((str(i), "src", s, e, text[s:e], "code", "coder"))
    segments = pl.DataFrame(rows, schema={"segment_id": pl.String, "source_id": pl.String, "start": pl.Int64,
                                          "end": pl.Int64, "text": pl.String, "code_id": pl.String,
                                          "coder": pl.String}, orient="row")
    sources = pl.DataFrame({"source_id": ["src"], "name": ["Dr Alice Pemberton notes"], "case": ["A"],
                            "site_id": ["S"], "source_type": ["interview"], "role": [None],
                            "participant_pseudonym": [None], "length": [len(text)], "text": [text]},
                           schema_overrides={"role": pl.String, "participant_pseudonym": pl.String})
    model = redact_model(CodedModel(pl.DataFrame(), sources, segments, pl.DataFrame()), ["Hartwell Surgery"])
    redacted = model.sources.item(0, "text")
    assert redacted == redact(text, PATTERN)[0]
    assert model.sources.item(0, "name") == "[name] notes"
    spans = redact(text, PATTERN)[1]
    for row in model.segments.iter_rows(named=True):
        assert redacted[row["start"]:row["end"]] == row["text"]
        cut = any(a < p < b for a, b, _ in spans for p in (row["raw_start"], row["raw_end"]))
        if not cut:  # boundaries outside every replaced span: redacting the slice gives the same text
            assert row["text"] == redact(text[row["raw_start"]:row["raw_end"]], PATTERN)[0]
        for planted in ("Alice", "Pemberton", "Priya", "@", "0113", "Hartwell"):
            assert planted not in row["text"]
    again = redact_model(model, ["Hartwell Surgery"])
    assert again.segments.select("start", "end", "text").equals(model.segments.select("start", "end", "text"))


def test_quotes_are_redacted_with_provenance(mini_run) -> None:  # noqa: ANN001
    quotes = mini_run.table(QUOTES)
    assert quotes.height > 0
    segments = mini_run.table(CASES_SEGMENTS)
    texts = [*quotes.get_column("text"), *quotes.get_column("source_name"), *segments.get_column("text")]
    planted = [w for person in mini.PEOPLE for w in person.split()[1:]] + [mini.EMAIL, "0113", "Hartwell Surgery"]
    leaks = [(w, t) for t in texts for w in planted if w in t]
    assert leaks == []
    assert segments.filter(pl.col("text").str.contains("[name]", literal=True)).height > 0
    # Provenance: raw offsets point at the original text of the planted source, which redacts to the quote.
    originals = {s.name: s.text for s in mini.case_sources()}
    sources = mini_run.table(CASES_SOURCES).select("source_id", "name")
    names = dict(sources.iter_rows())
    for row in quotes.iter_rows(named=True):
        original = next(t for n, t in originals.items() if redact(n, PATTERN)[0] == names[row["source_id"]])
        assert redact(original[row["raw_start"]:row["raw_end"]], PATTERN)[0] == row["text"]
    # At most three quotes per case × theme, ranked 1..k.
    per_cell = quotes.group_by("case", "theme").agg(pl.col("rank").sort())
    assert all(r == list(range(1, len(r) + 1)) and len(r) <= 3 for r in per_cell.get_column("rank").to_list())


def test_attribution_in_the_studys_words_with_not_recorded_where_missing() -> None:
    from tasks.qualitative.quotes import attribution

    rows = pl.DataFrame({
        "role": ["gp", None, "practice_manager", " "],
        "case": ["C", "MAT000001", "B", None],
        "source_type": ["interview", "unknown", None, "focus_group"],
    }, schema={"role": pl.String, "case": pl.String, "source_type": pl.String})
    shown = rows.select(attribution({"gp": "GP"})).to_series().to_list()
    assert shown == [
        "GP, case C, interview",
        "role not recorded, case MAT000001, source type not recorded",
        "practice manager, case B, source type not recorded",
        "role not recorded, case not recorded, focus group",
    ]
