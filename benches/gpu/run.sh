#!/usr/bin/env bash
# Runs on the GPU machine, from the bundle scripts/gpu-check builds (that machine has the CUDA
# driver, NVRTC via the toolkit or PyTorch, and python3 + torch, but no cargo):
#   1. the NVRTC compile check and the CUDA parity tests (bit identity with the CPU scalar
#      reference over >= 200 random shapes; MYCEL_REQUIRE_GPU=1 makes a missing device fatal);
#   2. the CUDA benchmarks and the PyTorch references, in the same run;
#   3. report.md with the issue's goals as ratios.
# Everything lands in $OUT (or ./out beside this script). Exit status: 0 only if every test passed
# and the benchmarks ran.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
mkdir -p "$out"
log() { echo "gpu-check: $*" | tee -a "$out/run.log" >&2; }
log "bundle commit $(cat "$here/COMMIT" 2>/dev/null || echo unknown), $(date -u +%FT%TZ)"
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || log "nvidia-smi failed (see nvidia-smi.txt)"

# NVRTC (libnvrtc.so.13): CUDA toolkit, PyTorch's nvidia wheels, or the loader's cache.
nvrtc_dirs=$(python3 - <<'PY' 2>/dev/null
import glob, os, sys
seen = []
for p in sys.path:
    for pat in ("nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib"):
        d = os.path.join(p, pat)
        if os.path.exists(os.path.join(d, "libnvrtc.so.13")) and d not in seen:
            seen.append(d)
print(" ".join(seen))
PY
)
nvrtc=""
# Prefer the NVRTC the bundle carries (the one CI compile-checks with), if any.
unpack="${TMPDIR:-/tmp}/mycel-gpu-check-nvrtc"
if [ -e "$here/nvrtc/libnvrtc.so.13.xz" ] && command -v xz >/dev/null; then
  mkdir -p "$unpack"
  for f in libnvrtc.so.13 libnvrtc-builtins.so.13.0; do
    [ -e "$unpack/$f" ] || xz -dc "$here/nvrtc/$f.xz" >"$unpack/$f"
  done
  nvrtc_dirs="$unpack $nvrtc_dirs"
elif [ -e "$here/nvrtc/libnvrtc.so.13.xz" ]; then
  mkdir -p "$unpack"
  for f in libnvrtc.so.13 libnvrtc-builtins.so.13.0; do
    [ -e "$unpack/$f" ] || python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
      "$here/nvrtc/$f.xz" "$unpack/$f"
  done
  nvrtc_dirs="$unpack $nvrtc_dirs"
fi
for d in $(echo "$nvrtc_dirs" | cut -d' ' -f1) /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 $nvrtc_dirs; do
  if [ -e "$d/libnvrtc.so.13" ]; then nvrtc=$d; break; fi
done
if [ -n "$nvrtc" ]; then
  export LD_LIBRARY_PATH="$nvrtc${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  log "NVRTC from $nvrtc"
elif ldconfig -p 2>/dev/null | grep -q 'libnvrtc.so.13 '; then
  log "NVRTC from the loader cache"
else
  log "libnvrtc.so.13 not found: the kernels cannot be compiled on this machine"
fi

status=0
log "NVRTC compile check (sm_90, run-time options)"
MYCEL_REQUIRE_NVRTC=1 "$here/bin/cuda_compile" --nocapture --test-threads=1 >>"$out/tests.log" 2>&1 \
  || { status=1; log "cuda_compile FAILED"; }
log "CUDA parity tests (bit identity with the CPU scalar reference)"
MYCEL_REQUIRE_GPU=1 timeout 300 "$here/bin/cuda_matmul" --nocapture --test-threads=1 >>"$out/tests.log" 2>&1 \
  || { status=1; log "cuda_matmul FAILED"; }
log "CUDA attention parity tests"
MYCEL_REQUIRE_GPU=1 timeout 300 "$here/bin/cuda_attention" --nocapture --test-threads=1 >>"$out/tests.log" 2>&1 \
  || { status=1; log "cuda_attention FAILED"; }
log "CUDA benchmarks"
MYCEL_REQUIRE_GPU=1 timeout 240 "$here/bin/cuda_bench" >"$out/bench.jsonl" 2>"$out/bench.log" \
  || { status=1; log "cuda_bench FAILED (see bench.log)"; }
log "PyTorch references"
timeout 180 python3 "$here/torch_ref.py" >"$out/torch.jsonl" 2>"$out/torch.log" \
  || log "torch_ref failed (see torch.log)"
python3 "$here/report.py" "$out" >/dev/null 2>>"$out/run.log" || log "report.py failed"
grep -E '^(test result|SKIP|.*cases equal|.*panicked)' "$out/tests.log" >&2 || true
cat "$out/report.md" >&2 2>/dev/null || true
log "exit status $status"
exit $status
