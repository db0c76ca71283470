#!/usr/bin/env bash
# Installs what Tollgate needs on a bare Debian machine with node/npm: Bun (from the npm registry),
# the Debian packages the tests use, and the locked dependencies. Idempotent and quiet when done.
# Usage: scripts/setup.sh [--runtime-only]   (--runtime-only skips test-only packages)
set -euo pipefail
cd "$(dirname "$0")/.."

BUN_VERSION=1.4.5
runtime_only=false
[ "${1:-}" = "--runtime-only" ] && runtime_only=true

if ! command -v bun >/dev/null 2>&1 || [ "$(bun --version)" != "$BUN_VERSION" ]; then
  echo "setup: installing bun $BUN_VERSION from npm"
  npm install -g --silent "bun@$BUN_VERSION" >/dev/null 2>&1
fi

missing=()
if [ "$runtime_only" = false ]; then
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

bun install --frozen-lockfile --silent
if [ -f portal/package.json ]; then
  (cd portal && bun install --frozen-lockfile --silent)
fi
