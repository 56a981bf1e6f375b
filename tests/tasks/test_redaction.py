"""Known raw identifiers (participant codes) in published text become their pseudonyms."""

from __future__ import annotations

import polars as pl

from tasks.qualitative.model import CodedModel
from tasks.qualitative.quotes import redact_model
from tasks.redaction import redact, redaction_pattern

CODES = {"P-A-001": "P1a2b3c4d5e6f", "P-A-002": "P9f8e7d6c5b4a"}


def test_codes_are_replaced_by_their_pseudonyms_as_whole_tokens() -> None:
    pattern = redaction_pattern([], CODES)
    text = "Participant: officer (P-A-001); p-a-002 agreed; P-A-0012 and XP-A-001 are other tokens."
    redacted, spans = redact(text, pattern, CODES)
    assert redacted == ("Participant: officer (P1a2b3c4d5e6f); P9f8e7d6c5b4a agreed; P-A-0012 and XP-A-001 "
                        "are other tokens.")
    assert spans == [(22, 29, 13), (32, 39, 13)]


def test_a_code_without_a_pseudonym_becomes_a_placeholder() -> None:
    assert redact("seen by P-A-001", redaction_pattern([], CODES))[0] == "seen by [id]"


def test_redacted_model_text_and_offsets_carry_pseudonyms() -> None:
    text = "Participant: Local authority officer (P-A-001)\nP-A-001: we met Dr Alice Smith."
    sources = pl.DataFrame({"source_id": ["s"], "name": ["Interview P-A-001"], "case": ["A"], "site_id": ["S"],
                            "source_type": ["interview"], "role": [None], "participant_pseudonym": ["P1a2b3c4d5e6f"],
                            "length": [len(text)], "text": [text]},
                           schema_overrides={"role": pl.String})
    start = text.index("we met")
    segments = pl.DataFrame({"segment_id": ["g"], "source_id": ["s"], "start": [start - 9], "end": [len(text)],
                             "text": [text[start - 9:]], "code_id": ["c"], "coder": ["ana"]})
    model = redact_model(CodedModel(pl.DataFrame(), sources, segments, pl.DataFrame(), identifiers=CODES))
    new = model.sources.item(0, "text")
    assert new == "Participant: Local authority officer (P1a2b3c4d5e6f)\nP1a2b3c4d5e6f: we met [name]."
    assert model.sources.item(0, "name") == "Interview P1a2b3c4d5e6f"
    row = model.segments.row(0, named=True)
    assert new[row["start"]:row["end"]] == row["text"] == "P1a2b3c4d5e6f: we met [name]."
