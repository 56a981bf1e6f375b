"""Free-text quantitising: dictionary coding, frequencies, uncoded remainder, agreement with a human."""

from __future__ import annotations

import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.proportion import proportion_confint

from schemas.study_config import FreeTextDictionary
from schemas.survey import FreeTextAgreement, FreeTextCategories, FreeTextCoded, FreeTextUncoded
from tasks.survey.freetext import (
    UNCODED,
    agreement_table,
    category_frequencies,
    code_answers,
    coded_long,
    uncoded_answers,
)
from tests.reference_stats import cohen_kappa

DICTIONARY = FreeTextDictionary(
    variable="why",
    categories={
        "time": {"label": "Lack of time", "patterns": [r"\btime\b", "busy"]},
        "will": {"label": "Lack of will", "patterns": ["commit", r"\bwill\b"]},
        # A look-behind: Python's engine only, so the slower path must give the same answer.
        "money": {"label": "Money", "patterns": [r"(?<!no )funding"]},
    },
)
TEXTS = {
    "R000000000001": "No TIME, far too Busy",
    "R000000000002": "lack of commitment and no time",
    "R000000000003": "politics",
    "R000000000004": "poor funding",
    "R000000000005": "no funding issues at all",
    "R000000000006": None,
    "R000000000007": "   ",
}
ROLES = {
    "R000000000001": "gp",
    "R000000000002": "gp",
    "R000000000003": "lay",
    "R000000000004": "lay",
    "R000000000005": "gp",
    "R000000000006": "gp",
    "R000000000007": "lay",
}


@pytest.fixture(scope="module")
def coded():
    """The dictionary applied to TEXTS."""
    frame = pl.DataFrame({"rid": list(TEXTS), "text": list(TEXTS.values())})
    return code_answers(frame, "rid", "text", DICTIONARY)


def test_multi_label_case_insensitive(coded) -> None:
    by_id = {r["rid"]: r for r in coded.frame.iter_rows(named=True)}
    assert sorted(by_id) == [
        f"R00000000000{i}" for i in range(1, 6)
    ]  # empty answers are not answers
    assert by_id["R000000000001"]["time"] and not by_id["R000000000001"]["will"]
    assert by_id["R000000000002"]["time"] and by_id["R000000000002"]["will"]
    assert by_id["R000000000004"]["money"] and not by_id["R000000000005"]["money"]
    assert by_id["R000000000003"][UNCODED] and by_id["R000000000005"][UNCODED]
    assert any("Python's regex engine" in n for n in coded.notes)
    long = coded_long(coded, "rid", "obstacles", "w1")
    FreeTextCoded.validate(long, lazy=True)
    assert long.filter(pl.col("respondent_id") == "R000000000002")["category"].to_list() == [
        "time",
        "will",
    ]
    rest = uncoded_answers(coded, "rid", "obstacles", "why", "w1")
    FreeTextUncoded.validate(rest, lazy=True)
    assert rest["text"].to_list() == ["politics", "no funding issues at all"]


def test_frequencies_by_group(coded) -> None:
    membership = pl.concat(
        [
            pl.DataFrame({"rid": list(ROLES), "breakdown": "all", "group": "all"}),
            pl.DataFrame({"rid": list(ROLES), "breakdown": "role", "group": list(ROLES.values())}),
        ]
    )
    freq = category_frequencies(coded, "rid", membership, DICTIONARY, "obstacles", ["role"], "w1")
    FreeTextCategories.validate(freq, lazy=True)
    time_all = freq.filter((pl.col("category") == "time") & (pl.col("breakdown") == "all")).row(
        0, named=True
    )
    assert (time_all["answers"], time_all["count"]) == (5, 2)
    assert (time_all["lower"], time_all["upper"]) == pytest.approx(
        proportion_confint(2, 5, method="wilson"), abs=1e-9
    )
    lay = freq.filter((pl.col("breakdown") == "role") & (pl.col("group") == "lay"))
    assert dict(zip(lay["category"], lay["count"], strict=True)) == {
        "time": 0,
        "will": 0,
        "money": 1,
        UNCODED: 1,
    }
    assert lay["answers"].unique().to_list() == [2]


def test_agreement_matches_sklearn(coded) -> None:
    human = pl.DataFrame(
        {
            "response_id": [
                "R000000000001",
                "R000000000002",
                "R000000000002",
                "R000000000003",
                "R000000000004",
                "R000000000005",
                "R999",
            ],
            "category": ["time", "will", "time", "", "will", "money", "time"],
        }
    )
    table, notes = agreement_table(coded, "rid", human, DICTIONARY, "obstacles", "w1")
    FreeTextAgreement.validate(table, lazy=True)
    rows = {r["category"]: r for r in table.iter_rows(named=True)}
    assert all(r["n"] == 5 for r in rows.values())  # R999 is not an answer of this wave
    ids = [f"R00000000000{i}" for i in range(1, 6)]
    hits = set(zip(human["response_id"], human["category"], strict=True))
    for category in ("time", "will", "money"):
        mine = [bool(coded.frame.filter(pl.col("rid") == i)[category].item()) for i in ids]
        theirs = [(i, category) in hits for i in ids]
        kappa = rows[category]["kappa"]
        ref = cohen_kappa_score(mine, theirs)
        assert kappa == pytest.approx(ref, abs=1e-12) and kappa == pytest.approx(
            cohen_kappa(mine, theirs), abs=1e-12
        )
        assert rows[category]["agreement"] == pytest.approx(
            sum(a == b for a, b in zip(mine, theirs, strict=True)) / 5
        )
    assert notes == (
        "obstacles: 1 human-coded response id(s) not among this wave's coded answers were left "
        "out of the agreement",
    )


def test_agreement_edge_cases(coded) -> None:
    none = pl.DataFrame({"response_id": ["nobody"], "category": ["time"]})
    table, _ = agreement_table(coded, "rid", none, DICTIONARY, "obstacles", "w1")
    assert table.height == 0
    unknown = pl.DataFrame({"response_id": ["R000000000003"], "category": ["weather"]})
    table, notes = agreement_table(coded, "rid", unknown, DICTIONARY, "obstacles", "w1")
    # One answer, nobody coded it anything: chance agreement is 1, kappa undefined.
    assert table["kappa"].null_count() == 3 and table["agreement"].to_list() == [1.0, 1.0, 1.0]
    assert "weather" in notes[0]


def test_uncoded_answers_are_redacted_before_publishing() -> None:
    from tasks.redaction import redact_column, redaction_pattern

    texts = pl.Series("text", ["Ask Dr Sarah Patel or mail s.patel@nhs.net", None, "Call 020 7946 0000"])
    out = redact_column(texts, redaction_pattern(["Westborough"]))
    assert out.to_list() == ["Ask [name] or mail [email]", None, "Call [phone]"]
