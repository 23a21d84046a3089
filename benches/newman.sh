#!/usr/bin/env bash
# apiflow against Newman: the same Postman collections (benches/postman/) run by both against
# the same local target, in one run, medians and ratios. Needs hyperfine and GNU time
# (`apt-get install hyperfine time`) and npm (Newman is installed into target/newman, the
# version the parity tests use). Not part of CI.
#
#   benches/newman.sh [RUNS]         (default 20 runs per command)
#   NEWMAN=PATH benches/newman.sh    another `newman` executable
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
target_dir=${CARGO_TARGET_DIR:-target}
version=$(sed -n 's/^const NEWMAN_VERSION: &str = "\(.*\)";$/\1/p' tests/it/newman.rs)
newman=${NEWMAN:-target/newman/node_modules/.bin/newman}
if [ ! -x "$newman" ]; then
  npm install --prefix target/newman --no-audit --no-fund --loglevel=error "newman@$version" >&2
fi
cargo build --release --locked --bin apiflow --example bench_target >&2
bin="$target_dir/release"
work=$(mktemp -d)
target_pid=
trap '[ -n "$target_pid" ] && kill "$target_pid" 2>/dev/null; rm -rf "$work"' EXIT
"$bin/examples/bench_target" --port-file "$work/port" >/dev/null &
target_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
base="http://127.0.0.1:$(cat "$work/port")"
apiflow="$bin/apiflow"
chain=benches/postman/chain_100.postman_collection.json
scripted=benches/postman/chain_100_scripted.postman_collection.json
startup=benches/postman/startup.postman_collection.json
run_newman() { "$newman" run "$1" --env-var "baseUrl=$base" --reporters cli --color off; }
run_apiflow() { "$apiflow" run "$1" --var "baseUrl=$base"; }

# Both tools must do the same work: requests +100, token +1, items_chain_ok +99 per chain.
stats() { curl -s "$base/stats"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
for run in "newman $chain" "apiflow $chain" "newman $scripted" "apiflow $scripted"; do
  set -- $run
  before=$(stats)
  "run_$1" "$2" >/dev/null
  after=$(stats)
  line="check $1 $(basename "$2" .postman_collection.json):"
  for counter in requests token items_chain_ok items_chain_broken; do
    line="$line $counter +$(( $(echo "$after" | field $counter) - $(echo "$before" | field $counter) ))"
  done
  echo "$line" >&2
done

peak() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo "peak RSS (KiB): newman chain $(peak "$newman" run "$chain" --env-var "baseUrl=$base" --reporters cli --color off), apiflow chain $(peak "$apiflow" run "$chain" --var "baseUrl=$base"), apiflow scripted chain $(peak "$apiflow" run "$scripted" --var "baseUrl=$base")" >&2

hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/results.json" \
  -n newman-startup "$newman run $startup --env-var baseUrl=$base --reporters cli --color off" \
  -n apiflow-startup "$apiflow run $startup --var baseUrl=$base" \
  -n newman-chain "$newman run $chain --env-var baseUrl=$base --reporters cli --color off" \
  -n apiflow-chain "$apiflow run $chain --var baseUrl=$base" \
  -n newman-scripted "$newman run $scripted --env-var baseUrl=$base --reporters cli --color off" \
  -n apiflow-scripted "$apiflow run $scripted --var baseUrl=$base" >&2

python3 - "$work/results.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {name: results[name]["median"] for name in results}
ms = lambda s: f"{s * 1000:.1f} ms"
print(f"{'command':<18} {'median':>10} {'min':>10} {'max':>10}")
for name, r in results.items():
    print(f"{name:<18} {ms(r['median']):>10} {ms(r['min']):>10} {ms(r['max']):>10}")
per_request = lambda tool, chain="chain": (med[f"{tool}-{chain}"] - med[f"{tool}-startup"]) / 99
print()
print(f"chain, newman/apiflow:        {med['newman-chain'] / med['apiflow-chain']:.1f}x (target >= 20x)")
print(f"scripted chain, newman/apiflow: {med['newman-scripted'] / med['apiflow-scripted']:.1f}x (target >= 20x)")
print(f"start-up, newman/apiflow:     {med['newman-startup'] / med['apiflow-startup']:.1f}x")
print(f"per request newman / apiflow: {per_request('newman') * 1e6:.0f} us / {per_request('apiflow') * 1e6:.0f} us")
print(f"per scripted request:         {per_request('newman', 'scripted') * 1e6:.0f} us / {per_request('apiflow', 'scripted') * 1e6:.0f} us")
PY
