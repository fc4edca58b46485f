// Shared helpers of the Node tests: the package under test (pkg-node, CommonJS), the Rust CLI
// (the other host every cross-host check compares with) and small byte utilities.
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..");
export const mycel = require(join(here, "..", "pkg-node"));

/** The `mycel` binary: $MYCEL_BIN, else the workspace's release build. */
export const cliPath = process.env.MYCEL_BIN || join(root, "target", "release", "mycel");
if (!existsSync(cliPath)) {
  throw new Error(`the mycel CLI is missing at ${cliPath}: run cargo build --release -p mycel-cli`);
}

/** Runs the CLI; returns { status, stdout, stderr }. */
export function cli(args, input) {
  const r = spawnSync(cliPath, args, { input, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r;
}

/** Runs the CLI and throws unless it exits 0; returns stdout. */
export function cliOk(args, input) {
  const r = cli(args, input);
  if (r.status !== 0) {
    throw new Error(`mycel ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  }
  return r.stdout;
}

export function tmp() {
  return mkdtempSync(join(tmpdir(), "mycel-wasm-test-"));
}

export const hex = (b) => Buffer.from(b).toString("hex");
export const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
export const bytes32 = (v) => new Uint8Array(32).fill(v);

/** A seeded generator of uint32 (xorshift32), for reproducible random inputs. */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

/** The JSON form of a matmul TaskSpec. */
export function matmulTask({ kernel, m, n, k, weightsDigest, seed, epoch = 3 }) {
  return {
    network: "11".repeat(32),
    subnet: 7,
    epoch,
    kernel,
    kernel_version: 1,
    params: { Matmul: { m, n, k } },
    weights_digest: hex(weightsDigest),
    input_seed: hex(seed),
  };
}

/** The JSON form of an attention TaskSpec. */
export function attentionTask({ nHeads, nKvHeads, qLen, kvLen, headDim, causal, dtype = "F32", seed }) {
  return {
    network: "11".repeat(32),
    subnet: 7,
    epoch: 3,
    kernel: "Attention",
    kernel_version: 1,
    params: {
      Attention: {
        n_heads: nHeads, n_kv_heads: nKvHeads, q_len: qLen, kv_len: kvLen,
        head_dim: headDim, causal, dtype, mode: "Verifiable",
      },
    },
    weights_digest: "00".repeat(32),
    input_seed: hex(seed),
  };
}

/** Asserts that `fn` throws a MycelError with `code` (or a code starting with `prefix.`). */
export function throwsCode(assert, fn, code) {
  assert.throws(fn, (e) => {
    assert.equal(e.name, "MycelError", `not a MycelError: ${e}`);
    if (code.endsWith(".")) assert.ok(e.code.startsWith(code), `code ${e.code} !~ ${code}`);
    else assert.equal(e.code, code, e.message);
    return true;
  });
}
