// The raw signature rule: all 151 Wycheproof ed25519 vectors give the Rust verdicts (what
// `mycel sig verify` prints), one by one and as a batch, and the batch names each failure.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { mycel, cliOk, cli, unhex, root, throwsCode, bytes32 } from "./helpers.mjs";

const wycheproof = JSON.parse(readFileSync(
  join(root, "protocol", "tests", "vectors", "wycheproof_ed25519_test.json"), "utf8"));
const cases = wycheproof.testGroups.flatMap((g) =>
  g.tests.map((t) => ({ tcId: t.tcId, pk: g.publicKey.pk, msg: t.msg, sig: t.sig, result: t.result })));

/** The Rust verdicts: `mycel sig verify` over the same JSON lines. */
function rustVerdicts(batch) {
  const input = cases.map((c) => JSON.stringify({ pk: c.pk, msg: c.msg, sig: c.sig })).join("\n") + "\n";
  const r = cli(["sig", "verify", ...(batch ? ["--batch"] : [])], input);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, cases.length, r.stderr);
  return lines.map((l) => l === "valid");
}

test("all 151 Wycheproof ed25519 vectors: verifySignature gives the Rust verdict", () => {
  assert.equal(cases.length, 151);
  const rust = rustVerdicts(false);
  const wasm = cases.map((c) => mycel.verifySignature(unhex(c.pk), unhex(c.msg), unhex(c.sig)));
  const differ = cases.filter((c, i) => rust[i] !== wasm[i]).map((c) => c.tcId);
  assert.deepEqual(differ, [], `tcIds where WASM and Rust disagree: ${differ}`);
  // And Wycheproof's own labels, where it has a firm one.
  cases.forEach((c, i) => {
    if (c.result === "valid") assert.equal(wasm[i], true, `tcId ${c.tcId}`);
    if (c.result === "invalid") assert.equal(wasm[i], false, `tcId ${c.tcId}`);
  });
  assert.ok(wasm.some((v) => v) && wasm.some((v) => !v));
});

test("verifySignatures (one batch) gives the same verdicts as mycel sig verify --batch", () => {
  const rust = rustVerdicts(true);
  const wasm = mycel.verifySignatures(
    cases.map((c) => unhex(c.pk)), cases.map((c) => unhex(c.msg)), cases.map((c) => unhex(c.sig)));
  assert.deepEqual(wasm, rust);
  const failures = mycel.signatureFailures(
    cases.map((c) => unhex(c.pk)), cases.map((c) => unhex(c.msg)), cases.map((c) => unhex(c.sig)));
  assert.deepEqual(failures.map((f) => f.index), rust.flatMap((v, i) => (v ? [] : [i])));
  for (const f of failures) assert.match(f.code, /^signature\./);
});

test("signatures made in WASM verify; wrong lengths are false, wrong types throw", () => {
  const k = mycel.Keypair.fromSeed(bytes32(1));
  const msg = new TextEncoder().encode("hello mycel");
  const sig = k.sign(msg);
  assert.equal(sig.length, 64);
  assert.equal(mycel.verifySignature(k.hotkey, msg, sig), true);
  const other = msg.slice(); other[0] ^= 1;
  assert.equal(mycel.verifySignature(k.hotkey, other, sig), false);
  assert.equal(mycel.verifySignature(k.hotkey.slice(1), msg, sig), false);
  assert.equal(mycel.verifySignature(k.hotkey, msg, sig.slice(0, 63)), false);
  assert.deepEqual(mycel.verifySignatures([k.hotkey, k.hotkey.slice(1)], [msg, msg], [sig, sig]), [true, false]);
  throwsCode(assert, () => mycel.verifySignature("not bytes", msg, sig), "input.type");
  throwsCode(assert, () => mycel.verifySignatures([k.hotkey], [msg], []), "input.length");
  throwsCode(assert, () => mycel.Keypair.fromSeed(new Uint8Array(31)), "input.length");
  // The same seed gives the CLI's key: keygen writes a seed; both sign identically (ed25519 is
  // deterministic), so the CLI's sig verify accepts the WASM signature.
  const line = JSON.stringify({ pk: Buffer.from(k.hotkey).toString("hex"),
    msg: Buffer.from(msg).toString("hex"), sig: Buffer.from(sig).toString("hex") });
  assert.equal(cliOk(["sig", "verify"], line + "\n").trim(), "valid");
  const g = mycel.Keypair.generate();
  assert.notDeepEqual(g.seed(), mycel.Keypair.generate().seed());
});
