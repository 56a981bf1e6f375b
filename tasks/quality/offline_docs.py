"""Make a built Data Docs site render offline: serve its CDN assets from local copies.

GX 1.24.1's page templates (render/view/templates/*.j2) load Bootstrap 4.3.1, bootstrap-table
1.19.x, bootstrap-datepicker 1.9.0, bootstrap-dark 1.1.0, jQuery 3.7.1, Popper 1.x, Vega 5,
Vega-Lite 5, Vega-Embed 6 and Font Awesome 6.6.0 from public CDNs, and the GX logo from S3.
Researchers open archived docs offline, so every such URL is rewritten to a relative path under
`<docs>/static/vendor/<npm package>/...`, copied from the npm packages installed by
`infra/datadocs-assets.sh` (`make datadocs-assets`) into `infra/vendor/node_modules`
(or the folder named by $STUDYFLOW_DATADOCS_ASSETS).
If the assets are missing the site is left as built (online it still renders) with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS_ENV = "STUDYFLOW_DATADOCS_ASSETS"
VENDOR_DIR = "static/vendor"
FIX_HINT = "run `make datadocs-assets` (infra/datadocs-assets.sh: npm ci of infra/datadocs/)"

# CDN URL (full match) -> path of the local copy: "<npm package>/<file>" or "@images/<file>"
# for GX's own images, which every built site already ships under static/images/.
CDN_MAP: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), target)
    for pattern, target in (
        (r"https://maxcdn\.bootstrapcdn\.com/bootstrap/4\.3\.1/css/bootstrap\.min\.css",
         "bootstrap/dist/css/bootstrap.min.css"),
        (r"https://stackpath\.bootstrapcdn\.com/bootstrap/4\.3\.1/js/bootstrap\.min\.js",
         "bootstrap/dist/js/bootstrap.min.js"),
        (r"https://unpkg\.com/bootstrap-table@1\.19\.[01]/dist/([\w./-]+)",
         r"bootstrap-table/dist/\1"),
        (r"https://cdnjs\.cloudflare\.com/ajax/libs/bootstrap-datepicker/1\.9\.0/(css|js)/([\w.-]+)",
         r"bootstrap-datepicker/dist/\1/\2"),
        (r"https://cdn\.jsdelivr\.net/npm/@forevolve/bootstrap-dark@1\.1\.0/dist/([\w./-]+)",
         r"@forevolve/bootstrap-dark/dist/\1"),
        (r"https://code\.jquery\.com/jquery-3\.7\.1\.min\.js", "jquery/dist/jquery.min.js"),
        (r"https://cdnjs\.cloudflare\.com/ajax/libs/popper\.js/1\.[\d.]+/umd/popper\.min\.js",
         "popper.js/dist/umd/popper.min.js"),
        (r"https://cdn\.jsdelivr\.net/npm/vega@5", "vega/build/vega.min.js"),
        (r"https://cdn\.jsdelivr\.net/npm/vega-lite@5", "vega-lite/build/vega-lite.min.js"),
        (r"https://cdn\.jsdelivr\.net/npm/vega-embed@6", "vega-embed/build/vega-embed.min.js"),
        (r"https://cdnjs\.cloudflare\.com/ajax/libs/font-awesome/6\.6\.0/css/all\.min\.css",
         "@fortawesome/fontawesome-free/css/all.min.css"),
        (r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/[\w.-]+\.png(\?[^\"')\s]*)?",
         "@images/logo-long.png"),
    )
)
# Folders copied whole because a copied file refers to them (Font Awesome's fonts).
CDN_EXTRA_DIRS: tuple[str, ...] = ("@fortawesome/fontawesome-free/webfonts",)
VENDOR_PACKAGES: tuple[str, ...] = (
    "bootstrap", "bootstrap-table", "bootstrap-datepicker", "@forevolve/bootstrap-dark", "jquery",
    "popper.js", "vega", "vega-lite", "vega-embed", "@fortawesome/fontawesome-free",
)

# A URL that makes the browser load something: src/href of script/link/img, or CSS url().
_TAG = re.compile(r"<(script|link|img)\b[^>]*>", re.IGNORECASE)
_URL_ATTR = re.compile(r"""\b(src|href)\s*=\s*(["'])(https?://[^"']+)\2""", re.IGNORECASE)
_SRI_ATTR = re.compile(r"""\s+(integrity|crossorigin)(\s*=\s*(["'])[^"']*\3)?""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(https?://[^"')\s]+)\1\s*\)""", re.IGNORECASE)
# A relative link into the site's static/ folder (GX gets the depth wrong for some favicons).
_STATIC_ATTR = re.compile(r"""\b(src|href)\s*=\s*(["'])((?:\.\.?/)*static/[^"'?#]+)""", re.IGNORECASE)


@dataclass
class OfflineResult:
    """What the rewrite did: pages rewritten, files copied, URLs left remote, warnings."""

    pages: int = 0
    copied: list[str] = field(default_factory=list)
    remote_left: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    @property
    def offline(self) -> bool:
        """Whether every page loads only local assets."""
        return not self.warnings and not self.remote_left


def assets_root() -> Path:
    """The node_modules folder holding the vendored npm packages."""
    env = os.environ.get(ASSETS_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "infra" / "vendor" / "node_modules"


def local_target(url: str) -> str | None:
    """The vendored path ("pkg/file" or "@images/file") replacing a CDN URL, if known."""
    for pattern, target in CDN_MAP:
        m = pattern.fullmatch(url)
        if m:
            return m.expand(target)
    return None


def remote_references(html: str) -> set[str]:
    """Every http(s) URL a page would load (script/link/img src|href and CSS url())."""
    found = {m.group(3) for tag in _TAG.finditer(html) for m in _URL_ATTR.finditer(tag.group(0))}
    found |= {m.group(2) for m in _CSS_URL.finditer(html)}
    return found


def _rel(target: Path, page: Path) -> str:
    return Path(os.path.relpath(target, page.parent)).as_posix()


class _Rewriter:
    def __init__(self, docs_dir: Path, assets: Path, result: OfflineResult) -> None:
        self.docs_dir, self.assets, self.result = docs_dir, assets, result
        self.available: dict[str, Path | None] = {}

    def local_file(self, target: str) -> Path | None:
        """Copy one vendored file into the site (once) and return where it is."""
        if target not in self.available:
            if target.startswith("@images/"):
                dest = self.docs_dir / "static" / "images" / target.removeprefix("@images/")
                self.available[target] = dest if dest.exists() else None
            else:
                src = self.assets / target
                dest = self.docs_dir / VENDOR_DIR / target
                if src.is_file():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dest)
                    self.result.copied.append(target)
                    self.available[target] = dest
                else:
                    self.result.warnings.append(f"vendored asset missing: {src}; {FIX_HINT}")
                    self.available[target] = None
        return self.available[target]

    def replace(self, url: str, page: Path) -> str | None:
        target = local_target(url)
        dest = self.local_file(target) if target else None
        if dest is None:
            self.result.remote_left.add(url)
            return None
        return _rel(dest, page)

    def repair(self, m: re.Match[str], page: Path) -> str:
        """A relative static/ link that resolves from this page (unchanged when it already does)."""
        if (page.parent / m.group(3)).is_file():
            return m.group(0)
        target = self.docs_dir / "static" / m.group(3).split("static/", 1)[1]
        if not target.is_file():
            return m.group(0)
        return f"{m.group(1)}={m.group(2)}{_rel(target, page)}"

    def page(self, html: str, page: Path) -> str:
        def tag(m: re.Match[str]) -> str:
            text = m.group(0)
            changed = False

            def attr(a: re.Match[str]) -> str:
                nonlocal changed
                local = self.replace(a.group(3), page)
                if local is None:
                    return a.group(0)
                changed = True
                return f"{a.group(1)}={a.group(2)}{local}{a.group(2)}"

            text = _STATIC_ATTR.sub(lambda a: self.repair(a, page), _URL_ATTR.sub(attr, text))
            # Subresource integrity with crossorigin fails for file:// pages: drop it locally.
            return _SRI_ATTR.sub("", text) if changed else text

        def css(m: re.Match[str]) -> str:
            local = self.replace(m.group(2), page)
            return m.group(0) if local is None else f"url('{local}')"

        return _CSS_URL.sub(css, _TAG.sub(tag, html))


def _copy_extras(rewriter: _Rewriter) -> None:
    for folder in CDN_EXTRA_DIRS:
        src = rewriter.assets / folder
        if src.is_dir():
            shutil.copytree(src, rewriter.docs_dir / VENDOR_DIR / folder, dirs_exist_ok=True)
        else:
            rewriter.result.warnings.append(f"vendored asset folder missing: {src}; {FIX_HINT}")


def _write_notice(docs_dir: Path, assets: Path) -> None:
    lines = ["Third-party assets served locally so these Data Docs render offline.", ""]
    for pkg in VENDOR_PACKAGES:
        meta_path = assets / pkg / "package.json"
        if not meta_path.exists():
            continue
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        lines.append(f"{pkg} {meta.get('version', '?')} ({meta.get('license', 'see package')})")
        for lic in sorted((assets / pkg).glob("LICENSE*")):
            dest = docs_dir / VENDOR_DIR / pkg / lic.name
            if dest.parent.is_dir():
                shutil.copyfile(lic, dest)
    (docs_dir / VENDOR_DIR / "VERSIONS.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def prune_unused_static(docs_dir: Path) -> list[str]:
    """Delete GX's static images, fonts and styles no page or stylesheet refers to (archive size)."""
    texts = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in docs_dir.rglob("*")
        if p.suffix in (".html", ".css") and p.is_file()
    ]
    removed = []
    for name in ("images", "fonts", "styles"):
        for path in sorted((docs_dir / "static" / name).rglob("*")):
            if path.is_file() and not any(path.name in text for text in texts):
                path.unlink()
                removed.append(path.relative_to(docs_dir).as_posix())
    for sub in sorted((docs_dir / "static").rglob("*"), reverse=True):
        if sub.is_dir() and not any(sub.iterdir()):
            sub.rmdir()
    return removed


def make_offline(docs_dir: Path, assets: Path | None = None) -> OfflineResult:
    """Rewrite every built HTML page so CDN assets load from docs_dir/static/vendor/."""
    docs_dir = Path(docs_dir)
    assets = assets or assets_root()
    result = OfflineResult()
    if not assets.is_dir():
        msg = (
            f"Data Docs in {docs_dir} keep their CDN links and will render unstyled offline: "
            f"the vendored assets folder {assets} is missing; {FIX_HINT}"
        )
        log.warning(msg)
        result.warnings.append(msg)
        return result
    rewriter = _Rewriter(docs_dir, assets, result)
    for page in sorted(docs_dir.rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        new = rewriter.page(html, page)
        if new != html:
            page.write_text(new, encoding="utf-8")
        result.pages += 1
    if result.copied:
        _copy_extras(rewriter)
        _write_notice(docs_dir, assets)
    if result.remote_left:
        result.warnings.append(
            "Data Docs still load remote URLs (not vendored; GX templates changed?): "
            + ", ".join(sorted(result.remote_left))
        )
    for msg in result.warnings:
        log.warning("%s", msg)
    return result
