// The JavaScript side of the mycel conformance suite, shared by the Node runner (node.test.mjs,
// over pkg-node/) and the browser runner (index.html in headless Chromium, over pkg/): answers
// each case with the WASM package, judges the answer, counts per file.
//
// `makeHandler(mycel)` returns `handle(request) -> response` in the adapter protocol's shapes
// (conformance/README.md); `runFile(doc, handle, { long })` returns `{ area, passed, failed }`.
// No dependencies: SHA-256 (for the accumulated stream and seeded weights) is written out
// below, so the same file runs in Node and in a browser without async WebCrypto.

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** SHA-256 (FIPS 180-4) of a Uint8Array. */
export function sha256(data) {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const len = data.length;
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(data);
  padded[len] = 0x80;
  const bits = len * 8;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(padded.length - 4, bits >>> 0);
  const w = new Uint32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(4 * i, h[i]);
  return out;
}

export const unhex = (s) => {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
};
export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const utf8 = (s) => new TextEncoder().encode(s);
const floats = (h) => new Float32Array(unhex(h).buffer);
const LIMIT = 2n ** 53n;
/** A u64 as the vectors hold it: a number up to 2^53, a decimal string beyond. */
const big = (v) => (BigInt(v) > LIMIT ? String(v) : Number(v));

