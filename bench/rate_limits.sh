#!/usr/bin/env bash
# Rate-limit benchmark: one trial of N items (N LLM calls) against llm-sim limited to RPM requests
# per minute over a sliding window of WINDOW seconds (x-ratelimit-* headers on every answer,
# 429 with Retry-After beyond the limit), at 16 and at 64 calls in flight. optd learns the limit
# from the headers (nothing is configured) and paces its calls. Reported, as shares of the limit
# (RPM/60 a second): the rate the limit let requests in (from the first request to the last one
# let in: what the limit governs); the calls answered per second from the first request to the
# last answer (adds the last calls' latency); the same over optd run's whole wall time (start,
# dataset, store and exit too); and the share of requests answered 429. Median of RUNS runs, a
# fresh simulator for each.
#   RUNS=5 N=1200 RPM=3600 WINDOW=1 bench/rate_limits.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
N=${N:-1200}
RPM=${RPM:-3600}
WINDOW=${WINDOW:-1}
LATENCY_MS=${LATENCY_MS:-200}
source bench/lib/common.sh

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "{\"question\":\"What is %d + %d?\",\"answer\":\"%d\"}\n", i, i + 7, 2 * i + 7 }' \
  >"$work/items.jsonl"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "date: $(date -u +%F); $N calls, limit $RPM/min over a ${WINDOW}s sliding window, latency ${LATENCY_MS} ms (log-normal, σ 0.3); median of $RUNS runs"
printf '%-10s %12s %12s %12s %14s %10s\n' "in flight" "let in/s" "answered/s" "end to end" "answered 429" "wall (s)"
for in_flight in 16 64; do
  : >"$work/share" && : >"$work/limited" && : >"$work/wall" && : >"$work/share_e2e" && : >"$work/share_in"
  for r in $(seq "$RUNS"); do
    start_sim "sim$in_flight-$r" --rpm "$RPM" --rate-window "$WINDOW" --latency-ms "$LATENCY_MS" --latency-sigma 0.3 \
      --fault-seed "$r"
    daemon_config "$work/optd.yaml" "$SIM_URL"
    sed -i "s/max_concurrency: 10000/max_concurrency: $in_flight/" "$work/optd.yaml"
    cat >"$work/run.yaml" <<YAML
name: bench-rate-limits
dataset_file: $work/items.jsonl
prompt:
  messages:
    - {role: system, content: "Reply with only the final answer."}
    - {role: user, content: "{{question}}"}
llm_model: {model: sim-small, parameters: {temperature: 0, max_tokens: 16}}
evaluation: {metrics: [{type: equals}]}
optimizer: {type: meta_prompt, parameters: {model: sim-reasoner}}
limits: {max_trials: 1, max_concurrency: $in_flight}
YAML
    measured_run "$work/optd.yaml" "$work/run.yaml"
    stats=$(curl -s "$SIM_URL/stats")
    completions=$(json "$stats" completions) requests=$(json "$stats" requests) limited=$(json "$stats" rate_limited)
    wall=$(json "$M" wall_s)
    busy=$(json "$stats" busy_s) accepting=$(json "$stats" accepting_s) accepted=$(json "$stats" accepted)
    awk -v c="$accepted" -v w="$accepting" -v rpm="$RPM" 'BEGIN { printf "%.4f\n", (c - 1) / w / (rpm / 60) }' >>"$work/share_in"
    awk -v c="$completions" -v w="$busy" -v rpm="$RPM" 'BEGIN { printf "%.4f\n", c / w / (rpm / 60) }' >>"$work/share"
    awk -v c="$completions" -v w="$wall" -v rpm="$RPM" 'BEGIN { printf "%.4f\n", c / w / (rpm / 60) }' >>"$work/share_e2e"
    awk -v l="$limited" -v q="$requests" 'BEGIN { printf "%.4f\n", l / q }' >>"$work/limited"
    echo "$wall" >>"$work/wall"
    echo "    $in_flight in flight, run $r: $completions answered of $requests requests, $limited answered 429, simulator busy ${busy}s, wall ${wall}s" >&2
  done
  pct() { median <"$work/$1" | awk -v d="$2" '{ printf "%.*f%%", d, $1 * 100 }'; }
  printf '%-10s %12s %12s %12s %14s %10.2f\n' "$in_flight" "$(pct share_in 1)" "$(pct share 1)" "$(pct share_e2e 1)" \
    "$(pct limited 2)" "$(median <"$work/wall")"
done
