// Timings of the WASM package in Node (not a test): receipts verified per second, one by one
// and as a batch, and the matmul and attention kernels on SIMD128 against the scalar path.
// Usage: node bindings-wasm/bench/node.mjs   (after build.sh). Prints one line per figure.
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const mycel = require("../pkg-node");

const time = (f, reps) => {
  f();
  const t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) f();
  return Number(process.hrtime.bigint() - t) / 1e6 / reps;
};
const hex = (b) => Buffer.from(b).toString("hex");

// Receipts: a batch of 256 receipts from 16 miners.
const network = "11".repeat(32);
const task = mycel.encodeTask({ network, subnet: 1, epoch: 1, kernel: "Attention", kernel_version: 1,
  params: { Attention: { n_heads: 1, n_kv_heads: 1, q_len: 1, kv_len: 1, head_dim: 64, causal: false, dtype: "F32", mode: "Verifiable" } },
  weights_digest: "00".repeat(32), input_seed: "01".repeat(32) });
const receipts = [];
for (let i = 0; i < 256; i++) {
  const key = mycel.Keypair.fromSeed(new Uint8Array(32).fill(i % 16 + 1));
  receipts.push(mycel.signReceipt({ network, subnet: 1, epoch: 1, task_digest: hex(mycel.taskDigest(task)),
    assigner: hex(key.hotkey), miner: hex(key.hotkey), output_commitment: "02".repeat(32),
    output_tile_root: "03".repeat(32), compute_units: Number(mycel.taskComputeUnits(task)),
    started_at_ms: 0, finished_at_ms: 1, nonce: i, backend: "bench" }, key));
}
const batch = mycel.encodeReceiptBatch(receipts);
const single = time(() => receipts.forEach((r) => mycel.verifyReceipt(r)), 3);
const batched = time(() => mycel.verifyReceiptBatch(batch), 5);
console.log(`receipts one by one: ${(256 / single * 1000).toFixed(0)} receipts/s`);
console.log(`receipts as a batch (verifyReceiptBatch): ${(256 / batched * 1000).toFixed(0)} receipts/s`);

// Matmul and attention at the benches' shapes, one thread.
for (const [m, n, k] of [[1, 4096, 4096], [16, 1024, 1024], [64, 512, 2048]]) {
  for (const format of ["q8_0", "q4_0"]) {
    const w = mycel.generateWeights(new Uint8Array(32).fill(1), format, n, k);
    const x = new Float32Array(m * k).map((_, i) => Math.sin(i));
    const simd = time(() => mycel.matmul(x, m, format, w, k, "auto"), 3);
    const scalar = time(() => mycel.matmul(x, m, format, w, k, "scalar"), 1);
    console.log(`matmul ${format} m=${m} n=${n} k=${k}: simd128 ${simd.toFixed(1)} ms, scalar ${scalar.toFixed(1)} ms (${(scalar / simd).toFixed(2)}x)`);
  }
}
const att = { nHeads: 8, nKvHeads: 2, qLen: 64, kvLen: 512, headDim: 64, causal: true };
const q = new Float32Array(8 * 64 * 64).map((_, i) => Math.sin(i) / 4);
const kv = new Float32Array(2 * 512 * 64).map((_, i) => Math.cos(i) / 4);
console.log(`attention 8/2 heads q=64 kv=512 d=64 causal: ${time(() => mycel.attention(q, kv, kv, att), 3).toFixed(1)} ms`);
