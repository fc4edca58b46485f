#!/usr/bin/env bash
# Regenerates the validator page's bundled samples (deterministic; the outputs are committed):
#   inbox.json   examples/make_inbox.rs: a batch with honest, lazy and tampered receipts + tasks
#   sim/         `mycel simulate` (default scenario, 2 epochs, seed 7): validator 0's receipt
#                batches and every fraud proof of the run, listed in sim/index.json
#   corrupt.bin  bytes that are no envelope (the page must show an error)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
cargo run -q --release -p mycel-wasm --example make_inbox -- "$here/inbox.json"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cargo run -q --release -p mycel-cli -- simulate --epochs 2 --seed 7 --out "$tmp/sim" >/dev/null
rm -rf "$here/sim"
mkdir -p "$here/sim"
cp "$tmp"/sim/receipts/*-validator-000.bin "$here/sim/"
cp "$tmp"/sim/fraud/*.json "$here/sim/"
(cd "$here/sim" && python3 -c 'import json,os; print(json.dumps({"format":"mycel-sample-index/v1","made_by":"mycel simulate --epochs 2 --seed 7","files":sorted(f for f in os.listdir(".") if f!="index.json")}, indent=2))' > index.json)
printf 'this is not a receipt batch \001\004\377\377 garbage' > "$here/corrupt.bin"
ls -la "$here" "$here/sim"
