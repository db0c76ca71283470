#!/usr/bin/env bash
# Installs what is missing, then runs the tests through tests/run.ts (one PostgreSQL, one Redis,
# closing line "N passed, N failed"). Arguments go to `bun test`: file filters such as
# tests/gateway, or flags such as -t 'voids the hold'.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# --no-orphans: if this run is killed outright, Bun still takes its servers and `bun test` down.
exec bun --no-orphans run tests/run.ts "$@"
