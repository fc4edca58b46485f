// Cross-host checks: the WASM package and the Rust CLI must agree byte for byte on tasks,
// commitments, receipts and the Yuma epoch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { mycel, cli, cliOk, tmp, hex, unhex, bytes32, matmulTask, attentionTask, root } from "./helpers.mjs";

/** Runs `mycel task run` on a task envelope; returns { commitment, tileRoot } as hex. */
function cliRun(taskBytes, extra = []) {
  const dir = tmp();
  const f = join(dir, "task.bin");
  writeFileSync(f, taskBytes);
  const r = cli(["task", "run", f, ...extra]);
  assert.equal(r.status, 0, r.stderr);
  const tile = /tile root ([0-9a-f]{64})/.exec(r.stderr);
  assert.ok(tile, r.stderr);
  return { commitment: r.stdout.trim(), tileRoot: tile[1] };
}

const matmulCases = [
  { kernel: "MatmulQ8_0", format: "q8_0", m: 3, n: 37, k: 96 },
  { kernel: "MatmulQ8_0", format: "q8_0", m: 16, n: 64, k: 256 },
  { kernel: "MatmulQ4_0", format: "q4_0", m: 5, n: 29, k: 160 },
  { kernel: "MatmulQ4_0", format: "q4_0", m: 1, n: 300, k: 512 },
];

for (const c of matmulCases) {
  test(`matmul ${c.format} ${c.m}x${c.n}x${c.k}: WASM commitment and tile root equal mycel task run`, () => {
    const wseed = bytes32(c.m + 40);
    const weights = mycel.generateWeights(wseed, c.format, c.n, c.k);
    const task = mycel.encodeTask(matmulTask({
      kernel: c.kernel, m: c.m, n: c.n, k: c.k,
      weightsDigest: mycel.weightsDigest(weights), seed: bytes32(c.n & 0xff),
    }));
    const native = cliRun(task, ["--weights-seed", hex(wseed)]);
    const auto = mycel.executeTask(task, { weightsSeed: wseed });
    const scalar = mycel.executeTask(task, { weights, backend: "scalar" });
    assert.equal(hex(auto.commitment), native.commitment);
    assert.equal(hex(auto.tileRoot), native.tileRoot);
    assert.equal(hex(scalar.commitment), native.commitment);
    assert.deepEqual(Array.from(auto.shape), [c.m, c.n]);
    // The commitment is the tensor commitment of the returned output.
    const out = new Uint8Array(auto.output.buffer, auto.output.byteOffset, auto.output.byteLength);
    assert.equal(hex(mycel.tensorCommitment("f32", [c.m, c.n], out)), native.commitment);
  });
}

const attentionCases = [
  { nHeads: 4, nKvHeads: 2, qLen: 9, kvLen: 70, headDim: 64, causal: true, dtype: "F32" },
  { nHeads: 4, nKvHeads: 1, qLen: 3, kvLen: 130, headDim: 128, causal: false, dtype: "F16" },
  { nHeads: 2, nKvHeads: 2, qLen: 5, kvLen: 5, headDim: 64, causal: true, dtype: "Bf16" },
];

for (const c of attentionCases) {
  test(`attention ${c.dtype} heads ${c.nHeads}/${c.nKvHeads} causal=${c.causal}: WASM equals mycel task run`, () => {
    const task = mycel.encodeTask(attentionTask({ ...c, seed: bytes32(c.kvLen & 0xff) }));
    const native = cliRun(task);
    const r = mycel.executeTask(task);
    assert.equal(hex(r.commitment), native.commitment);
    assert.equal(hex(r.tileRoot), native.tileRoot);
    assert.deepEqual(Array.from(r.shape), [c.nHeads, c.qLen, c.headDim]);
    // Attention takes no weights: given ones are refused (as by the CLI and Python), not ignored.
    for (const o of [{ weightsSeed: bytes32(1) }, { weights: new Uint8Array(34) }]) {
      assert.throws(() => mycel.executeTask(task, o), (e) => e.code === "node.invalid_argument" && /takes no weights/.test(e.message));
    }
  });
}

const taskNewCases = [
  ["matmul-q8_0", ["--m", "3", "--n", "45", "--k", "128"]],
  ["matmul-q4_0", ["--m", "2", "--n", "70", "--k", "96"]],
  ["attention", ["--heads", "8", "--kv-heads", "2", "--q-len", "7", "--kv-len", "100", "--head-dim", "64", "--causal"]],
  ["attention", ["--heads", "4", "--kv-heads", "4", "--q-len", "3", "--kv-len", "65", "--head-dim", "128", "--dtype", "bf16"]],
];

for (const [kernel, args] of taskNewCases) {
  test(`mycel task new --kernel ${kernel} ${args.join(" ")}: executeTask(task) equals mycel task run`, () => {
    const dir = tmp();
    const f = join(dir, "task.bin");
    cliOk(["task", "new", "--kernel", kernel, "--seed", "5a".repeat(32), "--out", f, ...args]);
    const task = new Uint8Array(readFileSync(f));
    const native = cliRun(task);
    for (const backend of ["auto", "scalar"]) {
      const r = mycel.executeTask(task, { backend });
      assert.equal(hex(r.commitment), native.commitment, backend);
      assert.equal(hex(r.tileRoot), native.tileRoot, backend);
    }
  });
}

