#!/usr/bin/env bash
# An Arazzo document against an apiflow workflow doing the same requests: the 100-step chain of
# benches/workloads/chain_100.yaml written as an Arazzo document over an OpenAPI description
# (benches/arazzo/), and as a workflow calling the same operations with `openapi:` (the same
# OpenAPI response checks), all run against the same local target, medians of wall time and of
# the cost of one request. Needs hyperfine (`apt-get install hyperfine`). Not part of CI.
#
#   benches/arazzo.sh [RUNS]         (default 10 runs per command)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
target_dir=${CARGO_TARGET_DIR:-target}
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
workflow() { echo "$apiflow run benches/workloads/$1.yaml --var base_url=$base"; }
arazzo() { echo "$apiflow run benches/arazzo/$1.arazzo.yaml --server items=$base${2:+ $2}"; }
checked() { echo "$apiflow run benches/arazzo/$1.checked.yaml --var base_url=$base"; }

# Both must do the same work: requests +100, token +1, items_chain_ok +99 per chain.
stats() { curl -s "$base/stats"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
for command in "$(workflow chain_100)" "$(arazzo chain_100)" "$(checked chain_100)"; do
  before=$(stats)
  $command >/dev/null
  after=$(stats)
  deltas=""
  for counter in requests token items_chain_ok items_chain_broken; do
    deltas+=" $counter +$(( $(echo "$after" | field $counter) - $(echo "$before" | field $counter) ))"
  done
  echo "check (${command#"$apiflow "}):$deltas" >&2
done

hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/results.json" \
  -n workflow-startup "$(workflow startup)" \
  -n workflow-chain "$(workflow chain_100)" \
  -n checked-startup "$(checked startup)" \
  -n checked-chain "$(checked chain_100)" \
  -n arazzo-startup "$(arazzo startup)" \
  -n arazzo-chain "$(arazzo chain_100)" \
  -n arazzo-startup-nochecks "$(arazzo startup '--openapi-checks off')" \
  -n arazzo-chain-nochecks "$(arazzo chain_100 '--openapi-checks off')" >&2

python3 - "$work/results.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {name: r["median"] for name, r in results.items()}
print(f"{'':<34} {'start-up':>10} {'100 steps':>10} {'per request':>12}")
rows = [
    ("apiflow workflow", "workflow"),
    ("workflow with `operation:` checks", "checked"),
    ("Arazzo (OpenAPI checks on)", "arazzo"),
    ("Arazzo (--openapi-checks off)", "arazzo"),
]
for label, prefix in rows:
    suffix = "-nochecks" if "off" in label else ""
    start, chain = med[f"{prefix}-startup{suffix}"], med[f"{prefix}-chain{suffix}"]
    per = (chain - start) / 99
    print(f"{label:<34} {start * 1e3:>7.2f} ms {chain * 1e3:>7.2f} ms {per * 1e6:>9.1f} us")
per = lambda p, s="": (med[f"{p}-chain{s}"] - med[f"{p}-startup{s}"]) / 99
print()
print(f"per request, Arazzo with OpenAPI checks / workflow with the same checks:"
      f" {per('arazzo') / per('checked'):.2f}x")
print(f"per request, Arazzo without / workflow without:"
      f" {per('arazzo', '-nochecks') / per('workflow'):.2f}x (target <= 1x)")
PY
