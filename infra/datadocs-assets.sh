#!/usr/bin/env bash
# Install the Data Docs CDN assets (Bootstrap, jQuery, Vega, Font Awesome, ...) from npm into
# infra/vendor/node_modules, pinned by infra/datadocs/package-lock.json; idempotent.
# tasks/quality/offline_docs.py copies them into each built Data Docs site so it renders offline.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/datadocs"
DEST="${STUDYFLOW_DATADOCS_VENDOR:-$HERE/vendor}"
STAMP="$DEST/node_modules/.studyflow-lock.sha256"

command -v npm >/dev/null 2>&1 || {
  echo "datadocs-assets: npm not found (Debian: apt-get install -y npm)" >&2
  exit 1
}

want="$(sha256sum "$SRC/package-lock.json" | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "datadocs-assets: up to date in $DEST/node_modules"
  exit 0
fi

mkdir -p "$DEST"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
# --ignore-scripts: only prebuilt browser bundles are used, nothing needs building.
(cd "$DEST" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
echo "$want" > "$STAMP"
echo "datadocs-assets: installed into $DEST/node_modules"
