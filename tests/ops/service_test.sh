#!/usr/bin/env bash
# The service as installed: `cmake --install` into a DESTDIR puts the binaries, the unit, the
# default config and the dashboard in place; `systemd-analyze verify` is clean on the installed
# unit; and optd serve, run through a whole optimization under strace, makes no system call
# outside the unit's SystemCallFilter= set (so the filter cannot kill it).
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
for f in usr/local/bin/optd usr/local/bin/llm-sim usr/local/lib/systemd/system/optd.service etc/optd/optd.yaml \
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
strace -f -qq -c -o "$work/strace.txt" "$optd" --config "$config" --state-dir "$work/state" serve \
  --listen 127.0.0.1:0 --port-file "$work/optd.port" >/dev/null 2>"$work/optd.log" &
traced=$!
wait_for "[ -s $work/optd.port ]"
OPTD_SERVER=http://127.0.0.1:$(cat "$work/optd.port") "$optd" --config "$config" submit --watch \
  "$root/config/examples/demo.yaml" >/dev/null 2>"$work/submit.log" || fail "run failed: $(cat "$work/submit.log")"
optd_pid=$(pgrep -P "$traced")  # strace's child
kill -HUP "$optd_pid"  # a reload, too
wait_for "grep -q 'optd: reloaded' $work/optd.log"
kill -TERM "$optd_pid"
wait "$traced" || fail "optd serve under strace did not exit 0: $(tail -5 "$work/optd.log")"
awk 'NR > 2 && $NF != "total" && $NF !~ /^-+$/ { print $NF }' "$work/strace.txt" | sort -u >"$work/used.txt"
[ "$(wc -l <"$work/used.txt")" -gt 20 ] || fail "strace saw too little: $(cat "$work/strace.txt")"
outside=$(comm -23 "$work/used.txt" "$work/allowed.txt")
[ -z "$outside" ] || fail "system calls outside @system-service: $outside"
echo "$(wc -l <"$work/used.txt") distinct system calls, all in @system-service"
