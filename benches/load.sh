#!/usr/bin/env bash
# Load-mode benchmark: apiflow's `--concurrency` runs against `wrk` on the same local target, in
# one run, with the target's `/stats` counters checking the work, CPU per request and peak RSS
# (see benches/README.md). Needs wrk, curl and GNU time (`apt-get install wrk curl time`).
# Not part of CI.
#
#   benches/load.sh [SECONDS]     each throughput measurement lasts SECONDS (default 5)
#   ROUNDS=3                      rounds of wrk, the one-GET workflow and the 11-step flow
#                                 (medians are printed; default 3)
#   THREADS="1 2"                 run apiflow with each `--threads` value (default: its default)
#   ITERATIONS=20000              iterations of the 11-step flow per round (11 requests each)
#   VUS=1000 VUS_SECONDS=20       the memory run: the 11-step flow on VUS virtual users
#   LONG=120                      also a memory run of that many seconds, to compare with the short one
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${ROUNDS:-3}
iterations=${ITERATIONS:-20000}
vus=${VUS:-1000}
vus_secs=${VUS_SECONDS:-20}
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --locked --bin apiflow --example bench_target >&2
bin="$target_dir/release"
apiflow="$bin/apiflow"
work=$(mktemp -d)
target_pid=
trap '[ -n "$target_pid" ] && kill "$target_pid" 2>/dev/null; rm -rf "$work"' EXIT
# 1000 virtual users hold 1000 connections, and the target as many.
ulimit -n 8192
"$bin/examples/bench_target" --port-file "$work/port" >/dev/null &
target_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
base="http://127.0.0.1:$(cat "$work/port")"
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
token=$(curl -s -d 'grant_type=client_credentials' "$base/token" | field access_token)
load() { cut -d' ' -f1 /proc/loadavg; }
# The target's CPU time so far, in clock ticks.
target_ticks() { awk '{print $14 + $15}' "/proc/$target_pid/stat"; }
ticks=$(getconf CLK_TCK)

# Runs a command under GNU time and prints one line of JSON: what the target counted, the wall
# time, the command's CPU and peak RSS, the target's CPU, the load average before it.
measure() {
  local name=$1; shift
  local before after t0 t1 tt0 tt1 avg
  avg=$(load)
  before=$(curl -s "$base/stats")
  tt0=$(target_ticks)
  t0=$(date +%s%N)
  /usr/bin/time -f '%U %S %M' -o "$work/time" "$@" >"$work/out" 2>&1 || {
    echo "$name failed:" >&2; cat "$work/out" >&2; exit 1; }
  t1=$(date +%s%N)
  tt1=$(target_ticks)
  after=$(curl -s "$base/stats")
  python3 - "$name" "$before" "$after" "$t0" "$t1" "$(tail -1 "$work/time")" \
    "$(( tt1 - tt0 ))" "$ticks" "$avg" "$work/out" <<'PY'
import json, sys
name, before, after, t0, t1, times, target_ticks, ticks, avg, out = sys.argv[1:]
before, after = json.loads(before), json.loads(after)
delta = {k: after[k] - before[k] for k in after}
user, system, rss = times.split()
wall = (int(t1) - int(t0)) / 1e9
text = open(out).read()
# wrk says how long it sent requests for; apiflow's summary how long its iterations ran.
rate = None
for line in text.splitlines():
    line = line.strip()
    if line.startswith("Requests/sec:"):
        rate = float(line.split()[1])
    elif line.endswith("requests/s") and " requests, " in line:
        rate = float(line.split(", ")[1].split()[0])
print(json.dumps({
    "name": name, "delta": delta, "wall": wall, "rate": rate,
    "cpu": float(user) + float(system), "rss_kib": int(rss),
    "target_cpu": int(target_ticks) / int(ticks), "load": float(avg),
}))
PY
}

rounds_json="$work/rounds.jsonl"
: >"$rounds_json"
threads_list=${THREADS:-default}
for round in $(seq "$rounds"); do
  echo "round $round/$rounds (load average $(load))" >&2
  measure wrk wrk -t2 -c16 -d"${secs}s" -H "Authorization: Bearer $token" "$base/items/1" >>"$rounds_json"
  for threads in $threads_list; do
    flag=()
    [ "$threads" != default ] && flag=(--threads "$threads")
    measure "get:$threads" "$apiflow" run benches/workloads/get_item.yaml --var base_url="$base" \
      --var token="$token" --concurrency 16 --duration "${secs}s" "${flag[@]}" >>"$rounds_json"
    measure "flow:$threads" "$apiflow" run benches/workloads/chain_11.yaml --var base_url="$base" \
      --iterations "$iterations" --concurrency 16 "${flag[@]}" >>"$rounds_json"
  done
