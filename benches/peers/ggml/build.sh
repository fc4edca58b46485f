#!/usr/bin/env bash
# Builds ggml's CPU backend (the engine inside llama.cpp) and the benches' ggml driver
# (driver.c), the peer of `cargo bench -p mycel-benches --bench ggml`.
#
# ggml's sources come from a registry package: the llama.cpp tree vendored in the crates.io
# package llama-cpp-sys-2 (pinned below), fetched with cargo. Nothing of it is committed.
# Flags are llama.cpp's defaults for a CPU build: GGML_NATIVE=ON (-march=native), OpenMP,
# GGML_LLAMAFILE=ON (llama.cpp's CMakeLists turns ggml's tinyBLAS sgemm on),
# GGML_CPU_REPACK=ON (Q4_0 weights repacked at load into the interleaved layout where the ISA
# has a path), Release. One deviation, decided by a probe at build time: when the CPU reports
# AMX but an AMX instruction faults (seen on this project's VMs: the hypervisor exposes the
# CPUID bits without the XTILEDATA state), AMX is compiled out (-mno-amx-*), which is what
# llama.cpp itself runs on a CPU without AMX.
#
# Usage: benches/peers/ggml/build.sh      (prints the native driver's path on its last line)
#        GGML_PEER_AVX2=0 benches/peers/ggml/build.sh   (skip the AVX2-only variant)
# Output: target/ggml-peer/: drivers `ggml-peer` (native) and `ggml-peer-avx2` (llama.cpp's
# AVX2 build, no AVX-512), their cmake build dirs, build-info.txt.
# Installs cmake and a C/C++ compiler from Debian's packages when they are missing.
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$(pwd)
LLAMA_SYS_VERSION=0.1.161          # llama-cpp-sys-2; its llama.cpp/ggml is ggml 0.26.0
out="$root/target/ggml-peer"
mkdir -p "$out"

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v gcc >/dev/null || need+=(gcc)
command -v g++ >/dev/null || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian's packages" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 1. ggml's sources from the registry: a scratch crate that depends on llama-cpp-sys-2, fetched.
fetch="$out/fetch"
mkdir -p "$fetch/src"
cat > "$fetch/Cargo.toml" <<TOML
[package]
name = "ggml-peer-fetch"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
llama-cpp-sys-2 = "=$LLAMA_SYS_VERSION"
[workspace]
TOML
echo "" > "$fetch/src/lib.rs"
(cd "$fetch" && cargo fetch -q)
manifest=$(cd "$fetch" && cargo metadata --format-version 1 2>/dev/null \
  | grep -o "\"manifest_path\":\"[^\"]*llama-cpp-sys-2-$LLAMA_SYS_VERSION/Cargo.toml\"" \
  | head -n1 | sed 's/^"manifest_path":"//; s/"$//')
src="$(dirname "$manifest")/llama.cpp/ggml"
[ -f "$src/CMakeLists.txt" ] || { echo "ggml sources not found (looked in $src)" >&2; exit 1; }
ggml_version=$(sed -n 's/^set(GGML_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\))/\2/p' "$src/CMakeLists.txt" | paste -sd.)

# 2. AMX probe: does an AMX tile instruction run here?
amx_flags=""
amx_note="CPU reports no AMX"
if grep -qw amx_int8 /proc/cpuinfo; then
  cat > "$out/amx_probe.c" <<'C'
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  /* ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18), as Linux requires before AMX. */
  if (syscall(SYS_arch_prctl, 0x1023, 18) != 0) return 2;
  uint8_t cfg[64]; memset(cfg, 0, sizeof cfg);
  cfg[0] = 1; cfg[16] = 64; cfg[48] = 16;   /* palette 1, tile 0: 16 rows x 64 bytes */
  _tile_loadconfig(cfg);
  _tile_zero(0);
  _tile_release();
  return 0;
}
C
  if gcc -O1 -mamx-tile -o "$out/amx_probe" "$out/amx_probe.c" 2>/dev/null \
     && (ulimit -c 0; "$out/amx_probe") 2>/dev/null; then
    amx_note="AMX runs here: left on (llama.cpp's default)"
  else
    amx_flags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    amx_note="CPU reports AMX but an AMX instruction faulted in the probe: AMX compiled out"
  fi
fi
echo "ggml $ggml_version from llama-cpp-sys-2 $LLAMA_SYS_VERSION; $amx_note" >&2

# 3. ggml (static), llama.cpp's default CPU flags.
# The crate ships ggml without its pkg-config template, which a standalone ggml build wants, so
# ggml is built as a subproject of a two-line wrapper, as llama.cpp itself builds it.
mkdir -p "$out/wrap"
cat > "$out/wrap/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.14)
project(ggml_peer C CXX)
add_subdirectory("$src" ggml)
CM
# native: llama.cpp's default build for this CPU. avx2: what llama.cpp builds for an AVX2-only
# CPU (its AVX2 variant: AVX, AVX2, FMA, F16C, BMI2, no AVX-512), the peer of mycel's forced AVX2
# path, so the AVX2 comparison is what a user of an AVX2-only machine would see.
build_variant() {
  local name=$1 build=$2 driver=$3 cflags=$4; shift 4
  cmake -S "$out/wrap" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_OPENMP=ON -DGGML_CPU_REPACK=ON -DGGML_LLAMAFILE=ON \
    -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF "$@" \
    -DCMAKE_C_FLAGS="$amx_flags" -DCMAKE_CXX_FLAGS="$amx_flags" >"$build.cmake.log" 2>&1
  cmake --build "$build" --target ggml ggml-base ggml-cpu -j"$(nproc)" >"$build.log" 2>&1
  # the driver
  local libs
  libs=$(find "$build" -name 'libggml*.a' | sort -r)   # libggml.a before -cpu and -base
  gcc -O2 $cflags $amx_flags -I"$src/include" -o "$driver" \
    "$root/benches/peers/ggml/driver.c" -Wl,--start-group $libs -Wl,--end-group \
    -fopenmp -lstdc++ -lm -lpthread
  {
    echo "$name: ggml $ggml_version (llama.cpp sources of crates.io llama-cpp-sys-2 $LLAMA_SYS_VERSION)"
    echo "$name: cmake $* GGML_OPENMP=ON GGML_CPU_REPACK=ON GGML_LLAMAFILE=ON Release $amx_flags"
  } >> "$out/build-info.txt"
}
{
  echo "amx: $amx_note"
  echo "compiler: $(gcc --version | head -n1)"
} > "$out/build-info.txt"
build_variant native "$out/build" "$out/ggml-peer" -march=native -DGGML_NATIVE=ON
if [ "${GGML_PEER_AVX2:-1}" != 0 ]; then
  build_variant avx2 "$out/build-avx2" "$out/ggml-peer-avx2" "-mavx2 -mfma -mf16c -mbmi2" \
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
    -DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF
fi
cat "$out/build-info.txt" >&2
echo "$out/ggml-peer"
