#!/usr/bin/env bash
# Builds the portal when needed and serves it (adapter-node, run by Bun) on PORTAL_PORT (3000).
# It talks to the gateway's /graphql at TOLLGATE_API_URL, by default the gateway that
# scripts/start.sh starts on PORT (8787). Exits with the server; SIGTERM stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")/../portal"

gateway_port="${PORT:-8787}"
gateway_host="${HOST:-127.0.0.1}"
[ "$gateway_host" = "0.0.0.0" ] && gateway_host=127.0.0.1

if [ ! -x node_modules/.bin/vite ]; then
  bun install --frozen-lockfile
fi
# Rebuild when the build is missing or any source is newer than it.
if [ ! -f build/index.js ] || [ -n "$(find src static svelte.config.js vite.config.ts package.json -newer build/index.js -print -quit)" ]; then
  NODE_ENV=production bun --bun x vite build >/dev/null
fi

export TOLLGATE_API_URL="${TOLLGATE_API_URL:-http://${gateway_host}:${gateway_port}}"
export TOLLGATE_PUBLIC_API_URL="${TOLLGATE_PUBLIC_API_URL:-${PUBLIC_URL:-http://localhost:${gateway_port}}}"
export PORT="${PORTAL_PORT:-3000}"
export HOST="${PORTAL_HOST:-${HOST:-127.0.0.1}}"
# One clear line instead of the server's stack trace when the port is taken.
probe_host="$HOST"
[ "$probe_host" = "0.0.0.0" ] && probe_host=127.0.0.1
if (exec 3<>"/dev/tcp/${probe_host}/${PORT}") 2>/dev/null; then
  echo "tollgate portal: port ${PORT} on ${HOST} is in use: stop what listens there, or set PORTAL_PORT" >&2
  exit 2
fi
export NODE_ENV=production
exec bun build/index.js