done

# The memory run: RSS sampled every second from /proc while VUS virtual users run the flow.
memory() {
  local seconds=$1 threads=$2 flag=() pid avg
  [ "$threads" != default ] && flag=(--threads "$threads")
  avg=$(load)
  before=$(curl -s "$base/stats")
  "$apiflow" run benches/workloads/chain_11.yaml --var base_url="$base" --concurrency "$vus" \
    --duration "${seconds}s" "${flag[@]}" >"$work/vus.out" 2>&1 &
  pid=$!
  : >"$work/rss"
  while kill -0 "$pid" 2>/dev/null; do
    awk '/^VmRSS/ {print $2} /^VmHWM/ {print "hwm", $2}' "/proc/$pid/status" 2>/dev/null \
      | paste -sd' ' >>"$work/rss" || true
    sleep 1
  done
  wait "$pid" || { echo "memory run failed:" >&2; cat "$work/vus.out" >&2; exit 1; }
  after=$(curl -s "$base/stats")
  python3 - "$seconds" "$threads" "$before" "$after" "$work/rss" "$avg" "$vus" <<'PY'
import json, sys
seconds, threads, before, after, path, avg, vus = sys.argv[1:]
before, after = json.loads(before), json.loads(after)
delta = {k: after[k] - before[k] for k in ("requests", "token", "items_chain_ok", "items_chain_broken")}
samples = []
for line in open(path):
    parts = line.split()
    if "hwm" in parts and len(parts) == 3:
        at = parts.index("hwm")
        hwm = int(parts[at + 1])
        rss = int(parts[2 if at == 0 else 0])
        samples.append((rss, hwm))
rss = [s[0] for s in samples]
peak = max((s[1] for s in samples), default=0)
print(f"memory, {vus} virtual users for {seconds} s (threads {threads}, load average {avg}): "
      f"peak RSS {peak / 1024:.1f} MiB; RSS each second (MiB): "
      + " ".join(f"{r / 1024:.1f}" for r in rss))
print(f"  /stats: " + ", ".join(f"{k} +{v}" for k, v in delta.items())
      + f"; chains followed: {delta['items_chain_ok'] == 10 * delta['token'] and delta['items_chain_broken'] == 0}")
PY
}

python3 - "$rounds_json" "$iterations" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
iterations = int(sys.argv[2])
by = {}
for row in rows:
    by.setdefault(row["name"], []).append(row)
def med(name, key):
    return statistics.median(key(r) for r in by[name])
def rate(r):
    # wrk and apiflow print their own rate; the target's count over the wall time is the check.
    return r["rate"] if r["rate"] else r["delta"]["requests"] / r["wall"]
ok = True
for r in rows:
    d = r["delta"]
    if r["name"].startswith("flow"):
        good = (d["requests"] == 11 * iterations and d["token"] == iterations
                and d["items_chain_ok"] == 10 * iterations and d["items_chain_broken"] == 0)
        if not good:
            ok = False
            print(f"check failed: {r['name']}: {d}")
print("check: every round of the flow moved /stats by requests +%d, token +%d, items_chain_ok +%d, items_chain_broken +0: %s"
      % (11 * iterations, iterations, 10 * iterations, ok))
ceiling = med("wrk", rate)
print(f"{'':<14} {'requests/s':>11} {'× wrk':>6} {'CPU µs/req':>11} {'target µs/req':>14} {'peak RSS':>9} {'load':>5}")
for name in by:
    rs = med(name, rate)
    cpu = med(name, lambda r: r["cpu"] / max(r["delta"]["requests"], 1) * 1e6)
    tcpu = med(name, lambda r: r["target_cpu"] / max(r["delta"]["requests"], 1) * 1e6)
    rss = max(r["rss_kib"] for r in by[name]) / 1024
    avg = statistics.median(r["load"] for r in by[name])
    print(f"{name:<14} {rs:>11.0f} {rs / ceiling:>6.2f} {cpu:>11.1f} {tcpu:>14.1f} {rss:>7.1f}Mi {avg:>5.2f}")
print("targets: get ≥ 0.90 × wrk; flow ≥ 0.60 × wrk")
PY

for threads in $threads_list; do
  memory "$vus_secs" "$threads"
  [ -n "${LONG:-}" ] && memory "$LONG" "$threads"
done
exit 0
