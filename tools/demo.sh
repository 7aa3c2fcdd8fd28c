#!/usr/bin/env bash
# The offline demo: builds optd and llm-sim, starts llm-sim on a free loopback port, and runs
# config/examples/demo.yaml (or the run config $DEMO names) against it with the store in
# build/demo-state.
set -euo pipefail
cd "$(dirname "$0")/.."
OPTD_BUILD_TESTS=${OPTD_BUILD_TESTS:-OFF} BUILD_TARGETS="optd llm-sim" tools/bootstrap.sh
build_dir=${BUILD_DIR:-build}

tmp=$(mktemp -d)
"$build_dir/tools/llm-sim/llm-sim" --listen 127.0.0.1:0 --port-file "$tmp/port" 2>"$tmp/sim.log" &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.05; done
[[ -s $tmp/port ]] || { echo "demo: llm-sim did not start" >&2; cat "$tmp/sim.log" >&2; exit 1; }

export OPTD_SIM_URL="http://127.0.0.1:$(cat "$tmp/port")/v1"
"$build_dir/daemon/optd" --config config/examples/demo-optd.yaml --state-dir "$build_dir/demo-state" \
  run "${DEMO:-config/examples/demo.yaml}" "$@"
