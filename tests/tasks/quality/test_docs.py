"""docs/quality-checks.md is generated from the declarative suites and kept current."""

from __future__ import annotations

from schemas.expectations import known_check_names
from tasks.quality.docs import DOCS_PAGE, render_checks_markdown


def test_committed_page_equals_the_generated_one() -> None:
    assert DOCS_PAGE.read_text(encoding="utf-8") == render_checks_markdown(), (
        "docs/quality-checks.md is stale: run `.venv/bin/python -m tasks.quality.docs`"
    )


def test_page_lists_every_check_with_severity_and_why() -> None:
    page = render_checks_markdown()
    for name in known_check_names():
        (line,) = [row for row in page.splitlines() if row.startswith(f"| `{name}` |")]
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        assert cells[1] in ("error", "warn") and len(cells[4]) > 20, line
