#!/usr/bin/env bash
# Starts llm-sim and `optd serve` on free loopback ports, then runs compat.mjs (Opik's TypeScript
# SDK) against optd. Usage: run.sh OPTD_BIN LLM_SIM_BIN. Installs the SDK with `npm ci` first if
# it is missing. Exit status: the SDK script's.
set -euo pipefail
optd=$1 sim=$2
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$here/node_modules/opik" ] || npm ci --prefix "$here" --no-audit --no-fund >/dev/null
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_for_file() { for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "no $1" >&2; return 1; }

"$sim" --listen 127.0.0.1:0 --port-file "$work/sim.port" --latency-ms 5 --latency-sigma 0 &
pids+=($!)
wait_for_file "$work/sim.port"
cat > "$work/optd.yaml" <<YAML
state_dir: $work/state
api_token_env: OPTD_TEST_TOKEN
providers:
  - name: sim
    kind: openai_compatible
    base_url: http://127.0.0.1:$(cat "$work/sim.port")/v1
    max_concurrency: 16
    prices: {sim-small: {input: 0.15, output: 0.60}, sim-reasoner: {input: 2.50, output: 10.00}}
YAML
export OPTD_TEST_TOKEN=sdk-test-token
"$optd" --config "$work/optd.yaml" serve --listen 127.0.0.1:0 --port-file "$work/optd.port" 2>"$work/optd.log" &
pids+=($!)
wait_for_file "$work/optd.port"
if ! OPIK_URL_OVERRIDE="http://127.0.0.1:$(cat "$work/optd.port")/api" OPIK_API_KEY=$OPTD_TEST_TOKEN \
    node "$here/compat.mjs"; then
  echo "--- optd's log:" >&2
  cat "$work/optd.log" >&2
  exit 1
fi