test("fraud proofs: made in WASM, verified by mycel fraud verify; the CLI's verdicts equal checkFraudProof", () => {
  const dir = tmp();
  const f = join(dir, "task.bin");
  cliOk(["task", "new", "--kernel", "attention", "--seed", "6b".repeat(32), "--out", f, "--heads", "2", "--kv-heads", "1", "--q-len", "3", "--kv-len", "40", "--causal"]);
  const task = new Uint8Array(readFileSync(f));
  const truth = mycel.executeTask(task);
  const miner = mycel.Keypair.fromSeed(bytes32(21));
  const validator = mycel.Validator.fromSeed(bytes32(22));
  const body = (commitment) => ({
    network: mycel.decodeMessage(task).message.network, subnet: 0, epoch: 0,
    task_digest: hex(mycel.taskDigest(task)), assigner: hex(validator.hotkey), miner: hex(miner.hotkey),
    output_commitment: hex(commitment), output_tile_root: hex(truth.tileRoot),
    compute_units: Number(mycel.taskComputeUnits(task)), started_at_ms: 0, finished_at_ms: 1, nonce: 1, backend: "lazy",
  });
  const t = mycel.decodeMessage(task).message;
  const honest = mycel.signReceipt({ ...body(truth.commitment), subnet: t.subnet, epoch: t.epoch }, miner);
  const lazy = mycel.signReceipt({ ...body(bytes32(0xee)), subnet: t.subnet, epoch: t.epoch, nonce: 2 }, miner);
  const batch = mycel.encodeReceiptBatch([honest, lazy]);
  const ids = mycel.verifyReceiptBatch(batch).receipts.map((r) => r.id);
  // Both receipts sampled at rate 1; the lazy one is a mismatch.
  const seed = mycel.sampleSeed(bytes32(1), mycel.verifyReceiptBatch(batch).root, validator.hotkey, bytes32(5));
  assert.deepEqual(mycel.sample(seed, ids, [0, 1], 1, 1).sort(), [0, 1]);
  assert.equal(mycel.sample(seed, ids, [0, 1], 0, 1).length, 1);
  const vOk = mycel.decodeMessage(validator.judge(honest, truth.commitment, truth.tileRoot));
  assert.equal(vOk.message.body.outcome, "Match");
  const verdict = validator.judge(lazy, truth.commitment, truth.tileRoot);
  assert.equal(mycel.decodeMessage(verdict).message.body.outcome, "Mismatch");
  const proof = validator.fraudProof(batch, 1, task, verdict, null, "made in WASM");
  const check = mycel.checkFraudProof(proof);
  assert.equal(check.holds, true, check.reason);
  assert.deepEqual(check.recomputed, truth.commitment);
  writeFileSync(join(dir, "proof.json"), proof);
  cliOk(["fraud", "verify", join(dir, "proof.json")]);
  // A proof against the honest receipt does not hold, on either host, for the same rule.
  const bad = JSON.parse(proof);
  bad.receipt = hex(honest);
  const badCheck = mycel.checkFraudProof(JSON.stringify(bad));
  assert.equal(badCheck.holds, false);
  writeFileSync(join(dir, "bad.json"), JSON.stringify(bad));
  const r = cli(["fraud", "verify", join(dir, "bad.json")]);
  assert.notEqual(r.status, 0);
  assert.equal(mycel.checkFraudProof("{}").holds, false);
  assert.equal(mycel.checkFraudProof("{}").code, "fraud.not_a_proof");
});

test("a task encoded in WASM decodes in the CLI to the same JSON, and back", () => {
  const task = mycel.encodeTask(attentionTask({
    nHeads: 8, nKvHeads: 2, qLen: 4, kvLen: 64, headDim: 64, causal: true, seed: bytes32(9),
  }));
  const dir = tmp();
  writeFileSync(join(dir, "t.bin"), task);
  const fromCli = JSON.parse(cliOk(["inspect", join(dir, "t.bin")]));
  const fromWasm = mycel.decodeMessage(task);
  assert.equal(fromWasm.kind, fromCli.kind);
  assert.deepEqual(fromWasm.message, fromCli.message);
  assert.deepEqual(mycel.encodeMessage(fromWasm), task);
});

