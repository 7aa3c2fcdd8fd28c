#!/usr/bin/env bash
# optd as Opik's Studio worker: jobs per second claimed and completed by 1, 2 and 3 workers
# sharing one Redis queue, and claim latency (Opik's enqueue to the worker's start, from RQ's own
# enqueued_at and started_at) with idle workers.
#   JOBS=60 RUNS=3 MAX_JOBS=4 TRICKLE=40 bench/worker.sh
# Jobs are enqueued as Opik's backend enqueues them (the optimization, then the job's hash with
# its expiry, then RPUSH), with redis-cli. Each job is a short meta_prompt run (the demo's skills
# dataset, 26 items) against llm-sim with zero latency, so the figure is the worker's overhead
# plus a small run. Needs redis-server and redis-cli (Debian's redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-60} RUNS=${RUNS:-3} MAX_JOBS=${MAX_JOBS:-4} TRICKLE=${TRICKLE:-40}
source bench/lib/common.sh

redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >/dev/null &
pids+=($!)
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.02; done
rcli() { redis-cli -p "$redis_port" "$@"; }

start_sim sim --latency-ms 0
daemon_config "$work/optd.yaml" "$SIM_URL"
"$optd" --config "$work/optd.yaml" --state-dir "$work/backend" run -q config/examples/demo.yaml >/dev/null  # the dataset
"$optd" --config "$work/optd.yaml" --state-dir "$work/backend" serve --listen 127.0.0.1:0 \
  --port-file "$work/backend.port" >/dev/null 2>"$work/backend.log" &
pids+=($!)
while [[ ! -s $work/backend.port ]]; do sleep 0.02; done
backend="http://127.0.0.1:$(cat "$work/backend.port")"

uuid7() { python3 -c 'import os,time,uuid; b=bytearray(int(time.time()*1000).to_bytes(6,"big")+os.urandom(10)); b[6]=b[6]&15|112; b[8]=b[8]&63|128; print(uuid.UUID(bytes=bytes(b)))'; }
enqueue() {  # enqueue: one Studio job, as Opik's backend writes it
  local id job ts data
  id=$(uuid7) job=$(uuid7)
  curl -sf -o /dev/null -X POST "$backend/api/v1/private/optimizations" -H 'Content-Type: application/json' \
    -d "{\"id\":\"$id\",\"name\":\"bench\",\"dataset_name\":\"skills\",\"objective_name\":\"equals\",\"status\":\"initialized\"}"
  data='["opik_backend.rq_worker.process_optimizer_job",null,[{"optimization_id":"'$id'","workspace_id":"0190babc-62a0-71d2-832a-0feffa4676eb","workspace_name":"default","config":{"dataset_name":"skills","prompt":{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"{{question}}"}]},"llm_model":{"model":"sim-small","parameters":{"temperature":0}},"evaluation":{"metrics":[{"type":"equals","parameters":{"reference_key":"answer"}}]},"optimizer":{"type":"meta_prompt","parameters":{"model":"sim-reasoner","seed":7,"prompts_per_round":2}}},"project_name":"Default Project"}],{}]'
  # The three commands through one redis-cli, the timestamp taken just before, as Opik's backend
  # takes it just before its three calls: the claim latency then starts within a few ms of RPUSH.
  ts=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
  {
    printf 'HSET rq:job:%s id %s created_at %s enqueued_at %s status queued origin opik:optimizer-cloud timeout 86400 description opik_backend.rq_worker.process_optimizer_job data %s\n' \
      "$job" "$job" "$ts" "$ts" "'$data'"
    printf 'PEXPIRE rq:job:%s 86400000\nRPUSH rq:queue:opik:optimizer-cloud %s\n' "$job" "$job"
  } | rcli >/dev/null
}
workers=()
start_workers() {  # start_workers N
  for i in $(seq 1 "$1"); do
    cat "$work/optd.yaml" >"$work/w$i.yaml"
    printf 'opik: {url: %s/api, workspace: default}\nstudio_worker: {redis_url: "redis://127.0.0.1:%s/0", name: w%s, max_jobs: %s}\n' \
      "$backend" "$redis_port" "$i" "$MAX_JOBS" >>"$work/w$i.yaml"
    rm -rf "$work/w$i"
    "$optd" --config "$work/w$i.yaml" --state-dir "$work/w$i" serve --listen 127.0.0.1:0 >/dev/null 2>"$work/w$i.log" &
    workers+=($!)
    pids+=($!)
  done
  until [[ $(rcli SCARD optd:workers) == "$1" ]]; do sleep 0.02; done
}
stop_workers() {
  for p in "${workers[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  workers=()
}
finished() { rcli ZCARD rq:finished:opik:optimizer-cloud; }

