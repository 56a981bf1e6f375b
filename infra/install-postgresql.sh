#!/usr/bin/env bash
# Install PostgreSQL (Debian packages) for infra/local-stack.sh and its test; idempotent.
# local-stack.sh installs it too when missing; this lets CI do it up front, with apt's output.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "postgresql already installed: $(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-postgresql: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends postgresql postgresql-client; then
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends postgresql postgresql-client
fi
echo "installed: $(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
