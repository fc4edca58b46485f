// The package's surface: Merkle proofs, commitments, kernels (SIMD128 ≡ scalar, bit for bit)
// and bad input (typed errors with stable codes, never a crash).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mycel, rng, hex, bytes32, matmulTask, throwsCode } from "./helpers.mjs";

test("Merkle root, proofs and their check", () => {
  const leaves = Array.from({ length: 7 }, (_, i) => new Uint8Array([i, i + 1, i + 2]));
  const root = mycel.merkleRoot(leaves);
  assert.equal(root.length, 32);
  for (let i = 0; i < leaves.length; i++) {
    const p = mycel.merkleProof(leaves, i);
    assert.equal(p.treeSize, 7);
    assert.equal(mycel.verifyMerkleProof(leaves[i], p, root), true);
    assert.equal(mycel.verifyMerkleProof(leaves[(i + 1) % 7], p, root), false);
  }
  // RFC 6962: the root of one leaf is SHA-256(0x00 ‖ leaf).
  const one = mycel.merkleRoot([new Uint8Array([1, 2, 3])]);
  const want = createHash("sha256").update(Buffer.from([0, 1, 2, 3])).digest("hex");
  assert.equal(hex(one), want);
  // Two leaves: SHA-256(0x01 ‖ leaf hash ‖ leaf hash).
  const lh = (b) => createHash("sha256").update(Buffer.concat([Buffer.from([0]), Buffer.from(b)])).digest();
  const two = [new Uint8Array([5]), new Uint8Array([6])];
  const want2 = createHash("sha256").update(Buffer.concat([Buffer.from([1]), lh(two[0]), lh(two[1])])).digest("hex");
  assert.equal(hex(mycel.merkleRoot(two)), want2);
  throwsCode(assert, () => mycel.merkleProof(leaves, 7), "merkle.");
  throwsCode(assert, () => mycel.verifyMerkleProof(leaves[0], { index: 0, treeSize: 7, path: ["x"] }, root), "input.type");
});

test("tensor commitments reject wrong lengths and unknown dtypes", () => {
  const c = mycel.tensorCommitment("f32", [2, 2], new Uint8Array(16));
  assert.equal(c.length, 32);
  assert.notDeepEqual(c, mycel.tensorCommitment("f32", [4], new Uint8Array(16)));
  throwsCode(assert, () => mycel.tensorCommitment("f32", [2, 2], new Uint8Array(15)), "commit.");
  throwsCode(assert, () => mycel.tensorCommitment("f64", [2], new Uint8Array(16)), "input.value");
});

/** Random Q8_0/Q4_0 blocks with hostile scales (NaN, ±∞, subnormal) and −128 values. */
function hostileBlocks(format, count, next) {
  const bb = format === "q8_0" ? 34 : 18;
  const out = new Uint8Array(count * bb);
  for (let i = 0; i < out.length; i++) out[i] = next() & 0xff;
  const scales = [0x7e00, 0x7c00, 0xfc00, 0x0001, 0x03ff, 0x3c00, 0x0000, 0x8000];
  for (let b = 0; b < count; b++) {
    const r = next() % 16;
    if (r < scales.length) { out[b * bb] = scales[r] & 0xff; out[b * bb + 1] = scales[r] >> 8; }
    else { out[b * bb + 1] &= 0x3f; } // keep most scales finite and moderate
    if (format === "q8_0" && next() % 3 === 0) out[b * bb + 2 + (next() % 32)] = 0x80; // −128
  }
  return out;
}

test("matmul: SIMD128 and the scalar reference give identical bits (shapes, tails, hostile blocks)", () => {
  assert.equal(mycel.matmulKernel(), "simd128");
  const next = rng(12345);
  let compared = 0;
  for (const format of ["q8_0", "q4_0"]) {
    for (let iter = 0; iter < 40; iter++) {
      const m = 1 + (next() % 9), n = 1 + (next() % 37), k = 32 * (1 + (next() % 9));
      const w = hostileBlocks(format, n * k / 32, next);
      const x = new Float32Array(m * k);
      for (let i = 0; i < x.length; i++) x[i] = ((next() % 2001) - 1000) / 97 * (iter % 5 === 0 ? 1e30 : 1);
      const a = mycel.matmul(x, m, format, w, k, "auto");
      const s = mycel.matmul(x, m, format, w, k, "scalar");
      assert.equal(a.length, m * n);
      assert.deepEqual(new Uint32Array(a.buffer), new Uint32Array(s.buffer), `${format} ${m}x${n}x${k} iter ${iter}`);
      compared += a.length;
    }
  }
  assert.ok(compared > 1000);
});

