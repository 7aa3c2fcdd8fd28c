#!/usr/bin/env bash
# optd's /metrics against Prometheus's own tools: `promtool check metrics` on optd's output, then a
# real Prometheus on loopback scraping optd every second during a run, and every PromQL expression
# of the Grafana dashboard checked against it (check_dashboard.mjs).
#   prometheus_test.sh OPTD_BIN LLM_SIM_BIN
set -euo pipefail
optd=$1 sim=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/prometheus.log" ] && tail -20 "$work/prometheus.log" >&2; exit 1; }
wait_for() { for _ in $(seq 1 400); do eval "$1" && return 0; sleep 0.05; done; fail "timed out: $1"; }

"$sim" --listen 127.0.0.1:0 --port-file "$work/sim.port" --latency-ms 80 --latency-sigma 0 >/dev/null 2>&1 &
pids+=($!)
wait_for "[ -s $work/sim.port ]"
export OPTD_SIM_URL="http://127.0.0.1:$(cat "$work/sim.port")/v1"
config=$root/config/examples/demo-optd.yaml
# optd records its runs in Opik; a second optd, which serves Opik's API, stands in for it (so the
# outbox series exist).
"$optd" --config "$config" --state-dir "$work/opik-state" serve --listen 127.0.0.1:0 --port-file "$work/opik.port" \
  >/dev/null 2>"$work/opik.log" &
pids+=($!)
wait_for "[ -s $work/opik.port ]"
OPIK_URL_OVERRIDE="http://127.0.0.1:$(cat "$work/opik.port")/api" \
  "$optd" --config "$config" --state-dir "$work/state" serve --listen 127.0.0.1:0 --port-file "$work/optd.port" \
  >/dev/null 2>"$work/optd.log" &
pids+=($!)
wait_for "[ -s $work/optd.port ]"
optd_addr=127.0.0.1:$(cat "$work/optd.port")

# promtool's lint on a fresh daemon's exposition.
curl -sf "http://$optd_addr/metrics" >"$work/metrics-idle.txt"
promtool check metrics <"$work/metrics-idle.txt" || fail "promtool check metrics (idle)"

# A real Prometheus on a free loopback port (it cannot report a port it picked itself).
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 20000))
  cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: optd
    static_configs: [{targets: ['$optd_addr']}]
YAML
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/prometheus.log" 2>&1 &
  prom_pid=$!
  ok=0
  for _ in $(seq 1 200); do
    if curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null; then ok=1; break; fi
    kill -0 "$prom_pid" 2>/dev/null || break
    sleep 0.05
  done
  [ $ok = 1 ] && break
  kill "$prom_pid" 2>/dev/null || true
done
[ "${ok:-0}" = 1 ] || fail "prometheus did not start"
pids+=($prom_pid)
prom=http://127.0.0.1:$port
wait_for "curl -sf '$prom/api/v1/query?query=up' | grep -q '\"value\":\\[[0-9.]*,\"1\"\\]'"

start=$(date +%s)
# The demo run, slowed down by llm-sim's latency and two workers, so Prometheus sees it move.
sed 's/max_concurrency: 8/max_concurrency: 2/; s|dataset_file: ../datasets/skills.jsonl|dataset_file: '"$root"'/config/datasets/skills.jsonl|' \
  "$root/config/examples/demo.yaml" >"$work/run.yaml"
# A baseline before the run: two scrapes.
wait_for "curl -sf '$prom/api/v1/query?query=count_over_time(up%5B1m%5D)' | grep -q '\"value\":\[[0-9.]*,\"[2-9][0-9]*\"\]'"
OPTD_SERVER=http://$optd_addr "$optd" --config "$config" submit --watch "$work/run.yaml" >/dev/null 2>"$work/submit.log" \
  || fail "the run did not complete: $(cat "$work/submit.log")"
curl -sf "http://$optd_addr/metrics" >"$work/metrics-after.txt"
promtool check metrics <"$work/metrics-after.txt" || fail "promtool check metrics (after a run)"
# Until Prometheus has scraped the final state.
trials=$(awk '/^optd_trials_started_total /{print $2}' "$work/metrics-after.txt")
wait_for "curl -sf '$prom/api/v1/query?query=optd_trials_started_total' | grep -q '\"value\":\[[0-9.]*,\"$trials\"\]'"
end=$(($(date +%s) + 1))
node "$here/check_dashboard.mjs" "$root/config/grafana/optd.json" "$prom" "$start" "$end"
