"""The Data Docs site: an index listing every suite, no CDN references left, offline fallbacks."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tasks.quality.offline_docs import (
    CDN_MAP,
    FIX_HINT,
    VENDOR_DIR,
    assets_root,
    local_target,
    make_offline,
    remote_references,
)

ROOT = Path(__file__).resolve().parents[3]
_GX_SPEC = importlib.util.find_spec("great_expectations")  # locates GX without importing it
GX_TEMPLATES = Path(_GX_SPEC.origin).parent / "render" if _GX_SPEC and _GX_SPEC.origin else ROOT
_CDN_IN_TEMPLATE = re.compile(
    r"""<(?:script|link|img)\b[^>]*?(?:src|href)\s*=\s*["'](https?://[^"'{]+)["']"""
    r"""|url\(['"]?(https?://[^'")]+)"""
)


def _pages(docs: Path) -> list[Path]:
    return sorted(docs.rglob("*.html"))


def _suite_page(docs: Path, suite: str) -> Path:
    return docs / "expectations" / (suite.replace(".", "/") + ".html")


def test_index_lists_every_suite(built_docs: Any) -> None:
    index = (built_docs.docs_dir / "index.html").read_text(encoding="utf-8")
    assert built_docs.suites
    for suite in built_docs.suites:
        rel = _suite_page(built_docs.docs_dir, suite).relative_to(built_docs.docs_dir).as_posix()
        assert f'href="{rel}"' in index, suite
        assert f"'_expectation_suite_name_sort': '{suite}'" in index, suite
        assert _suite_page(built_docs.docs_dir, suite).is_file()


def test_no_page_loads_anything_from_the_network(built_docs: Any) -> None:
    assert assets_root().is_dir(), f"vendored Data Docs assets missing: {FIX_HINT}"
    assert not built_docs.report.warnings
    pages = _pages(built_docs.docs_dir)
    assert len(pages) > len(built_docs.suites)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert remote_references(html) == set(), page
        assert not re.search(r"<(script|link|img)\b[^>]*https?://", html), page
        assert "integrity=" not in html and "crossorigin" not in html, page


def test_rewritten_links_point_at_files_shipped_with_the_docs(built_docs: Any) -> None:
    docs = built_docs.docs_dir
    for page in _pages(docs):
        html = page.read_text(encoding="utf-8")
        for m in re.finditer(r"""<(?:script|link|img)\b[^>]*?(?:src|href)="([^"#]+)\"""", html):
            target = (page.parent / m.group(1).split("?")[0]).resolve()
            assert target.is_file(), f"{page.relative_to(docs)} -> {m.group(1)}"
    vendor = docs / VENDOR_DIR
    assert (vendor / "bootstrap/dist/css/bootstrap.min.css").is_file()
    assert list((vendor / "@fortawesome/fontawesome-free/webfonts").glob("*.woff2"))
    assert "bootstrap 4.3.1" in (vendor / "VERSIONS.txt").read_text()


def test_every_cdn_url_in_the_gx_templates_has_a_local_copy() -> None:
    templates = list(GX_TEMPLATES.rglob("*.j2")) + list(GX_TEMPLATES.rglob("*.css"))
    assert templates, f"GX templates not found under {GX_TEMPLATES}"
    urls = {
        u
        for t in templates
        for m in _CDN_IN_TEMPLATE.finditer(t.read_text(encoding="utf-8"))
        if (u := m.group(1) or m.group(2))
    }
    assert any("bootstrap" in u for u in urls)
    unmapped = sorted(u for u in urls if local_target(u) is None)
    # A GX upgrade that adds a CDN asset must extend offline_docs.CDN_MAP.
    assert unmapped == [], unmapped
    for url in urls:
        target = local_target(url)
        assert target is not None
        if not target.startswith("@images/"):
            assert (assets_root() / target).is_file(), (url, target)
    assert len(CDN_MAP) >= 10


def test_missing_assets_leave_cdn_links_with_a_clear_warning(
    built_docs: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    page = tmp_path / "index.html"
    html = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css"/>\n<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>\n'
    )
    page.write_text(html, encoding="utf-8")
    result = make_offline(tmp_path, assets=tmp_path / "no-such-folder")
    assert page.read_text(encoding="utf-8") == html
    assert not result.offline
    (message,) = result.warnings
    assert "render unstyled offline" in message and "make datadocs-assets" in message
    assert "make datadocs-assets" in caplog.text


def test_one_missing_file_keeps_its_cdn_link(tmp_path: Path) -> None:
    assets = tmp_path / "node_modules"
    shutil.copytree(assets_root() / "jquery", assets / "jquery")
    docs = tmp_path / "docs"
    docs.mkdir()
    page = docs / "index.html"
    page.write_text(
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>',
        encoding="utf-8",
    )
    result = make_offline(docs, assets=assets)
    html = page.read_text(encoding="utf-8")
    assert 'src="static/vendor/jquery/dist/jquery.min.js"' in html
    assert "https://cdn.jsdelivr.net/npm/vega@5" in html
    assert result.remote_left == {"https://cdn.jsdelivr.net/npm/vega@5"}
    assert any("make datadocs-assets" in w for w in result.warnings)


def test_rebuilding_gives_identical_docs(study: Any, clean_frames: Any, tmp_path: Path) -> None:
    from schemas.expectations import build_suites, derive_frames, row_keys
    from tasks.quality.gx import run_checkpoint

    frames = clean_frames()
    frames = {**frames, **derive_frames(frames, study)}
    suites, _ = build_suites(frames, study)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    trees = []
    for name in ("a", "b"):
        docs = tmp_path / name
        run_checkpoint("p", {d: frames[d] for d in suites}, suites, docs,
                       row_keys={d: row_keys(d) for d in suites}, run_time=when)
        trees.append({p.relative_to(docs).as_posix(): p.read_bytes()
                      for p in docs.rglob("*") if p.is_file()})
    assert trees[0].keys() == trees[1].keys()
    assert [k for k in trees[0] if trees[0][k] != trees[1][k]] == []


def test_report_timings_and_summary(built_docs: Any) -> None:
    report = built_docs.report
    assert {"import", "context", "checkpoint", "docs"} <= set(report.timings)
    assert report.summary()["expectations"] == report.results.height
    assert report.passed and report.index_html is not None and report.index_html.is_file()


def test_unreferenced_gx_static_files_are_not_shipped(built_docs: Any) -> None:
    static = built_docs.docs_dir / "static"
    assert (static / "images" / "logo-long.png").is_file()
    assert (static / "images" / "favicon.ico").is_file()
    assert not (static / "images" / "glossary_scroller.gif").exists()


def test_importing_the_quality_modules_does_not_import_gx() -> None:
    code = (
        "import sys, schemas.expectations, schemas.quality, tasks.quality.gx, "
        "tasks.quality.steps, tasks.quality.docs, tasks.quality.quarantine, "
        "tasks.quality.offline_docs; "
        "assert 'great_expectations' not in sys.modules, 'GX imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
