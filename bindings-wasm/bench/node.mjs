// Timings of the WASM package in Node (not a test): receipts verified per second, one by one
// and as a batch, and the matmul and attention kernels on SIMD128 against the scalar path.
// Usage: node bindings-wasm/bench/node.mjs   (after build.sh). Prints one line per figure.
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const mycel = require("../pkg-node");

// Each call timed on its own after one warm-up; { min, med } in ms over `reps` calls. Ratios
// are formed minimum against minimum and median against median; the SIMD128 and scalar calls
// alternate (A B A B) so drifting load hits both.
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], med: s[(s.length - 1) >> 1] };
};
const once = (f) => {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const time = (f, reps) => {
  f();
  return stats(Array.from({ length: reps }, () => once(f)));
};
const pair = (a, b, reps) => {
  a(); b();
  const ta = [], tb = [];
  for (let i = 0; i < reps; i++) { ta.push(once(a)); tb.push(once(b)); }
  return [stats(ta), stats(tb)];
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
const [single, batched] = pair(
  () => receipts.forEach((r) => mycel.verifyReceipt(r)), () => mycel.verifyReceiptBatch(batch), 5);
const rate = (t) => `${(256 / t.min * 1000).toFixed(0)} (best) / ${(256 / t.med * 1000).toFixed(0)} (median)`;
console.log(`receipts one by one: ${rate(single)} receipts/s`);
console.log(`receipts as a batch (verifyReceiptBatch): ${rate(batched)} receipts/s`);

// Matmul and attention at the benches' shapes, one thread.
for (const [m, n, k] of [[1, 4096, 4096], [16, 1024, 1024], [64, 512, 2048]]) {
  for (const format of ["q8_0", "q4_0"]) {
    const w = mycel.generateWeights(new Uint8Array(32).fill(1), format, n, k);
    const x = new Float32Array(m * k).map((_, i) => Math.sin(i));
    const [simd, scalar] = pair(
      () => mycel.matmul(x, m, format, w, k, "auto"), () => mycel.matmul(x, m, format, w, k, "scalar"), 5);
    console.log(`matmul ${format} m=${m} n=${n} k=${k}: simd128 min ${simd.min.toFixed(1)} / med ${simd.med.toFixed(1)} ms, scalar min ${scalar.min.toFixed(1)} / med ${scalar.med.toFixed(1)} ms (${(scalar.min / simd.min).toFixed(2)}x min/min, ${(scalar.med / simd.med).toFixed(2)}x med/med)`);
  }
}
const att = { nHeads: 8, nKvHeads: 2, qLen: 64, kvLen: 512, headDim: 64, causal: true };
const q = new Float32Array(8 * 64 * 64).map((_, i) => Math.sin(i) / 4);
const kv = new Float32Array(2 * 512 * 64).map((_, i) => Math.cos(i) / 4);
const ta = time(() => mycel.attention(q, kv, kv, att), 5);
console.log(`attention 8/2 heads q=64 kv=512 d=64 causal: min ${ta.min.toFixed(1)} / med ${ta.med.toFixed(1)} ms`);
