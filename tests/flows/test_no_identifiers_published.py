"""No raw identifier from the inputs reaches anything a demo run publishes.

Every published object of the run (parquet tables, HTML, Markdown, JSON, SVG, the exported
.qdpx and the Data Docs) is decoded to text and searched for every roster id, respondent name,
ResponseId, e-mail address and participant code the demo's inputs hold, and for the names the
study lists in `redact_terms`.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import polars as pl
import pytest

from schemas.study_config import load_study_config
from tasks.ingest.qdpx import read_qdpx
from tasks.ingest.tables import read_table
from tasks.ingest.text import decode_text
from tasks.storage.store import open_store

pytestmark = pytest.mark.usefixtures("prefect_harness")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Columns of a Qualtrics export that name or contact a person.
_PERSON_COLUMNS = ("RecipientEmail", "RecipientFirstName", "RecipientLastName")


def _column(path: Path, column: str, sheet: str | None = None) -> set[str]:
    frame = read_table(path.read_bytes(), path.name, sheet=sheet).frame
    if column not in frame.columns:
        return set()
    return {v.strip() for v in frame.get_column(column).drop_nulls().to_list() if v and v.strip()}


def input_identifiers(config_path: Path) -> dict[str, set[str]]:
    """Every raw identifier in the demo's inputs, by kind."""
    cfg = load_study_config(config_path)
    found: dict[str, set[str]] = {"roster id": set(), "ResponseId": set(), "name": set(), "e-mail": set(),
                                  "participant code": set(), "redact term": set(cfg.qualitative.redact_terms)}
    respondent = cfg.survey.respondent
    for wave in cfg.survey.waves.values():
        roster = cfg.resolve(wave.roster.path)[0]
        found["roster id"] |= _column(roster, wave.roster.id_column, wave.roster.sheet)
        export = cfg.resolve(wave.export)[0]
        text = decode_text(export.read_bytes(), export.name).text
        # Qualtrics exports carry two header rows under the column names; they are not answers.
        lines = text.splitlines()
        frame = read_table("\n".join([lines[0], *lines[3:]]).encode(), export.name).frame
        found["ResponseId"] |= {v for v in frame.get_column(respondent.id_column).to_list() if v}
        if respondent.member_column and respondent.member_column in frame.columns:
            found["roster id"] |= {v for v in frame.get_column(respondent.member_column).to_list() if v}
        for column in _PERSON_COLUMNS:
            if column in frame.columns:
                found["e-mail" if "Email" in column else "name"] |= {
                    v for v in frame.get_column(column).to_list() if v and v.strip()
                }
        found["e-mail"] |= set(_EMAIL.findall(text))
    for section in (cfg.qualitative.scoping, cfg.qualitative.case_studies):
        for pattern in section.projects:
            for path in cfg.resolve(pattern):
                project = read_qdpx(path.read_bytes(), path.name)
                variables = project.source_variables
                found["participant code"] |= set(
                    variables.filter(pl.col("name") == section.source_variables.participant)
                    .get_column("value").drop_nulls().to_list()
                )
    return found


def published_texts(store_url: str, keys: list[str]) -> dict[str, str]:
    """Each published object decoded to searchable text (tables cell by cell, zips member by member)."""
    store = open_store(store_url)
    texts: dict[str, str] = {}
    for key in keys:
        data = store.get(key)
        if key.endswith(".parquet"):
            frame = pl.read_parquet(io.BytesIO(data))
            texts[key] = "\n".join([" ".join(frame.columns), *(
                "\t".join("" if v is None else str(v) for v in row) for row in frame.iter_rows()
            )])
        elif key.endswith((".qdpx", ".zip")):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    texts[f"{key}!{member}"] = archive.read(member).decode("utf-8", errors="replace")
        elif key.endswith(".png"):
            continue  # figures are pixels; their text is in the SVG twin, which is scanned
        else:
            texts[key] = data.decode("utf-8", errors="replace")
    return texts


_TOKEN = re.compile(r"[\w.+@-]+")


def _tokens(text: str) -> set[str]:
    """Every word-like token of a text, lower-cased, also without edge punctuation."""
    found = set()
    for token in _TOKEN.findall(text.lower()):
        found.add(token)
        found.add(token.strip(".-+@"))
    return found


def _leaks(texts: dict[str, str], identifiers: dict[str, set[str]]) -> list[str]:
    """Where an identifier appears as a whole token (or, for several words, as a phrase)."""
    leaks = []
    tokens = {key: _tokens(text) for key, text in texts.items()}
    lowered = {key: text.lower() for key, text in texts.items()}
    for kind, values in identifiers.items():
        for value in sorted(values):
            low = value.strip().lower()
            if not low:
                continue
            if _TOKEN.fullmatch(low):
                hits = [key for key, toks in tokens.items() if low in toks]
            else:
                phrase = re.compile(rf"(?<![\w-]){re.escape(low)}(?![\w-])")
                hits = [key for key, text in lowered.items() if low in text and phrase.search(text)]
            leaks.extend(f"{kind} {value!r} in {key}" for key in hits)
    return leaks


def test_the_scan_finds_identifiers_it_is_looking_for(demo_study: Path) -> None:
    ids = input_identifiers(demo_study)
    # The demo's inputs do hold every kind of identifier the scan looks for.
    assert all(ids[kind] for kind in ("roster id", "ResponseId", "e-mail", "participant code", "redact term")), {
        k: len(v) for k, v in ids.items()
    }
    some = next(iter(sorted(ids["participant code"])))
    assert _leaks({"x.md": f"said by {some}."}, ids) == [f"participant code {some!r} in x.md"]


def test_no_raw_identifier_is_published(demo_run) -> None:
    store = open_store(str(demo_run.store))
    # Data Docs' vendored CSS/JS (third-party library files copied verbatim when the assets are
    # installed) hold no study data, and common first names occur in them as words ("mark").
    keys = [k for k in store.list(f"runs/{demo_run.manifest.run_id}/") if "/static/vendor/" not in k]
    assert any(k.endswith(".qdpx") for k in keys) and any("/docs/" in k for k in keys)
    assert {k.rsplit(".", 1)[-1] for k in keys} >= {"parquet", "html", "md", "json", "svg", "qdpx"}
    texts = published_texts(str(demo_run.store), keys)
    leaks = _leaks(texts, input_identifiers(demo_run.config))
    assert leaks == [], f"{len(leaks)} raw identifier(s) published, e.g.:\n" + "\n".join(leaks[:30])
