// The validator's work, off the page's thread: load the WASM module, verify receipt batches,
// draw the sample, re-execute sampled tasks, compare commitments, build and check fraud proofs.
// The page (app.js) posts files in and renders the messages posted back.
import init, * as mycel from "../pkg/mycel_wasm.js";

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s) => {
  if (typeof s !== "string" || s.length % 2 || /[^0-9a-fA-F]/.test(s)) throw new Error("not a hex string");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
};
const now = () => performance.now();

/** A file's role: an envelope (.bin) or one of the JSON formats. Throws on anything else. */
function classify(name, bytes) {
  const text = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
  if (text.startsWith("{")) {
    let json;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw Object.assign(new Error(`${name}: not valid JSON (${e.message})`), { code: "file.json" });
    }
    if (json.format === "mycel-validator-inbox/v1") return { kind: "inbox", json };
    if (json.format === "mycel-fraud-proof/v1") return { kind: "fraud", json };
    throw Object.assign(new Error(`${name}: unknown JSON format ${JSON.stringify(json.format)}`), { code: "file.format" });
  }
  let msg;
  try {
    msg = mycel.decodeMessage(bytes);
  } catch (e) {
    throw Object.assign(new Error(`${name}: ${e.message}`), { code: e.code || "file" });
  }
  return { kind: msg.kind, bytes, msg };
}

/** Sampling: receipt i is re-executed when SHA-256(root ‖ id) read as a u32 is below
 * rate · 2^32, randomness fixed only once the batch root is. */
async function drawn(root, id, rate) {
  if (rate >= 1) return true;
  const buf = new Uint8Array(64);
  buf.set(root, 0);
  buf.set(id, 32);
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  return new DataView(h.buffer).getUint32(0) < rate * 2 ** 32;
}

/** Checks a fraud proof (mycel-fraud-proof/v1) by its six rules; returns { holds, reason }. */
function checkFraudProof(p) {
  const fail = (rule, reason) => ({ holds: false, reason: `rule ${rule}: ${reason}` });
  let task, receipt, verdict, t, v;
  try {
    task = unhex(p.task); receipt = unhex(p.receipt); verdict = unhex(p.verdict);
    t = mycel.decodeMessage(task); v = mycel.decodeMessage(verdict); mycel.decodeMessage(receipt);
  } catch (e) { return fail(1, e.message); }
  let id;
  try {
    id = mycel.verifyReceipt(receipt);
    mycel.checkReceiptTask(receipt, task);
  } catch (e) { return fail(2, `${e.message} (${e.code})`); }
  try { mycel.verifyVerdict(verdict); } catch (e) { return fail(3, `${e.message} (${e.code})`); }
  const vb = v.message.body;
  if (vb.receipt_id !== hex(id)) return fail(3, "the verdict names another receipt");
  if (vb.outcome !== "Mismatch") return fail(3, `the verdict's outcome is ${vb.outcome}`);
  if (p.batch) {
    const proof = { index: p.batch.proof.index, treeSize: p.batch.proof.tree_size, path: p.batch.proof.path.map(unhex) };
    if (!mycel.verifyMerkleProof(id, proof, unhex(p.batch.root))) return fail(4, "the receipt is not under the batch root");
  }
  const opts = {};
  if (p.weights) {
    const w = mycel.generateWeights(unhex(p.weights.seed), p.weights.format, p.weights.rows, p.weights.cols);
    if (hex(mycel.weightsDigest(w)) !== t.message.weights_digest) return fail(5, "the weights do not regenerate to the task's digest");
    opts.weights = w;
  }
  const out = mycel.executeTask(task, opts);
  const mine = hex(out.commitment);
  const claimed = mycel.decodeMessage(receipt).message.body.output_commitment;
  if (mine === claimed) return fail(6, "re-execution gives the receipt's commitment: the miner was right");
  if (mine !== vb.recomputed_commitment) return fail(6, "re-execution does not give the verdict's commitment");
  return { holds: true, reason: "re-execution differs from the miner's commitment and equals the verdict's" };
}

