#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang 14 under ASan+UBSan (in build-fuzz/)
# and runs each from its seed corpus, in a scratch copy so the seeds under tests/fuzz/corpus stay
# as they are. A crash, a leak, a timeout or (for the API harnesses) a 5xx stops the run with the
# reproducer in build-fuzz/findings/. Installs clang when run as root and missing.
# By default each harness makes FUZZ_RUNS (100,000) inputs from a fixed seed, so what CI finds
# the next run finds again (about 15-25 s each on 2 cores); FUZZ_SECONDS explores for that long
# instead, from a random seed. Knobs: FUZZ_RUNS, FUZZ_SECONDS, FUZZ_TARGETS (all), BUILD_DIR.
#   tools/fuzz.sh                                   # what CI runs
#   FUZZ_SECONDS=3600 FUZZ_TARGETS=http_fuzz tools/fuzz.sh   # long, one harness
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v clang++-14 >/dev/null || need+=(clang-14)
[ -n "$(find /usr/lib/llvm-14 -name 'libclang_rt.fuzzer-x86_64.a' 2>/dev/null)" ] || need+=(libclang-rt-14-dev)
source tools/lib/apt.sh
apt_install_missing fuzz "${need[@]}"

build=${BUILD_DIR:-build-fuzz}
if [ -n "${FUZZ_SECONDS:-}" ]; then budget=(-max_total_time="$FUZZ_SECONDS"); else budget=(-seed=1 -runs="${FUZZ_RUNS:-100000}"); fi
targets=${FUZZ_TARGETS:-"run_config_fuzz daemon_config_fuzz dataset_fuzz event_stream_fuzz http_fuzz write_bodies_fuzz rq_job_fuzz"}
CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPTD_BUILD_TESTS=OFF -DOPTD_FUZZ=ON \
  -DOPTD_SANITIZE="address;undefined;fuzzer-no-link" -DCMAKE_CXX_FLAGS= >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target $targets

# Seeds besides each corpus: the shipped configs and datasets.
declare -A extra=([run_config_fuzz]="config/examples" [daemon_config_fuzz]="config" [dataset_fuzz]="config/datasets")
mkdir -p "$build/findings"
for t in $targets; do
  name=${t%_fuzz}
  work="$build/corpus/$name"
  rm -rf "$work" && mkdir -p "$work"
  seeds=("tests/fuzz/corpus/$name")
  [ -n "${extra[$t]:-}" ] && seeds+=("$(mktemp -d)") && find "${extra[$t]}" -maxdepth 1 -type f -exec cp {} "${seeds[1]}" \;
  echo "== $t: ${budget[*]}"
  status=0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/$t" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$build/findings/$name-" -print_final_stats=1 "$work" "${seeds[@]}" >"$build/$name.log" 2>&1 ||
    status=$?
  grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|ERROR|SUMMARY|Test unit written|deadly signal" "$build/$name.log" || true
  [ "$status" -eq 0 ] || { echo "$t found a problem (exit $status): $build/$name.log, $build/findings/"; exit 1; }
done
