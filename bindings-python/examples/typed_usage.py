"""A typed tour of the mycel wheel, checked with `mypy --strict` (scripts/test) and run as a
smoke test: a validator issues a task, a miner executes and signs it, the validator
batch-verifies, re-executes and signs a verdict; then one Yuma epoch pays them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

import mycel


def miner_answers(task: mycel.TaskSpec, miner: mycel.Keypair, assigner: bytes) -> mycel.SignedReceipt:
    result: mycel.TaskResult = mycel.execute_task(task, backend="auto")
    receipt = mycel.WorkReceipt.for_task(
        task,
        miner=miner.hotkey,
        assigner=assigner,
        output_commitment=result.commitment,
        output_tile_root=result.tile_root,
        started_at_ms=1_000,
        finished_at_ms=1_250,
        nonce=1,
    )
    return receipt.sign(miner)


def validator_checks(
    task: mycel.TaskSpec, receipts: list[mycel.SignedReceipt], validator: mycel.Keypair
) -> list[mycel.SignedVerdict]:
    batch = mycel.ReceiptBatch(
        network=task.network, subnet=task.subnet, epoch=task.epoch, receipts=receipts
    )
    root: bytes = batch.root
    failures: list[tuple[int, str]] = mycel.verify_batch(receipts)
    assert failures == []
    recomputed = mycel.execute_task(task.encode(), "scalar").commitment
    verdicts = []
    for i, r in enumerate(receipts):
        batch.proof(i).verify(r.id, root)
        outcome = "match" if r.body.output_commitment == recomputed else "mismatch"
        v = mycel.Verdict(
            validator=validator.hotkey,
            receipt_id=r.id,
            outcome=outcome,
            recomputed_commitment=recomputed,
        )
        verdicts.append(v.sign(validator))
    return verdicts


def kernels() -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 64)).astype(np.float32)
    w: npt.NDArray[np.uint8] = mycel.quantize_q8_0(rng.standard_normal((8, 64)).astype(np.float32))
    y: npt.NDArray[np.float32] = mycel.matmul(x, w, "q8_0")
    q = rng.standard_normal((2, 4, 64)).astype(np.float32)
    kv = rng.standard_normal((1, 4, 64)).astype(np.float32)
    o = mycel.attention(q, kv, kv, causal=True, mode="verifiable")
    assert o.shape == (2, 4, 64) and y.shape == (4, 8)
    return y


def epoch() -> mycel.EpochResult:
    n = 3
    return mycel.yuma_epoch(
        stake=np.array([1_000_000_000, 0, 0], dtype=np.uint64),
        weights=np.array([[0, 40_000, 25_535], [0, 0, 0], [0, 0, 0]], dtype=np.uint16),
        bonds=[[], [], []],
        last_update=np.full(n, 999, dtype=np.uint64),
        block_at_registration=np.ones(n, dtype=np.uint64),
        validator_permit=np.array([True, False, False]),
        current_block=1000,
        tempo=360,
        activity_cutoff=5000,
        max_allowed_validators=64,
        kappa=32767,
        bonds_penalty=65535,
        bonds_moving_average=900_000,
        yuma3=True,
        liquid_alpha=False,
        alpha_low=45875,
        alpha_high=58982,
        alpha_sigmoid_steepness=1000,
        rao_emission=1_000_000_000,
    )


def roles() -> None:
    """The same flow with mycel-node's roles: a pool of public weights, issued tasks, a miner
    that executes and signs, a validator that commits, samples, re-executes and judges."""
    pool = mycel.WeightPool(7)
    validator = mycel.Validator(mycel.Keypair.generate())
    miner = mycel.Miner(mycel.Keypair.generate())
    network, beacon = bytes(32), bytes(range(32))
    tasks = [
        validator.issue_task(pool, network=network, subnet=1, epoch=0, beacon=beacon,
                             miner=miner.hotkey, index=i)
        for i in range(2)
    ]
    receipts = [miner.run(t, pool.weights_for(t), assigner=validator.hotkey) for t in tasks]
    batch: mycel.CommittedBatch = validator.commit_batch(receipts, network=network, subnet=1, epoch=0)
    assert validator.verify_batch(batch) == []
    secret = bytes(32)
    seed = validator.sample_seed(beacon, batch, secret)
    for i in mycel.Validator.sample(seed, batch, [0, 1], rate=1.0):
        truth: tuple[bytes, bytes] = validator.reexecute(tasks[i], pool.weights_for(tasks[i]))
        judgement: mycel.Judgement = validator.judge(receipts[i], truth)
        verdict = judgement.verdict
        assert verdict is not None and verdict.body.outcome == "match"
    task = mycel.new_task("matmul-q4_0", bytes(range(32)), m=2, n=32, k=64)
    assert mycel.execute_task(task).output.shape == (2, 32)
    sim: mycel.Simulation = mycel.simulate({"epochs": 1}, seed=1)
    for _name, proof in sim.fraud_proofs:
        confirmed: mycel.ConfirmedFraud = proof.check()
        assert confirmed.recomputed != confirmed.receipt.body.output_commitment


def main() -> None:
    validator, miner = mycel.Keypair.generate(), mycel.Keypair.from_seed(bytes(range(32)))
    task = mycel.TaskSpec(
        "attention", n_heads=2, n_kv_heads=1, q_len=8, kv_len=8, head_dim=64,
        causal=True, input_seed=bytes(32), epoch=1, subnet=1,
    )
    receipt = miner_answers(task, miner, validator.hotkey)
    verdicts = validator_checks(task, [receipt], validator)
    assert [v.body.outcome for v in verdicts] == ["match"]
    kernels()
    roles()
    result = epoch()
    incentive: npt.NDArray[np.int64] = result.incentive
    print("mycel", mycel.__version__, "incentive (Q32):", incentive.tolist())
    try:
        mycel.TaskSpec.decode(b"\x01")
    except mycel.DecodeError as e:
        code: str = e.code
        assert code == "decode.missing_header"


if __name__ == "__main__":
    main()
