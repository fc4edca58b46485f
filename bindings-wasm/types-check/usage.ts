// A typed usage example of the web package (pkg/), checked by `tsc --noEmit` against the
// generated .d.ts: if an export's name or type changes, this stops compiling.
import init, {
  Keypair,
  TaskResult,
  decodeMessage,
  encodeTask,
  executeTask,
  generateWeights,
  matmul,
  attention,
  merkleProof,
  merkleRoot,
  quantize,
  verifyMerkleProof,
  verifyReceiptBatch,
  verifySignature,
  verifySignatures,
  signatureFailures,
  weightsDigest,
  yumaEpoch,
  type InclusionProof,
  type ReceiptBatchReport,
  type MycelError,
} from "../pkg/mycel_wasm.js";

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export async function example(batch: Uint8Array): Promise<string[]> {
  await init();
  const key: Keypair = Keypair.fromSeed(new Uint8Array(32).fill(1));
  const msg = new TextEncoder().encode("hi");
  const sig: Uint8Array = key.sign(msg);
  const ok: boolean = verifySignature(key.hotkey, msg, sig);
  const many: boolean[] = verifySignatures([key.hotkey], [msg], [sig]);
  const failures = signatureFailures([key.hotkey], [msg], [sig]);
  const firstCode: string | undefined = failures[0]?.code;

  const seed = new Uint8Array(32).fill(2);
  const weights: Uint8Array = generateWeights(seed, "q8_0", 64, 128);
  const task: Uint8Array = encodeTask({
    network: "11".repeat(32), subnet: 1, epoch: 1, kernel: "MatmulQ8_0", kernel_version: 1,
    params: { Matmul: { m: 2, n: 64, k: 128 } },
    weights_digest: hex(weightsDigest(weights)), input_seed: "22".repeat(32),
  });
  const r: TaskResult = executeTask(task, { weightsSeed: seed });
  const commitment: Uint8Array = r.commitment;
  const tileRoot: Uint8Array = r.tileRoot;
  const kind: string = decodeMessage(task).kind;

  const report: ReceiptBatchReport = verifyReceiptBatch(batch);
  const bad: string[] = report.receipts.filter((x) => !x.valid).map((x) => `${x.index}: ${x.code}`);

  const leaves = [commitment, tileRoot];
  const proof: InclusionProof = merkleProof(leaves, 1);
  const included: boolean = verifyMerkleProof(tileRoot, proof, merkleRoot(leaves));

  const x = new Float32Array(2 * 128);
  const y: Float32Array = matmul(x, 2, "q8_0", weights, 128, "auto");
  const q8: Uint8Array = quantize("q8_0", x, 128);
  const o: Float32Array = attention(new Float32Array(64), new Float32Array(64), new Float32Array(64),
    { nHeads: 1, nKvHeads: 1, qLen: 1, kvLen: 1, headDim: 64, causal: true });
  const out = yumaEpoch({
    n: 1, current_block: 10, tempo: 360, activity_cutoff: 5000, last_update: [9],
    block_at_registration: [1], stake: BigUint64Array.of(1000n), validator_permit: [true],
    max_allowed_validators: 64, weights: [[[0, 65535]]], bonds: [[]], kappa: 32767,
    bonds_penalty: 65535, bonds_moving_average: 900000, yuma3: false, liquid_alpha: false,
    alpha_low: 45875, alpha_high: 58982, alpha_sigmoid_steepness: 1000, rao_emission: 1000000000n,
  });
  const incentive: bigint[] = out.incentive;

  try {
    decodeMessage(new Uint8Array([1, 2, 3]));
  } catch (e) {
    const err = e as MycelError;
    bad.push(err.code);
  }
  return [String(ok), String(many), String(firstCode), String(included), String(y.length), String(q8.length),
    String(o.length), String(incentive), kind, ...bad];
}
