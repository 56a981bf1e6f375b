#!/usr/bin/env bash
# Install ShellCheck (Debian package) so actionlint also checks the shell of the workflows'
# `run:` steps (tests/test_workflows.py); idempotent. actionlint itself comes with the dev extras.
set -euo pipefail

if command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck already installed: $(shellcheck --version | sed -n 's/^version: //p')"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-shellcheck: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends shellcheck; then
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends shellcheck
fi
echo "installed: shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
