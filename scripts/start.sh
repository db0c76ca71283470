#!/usr/bin/env bash
# Installs what is missing, then starts the whole platform on embedded defaults: the gateway
# (/v1, /graphql, /webhooks) on PORT (8787) and the portal on PORTAL_PORT (3000).
# Ctrl-C (or SIGTERM) stops both gracefully: in-flight requests finish and are settled.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --runtime-only

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait
}
trap stop INT TERM

bun run gateway/main.ts &
pids+=($!)
if [ -f scripts/start-portal.sh ]; then
  bash scripts/start-portal.sh &
  pids+=($!)
fi
wait -n
stop