/** JSON text with integers beyond 2^53 kept exact (as decimal strings). */
export function parseBig(text) {
  const quoted = text.replace(/([:\[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"#$2"');
  return JSON.parse(quoted, (_, v) => (typeof v === "string" && v.startsWith("#") ? big(v.slice(1)) : v));
}

class Refused extends Error {
  constructor(code) { super(code); this.code = code; }
}

const STREAM_TAG = utf8("mycel/conformance/v1/kernel-stream");
const WEIGHTS_TAG = utf8("mycel/v1/task-weights");

export function makeHandler(mycel) {
  const taskJson = (inp, weightsDigest) => {
    const params = inp.kernel === "attention"
      ? { Attention: { n_heads: inp.heads, n_kv_heads: inp.kvHeads, q_len: inp.qLen, kv_len: inp.kvLen,
        head_dim: inp.headDim, causal: inp.causal, dtype: { f32: "F32", f16: "F16", bf16: "Bf16" }[inp.dtype],
        mode: { verifiable: "Verifiable", fast: "Fast" }[inp.mode] } }
      : { Matmul: { m: inp.m, n: inp.n, k: inp.k } };
    const kernel = { "matmul-q8_0": "MatmulQ8_0", "matmul-q4_0": "MatmulQ4_0", attention: "Attention" }[inp.kernel];
    return { network: inp.network, subnet: inp.subnet, epoch: inp.epoch, kernel, kernel_version: 1, params,
      weights_digest: weightsDigest, input_seed: inp.seed };
  };
  /** A seeded task (mycel task new): validated first, then its weights digest. */
  const derive = (inp) => {
    const empty = hex(mycel.weightsDigest(new Uint8Array(0)));
    mycel.encodeTask(taskJson(inp, empty)); // validates the parameters before any weights
    let digest = empty;
    if (inp.kernel !== "attention") {
      const seed = sha256(concat(WEIGHTS_TAG, unhex(inp.seed)));
      digest = hex(mycel.weightsDigest(mycel.generateWeights(seed, inp.kernel.slice(7), inp.n, inp.k)));
    }
    return mycel.encodeTask(taskJson(inp, digest));
  };
  const streamTask = (seed, i) => {
    const le = new Uint8Array(8);
    new DataView(le.buffer).setBigUint64(0, BigInt(i), true);
    const s = sha256(concat(STREAM_TAG, new Uint8Array([0]), seed, le));
    const scope = { network: hex(new Uint8Array(32)), subnet: 1, epoch: 0, seed: hex(s) };
    const kind = s[0] % 3;
    if (kind < 2) {
      return derive({ ...scope, kernel: kind === 0 ? "matmul-q8_0" : "matmul-q4_0", m: 1 + (s[1] % 4),
        n: 1 + (s[2] % 32), k: 32 * (1 + (s[3] % 4)) });
    }
    const kv = 1 + (s[1] % 2), q = 1 + (s[3] % 4);
    return derive({ ...scope, kernel: "attention", heads: kv * (1 + (s[2] % 2)), kvHeads: kv, qLen: q,
      kvLen: q + (s[4] % 5), headDim: 64, causal: s[5] % 2 === 1, dtype: ["f32", "f16", "bf16"][s[6] % 3],
      mode: "verifiable" });
  };
  const commit = (shape, y) => hex(mycel.tensorCommitment("f32", shape, new Uint8Array(y.buffer, y.byteOffset, y.byteLength)));
  const result = (r) => ({ uid: r.uid, verified: r.verified, mismatched: r.mismatched, unchecked: r.unchecked,
    computeUnits: r.computeUnits, latencyMs: r.latencyMs });
  const bytesFields = (o, keys) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, keys.includes(k) ? unhex(v) : v]));

  const areas = {
    wire: {
      decode: (inp) => {
        const r = mycel.decodeId(unhex(inp.envelope), inp.expect ?? undefined);
        return { kind: r.kind, id: hex(r.id) };
      },
    },
    signatures: {
      verify: (inp) => {
        const f = mycel.signatureFailures([unhex(inp.pk)], [unhex(inp.msg)], [unhex(inp.sig)]);
        if (f.length) throw new Refused(f[0].code);
        return {};
      },
      verify_batch: (inp) => {
        const f = new Set(mycel.signatureFailures(inp.items.map((i) => unhex(i.pk)), inp.items.map((i) => unhex(i.msg)),
          inp.items.map((i) => unhex(i.sig))).map((x) => x.index));
        return { valid: inp.items.map((_, i) => !f.has(i)) };
      },
      sign: (inp) => {
        const k = mycel.Keypair.fromSeed(unhex(inp.seed));
        return { pk: hex(k.hotkey), sig: hex(k.sign(unhex(inp.msg))) };
      },
    },
    receipts: {
      verify: (inp) => ({ id: hex(inp.kind === "receipt" ? mycel.verifyReceipt(unhex(inp.envelope)) : mycel.verifyVerdict(unhex(inp.envelope))) }),
      check_task: (inp) => { mycel.checkReceiptTask(unhex(inp.receipt), unhex(inp.task)); return {}; },
      check_verdict: (inp) => { mycel.checkVerdictReceipt(unhex(inp.verdict), unhex(inp.receipt)); return {}; },
      verify_batch: (inp) => {
        const r = mycel.verifyReceiptBatch(unhex(inp.batch));
        return { root: hex(r.root), results: r.receipts.map((x) => (x.valid ? null : x.code)) };
      },
      credit: (inp) => ({
        results: mycel.creditReceipts(inp.steps.map((s) => unhex(s.receipt)),
          inp.steps.map((s) => bytesFields(s, ["network", "assigner", "miner", "taskDigest"]))),
      }),
    },
    merkle: {
      root: (inp) => ({ root: hex(mycel.merkleRoot(inp.leaves.map(unhex))) }),
      proof: (inp) => {
        const p = mycel.merkleProof(inp.leaves.map(unhex), inp.index);
        return { index: p.index, treeSize: p.treeSize, path: p.path.map(hex) };
      },
      verify: (inp) => {
        const ok = mycel.verifyMerkleProof(unhex(inp.leaf), { index: inp.index, treeSize: inp.treeSize, path: inp.path.map(unhex) }, unhex(inp.root));
        if (!ok) throw new Refused("merkle.root_mismatch"); // the package answers false for a well-formed proof that does not lead to the root
        return {};
      },
    },
    commitments: {
      tensor: (inp) => ({ commitment: hex(mycel.tensorCommitment(inp.dtype, inp.shape, unhex(inp.data))) }),
      weights_digest: (inp) => ({ digest: hex(mycel.weightsDigest(unhex(inp.weights))) }),
    },
    tasks: {
      derive: (inp) => {
        const t = derive(inp);
        const d = mycel.decodeMessage(t).message;
        return { task: hex(t), digest: hex(mycel.taskDigest(t)), computeUnits: big(mycel.taskComputeUnits(t)), weightsDigest: d.weights_digest };
      },
      execute: (inp) => {
        const r = mycel.executeTask(unhex(inp.task), {});
        return { commitment: hex(r.commitment), tileRoot: hex(r.tileRoot) };
      },
    },
    kernels: {
      quantize: (inp) => ({ blocks: hex(mycel.quantize(inp.format, floats(inp.values), inp.k)) }),
      matmul: (inp) => {
        const y = mycel.matmul(floats(inp.x), inp.m, inp.format, unhex(inp.w), inp.k);
        return { commitment: commit([inp.m, y.length / inp.m], y) };
      },
      attention: (inp) => {
        const y = mycel.attention(floats(inp.q), floats(inp.k), floats(inp.v), { nHeads: inp.nHeads, nKvHeads: inp.nKvHeads,
          qLen: inp.qLen, kvLen: inp.kvLen, headDim: inp.headDim, causal: inp.causal });
        return { commitment: commit([inp.nHeads, inp.qLen, inp.headDim], y) };
      },
      accumulate: (inp) => {
        const seed = unhex(inp.seed);
        const n = Number(inp.count);
        const all = new Uint8Array(64 * n);
        for (let i = 0; i < n; i++) {
          const r = mycel.executeTask(streamTask(seed, i), {});
          all.set(r.commitment, 64 * i);
          all.set(r.tileRoot, 64 * i + 32);
        }
        return { digest: hex(sha256(all)) };
      },
    },
    scoring: {
      score: (inp) => ({ score: big(mycel.score(result(inp), inp.latencyTargetMs)) }),
      weights: (inp) => ({ weights: mycel.weightsFromScores(inp.scores) }),
      pay: (inp) => {
        const scores = inp.results.map((r) => [r.uid, inp.banned.includes(r.uid) ? 0 : big(mycel.score(result(r), inp.latencyTargetMs))]);
        return { scores, weights: mycel.weightsFromScores(scores) };
      },
      commitment: (inp) => ({ commitment: hex(mycel.weightsCommitment(bytesFields(inp, ["network", "hotkey", "salt"]))) }),
      reveal: (inp) => {
        mycel.verifyReveal(bytesFields(inp.commit, ["network", "hotkey", "commitment"]), bytesFields(inp.reveal, ["network", "hotkey", "salt"]));
        return {};
      },
    },
    emission: {
      epoch: (inp) => parseBig(mycel.yumaEpochJson(inp.inputJson)),
      max_upscale: (inp) => ({ values: Array.from(mycel.maxUpscale(inp.values)) }),
    },
    sampling: {
      secret_commitment: (inp) => ({ commitment: hex(mycel.sampleSecretCommitment(unhex(inp.secret))) }),
      seed: (inp) => ({ seed: hex(mycel.sampleSeed(unhex(inp.beacon), unhex(inp.root), unhex(inp.validator), unhex(inp.secret))) }),
      sample: (inp, params) => ({
        picks: mycel.sample(unhex(inp.seed), (inp.ids ?? params.ids).map(unhex), inp.list, Number(inp.ratePpm) / 1e6, inp.min),
      }),
    },
    fraud: {
      check: (inp) => {
        const r = mycel.checkFraudProof(inp.proof);
        if (!r.holds) throw new Refused(r.code);
        return { recomputed: hex(r.recomputed), batchRoot: r.batchRoot ? hex(r.batchRoot) : null };
      },
    },
  };

  return function handle(req) {
    try {
      const fn = areas[req.area]?.[req.op];
      if (!fn) throw new Error(`no operation ${req.area}/${req.op}`);
      return { tcId: req.tcId, result: "valid", output: fn(req.input, req.params ?? {}) };
    } catch (e) {
      if (e instanceof Refused || (e && e.name === "MycelError" && typeof e.code === "string")) {
        return { tcId: req.tcId, result: "invalid", error: e.code };
      }
      throw e;
    }
  };
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** Why an answer differs from the case's expectation, or null when it passes. */
export function judge(c, got) {
  if (got.result !== c.result) return `${got.result} (${got.error ?? ""}) but the case is ${c.result} (${c.error ?? ""})`;
  if (c.result === "valid" && !deepEqual(got.output, c.output)) return `output ${JSON.stringify(got.output).slice(0, 200)} differs`;
  if (c.result === "invalid" && got.error !== c.error) return `error ${got.error} differs from ${c.error}`;
  return null;
}

/** Runs one vector file; `{ area, passed, failed: [{ tcId, reason }], line }`. */
export function runFile(doc, handle, { long = false } = {}) {
  let passed = 0;
  const failed = [];
  for (const g of doc.testGroups) {
    for (const c of g.tests) {
      if (c.flags.includes("Long") && !long) continue;
      let why;
      try {
        why = judge(c, handle({ area: doc.area, op: g.op, tcId: c.tcId, params: g.params, input: c.input }));
      } catch (e) {
        why = `threw ${e}`;
      }
      if (why === null) passed += 1;
      else failed.push({ tcId: c.tcId, reason: `${c.comment}: ${why}` });
    }
  }
  return { area: doc.area, passed, failed, line: `${doc.area}.json: ${passed} passed, ${failed.length} failed` };
}

export const AREAS = ["wire", "signatures", "receipts", "merkle", "commitments", "tasks", "kernels", "scoring",
  "emission", "sampling", "fraud"];
