#!/usr/bin/env bash
# Builds the mycel WASM package: pkg/ (ES module for browsers, `--target web`) and pkg-node/
# (CommonJS for Node, `--target nodejs`), size-tuned, and prints the gzipped size of the .wasm.
#
# The wasm32-unknown-unknown target: rustup's when installed (`rustup target add
# wasm32-unknown-unknown`), else Debian's rustc-web + rust-web-src with -Zbuild-std (installed
# here with apt-get when missing and this runs as root). wasm-bindgen-cli is installed at
# exactly the version of the wasm-bindgen crate (Cargo.toml pins it with `=`).
#
# Usage: bindings-wasm/build.sh [--no-simd]      (SIMD128 is on by default)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

simd=1
for a in "$@"; do
    case "$a" in
        --no-simd) simd=0 ;;
        *) echo "build.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done

say() { printf '[wasm build] %s\n' "$*" >&2; }

# The wasm-bindgen version the crate pins.
wb_version="$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' "$here/Cargo.toml")"
[ -n "$wb_version" ] || { echo "build.sh: cannot read the wasm-bindgen pin" >&2; exit 1; }

# 1. A compiler with the wasm32-unknown-unknown target.
target=wasm32-unknown-unknown
build_std=()
rustc_for_wasm=""
if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    say "using rustup's $target target"
else
    if ! /usr/bin/rustc --print target-list 2>/dev/null | grep -qx "$target" \
        || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            say "installing Debian's rustc-web and rust-web-src"
            apt-get update -qq >/dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc-web rust-web-src >/dev/null
        else
            echo "build.sh: no $target target: run 'rustup target add $target'," \
                "or install Debian's rustc-web and rust-web-src" >&2
            exit 1
        fi
    fi
    say "using Debian's rustc-web ($(/usr/bin/rustc --version)) with -Zbuild-std"
    rustc_for_wasm=/usr/bin/rustc
    build_std=(-Zbuild-std=std,panic_abort)
    # rust-lld ships with rustup's toolchain; Debian's rustc-web uses it through this linker.
    lld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
    if [ ! -x "$lld" ]; then
        lld="$(command -v rust-lld || command -v lld || true)"
    fi
    [ -n "$lld" ] || { echo "build.sh: no rust-lld found" >&2; exit 1; }
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$lld"
fi

# 2. wasm-bindgen-cli at exactly the crate's version.
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$cargo_bin:$PATH"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb_version\$"; then
    say "installing wasm-bindgen-cli $wb_version"
    cargo install -q wasm-bindgen-cli --version "=$wb_version" --locked \
        || cargo install -q wasm-bindgen-cli --version "=$wb_version" --force
fi

# 3. The module.
rustflags="${RUSTFLAGS:-}"
if [ "$simd" = 1 ]; then
    rustflags="$rustflags -C target-feature=+simd128"
fi
export CARGO_TARGET_DIR="$root/target/wasm"
say "cargo build (profile wasm-release, simd128=$simd)"
if [ -n "$rustc_for_wasm" ]; then
    RUSTC="$rustc_for_wasm" RUSTC_BOOTSTRAP=1 RUSTFLAGS="$rustflags" \
        cargo build -q --profile wasm-release --target "$target" "${build_std[@]}" -p mycel-wasm
else
    RUSTFLAGS="$rustflags" cargo build -q --profile wasm-release --target "$target" -p mycel-wasm
fi
wasm="$CARGO_TARGET_DIR/$target/wasm-release/mycel_wasm.wasm"

# 4. wasm-opt (Debian's binaryen) on the module before wasm-bindgen (binaryen 108 run on
#    wasm-bindgen's output breaks its externref table), then the JS glue for both targets.
opt_dir="$CARGO_TARGET_DIR/opt"
mkdir -p "$opt_dir"
if command -v wasm-opt >/dev/null; then
    # --converge repeats -O3 to a fixed point. --low-memory-unused lets binaryen fold address
    # offsets, assuming nothing lives in the first 1 KiB: rust-lld lays the 1 MiB stack out
    # first (data and heap start at 1 MiB), so only the last 1 KiB of stack depth is given up.
    wasm-opt -O3 --converge --low-memory-unused --enable-simd --enable-bulk-memory --enable-sign-ext \
        --enable-nontrapping-float-to-int --enable-mutable-globals --enable-reference-types \
        --enable-multivalue "$wasm" -o "$opt_dir/mycel_wasm.wasm"
else
    say "wasm-opt not found (Debian: binaryen); the module is not post-optimised"
    cp "$wasm" "$opt_dir/mycel_wasm.wasm"
fi
rm -rf "$here/pkg" "$here/pkg-node"
# The name and producers sections only name functions for debuggers (panics abort): dropped,
# as they count against the size cap.
wasm-bindgen --target web --remove-name-section --remove-producers-section \
    --out-dir "$here/pkg" "$opt_dir/mycel_wasm.wasm"
wasm-bindgen --target nodejs --remove-name-section --remove-producers-section \
    --out-dir "$here/pkg-node" "$opt_dir/mycel_wasm.wasm"

# 5. package.json for each: the web one an ES module, the Node one CommonJS with `main`.
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)"
cat >"$here/pkg/package.json" <<JSON
{
  "name": "mycel-wasm",
  "version": "$version",
  "description": "mycel in the browser: receipts, signatures, Merkle proofs, commitments, tasks, Yuma, kernels",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "module": "mycel_wasm.js",
  "main": "mycel_wasm.js",
  "types": "mycel_wasm.d.ts",
  "files": ["mycel_wasm_bg.wasm", "mycel_wasm.js", "mycel_wasm.d.ts", "mycel_wasm_bg.wasm.d.ts"],
  "sideEffects": ["./snippets/*"]
}
JSON
cat >"$here/pkg-node/package.json" <<JSON
{
  "name": "mycel-wasm",
  "version": "$version",
  "description": "mycel for Node: receipts, signatures, Merkle proofs, commitments, tasks, Yuma, kernels",
  "license": "MIT OR Apache-2.0",
  "type": "commonjs",
  "main": "mycel_wasm.js",
  "types": "mycel_wasm.d.ts",
  "files": ["mycel_wasm_bg.wasm", "mycel_wasm.js", "mycel_wasm.d.ts", "mycel_wasm_bg.wasm.d.ts"]
}
JSON
rm -f "$here/pkg/.gitignore" "$here/pkg-node/.gitignore"

raw=$(wc -c <"$here/pkg/mycel_wasm_bg.wasm")
gz=$(gzip -9c "$here/pkg/mycel_wasm_bg.wasm" | wc -c)
echo "mycel_wasm_bg.wasm: $raw bytes, $gz bytes gzipped (limit 307200)"
if [ "$gz" -ge 307200 ]; then
    echo "build.sh: the gzipped module is over 300 KB" >&2
    exit 1
fi
