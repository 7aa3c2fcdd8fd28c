#!/usr/bin/env bash
# Optimizer benchmark: each optimizer on the same seeded task against llm-sim: task and reasoning
# calls, experiments, final score against the baseline, optd's CPU per task call (the whole
# process, the optimizer's own work included, divided by the task calls), and wall time with
# LATENCY_MS of simulated latency per call.
#   RUNS=5 ITEMS=200 LATENCY_MS=100 bench/optimizers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
ITEMS=${ITEMS:-200}
LATENCY_MS=${LATENCY_MS:-100}
source bench/lib/common.sh

# The task: the demo's skills at scale (sums, products of two-digit numbers, reversals, letter
# counts), so that the same four fixes are there to find for every optimizer.
awk -v n="$ITEMS" 'BEGIN { srand(7); for (i = 0; i < n; i++) { k = i % 4; a = 10 + int(rand() * 90); b = 10 + int(rand() * 90);
  if (k == 0) printf "{\"question\":\"What is %d + %d?\",\"answer\":\"%d\"}\n", a, b, a + b;
  else if (k == 1) printf "{\"question\":\"What is %d * %d?\",\"answer\":\"%d\"}\n", a, b, a * b;
  else if (k == 2) { w = sprintf("word%c%c%c", 97 + a % 26, 97 + b % 26, 97 + (a + b) % 26); r = "";
                     for (j = length(w); j > 0; j--) r = r substr(w, j, 1);
                     printf "{\"question\":\"Reverse the word: %s\",\"answer\":\"%s\"}\n", w, r }
  else { w = substr("abcdefghijklmnopqrstuvwxyz", 1, 3 + a % 9); printf "{\"question\":\"How many letters are in the word %s?\",\"answer\":\"%d\"}\n", w, length(w) } } }' \
  >"$work/items.jsonl"

run_config() {  # run_config FILE OPTIMIZER-YAML MAX_TRIALS
  cat >"$1" <<YAML
name: bench
dataset_file: $work/items.jsonl
objective_name: answer_quality
prompt:
  messages:
    - {role: system, content: "You are a helpful assistant."}
    - {role: user, content: "{{question}}"}
llm_model: {model: sim-small, parameters: {temperature: 0, max_tokens: 64}}
evaluation:
  metrics:
    - {type: equals, weight: 0.75}
    - {type: levenshtein_ratio, weight: 0.25}
optimizer: $2
limits: {max_trials: $3, max_concurrency: 16}
YAML
}

declare -A optimizers=(
  [meta_prompt]='{type: meta_prompt, parameters: {model: sim-reasoner, prompts_per_round: 3, examples_per_round: 8, seed: 42}}|12'
  [gepa]='{type: gepa, parameters: {model: sim-reasoner, seed: 42}}|10'
  [hierarchical_reflective]='{type: hierarchical_reflective, parameters: {model: sim-reasoner, seed: 42, analyze_outputs: true}}|10'
  [evolutionary]='{type: evolutionary, parameters: {model: sim-reasoner, seed: 42, population_size: 8, num_generations: 6}}|40'
)
order=(meta_prompt gepa hierarchical_reflective evolutionary)


echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "date: $(date -u +%F); $ITEMS items; CPU over $RUNS runs at 0 ms latency; wall time at $LATENCY_MS ms"
start_sim fast
daemon_config "$work/fast.yaml" "$SIM_URL"
start_sim slow --latency-ms "$LATENCY_MS"
daemon_config "$work/slow.yaml" "$SIM_URL"

printf '%-24s %7s %9s %11s %9s %9s %13s %10s\n' optimizer "task" reasoning experiments baseline best "µs CPU/call" "wall (s)"
for name in "${order[@]}"; do
  IFS='|' read -r spec trials <<<"${optimizers[$name]}"
  run_config "$work/$name.yaml" "$spec" "$trials"
  : >"$work/cpu.$name"
  for r in $(seq "$RUNS"); do
    measured_run "$work/fast.yaml" "$work/$name.yaml"
    task=$(json "$OUT" evaluations) calls=$(json "$OUT" llm_calls)
    cpu_us_per "$task" >>"$work/cpu.$name"
  done
  measured_run "$work/slow.yaml" "$work/$name.yaml"
  printf '%-24s %7s %9s %11s %9.4f %9.4f %13s %10.1f\n' "$name" "$task" "$((calls - task))" "$(json "$OUT" num_trials)" \
    "$(json "$OUT" baseline_objective_score)" "$(json "$OUT" best_objective_score)" "$(median <"$work/cpu.$name")" \
    "$(json "$M" wall_s)"
  echo "    CPU per task call, each run: $(tr '\n' ' ' <"$work/cpu.$name")µs"
done
