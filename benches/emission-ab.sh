#!/usr/bin/env bash
# Same-run A/B timing of the Yuma epoch: the emission bench binary of a base commit (A) against
# the working tree's (B), run alternately A B A B ... in one process tree on the same machine,
# each run in `EMISSION_BEST_OF=1` mode (per case: minimum and median of back-to-back epochs,
# fresh `epoch(&input)` and reused-workspace `epoch_with`). Prints the raw output of every run and
# then, per case, new ÷ base for every round (the range) and over all rounds (minimum of the
# minima, median of the medians).
#
#   benches/emission-ab.sh BASE_COMMIT [ROUNDS] > benches/results/DATE-emission-ab-NAME.txt
#
# BASE_COMMIT is built in a detached git worktree under target/emission-ab-base (left in place,
# so a second call reuses its build). Each bench run holds /tmp/mycel-bench.lock, so that runs of
# other engineers' benchmarks never overlap with one; `uptime` is recorded around every run.
set -euo pipefail

base=${1:?usage: benches/emission-ab.sh BASE_COMMIT [ROUNDS]}
rounds=${2:-3}
root=$(git rev-parse --show-toplevel)
cd "$root"
base_dir="$root/target/emission-ab-base"

# The bench executable of the tree in $1 (built if needed).
bench_bin() {
    (cd "$1" && cargo bench -p mycel-benches --bench emission --no-run --message-format=json 2>/dev/null) |
        python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "emission" and m.get("executable"):
        print(m["executable"])'
}

if [ ! -d "$base_dir" ]; then
    git worktree add --detach "$base_dir" "$base" >&2
else
    git -C "$base_dir" checkout --detach -q "$base"
fi
# Share the compiled dependencies (only the workspace crates differ).
if [ ! -d "$base_dir/target" ] && [ -d "$root/target/release" ]; then
    mkdir -p "$base_dir/target"
    cp -a "$root/target/release" "$base_dir/target/" 2>/dev/null || true
    rm -rf "$base_dir/target/release/emission-ab-base"
fi
bin_a=$(bench_bin "$base_dir")
bin_b=$(bench_bin "$root")
[ -x "$bin_a" ] && [ -x "$bin_b" ] || { echo "bench build failed" >&2; exit 1; }
tmp=$(mktemp -d)
cp "$bin_a" "$tmp/base"
cp "$bin_b" "$tmp/new"

echo "# emission A/B: base $(git -C "$base_dir" rev-parse --short HEAD) (A) against $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- protocol benches || echo '+changes') (B)"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) vCPUs; flags: $(grep -m1 -o -w -E 'avx512_vnni|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "# rustc: $(rustc --version); date: $(date -u +%FT%TZ)"
for r in $(seq 1 "$rounds"); do
    for side in base new; do
        echo "## round $r $side"
        flock /tmp/mycel-bench.lock sh -c "echo \"# uptime before: \$(uptime)\"; EMISSION_BEST_OF=1 '$tmp/$side'; echo \"# uptime after: \$(uptime)\"" |
            tee -a "$tmp/$side.log"
    done
done

echo "## summary (new ÷ base; below 1 is faster)"
python3 - "$tmp/base.log" "$tmp/new.log" <<'EOF'
import re, statistics, sys
def parse(path):
    runs = {}
    for line in open(path):
        m = re.match(r"\| (\d+ \S+ \S+) \| ([\d.]+) / ([\d.]+) \| ([\d.]+) / ([\d.]+) \|", line)
        if m:
            case = m.group(1)
            runs.setdefault(case, []).append(tuple(float(m.group(k)) for k in range(2, 6)))
    return runs
a, b = parse(sys.argv[1]), parse(sys.argv[2])
print("| case | workspace | base: min of minima / median of medians (ms) | new: min of minima / median of medians (ms) | new ÷ base, per round (min) | new ÷ base, per round (median) | min ÷ min | median ÷ median |")
print("|---|---|---|---|---|---|---|---|")
for case in a:
    for k, ws in ((0, "fresh"), (2, "reused")):
        ra, rb = a[case], b.get(case, [])
        if not rb:
            continue
        per_min = [y[k] / x[k] for x, y in zip(ra, rb)]
        per_med = [y[k + 1] / x[k + 1] for x, y in zip(ra, rb)]
        amin, bmin = min(x[k] for x in ra), min(y[k] for y in rb)
        amed, bmed = statistics.median(x[k + 1] for x in ra), statistics.median(y[k + 1] for y in rb)
        print(f"| {case} | {ws} | {amin:.2f} / {amed:.2f} | {bmin:.2f} / {bmed:.2f} | "
              f"{min(per_min):.2f}–{max(per_min):.2f} | {min(per_med):.2f}–{max(per_med):.2f} | "
              f"{bmin / amin:.3f} ({amin / bmin:.2f}×) | {bmed / amed:.3f} ({amed / bmed:.2f}×) |")
EOF
rm -rf "$tmp"
