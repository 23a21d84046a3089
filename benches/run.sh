#!/usr/bin/env bash
# Whole-process benchmark: apiflow against the floor client on the same local target, in one
# run, medians and ratios (see benches/README.md). Needs hyperfine and GNU time
# (`apt-get install hyperfine time`). Not part of CI.
#
#   benches/run.sh [RUNS]            (default 30 runs per command)
#   HURL=1 benches/run.sh            also time Hurl if `hurl` is on PATH (workloads in benches/workloads/*.hurl)
#   BENCH_URL=http://127.0.0.1:PORT FLOOR=PATH benches/run.sh
#                                    time against a target server already running (another
#                                    implementation of the same API) and another floor client
#                                    (`FLOOR chain|startup URL`); the 1000-step floor is ours
#   PIN=1 benches/run.sh             also time the scaling from 100 to 1000 steps with this
#                                    repository's target and every client on one CPU (taskset),
#                                    where round trips do not depend on where the scheduler wakes
#                                    the client and the server
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --locked --bin apiflow --example bench_target --example chain_floor >&2
bin="$target_dir/release"
work=$(mktemp -d)
target_pid=
pinned_pid=
trap '[ -n "$target_pid" ] && kill "$target_pid" 2>/dev/null; [ -n "$pinned_pid" ] && kill "$pinned_pid" 2>/dev/null; rm -rf "$work"' EXIT
if [ -n "${BENCH_URL:-}" ]; then
  base=$BENCH_URL
else
  "$bin/examples/bench_target" --port-file "$work/port" >/dev/null &
  target_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
  base="http://127.0.0.1:$(cat "$work/port")"
fi
apiflow="$bin/apiflow"
floor="${FLOOR:-$bin/examples/chain_floor}"
own_floor="$bin/examples/chain_floor"

stats() { curl -s "$base/stats"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# A correct chain moves the counters by exactly: requests +100, token +1, items_chain_ok +99.
before=$(stats)
"$apiflow" run benches/workloads/chain_100.yaml --var base_url="$base" >/dev/null
after=$(stats)
for counter in requests token items_chain_ok items_chain_broken; do
  delta=$(( $(echo "$after" | field $counter) - $(echo "$before" | field $counter) ))
  echo "check: $counter +$delta" >&2
done

peak() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo "peak RSS (KiB): floor chain $(peak "$floor" chain "$base"), apiflow chain $(peak "$apiflow" run benches/workloads/chain_100.yaml --var base_url="$base"), apiflow 1000-step chain $(peak "$apiflow" run benches/workloads/chain_1000.yaml --var base_url="$base")" >&2

commands=(
  -n floor-startup "$floor startup $base"
  -n apiflow-startup "$apiflow run benches/workloads/startup.yaml --var base_url=$base"
  -n floor-chain "$floor chain $base"
  -n apiflow-chain "$apiflow run benches/workloads/chain_100.yaml --var base_url=$base"
  -n floor-chain-1000 "$own_floor chain $base 1000"
  -n apiflow-chain-1000 "$apiflow run benches/workloads/chain_1000.yaml --var base_url=$base"
)
if [ "${HURL:-0}" = 1 ] && command -v hurl >/dev/null; then
  commands+=(-n hurl-startup "hurl --variable base_url=$base benches/workloads/startup.hurl")
  commands+=(-n hurl-chain "hurl --variable base_url=$base benches/workloads/chain_100.hurl")
  echo "peak RSS (KiB): hurl chain $(peak hurl --variable base_url="$base" benches/workloads/chain_100.hurl)" >&2
fi
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/results.json" "${commands[@]}" >&2

python3 - "$work/results.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {name: results[name]["median"] for name in results}
ms = lambda s: f"{s * 1000:.2f} ms"
print(f"{'command':<20} {'median':>10} {'min':>10} {'max':>10}")
for name, r in results.items():
    print(f"{name:<20} {ms(r['median']):>10} {ms(r['min']):>10} {ms(r['max']):>10}")
per_step = lambda chain, start, n=99: (med[chain] - med[start]) / n
print()
print(f"chain ratio apiflow/floor:        {med['apiflow-chain'] / med['floor-chain']:.2f}x (target <= 1.3x)")
print(f"start-up apiflow:                 {ms(med['apiflow-startup'])} (target <= 3 ms)")
print(f"per step apiflow / floor:         {per_step('apiflow-chain', 'apiflow-startup') * 1e6:.0f} us / {per_step('floor-chain', 'floor-startup') * 1e6:.0f} us")
print(f"1000-step / (10 x 100-step):      {med['apiflow-chain-1000'] / (10 * med['apiflow-chain']):.2f} (target within 10%; the floor: {med['floor-chain-1000'] / (10 * med['floor-chain']):.2f})")
print(f"1000-step ratio apiflow/floor:    {med['apiflow-chain-1000'] / med['floor-chain-1000']:.2f}x")
if "hurl-chain" in med:
    print(f"chain ratio apiflow/hurl:         {med['apiflow-chain'] / med['hurl-chain']:.2f}x (target <= 0.5x)")
    print(f"chain ratio hurl/floor:           {med['hurl-chain'] / med['floor-chain']:.2f}x")
    print(f"start-up hurl:                    {ms(med['hurl-startup'])}")
PY

if [ "${PIN:-0}" = 1 ]; then
  cpu=$(( $(nproc) - 1 ))
  taskset -c "$cpu" "$bin/examples/bench_target" --port-file "$work/pinned-port" >/dev/null &
  pinned_pid=$!
  for _ in $(seq 100); do [ -s "$work/pinned-port" ] && break; sleep 0.05; done
  pinned="http://127.0.0.1:$(cat "$work/pinned-port")"
  on_cpu="taskset -c $cpu"
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/pinned.json" \
    -n apiflow-startup "$on_cpu $apiflow run benches/workloads/startup.yaml --var base_url=$pinned" \
    -n apiflow-chain "$on_cpu $apiflow run benches/workloads/chain_100.yaml --var base_url=$pinned" \
    -n apiflow-chain-1000 "$on_cpu $apiflow run benches/workloads/chain_1000.yaml --var base_url=$pinned" \
    -n floor-startup "$on_cpu $own_floor startup $pinned" \
    -n floor-chain "$on_cpu $own_floor chain $pinned" \
    -n floor-chain-1000 "$on_cpu $own_floor chain $pinned 1000" >&2
  python3 - "$work/pinned.json" "$cpu" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {name: results[name]["median"] for name in results}
print()
print(f"pinned to CPU {sys.argv[2]} (target and client; times include taskset's own exec):")
for tool in ("apiflow", "floor"):
    start, c100, c1000 = med[f"{tool}-startup"], med[f"{tool}-chain"], med[f"{tool}-chain-1000"]
    print(f"  {tool:<8} start-up {start * 1e3:.2f} ms, 100 steps {c100 * 1e3:.2f} ms, 1000 steps {c1000 * 1e3:.2f} ms")
    print(f"  {tool:<8} per step at 100 / at 1000: {(c100 - start) / 99 * 1e6:.1f} us / {(c1000 - start) / 999 * 1e6:.1f} us;"
          f" 1000-step / (10 x 100-step): {c1000 / (10 * c100):.2f}")
PY
fi
