#!/usr/bin/env bash
# Metric benchmark: optd's CPU per evaluation (the whole process, divided by the evaluations; a
# code metric's sandboxed interpreters are optd's children and count too) for one trial of N items
# scored with `equals`, with a `geval` judge (its verdict calls go to llm-sim like the task's), and
# with a trivial `code` metric; then the code metric's scores per second through its pool of warm
# interpreters against a fresh sandboxed interpreter per score (bench-code-metric).
#   RUNS=5 N=2000 SCORES=20000 FRESH=100 bench/metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
N=${N:-2000}
SCORES=${SCORES:-20000}
FRESH=${FRESH:-100}
source bench/lib/common.sh
cmake --build "$build" --target bench-code-metric >/dev/null

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "{\"question\":\"What is %d + %d?\",\"answer\":\"%d\"}\n", i, i + 7, 2 * i + 7 }' \
  >"$work/items.jsonl"

declare -A metrics=(
  [equals]='{type: equals}'
  [geval]='{type: geval, parameters: {task_introduction: "Grade a short answer.", evaluation_criteria: "The reply should be the bare answer."}}'
  [code]='{type: code, parameters: {code: "from opik.evaluation.metrics import BaseMetric\nfrom opik.evaluation.metrics.score_result import ScoreResult\n\nclass Exact(BaseMetric):\n    def __init__(self, name: str = \"exact\"):\n        super().__init__(name=name)\n\n    def score(self, output: str, **kwargs) -> ScoreResult:\n        same = output.strip() == str(kwargs.get(\"answer\", \"\")).strip()\n        return ScoreResult(name=self.name, value=1.0 if same else 0.0)\n"}}'
)
order=(equals geval code)

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "date: $(date -u +%F); $N items, one trial, max_concurrency 16; median of $RUNS runs"
start_sim fast
daemon_config "$work/optd.yaml" "$SIM_URL"
printf '%-8s %12s %10s %16s %10s\n' metric evaluations "LLM calls" "µs CPU/eval" "wall (s)"
for name in "${order[@]}"; do
  cat >"$work/$name.yaml" <<YAML
name: bench-$name
dataset_file: $work/items.jsonl
prompt:
  messages:
    - {role: system, content: "You are a helpful assistant. Reply with only the final answer, in digits, no punctuation."}
    - {role: user, content: "{{question}}"}
llm_model: {model: sim-small, parameters: {temperature: 0, max_tokens: 64}}
evaluation:
  metrics:
    - ${metrics[$name]}
optimizer: {type: meta_prompt, parameters: {model: sim-reasoner}}
limits: {max_trials: 1, max_concurrency: 16}
YAML
  : >"$work/cpu.$name"
  : >"$work/wall.$name"
  for r in $(seq "$RUNS"); do
    measured_run "$work/optd.yaml" "$work/$name.yaml"
    evals=$(json "$OUT" evaluations) calls=$(json "$OUT" llm_calls)
    cpu_us_per "$evals" >>"$work/cpu.$name"
    json "$M" wall_s >>"$work/wall.$name"
  done
  printf '%-8s %12s %10s %16s %10s\n' "$name" "$evals" "$calls" "$(median <"$work/cpu.$name")" "$(median <"$work/wall.$name")"
  echo "    CPU per evaluation, each run: $(tr '\n' ' ' <"$work/cpu.$name")µs"
done

echo
echo "code metric scores per second: $SCORES scores on 2 warm interpreters, against $FRESH with a fresh one each; median of $RUNS"
: >"$work/pooled"
: >"$work/fresh"
for r in $(seq "$RUNS"); do
  out=$("$build/bench/bench-code-metric" "$SCORES" 2 "$FRESH")
  echo "    $out"
  json "$out" pooled_scores_per_s >>"$work/pooled"
  json "$out" fresh_scores_per_s >>"$work/fresh"
done
pooled=$(median <"$work/pooled") fresh=$(median <"$work/fresh")
awk -v p="$pooled" -v f="$fresh" 'BEGIN { printf "pooled %.0f scores/s, fresh %.1f scores/s: %.0f×\n", p, f, p / f }'
