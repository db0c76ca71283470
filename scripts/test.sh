#!/usr/bin/env bash
# Sets up (if needed) and runs every test; extra arguments filter test files (e.g. tests/gateway).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec bun run tests/run.ts "$@"