echo "jobs: $JOBS per run, max_jobs $MAX_JOBS per worker, $RUNS runs each; $(nproc) cores"
for n in 1 2 3; do
  rates=()
  for run in $(seq 1 "$RUNS"); do
    rcli FLUSHALL >/dev/null
    for _ in $(seq 1 "$JOBS"); do enqueue; done  # a full queue first: the workers drain it
    start_workers "$n"
    until [[ $(finished) == "$JOBS" ]]; do sleep 0.05; done
    # From the first job's start to the last one's end, as RQ's records have them.
    span=$(for key in $(rcli --scan --pattern 'rq:job:*'); do rcli HMGET "$key" started_at ended_at | paste -sd' '; done |
      python3 -c '
import sys, datetime
p = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
rows = [l.split() for l in sys.stdin]
print((max(p(b) for a, b in rows) - min(p(a) for a, b in rows)).total_seconds())')
    rate=$(awk -v j="$JOBS" -v s="$span" 'BEGIN { printf "%.1f\n", j / s }')
    rates+=("$rate")
    stop_workers
  done
  echo "$n worker(s): jobs/s claimed and completed, median of $RUNS: $(printf '%s\n' "${rates[@]}" | median) (runs: ${rates[*]})"
done

# Claim latency with idle workers: one job at a time, each after the previous one finished,
# enqueued by one Python process speaking RESP on one connection (redis-cli costs ~12 ms a start,
# which would be most of what is measured), the timestamp taken just before the three commands.
rcli FLUSHALL >/dev/null
start_workers 3
python3 - "$redis_port" "$backend" "$TRICKLE" <<'PY'
import datetime, json, os, socket, sys, time, urllib.request, uuid
port, backend, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sock = socket.create_connection(("127.0.0.1", port))
reader = sock.makefile("rb")
def reply():
    line = reader.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2].decode()
    if kind == b"*":
        return [reply() for _ in range(int(rest))]
    if kind == b"-":
        raise RuntimeError(rest.decode())
    return int(rest) if kind == b":" else rest.decode()
def send(*commands):
    out = b""
    for c in commands:
        out += b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(x.encode()), x.encode()) for x in c)
    sock.sendall(out)
    return [reply() for _ in commands]
def uuid7():
    b = bytearray(int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10))
    b[6] = b[6] & 15 | 112
    b[8] = b[8] & 63 | 128
    return str(uuid.UUID(bytes=bytes(b)))
config = {"dataset_name": "skills",
          "prompt": {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                                  {"role": "user", "content": "{{question}}"}]},
          "llm_model": {"model": "sim-small", "parameters": {"temperature": 0}},
          "evaluation": {"metrics": [{"type": "equals", "parameters": {"reference_key": "answer"}}]},
          "optimizer": {"type": "meta_prompt", "parameters": {"model": "sim-reasoner", "seed": 7, "prompts_per_round": 2}}}
ms = []
for i in range(n):
    oid, job = uuid7(), uuid7()
    urllib.request.urlopen(urllib.request.Request(backend + "/api/v1/private/optimizations", method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"id": oid, "name": "bench", "dataset_name": "skills", "objective_name": "equals",
                         "status": "initialized"}).encode()))
    data = json.dumps(["opik_backend.rq_worker.process_optimizer_job", None, [{"optimization_id": oid,
        "workspace_id": "0190babc-62a0-71d2-832a-0feffa4676eb", "workspace_name": "default", "config": config,
        "project_name": "Default Project"}], {}], separators=(",", ":"))
    ts = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    send(["HSET", "rq:job:" + job, "id", job, "created_at", ts, "enqueued_at", ts, "status", "queued",
          "origin", "opik:optimizer-cloud", "timeout", "86400",
          "description", "opik_backend.rq_worker.process_optimizer_job", "data", data],
         ["PEXPIRE", "rq:job:" + job, "86400000"], ["RPUSH", "rq:queue:opik:optimizer-cloud", job])
    while send(["ZCARD", "rq:finished:opik:optimizer-cloud"])[0] < i + 1:
        time.sleep(0.005)
    started = send(["HGET", "rq:job:" + job, "started_at"])[0]
    p = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
    ms.append((p(started) - p(ts)).total_seconds() * 1000)
ms.sort()
at = lambda q: ms[min(len(ms) - 1, max(0, int(q * len(ms) + 0.999) - 1))]
print("claim latency, 3 idle workers, %d jobs: p50 %.1f ms, p99 %.1f ms, max %.1f ms (RQ start times are whole ms: ±1 ms)"
      % (n, at(0.5), at(0.99), ms[-1]))
PY
stop_workers
