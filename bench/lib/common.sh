# Shared by the benchmark scripts (sourced from the repository root): a Release build of optd,
# llm-sim and optd-measure in $BUILD_DIR (default build-bench), a work folder removed at exit with
# every simulator started here, and small helpers.
build=${BUILD_DIR:-build-bench}
BUILD_DIR=$build CMAKE_BUILD_TYPE=Release OPTD_BUILD_TESTS=OFF BUILD_TARGETS="optd llm-sim optd-measure" \
  tools/bootstrap.sh >/dev/null
optd=$build/daemon/optd sim=$build/tools/llm-sim/llm-sim measure=$build/bench/optd-measure

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

start_sim() {  # start_sim NAME ARGS... → sets SIM_URL
  rm -f "$work/$1.port"
  "$sim" --listen 127.0.0.1:0 --port-file "$work/$1.port" "${@:2}" 2>/dev/null &
  pids+=($!)
  while [[ ! -s $work/$1.port ]]; do sleep 0.02; done
  SIM_URL="http://127.0.0.1:$(cat "$work/$1.port")"
}

daemon_config() {  # daemon_config FILE URL: one provider, the simulator at URL, with made-up prices
  cat >"$1" <<YAML
providers:
  - name: sim
    base_url: $2/v1
    auth: none
    max_concurrency: 10000
    timeouts: {connect: 5s, read: 120s, total: 300s}
    prices: {sim-small: {input: 0.15, output: 0.60}, sim-reasoner: {input: 2.50, output: 10.00}}
YAML
}

json() { sed -n "s/.*\"$2\": *\([0-9.e+-]*\).*/\1/p" <<<"$1" | head -1; }  # json TEXT KEY: a number
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# measured_run DAEMON_CONFIG RUN_CONFIG: `optd run` on a fresh store under optd-measure; sets M (its
# CPU, RSS and wall time) and OUT (the run's JSON summary); stops the script when the run fails.
measured_run() {
  rm -rf "$work/state"
  M=$(OPTD_MEASURE_STDOUT="$work/out.json" "$measure" "$optd" --config "$1" --state-dir "$work/state" \
      run --quiet --json "$2")
  [[ $(json "$M" exit) == 0 ]] || { echo "optd run failed ($2): $M" >&2; exit 1; }
  OUT=$(cat "$work/out.json")
}
cpu_us_per() { awk -v u="$(json "$M" user_s)" -v s="$(json "$M" sys_s)" -v n="$1" 'BEGIN { printf "%.2f\n", (u + s) / n * 1e6 }'; }
