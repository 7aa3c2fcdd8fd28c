#!/usr/bin/env bash
# Reads at scale: optd's Opik API over a store of one finished run of a million evaluations (ten
# trials of 100,000 items) and ten thousand small runs. How long `optd serve` takes to be ready on
# it, the median time of each read Opik's UI makes (curl's time_total, RUNS requests each, one at a
# time), and the daemon's peak RSS after them.
#   ITEMS=1000000 TRIALS=10 OTHER_RUNS=10000 RUNS=30 bench/api.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${ITEMS:-1000000} TRIALS=${TRIALS:-10} OTHER_RUNS=${OTHER_RUNS:-10000} RUNS=${RUNS:-30}
source bench/lib/common.sh
cmake --build "$build" --target bench-api-store >/dev/null

echo "store: $ITEMS evaluations in $TRIALS trials, and $OTHER_RUNS runs of one trial"
"$build/bench/bench-api-store" "$work/state" "$ITEMS" "$TRIALS" "$OTHER_RUNS" >/dev/null
echo "store file: $(du -m "$work/state/optd.db" | cut -f1) MB"

start_serve() {  # start_serve: optd serve on the store; sets READY_MS, from exec to /api/optd/ready answering
  rm -f "$work/port"
  local t0 t1
  t0=$(date +%s%N)
  "$optd" --state-dir "$work/state" serve --listen 127.0.0.1:0 --port-file "$work/port" >/dev/null 2>"$work/serve.log" &
  serve=$!
  pids+=($serve)
  until [[ -s $work/port ]] && curl -sf -o /dev/null "http://127.0.0.1:$(cat "$work/port")/api/optd/ready"; do
    sleep 0.005
  done
  t1=$(date +%s%N)
  READY_MS=$(((t1 - t0) / 1000000))
}
stop() { kill "$serve"; wait "$serve" 2>/dev/null || true; }

ready=()
for _ in 1 2 3; do start_serve; ready+=("$READY_MS"); stop; done
echo "ready: $(printf '%s\n' "${ready[@]}" | median) ms (median of 3: ${ready[*]})"

start_serve
api="http://127.0.0.1:$(cat "$work/port")/api/v1/private"
big=$(curl -sf "$api/optimizations?name=one%20million" | python3 -c 'import json,sys; print(json.load(sys.stdin)["content"][0]["id"])')
dataset=$(curl -sf "$api/datasets?name=bench-big" | python3 -c 'import json,sys; print(json.load(sys.stdin)["content"][0]["id"])')
trials=$(curl -sf "$api/experiments?optimization_id=$big&size=2" |
  python3 -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.dumps([e["id"] for e in json.load(sys.stdin)["content"]])))')

p50_ms() {  # p50_ms URL: the median of RUNS requests' time_total, in ms
  for _ in $(seq "$RUNS"); do curl -sf -o /dev/null -w '%{time_total}\n' "$1"; done |
    awk '{ print $1 * 1000 }' | median
}
printf '%-58s %s\n' "read" "p50 ms"
while read -r label url; do
  printf '%-58s %s\n' "$label" "$(p50_ms "$url")"
done <<EOF
experiments_of_the_1M_run(page_1,size_10) $api/experiments?optimization_id=$big&page=1&size=10
experiment_of_the_1M_run_by_id $api/experiments/$(curl -sf "$api/experiments?optimization_id=$big&size=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["content"][0]["id"])')
the_1M_run $api/optimizations/$big
optimizations(page_1,size_10) $api/optimizations?page=1&size=10
optimizations(page_500,size_10) $api/optimizations?page=500&size=10
optimizations_named_run-99(page_1) $api/optimizations?name=run-99&page=1&size=10
compare_view_of_two_1M_run_trials(page_1,size_10) $api/datasets/$dataset/items/experiments/items?experiment_ids=$trials&page=1&size=10
EOF
echo "peak RSS of optd serve: $(awk '/VmHWM/ { printf "%d MB", $2 / 1024 }' "/proc/$serve/status")"
stop