test("matmul: fma rounding cases where multiply-then-add differs are exact", () => {
  // Scale 1 (f16 0x3c00) weights and activations chosen so that acc + scale·sumi needs the
  // single rounding: many small blocks after a large first one.
  const k = 32 * 64, n = 8;
  const next = rng(99);
  const w = new Uint8Array(n * (k / 32) * 34);
  for (let b = 0; b < n * k / 32; b++) {
    w[b * 34] = next() & 0xff; w[b * 34 + 1] = 0x30 + (next() % 0x10); // scales around 2^-3..2^0
    for (let j = 0; j < 32; j++) w[b * 34 + 2 + j] = next() & 0xff;
  }
  const x = new Float32Array(k);
  for (let i = 0; i < k; i++) x[i] = Math.fround(Math.sin(i) * 3.7);
  const a = mycel.matmul(x, 1, "q8_0", w, k, "auto");
  const s = mycel.matmul(x, 1, "q8_0", w, k, "scalar");
  assert.deepEqual(new Uint32Array(a.buffer), new Uint32Array(s.buffer));
});

test("quantize / dequantize round trip and attention shapes", () => {
  const x = new Float32Array(64).map((_, i) => i - 32);
  const q8 = mycel.quantize("q8_0", x, 64);
  assert.equal(q8.length, 2 * 34);
  const back = mycel.dequantize("q8_0", q8);
  assert.equal(back.length, 64);
  back.forEach((v, i) => assert.ok(Math.abs(v - x[i]) < 0.2));
  assert.equal(mycel.quantize("q4_0", x, 32).length, 2 * 18);
  const q = new Float32Array(2 * 3 * 64).fill(0.5);
  const kv = new Float32Array(1 * 5 * 64).map((_, i) => (i % 7) / 7);
  const params = { nHeads: 2, nKvHeads: 1, qLen: 3, kvLen: 5, headDim: 64, causal: true };
  const o = mycel.attention(q, kv, kv, params);
  assert.equal(o.length, 2 * 3 * 64);
  assert.deepEqual(o, mycel.attention(q, kv, kv, { ...params, backend: "scalar" }));
});

test("bad input throws typed errors with stable codes", () => {
  throwsCode(assert, () => mycel.decodeMessage(new Uint8Array([1, 2, 3, 4])), "decode.");
  throwsCode(assert, () => mycel.decodeMessage(new Uint8Array(0)), "decode.");
  throwsCode(assert, () => mycel.decodeMessage([1, 2, 3]), "input.type");
  throwsCode(assert, () => mycel.verifyReceipt("receipt"), "input.type");
  throwsCode(assert, () => mycel.verifyReceiptBatch(new Uint8Array(100)), "decode.");
  throwsCode(assert, () => mycel.quantize("q8_0", new Float32Array(33), 33), "shape_mismatch");
  throwsCode(assert, () => mycel.quantize("q8_0", [1, 2], 32), "input.type");
  throwsCode(assert, () => mycel.quantize("q5_1", new Float32Array(32), 32), "input.value");
  throwsCode(assert, () => mycel.quantize("q8_0", new Float32Array(32).fill(NaN), 32), "non_finite");
  throwsCode(assert, () => mycel.matmul(new Float32Array(10), 1, "q8_0", new Uint8Array(34), 32), "shape_mismatch");
  throwsCode(assert, () => mycel.matmul(new Float32Array(32), 1, "q8_0", new Uint8Array(33), 32), "shape_mismatch");
  throwsCode(assert, () => mycel.matmul(new Float32Array(32), 1.5, "q8_0", new Uint8Array(34), 32), "input.value");
  throwsCode(assert, () => mycel.attention(new Float32Array(3), new Float32Array(3), new Float32Array(3),
    { nHeads: 1, nKvHeads: 1, qLen: 1, kvLen: 1, headDim: 64 }), "buffer_length");
  throwsCode(assert, () => mycel.attention(new Float32Array(64), new Float32Array(64), new Float32Array(64),
    { nHeads: 1, nKvHeads: 1, qLen: 1, kvLen: 1, headDim: 48 }), "unsupported_head_dim");
  throwsCode(assert, () => mycel.encodeTask({ nonsense: true }), "input.value");
  throwsCode(assert, () => mycel.encodeTask(42), "input.type");
  const weights = mycel.generateWeights(bytes32(1), "q8_0", 8, 32);
  const task = mycel.encodeTask(matmulTask({ kernel: "MatmulQ8_0", m: 1, n: 8, k: 32,
    weightsDigest: mycel.weightsDigest(weights), seed: bytes32(2) }));
  throwsCode(assert, () => mycel.executeTask(task), "node.");
  throwsCode(assert, () => mycel.executeTask(task, { weightsSeed: bytes32(9) }), "weights_digest");
  throwsCode(assert, () => mycel.executeTask(task, { weights, weightsSeed: bytes32(9) }), "node.invalid_argument");
  throwsCode(assert, () => mycel.executeTask(task, { weights: weights.slice(1) }), "buffer_length");
  throwsCode(assert, () => mycel.executeTask(task, { weights, backend: "cuda" }), "input.value");
  throwsCode(assert, () => mycel.executeTask(task.slice(0, 10)), "decode.");
  throwsCode(assert, () => mycel.yumaEpoch({ n: 1 }), "input.value");
  throwsCode(assert, () => mycel.yumaEpochJson("{}"), "input.value");
  // The task still runs after all that.
  assert.equal(mycel.executeTask(task, { weights }).commitment.length, 32);
});
