#!/usr/bin/env bash
# The service as installed: `cmake --install` into a DESTDIR puts the binaries, the unit, the
# default config and the dashboard in place; `systemd-analyze verify` is clean on the installed
# unit; and optd serve, run through a whole optimization under strace, makes no system call
# outside the unit's SystemCallFilter= set (so the filter cannot kill it); with the drop-in for code
# metrics (systemd/code-metrics.conf), a run with a code metric neither, its sandbox included.
#   service_test.sh BUILD_DIR OPTD_BIN LLM_SIM_BIN
set -euo pipefail
build=$1 optd=$2 sim=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
wait_for() { for _ in $(seq 1 400); do eval "$1" && return 0; sleep 0.05; done; fail "timed out: $1"; }

echo "- cmake --install"
DESTDIR=$work/root cmake --install "$build" --prefix /usr/local >"$work/install.log"
for f in usr/local/bin/optd usr/local/bin/llm-sim usr/local/lib/systemd/system/optd.service \
         usr/local/lib/systemd/system/optd@.service etc/optd/optd.yaml \
         usr/local/share/optd/grafana/optd.json usr/local/share/optd/examples/demo.yaml \
         usr/local/share/optd/datasets/skills.jsonl; do
  [ -f "$work/root/$f" ] || fail "not installed: /$f"
done
unit=$work/root/usr/local/lib/systemd/system/optd.service
grep -q '^ExecStart=/usr/local/bin/optd ' "$unit" || fail "ExecStart does not point at the installed optd"
echo "# changed by hand" >>"$work/root/etc/optd/optd.yaml"
DESTDIR=$work/root cmake --install "$build" --prefix /usr/local >/dev/null
grep -q "changed by hand" "$work/root/etc/optd/optd.yaml" || fail "a reinstall overwrote /etc/optd/optd.yaml"

echo "- systemd-analyze verify"
# verify checks that ExecStart's binary exists: point it at the DESTDIR copy.
sed "s|/usr/local/bin/optd|$work/root/usr/local/bin/optd|" "$unit" >"$work/optd.service"
out=$(systemd-analyze verify "$work/optd.service" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify is not clean: $out"
# The template, as an instance (a Studio worker's): its config and state are the instance's own.
sed "s|/usr/local/bin/optd|$work/root/usr/local/bin/optd|" "$work/root/usr/local/lib/systemd/system/optd@.service" \
  >"$work/optd@worker-1.service"
grep -q 'CONFIGURATION_DIRECTORY}/%i.yaml' "$work/optd@worker-1.service" || fail "optd@.service does not read its instance's config"
grep -q '^StateDirectory=optd/%i$' "$work/optd@worker-1.service" || fail "optd@.service does not keep its own state"
out=$(systemd-analyze verify "$work/optd@worker-1.service" 2>&1) || fail "systemd-analyze verify optd@worker-1: $out"
[ -z "$out" ] || fail "systemd-analyze verify optd@worker-1 is not clean: $out"

echo "- the system calls of a whole run against SystemCallFilter=@system-service"
# Not `ldd | grep -q`: grep would stop reading at the match, and ldd's SIGPIPE fails the pipe.
if [[ $(ldd "$optd") == *libasan* ]]; then
  echo "skipped for a sanitizer build: ASan's runtime makes calls the service's build does not"
  exit 0
fi
filter=$(sed -n 's/^SystemCallFilter=//p' "$unit")
[ "$filter" = "@system-service" ] || fail "the test knows @system-service, the unit says $filter"
expand() {  # expand @GROUP: its system calls, nested groups included
  systemd-analyze syscall-filter "$1" | sed 's/#.*//' | awk 'NR > 1 && NF { print $1 }' | while read -r name; do
    if [[ $name == @* ]]; then expand "$name"; else echo "$name"; fi
  done
}
expand @system-service | sort -u >"$work/allowed.txt"
[ "$(wc -l <"$work/allowed.txt")" -gt 100 ] || fail "could not read @system-service"

"$sim" --listen 127.0.0.1:0 --port-file "$work/sim.port" >/dev/null 2>&1 &
pids+=($!)
wait_for "[ -s $work/sim.port ]"
export OPTD_SIM_URL="http://127.0.0.1:$(cat "$work/sim.port")/v1"
config=$root/config/examples/demo-optd.yaml
# traced_run NAME RUN_CONFIG ALLOWED: optd serve under strace -f (its children too) through a whole
# run of RUN_CONFIG, a reload and a SIGTERM; every system call made must be in the file ALLOWED.
traced_run() {
  local name=$1 run=$2 allowed=$3
  rm -f "$work/optd.port"
  strace -f -qq -c -o "$work/$name.strace" "$optd" --config "$config" --state-dir "$work/state-$name" serve \
    --listen 127.0.0.1:0 --port-file "$work/optd.port" >/dev/null 2>"$work/$name.log" &
  local traced=$!
  wait_for "[ -s $work/optd.port ]"
  OPTD_SERVER=http://127.0.0.1:$(cat "$work/optd.port") "$optd" --config "$config" submit --watch "$run" \
    >/dev/null 2>"$work/$name.submit" || fail "run failed: $(cat "$work/$name.submit")"
  local optd_pid
  optd_pid=$(pgrep -P "$traced")  # strace's child
  kill -HUP "$optd_pid"  # a reload, too
  wait_for "grep -q 'optd: reloaded' $work/$name.log"
  kill -TERM "$optd_pid"
  wait "$traced" || fail "optd serve under strace did not exit 0: $(tail -5 "$work/$name.log")"
  awk 'NR > 2 && $NF != "total" && $NF !~ /^-+$/ { print $NF }' "$work/$name.strace" | sort -u >"$work/$name.used"
  [ "$(wc -l <"$work/$name.used")" -gt 20 ] || fail "strace saw too little: $(cat "$work/$name.strace")"
  local outside
  outside=$(comm -23 "$work/$name.used" "$allowed")
  [ -z "$outside" ] || fail "system calls outside the filter: $outside"
  echo "$(wc -l <"$work/$name.used") distinct system calls, all in the filter"
}
traced_run demo "$root/config/examples/demo.yaml" "$work/allowed.txt"

echo "- a run with a code metric, with the drop-in for code metrics (its sandbox and python3 traced too)"
dropin=$work/root/usr/local/share/optd/systemd/code-metrics.conf
[ -f "$dropin" ] || fail "not installed: /usr/local/share/optd/systemd/code-metrics.conf"
cat "$work/optd.service" "$dropin" >"$work/optd-code.service"  # the unit as systemd merges the drop-in
out=$(systemd-analyze verify "$work/optd-code.service" 2>&1) || fail "systemd-analyze verify with the drop-in: $out"
[ -z "$out" ] || fail "systemd-analyze verify with the drop-in is not clean: $out"
extra=$(sed -n 's/^SystemCallFilter=//p' "$dropin")
[ "$extra" = "@mount" ] || fail "the test knows @mount, the drop-in says $extra"
{ cat "$work/allowed.txt"; expand @mount; } | sort -u >"$work/allowed-code.txt"
traced_run code "$root/config/examples/demo-code.yaml" "$work/allowed-code.txt"
grep -q "mount" "$work/code.used" || fail "the code run made no mount: was its sandbox traced?"
