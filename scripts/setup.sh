#!/usr/bin/env bash
# Installs what Tollgate needs on a Debian machine that has node/npm: Bun (from the npm registry),
# the Debian packages the tests use, and the locked dependencies. Idempotent, and silent when
# everything is already there; on a failure it shows the failing command's output.
# Usage: scripts/setup.sh [--runtime-only]   (--runtime-only skips the test-only packages)
set -euo pipefail
cd "$(dirname "$0")/.."

BUN_VERSION=1.4.5
# Debian packages only the tests use (each named like the program it installs): a real Redis for
# the rate-limit store, Chromium for the portal's end-to-end tests.
TEST_PACKAGES=(redis-server chromium)

runtime_only=false
case "${1:-}" in
  "") ;;
  --runtime-only) runtime_only=true ;;
  *) echo "usage: scripts/setup.sh [--runtime-only]" >&2; exit 2 ;;
esac

# Runs a command without output, printing what it said only when it fails.
quietly() {
  local output
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" >&2
    echo "setup: failed: $*" >&2
    return 1
  fi
}

if ! command -v bun >/dev/null 2>&1 || [ "$(bun --version)" != "$BUN_VERSION" ]; then
  echo "setup: installing bun $BUN_VERSION from npm"
  quietly npm install -g "bun@$BUN_VERSION"
  hash -r
  # Another bun earlier on PATH (e.g. ~/.bun/bin) would shadow the one npm just installed.
  if [ "$(bun --version 2>/dev/null)" != "$BUN_VERSION" ]; then
    echo "setup: bun $BUN_VERSION is in $(npm prefix -g)/bin but \`bun\` on PATH is $(command -v bun || echo missing); put that folder first on PATH" >&2
    exit 1
  fi
fi

missing=()
if [ "$runtime_only" = false ]; then
  for package in "${TEST_PACKAGES[@]}"; do
    command -v "$package" >/dev/null 2>&1 || missing+=("$package")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: run as root or install sudo to install ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
  fi
  quietly "${as_root[@]}" apt-get update -qq
  quietly "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

quietly bun install --frozen-lockfile
if [ -f portal/package.json ]; then
  (cd portal && quietly bun install --frozen-lockfile)
fi
