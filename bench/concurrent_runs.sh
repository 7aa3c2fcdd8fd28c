#!/usr/bin/env bash
# 20 concurrent runs on one optd serve against llm-sim: total LLM calls per second, fairness
# between runs sharing one provider's slots, and API latency while they run.
#   RUNS=20 SLOTS=64 LATENCY_MS=50 TRIALS=12 ITEMS=200 bench/concurrent_runs.sh
# One run is "busy" (64 workers); the others have 4 each, so together they ask for more slots
# than the provider has. Needs wrk and sqlite3 (Debian packages). OPTD=path overrides the binary
# (to compare builds).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20} SLOTS=${SLOTS:-64} LATENCY_MS=${LATENCY_MS:-50} TRIALS=${TRIALS:-12}
build=${BUILD_DIR:-build-bench}
BUILD_DIR=$build CMAKE_BUILD_TYPE=Release OPTD_BUILD_TESTS=OFF BUILD_TARGETS="optd llm-sim" tools/bootstrap.sh >/dev/null
optd=${OPTD:-$build/daemon/optd} sim=$build/tools/llm-sim/llm-sim

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
wait_file() { while [[ ! -s $1 ]]; do sleep 0.02; done; }

"$sim" --listen 127.0.0.1:0 --port-file "$work/sim.port" --latency-ms "$LATENCY_MS" --latency-sigma 0.2 2>/dev/null &
pids+=($!)
wait_file "$work/sim.port"
cat >"$work/optd.yaml" <<YAML
max_concurrent_runs: $RUNS
providers:
  - name: sim
    kind: openai_compatible
    base_url: http://127.0.0.1:$(cat "$work/sim.port")/v1
    max_concurrency: $SLOTS
    prices: {sim-small: {input: 0.15, output: 0.60}, sim-reasoner: {input: 2.50, output: 10.00}}
YAML
"$optd" --config "$work/optd.yaml" --state-dir "$work/state" serve --listen 127.0.0.1:0 \
  --port-file "$work/api.port" >/dev/null 2>"$work/optd.log" &
optd_pid=$!
pids+=($optd_pid)
wait_file "$work/api.port"
api="http://127.0.0.1:$(cat "$work/api.port")/api/v1/private"

# ITEMS additions, as in engine.sh: every trial asks ITEMS questions.
items=$(awk -v n="${ITEMS:-200}" 'BEGIN { for (i = 0; i < n; i++) { a = i % 997; b = (i * 7) % 991;
  printf "%s{\"data\":{\"question\":\"What is %d + %d?\",\"answer\":\"%d\"}}", (i ? "," : ""), a, b, a + b } }')
curl -sf -X PUT "$api/datasets/items" -H 'Content-Type: application/json' \
  -d "{\"dataset_name\":\"skills\",\"items\":[$items]}"
submit() {  # submit NAME CONCURRENCY
  curl -sf -o /dev/null -X POST "$api/optimizations" -H 'Content-Type: application/json' -d @- <<JSON
{"name":"$1","dataset_name":"skills","objective_name":"equals","status":"initialized",
 "limits":{"max_trials":$TRIALS,"max_concurrency":$2},
 "studio_config":{"dataset_name":"skills",
  "prompt":{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"{{question}}"}]},
  "llm_model":{"model":"sim-small","parameters":{"temperature":0}},
  "evaluation":{"metrics":[{"type":"equals","parameters":{"reference_key":"answer"}}]},
  "optimizer":{"type":"meta_prompt","parameters":{"seed":1,"no_improvement_rounds":100}}}}
JSON
}
start=$(date +%s.%N)
submit busy 64
for i in $(seq 2 "$RUNS"); do submit "small-$i" 4; done
cpu0=$(awk '{print $14 + $15}' /proc/$optd_pid/stat)

# API latency while the runs go on: one run by id, and the first page of the list.
busy=$(curl -sf "$api/optimizations?name=busy" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
wrk -t1 -c4 -d5s --latency "$api/optimizations/$busy" >"$work/wrk-get.txt"
wrk -t1 -c4 -d5s --latency "$api/optimizations?page=1&size=10" >"$work/wrk-find.txt"

while curl -sf "$api/optimizations?size=100" | grep -q '"status":"\(running\|initialized\)"'; do sleep 0.2; done
end=$(date +%s.%N)
cpu1=$(awk '{print $14 + $15}' /proc/$optd_pid/stat)
kill "$optd_pid"
wait "$optd_pid" 2>/dev/null || true

db=$work/state/optd.db
echo "runs=$RUNS slots=$SLOTS latency=${LATENCY_MS}ms trials=$TRIALS"
sqlite3 "$db" "SELECT 'llm calls: ' || ((SELECT count(*) FROM evaluations WHERE status='completed') + (SELECT count(*) FROM llm_calls))
               || '; runs by finish reason: ' || (SELECT group_concat(n || ' ' || finish_reason, ', ')
                  FROM (SELECT finish_reason, count(*) AS n FROM runs GROUP BY finish_reason))"
awk -v s="$start" -v e="$end" -v c0="$cpu0" -v c1="$cpu1" -v tck="$(getconf CLK_TCK)" \
  'BEGIN { printf "wall: %.2f s; optd CPU: %.2f s\n", e - s, (c1 - c0) / tck }'
# Fairness: each run's completed evaluations per second while all of them were running.
sqlite3 -separator ' ' "$db" "
  WITH w AS (SELECT max(started_ms) AS lo, min(ended_ms) AS hi FROM runs),
       per AS (SELECT r.name, count(e.id) * 1000.0 / (w.hi - w.lo) AS rate
               FROM runs r, w LEFT JOIN evaluations e ON e.run_id = r.id AND e.status = 'completed'
                 AND e.completed_ms BETWEEN w.lo AND w.hi GROUP BY r.id)
  SELECT 'window_s', (hi - lo) / 1000.0 FROM w
  UNION ALL SELECT 'total_calls_per_s', sum(rate) FROM per
  UNION ALL SELECT 'busy_calls_per_s', rate FROM per WHERE name = 'busy'
  UNION ALL SELECT 'small_calls_per_s_min', min(rate) FROM per WHERE name <> 'busy'
  UNION ALL SELECT 'small_calls_per_s_max', max(rate) FROM per WHERE name <> 'busy'
  UNION ALL SELECT 'jain_index_all', sum(rate) * sum(rate) / (count(*) * sum(rate * rate)) FROM per;"
for f in get find; do
  echo "API $f: $(grep -E 'Requests/sec' "$work/wrk-$f.txt" | tr -s ' ') ·" \
       "$(grep -E '^ +(50|99)%' "$work/wrk-$f.txt" | tr -s ' ' | paste -sd' ')"
done