test("receipts signed by the Rust CLI verify in WASM; a tampered one names the rule", () => {
  const dir = tmp();
  cliOk(["keygen", "--out", join(dir, "miner.key")]);
  const wseed = bytes32(5);
  const weights = mycel.generateWeights(wseed, "q8_0", 16, 64);
  const task = mycel.encodeTask(matmulTask({
    kernel: "MatmulQ8_0", m: 2, n: 16, k: 64, weightsDigest: mycel.weightsDigest(weights), seed: bytes32(6),
  }));
  writeFileSync(join(dir, "task.bin"), task);
  const out = mycel.executeTask(task, { weights });
  const assigner = mycel.Keypair.fromSeed(bytes32(77));
  cliOk(["receipt", "sign", "--key", join(dir, "miner.key"), "--task", join(dir, "task.bin"),
    "--assigner", hex(assigner.hotkey), "--output-commitment", hex(out.commitment),
    "--tile-root", hex(out.tileRoot), "--nonce", "42", "--out", join(dir, "r.bin")]);
  const receipt = new Uint8Array(readFileSync(join(dir, "r.bin")));
  const id = mycel.verifyReceipt(receipt);
  assert.equal(id.length, 32);
  mycel.checkReceiptTask(receipt, task);
  const json = mycel.decodeMessage(receipt);
  assert.equal(json.kind, "receipt");
  assert.equal(json.message.body.output_commitment, hex(out.commitment));

  // Flip one bit of the signature (the envelope's last bytes): the signature rule fails.
  const bad = receipt.slice();
  bad[bad.length - 1] ^= 1;
  assert.throws(() => mycel.verifyReceipt(bad), (e) => e.code.startsWith("signature."));
  const batch = mycel.encodeReceiptBatch([receipt, bad, receipt]);
  const report = mycel.verifyReceiptBatch(batch);
  assert.deepEqual(report.receipts.map((r) => r.valid), [true, false, true]);
  assert.match(report.receipts[1].code, /^signature\./);
  // The CLI names the same failure in the WASM-built batch.
  writeFileSync(join(dir, "batch.bin"), batch);
  const v = cli(["receipt", "verify", join(dir, "batch.bin")]);
  assert.notEqual(v.status, 0);
  assert.match(v.stdout + v.stderr, /1/);
});

test("receipts signed in WASM verify in the Rust CLI", () => {
  const dir = tmp();
  const miner = mycel.Keypair.fromSeed(bytes32(3));
  const task = mycel.encodeTask(attentionTask({
    nHeads: 2, nKvHeads: 1, qLen: 2, kvLen: 8, headDim: 64, causal: false, seed: bytes32(1),
  }));
  const out = mycel.executeTask(task);
  const body = {
    network: "11".repeat(32), subnet: 7, epoch: 3,
    task_digest: hex(mycel.taskDigest(task)),
    assigner: hex(mycel.Keypair.fromSeed(bytes32(4)).hotkey),
    miner: hex(miner.hotkey),
    output_commitment: hex(out.commitment),
    output_tile_root: hex(out.tileRoot),
    compute_units: Number(mycel.taskComputeUnits(task)),
    started_at_ms: 1000, finished_at_ms: 1200, nonce: 9, backend: "wasm-simd128",
  };
  const receipt = mycel.signReceipt(body, miner);
  writeFileSync(join(dir, "r.bin"), receipt);
  writeFileSync(join(dir, "t.bin"), task);
  cliOk(["receipt", "verify", "--task", join(dir, "t.bin"), join(dir, "r.bin")]);
  // Signed by someone else than the receipt's miner: rejected by both hosts.
  // Signing with a key that is not the receipt's miner is refused.
  assert.throws(() => mycel.signReceipt(body, mycel.Keypair.fromSeed(bytes32(8))), (e) => e.code.startsWith("signature."));
  // A receipt altered after signing: rejected by both hosts.
  const forged = receipt.slice();
  forged[forged.length - 70] ^= 1;
  writeFileSync(join(dir, "f.bin"), forged);
  assert.notEqual(cli(["receipt", "verify", join(dir, "f.bin")]).status, 0);
  assert.throws(() => mycel.verifyReceipt(forged), (e) => e.name === "MycelError");
});

test("the Yuma epoch in WASM equals mycel epoch on every example vector", () => {
  const lines = readFileSync(join(root, "protocol", "tests", "vectors", "yuma_examples.jsonl"), "utf8")
    .split("\n").filter((l) => l.trim());
  assert.ok(lines.length > 0);
  // Vectors whose u64 values survive a JS number round trip (the others hold values > 2^53).
  const inputs = lines.map((l) => JSON.stringify(JSON.parse(l).input)).filter((t) => !/e\+|\d{17,}/.test(t));
  assert.ok(inputs.length > 10);
  const native = cliOk(["epoch", "--jsonl"], inputs.join("\n") + "\n").trim().split("\n");
  assert.equal(native.length, inputs.length);
  inputs.forEach((input, i) => {
    assert.equal(mycel.yumaEpochJson(input), native[i], `vector ${i}`);
  });
  // The typed-array form: u64 lists as BigUint64Array, results as BigInt.
  const obj = JSON.parse(inputs[0]);
  obj.stake = BigUint64Array.from(obj.stake.map(BigInt));
  obj.last_update = BigUint64Array.from(obj.last_update.map(BigInt));
  const out = mycel.yumaEpoch(obj);
  const want = JSON.parse(native[0]);
  assert.deepEqual(out.server_emission.map(Number), want.server_emission);
  assert.deepEqual(out.incentive.map(String), want.incentive.map(String));
});
