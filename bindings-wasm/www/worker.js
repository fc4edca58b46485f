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
    if (json.format === "mycel-fraud-proof/v1") return { kind: "fraud", json, text: new TextDecoder().decode(bytes) };
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
        batches.push({
          name: f.name, bytes: b, beacon: c.json.beacon ? unhex(c.json.beacon) : new Uint8Array(32),
          labels: new Map((c.json.miners || []).map((x) => [x.hotkey, x.label])),
        });
        for (const th of c.json.tasks || []) {
          const tb = unhex(th);
          tasks.set(hex(mycel.taskDigest(tb)), tb);
        }
        for (const w of c.json.weights || []) {
          const bytes = mycel.generateWeights(unhex(w.seed), w.format, w.rows, w.cols);
          weights.set(hex(mycel.weightsDigest(bytes)), { ...w, bytes });
        }
      } else if (c.kind === "fraud") {
        proofs.push({ name: f.name, json: c.json, text: c.text });
      } else if (c.kind === "receipt-batch") {
        batches.push({ name: f.name, bytes: c.bytes, beacon: new Uint8Array(32), labels: new Map() });
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

  // This tab's validator key: fresh randomness every run (it signs verdicts and proofs).
  const validator = mycel.Validator.fromSeed(crypto.getRandomValues(new Uint8Array(32)));
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
    // The spot-check sample (mycel-node's rule): per miner, drawn from a seed fixed only once
    // the batch root is, at least one receipt per miner when the rate is above zero.
    const ids = report.receipts.map((r) => r.id);
    // The secret would be committed before receipts arrive; this page draws it per batch.
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const seed = mycel.sampleSeed(b.beacon, report.root, validator.hotkey, secret);
    const byMiner = new Map();
    for (const r of report.receipts) {
      if (!r.valid) continue;
      const k = hex(r.miner);
      byMiner.set(k, [...(byMiner.get(k) || []), r.index]);
    }
    const picked = new Set();
    for (const list of byMiner.values()) {
      for (const i of mycel.sample(seed, ids, list, rate, rate > 0 ? 1 : 0)) picked.add(i);
    }
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
      } else if (!picked.has(r.index)) {
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
            const verdict = validator.judge(envelopes[r.index], out.commitment, out.tileRoot);
            if (verdict === null) {
              stats.mismatch++;
              row.execution = `tile root mismatch (${ms} ms)`; row.verdict = "caught: no proof (tile root)";
            } else if (mycel.decodeMessage(verdict).message.body.outcome === "Match") {
              stats.match++;
              row.execution = `match (${ms} ms)`; row.verdict = "pass";
            } else {
              stats.mismatch++;
              row.execution = `mismatch (${ms} ms)`; row.verdict = "caught: fraud proof";
              const src = w ? { seed: w.seed, format: w.format, rows: w.rows, cols: w.cols } : null;
              const text = validator.fraudProof(b.bytes, r.index, task, verdict, src, "made by the mycel browser validator");
              const check = mycel.checkFraudProof(text);
              check.holds ? stats.proofsHeld++ : stats.proofsFailed++;
              postMessage({ type: "fraud", name: `receipt ${r.index} of ${b.name}`, proof: JSON.parse(text), check, made: true });
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
    const check = mycel.checkFraudProof(p.text);
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