async function validate(files, rate) {
  const t0 = now();
  const tasks = new Map(); // task digest hex -> task bytes
  const weights = new Map(); // weights digest hex -> generator source
  const batches = [];
  const proofs = [];
  const errors = [];
  for (const f of files) {
    try {
      const c = classify(f.name, new Uint8Array(f.bytes));
      if (c.kind === "inbox") {
        const b = unhex(c.json.batch);
        batches.push({ name: f.name, bytes: b, labels: new Map((c.json.miners || []).map((x) => [x.hotkey, x.label])) });
        for (const th of c.json.tasks || []) {
          const tb = unhex(th);
          tasks.set(hex(mycel.taskDigest(tb)), tb);
        }
        for (const w of c.json.weights || []) {
          const bytes = mycel.generateWeights(unhex(w.seed), w.format, w.rows, w.cols);
          weights.set(hex(mycel.weightsDigest(bytes)), { ...w, bytes });
        }
      } else if (c.kind === "fraud") {
        proofs.push({ name: f.name, json: c.json });
      } else if (c.kind === "receipt-batch") {
        batches.push({ name: f.name, bytes: c.bytes, labels: new Map() });
      } else if (c.kind === "task") {
        tasks.set(hex(mycel.taskDigest(c.bytes)), c.bytes);
      } else {
        throw Object.assign(new Error(`${f.name}: a single ${c.kind} envelope; give a receipt batch`), { code: "file.kind" });
      }
    } catch (e) {
      errors.push({ file: f.name, message: e.message, code: e.code || "file" });
    }
  }
  for (const e of errors) postMessage({ type: "error", ...e });

  const validator = mycel.Keypair.generate();
  let total = proofs.length, done = 0;
  const reports = batches.map((b) => {
    const r = mycel.verifyReceiptBatch(b.bytes);
    total += r.receipts.length;
    return r;
  });
  const stats = { receipts: 0, signatureFailed: 0, sampled: 0, match: 0, mismatch: 0, unchecked: 0, proofsHeld: 0, proofsFailed: 0 };
  for (const [bi, b] of batches.entries()) {
    const report = reports[bi];
    const envelopes = mycel.receiptBatchReceipts(b.bytes);
    for (const r of report.receipts) {
      stats.receipts++;
      const row = {
        batch: b.name, index: r.index, miner: hex(r.miner), label: b.labels.get(hex(r.miner)) || "",
        task: hex(r.taskDigest), signature: r.valid ? "valid" : `invalid (${r.code})`, signatureOk: r.valid,
        execution: "", verdict: "",
      };
      if (!r.valid) {
        stats.signatureFailed++;
        row.verdict = "rejected: bad signature";
      } else if (!(await drawn(report.root, r.id, rate))) {
        stats.unchecked++;
        row.execution = "not sampled"; row.verdict = "unchecked";
      } else {
        const task = tasks.get(hex(r.taskDigest));
        if (!task) {
          stats.unchecked++;
          row.execution = "task not provided"; row.verdict = "unchecked";
        } else {
          stats.sampled++;
          const te = now();
          try {
            mycel.checkReceiptTask(envelopes[r.index], task);
            const t = mycel.decodeMessage(task).message;
            const w = weights.get(t.weights_digest);
            const out = mycel.executeTask(task, w ? { weights: w.bytes } : {});
            const ms = (now() - te).toFixed(0);
            if (hex(out.commitment) === hex(r.outputCommitment)) {
              stats.match++;
              row.execution = `match (${ms} ms)`; row.verdict = "pass";
            } else {
              stats.mismatch++;
              row.execution = `mismatch (${ms} ms)`; row.verdict = "caught: fraud proof";
              const verdict = mycel.signVerdict({
                validator: hex(validator.hotkey), receipt_id: hex(r.id), outcome: "Mismatch",
                recomputed_commitment: hex(out.commitment),
              }, validator);
              const proof = mycel.receiptBatchProof(b.bytes, r.index);
              const fp = {
                format: "mycel-fraud-proof/v1", task: hex(task), receipt: hex(envelopes[r.index]), verdict: hex(verdict),
                weights: w ? { generator: "mycel-kernels/generate_weights", seed: w.seed, format: w.format, rows: w.rows, cols: w.cols } : null,
                batch: { root: hex(report.root), proof: { index: proof.index, tree_size: proof.treeSize, path: proof.path.map(hex) } },
                note: "made by the mycel browser validator",
              };
              const check = checkFraudProof(fp);
              postMessage({ type: "fraud", name: `receipt ${r.index} of ${b.name}`, proof: fp, check, made: true });
            }
          } catch (e) {
            stats.mismatch++;
            row.execution = `refused: ${e.message} (${e.code})`; row.verdict = "caught: invalid for its task";
          }
        }
      }
      postMessage({ type: "receipt", row });
      postMessage({ type: "progress", done: ++done, total });
    }
  }
  for (const p of proofs) {
    const check = checkFraudProof(p.json);
    check.holds ? stats.proofsHeld++ : stats.proofsFailed++;
    postMessage({ type: "fraud", name: p.name, proof: p.json, check, made: false });
    postMessage({ type: "progress", done: ++done, total });
  }
  postMessage({ type: "done", stats, errors: errors.length, ms: now() - t0 });
}

let ready = init().then(() => {
  postMessage({ type: "ready", kernel: mycel.matmulKernel(), version: mycel.version() });
}).catch((e) => postMessage({ type: "error", file: "", message: `cannot load the WASM module: ${e.message}`, code: "load" }));

onmessage = async (e) => {
  await ready;
  try {
    await validate(e.data.files, e.data.rate);
  } catch (err) {
    postMessage({ type: "error", file: "", message: err.message, code: err.code || "internal" });
    postMessage({ type: "done", stats: null, errors: 1, ms: 0 });
  }
};
