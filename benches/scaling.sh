#!/usr/bin/env bash
# Scaling sweeps (benches/README.md, Scaling section): how cost grows with work.
#   simulate  `mycel simulate` seconds per epoch for 64, 128, 256, 512, 1024 miners
#             (scenarios/scale.toml: 64 validators, tiny tasks; 3 runs x 3 epochs per size,
#             the sizes interleaved within each run)
#   receipts  receipts verified per second against batch size 1 ... 4096
#             (benches/benches/scaling.rs)
#   emission  Yuma epoch (epoch, epoch_with) for n = 256 ... 4096, dense and 2 %,
#             Yuma 2 and Yuma 3 + liquid alpha (benches/benches/scaling.rs)
#   report    tables and charts from the raw files: benches/scaling.py
# Usage: benches/scaling.sh [simulate] [receipts] [emission] [report]   (default: all four)
# Raw output: benches/results/<UTC date>-scaling-<series>.jsonl (one JSON object per line:
# the measurements, the host, and `uptime` before and after every run). Tables:
# benches/results/<date>-scaling-tables.md; charts: benches/scaling-{emission,simulate,receipts}.svg.
# Every measurement holds /tmp/mycel-bench.lock (flock), so benchmarks of people sharing the
# machine never overlap; each held stretch lasts about a minute or two. Takes about 10 minutes
# on 2 vCPUs. Needs cargo, python3 and util-linux's flock. Not part of scripts/test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
date=${SCALING_DATE:-$(date -u +%F)}
results="$root/benches/results"
lock=/tmp/mycel-bench.lock
mkdir -p "$results"

series=("$@")
[[ ${#series[@]} -gt 0 ]] || series=(simulate receipts emission report)

host_record() {
  local cpu isa
  cpu=$( (grep -m1 'model name' /proc/cpuinfo || echo ': unknown') | cut -d: -f2 | sed 's/^ *//')
  isa=$( (grep -m1 '^flags' /proc/cpuinfo || true) | tr ' ' '\n' | (grep -xE 'avx2|avx512f|avx512_vnni|avx_vnni' || true) | paste -sd+ -)
  printf '{"meta":"host","cpu":"%s","cores":%s,"isa":"%s","commit":"%s","rustc":"%s","date":"%s"}\n' \
    "$cpu" "$(nproc)" "$isa" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "$(rustc --version)" "$(date -u +%FT%TZ)"
}
uptime_text() { (uptime 2>/dev/null || cat /proc/loadavg) | sed 's/^ *//'; }
uptime_record() {
  printf '{"meta":"uptime","at":"%s","text":"%s","load1":%s}\n' "$1" "$(uptime_text)" \
    "$(cut -d' ' -f1 /proc/loadavg)"
}

for s in "${series[@]}"; do
  case "$s" in
    simulate)
      cargo build --release --locked -q -p mycel-cli
      out="$results/$date-scaling-simulate.jsonl"
      host_record > "$out"
      tmp=$(mktemp -d)
      for run in 1 2 3; do
        # One run of all five sizes per lock hold (about a minute), so others get the machine
        # between runs; sizes in a different order each run, so drifting load is spread.
        case $run in 1) sizes="64 128 256 512 1024" ;; 2) sizes="1024 512 256 128 64" ;; *) sizes="256 1024 64 512 128" ;; esac
        flock "$lock" bash -c '
          set -euo pipefail
          out=$1 tmp=$2 run=$3 sizes=$4 root=$5 bin=$6
          up() { printf "{\"meta\":\"uptime\",\"at\":\"%s\",\"text\":\"%s\",\"load1\":%s}\n" "$1" "$( (uptime 2>/dev/null || cat /proc/loadavg) | sed "s/^ *//")" "$(cut -d" " -f1 /proc/loadavg)"; }
          for m in $sizes; do
            up "before simulate $m miners run $run" >> "$out"
            "$bin" simulate --scenario "$root/scenarios/scale.toml" \
              --miners "$m" --epochs 3 --threads 2 --quiet --out "$tmp/sim" \
              --timings "$tmp/t.json" > /dev/null
            printf "{\"series\":\"simulate\",\"miners\":%s,\"run\":%s,\"timings\":%s}\n" \
              "$m" "$run" "$(tr -d "\n" < "$tmp/t.json")" >> "$out"
            up "after simulate $m miners run $run" >> "$out"
          done' _ "$out" "$tmp" "$run" "$sizes" "$root" "${CARGO_TARGET_DIR:-$root/target}/release/mycel"
        echo "simulate: run $run done" >&2
      done
      rm -rf "$tmp"
      ;;
    receipts | emission)
      cargo bench -p mycel-benches --bench scaling --locked --no-run -q 2>/dev/null \
        || cargo bench -p mycel-benches --bench scaling --locked --no-run
      out="$results/$date-scaling-$s.jsonl"
      host_record > "$out"
      if [[ $s == receipts ]]; then parts=(receipts); else parts=(emission); fi
      for part in "${parts[@]}"; do
        uptime_record "before $part" >> "$out"
        flock "$lock" cargo bench -p mycel-benches --bench scaling --locked -q -- "$part" >> "$out"
        uptime_record "after $part" >> "$out"
      done
      echo "$s: done" >&2
      ;;
    report)
      files=()
      for f in "$results/$date"-scaling-{emission,simulate,receipts}.jsonl; do
        [[ -f $f ]] && files+=("$f")
      done
      python3 benches/scaling.py --svg-dir benches --tables "$results/$date-scaling-tables.md" "${files[@]}"
      echo "tables: $results/$date-scaling-tables.md; charts: benches/scaling-*.svg" >&2
      ;;
    *)
      echo "unknown series $s (simulate, receipts, emission, report)" >&2
      exit 2
      ;;
  esac
done
