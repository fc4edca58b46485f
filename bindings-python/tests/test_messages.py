"""Messages: the spec's worked examples rebuilt and signed in Python, canonical decoding,
`inspect` equal to the CLI's, receipts crossing between Python and the Rust CLI, batches."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import mycel

from conftest import EXAMPLES


def h(s: str) -> bytes:
    return bytes.fromhex(s)


def test_keys_of_the_examples(examples: dict[str, Any]) -> None:
    k = examples["keys"]
    assert mycel.Keypair.from_seed(h(k["miner_seed"])).hotkey == h(k["miner_hotkey"])
    assert mycel.Keypair.from_seed(h(k["validator_seed"])).hotkey == h(k["validator_hotkey"])


def example_task(examples: dict[str, Any]) -> mycel.TaskSpec:
    m = examples["task"]["message"]
    p = m["params"]["Matmul"]
    return mycel.TaskSpec(
        "matmul-q8_0",
        network=h(m["network"]),
        subnet=m["subnet"],
        epoch=m["epoch"],
        weights_digest=h(m["weights_digest"]),
        input_seed=h(m["input_seed"]),
        m=p["m"],
        n=p["n"],
        k=p["k"],
    )


def test_task_example_rebuilt(examples: dict[str, Any]) -> None:
    t = example_task(examples)
    ex = examples["task"]
    assert t.encode() == h(ex["envelope"]) == (EXAMPLES / "task.bin").read_bytes()
    assert t.digest == t.id == h(ex["digest"])
    assert t.compute_units == ex["compute_units"] == 2 * 8 * 64 * 128
    assert mycel.TaskSpec.decode(t.encode()) == t
    assert t.kernel == "matmul-q8_0" and t.params == {"m": 8, "n": 64, "k": 128}
    assert hash(t) == hash(mycel.TaskSpec.decode(t.encode()))


def test_receipt_and_verdict_examples_signed_in_python(examples: dict[str, Any]) -> None:
    k = examples["keys"]
    miner = mycel.Keypair.from_seed(h(k["miner_seed"]))
    validator = mycel.Keypair.from_seed(h(k["validator_seed"]))
    body = examples["receipt"]["message"]["body"]
    r = mycel.WorkReceipt(
        network=h(body["network"]), subnet=body["subnet"], epoch=body["epoch"],
        task_digest=h(body["task_digest"]), assigner=h(body["assigner"]), miner=h(body["miner"]),
        output_commitment=h(body["output_commitment"]), output_tile_root=h(body["output_tile_root"]),
        compute_units=body["compute_units"], started_at_ms=body["started_at_ms"],
        finished_at_ms=body["finished_at_ms"], nonce=body["nonce"], backend=body["backend"],
    )
    assert r.signed_bytes() == h(examples["receipt"]["signed_bytes"])
    sr = r.sign(miner)
    assert sr.encode() == h(examples["receipt"]["envelope"]) == (EXAMPLES / "receipt.bin").read_bytes()
    assert sr.id == h(examples["receipt"]["id"])
    sr.verify()
    assert sr.is_valid() and sr.signer == miner.hotkey and sr.body == r
    sr.check_task(example_task(examples))
    # The same receipt built from the task.
    r2 = mycel.WorkReceipt.for_task(
        example_task(examples), miner=miner.hotkey, assigner=validator.hotkey,
        output_commitment=r.output_commitment, output_tile_root=r.output_tile_root,
        started_at_ms=r.started_at_ms, finished_at_ms=r.finished_at_ms, nonce=1, backend="cpu-scalar",
    )
    assert r2 == r

    vb = examples["verdict"]["message"]["body"]
    v = mycel.Verdict(validator=validator.hotkey, receipt_id=sr.id, outcome="match",
                      recomputed_commitment=h(vb["recomputed_commitment"]))
    sv = v.sign(validator)
    assert sv.encode() == h(examples["verdict"]["envelope"]) == (EXAMPLES / "verdict.bin").read_bytes()
    assert sv.id == h(examples["verdict"]["id"])
    sv.verify()
    sv.check_receipt(sr)
    assert mycel.SignedVerdict.decode(sv.encode()) == sv


def test_wrong_signer_and_inconsistent_verdict(examples: dict[str, Any]) -> None:
    sr = mycel.SignedReceipt.decode((EXAMPLES / "receipt.bin").read_bytes())
    with pytest.raises(mycel.SignatureError) as e:
        sr.body.sign(mycel.Keypair.generate())
    assert e.value.code == "signature.signer_mismatch"
    with pytest.raises(mycel.ReceiptError) as e2:
        mycel.Verdict(validator=bytes(32), receipt_id=sr.id, outcome="match")
    assert e2.value.code == "receipt.verdict_inconsistent"
    v = mycel.Verdict(validator=mycel.Keypair.from_seed(bytes(32)).hotkey, receipt_id=sr.id,
                      outcome="mismatch", recomputed_commitment=sr.body.output_commitment)
    with pytest.raises(mycel.ReceiptError) as e3:
        v.sign(mycel.Keypair.from_seed(bytes(32))).check_receipt(sr)
    assert e3.value.code == "receipt.verdict_inconsistent"
    with pytest.raises(mycel.ReceiptError) as e4:
        example_wrong = mycel.TaskSpec("attention", n_heads=1, n_kv_heads=1, q_len=1, kv_len=1, head_dim=64)
        sr.check_task(example_wrong)
    assert e4.value.code.startswith("receipt.")


def test_tampered_signature_and_batch_failures(examples: dict[str, Any]) -> None:
    sr = mycel.SignedReceipt.decode((EXAMPLES / "receipt.bin").read_bytes())
    bad_sig = bytearray(sr.signature)
    bad_sig[0] ^= 1
    bad = sr.with_signature(bytes(bad_sig))
    assert not bad.is_valid()
    with pytest.raises(mycel.SignatureError) as e:
        bad.verify()
    assert e.value.code.startswith("signature.")
    assert mycel.verify_batch([sr, bad, sr]) == [(1, e.value.code)]
    assert mycel.verify_batch([sr] * 5) == []
    assert mycel.verify_batch([]) == []


def test_receipt_batch_example(examples: dict[str, Any]) -> None:
    data = (EXAMPLES / "receipt-batch.bin").read_bytes()
    b = mycel.ReceiptBatch.decode(data)
    ex = examples["receipt_batch"]
    assert b.encode() == data and len(b) == 3
    assert b.root == h(ex["root"])
    assert [r.id for r in b.receipts] == [h(i) for i in ex["receipt_ids"]]
    for i, (p, rid) in enumerate(zip(ex["proofs"], b.receipts)):
        proof = b.proof(i)
        assert proof.index == p["index"] and proof.tree_size == p["tree_size"]
        assert proof.path == [h(x) for x in p["path"]]
        proof.verify(rid.id, b.root)
        with pytest.raises(mycel.MerkleError) as e:
            proof.verify(b"not the id", b.root)
        assert e.value.code == "merkle.root_mismatch"
    with pytest.raises(mycel.MerkleError) as e2:
        b.proof(3)
    assert e2.value.code == "merkle.index_out_of_range"
    rebuilt = mycel.ReceiptBatch(network=b.receipts[0].body.network, subnet=b.receipts[0].body.subnet,
                                 epoch=b.receipts[0].body.epoch, receipts=b.receipts)
    assert rebuilt.encode() == data
    with pytest.raises(mycel.ReceiptError) as e3:
        mycel.ReceiptBatch(network=bytes(32), subnet=0, epoch=0, receipts=b.receipts)
    assert e3.value.code == "receipt.batch_member_mismatch"


@pytest.mark.parametrize("name", ["task.bin", "receipt.bin", "verdict.bin", "receipt-batch.bin"])
def test_inspect_equals_cli(cli, name: str) -> None:  # type: ignore[no-untyped-def]
    data = (EXAMPLES / name).read_bytes()
    out = cli("inspect", str(EXAMPLES / name)).stdout
    assert mycel.inspect(data) == json.loads(out)


def test_python_receipt_verifies_with_cli_and_tamper_is_caught(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    miner, validator = mycel.Keypair.generate(), mycel.Keypair.generate()
    task = mycel.TaskSpec("attention", n_heads=2, n_kv_heads=1, q_len=4, kv_len=8, head_dim=64,
                          causal=True, input_seed=bytes(range(32)), epoch=3, subnet=7)
    res = mycel.execute_task(task)
    sr = mycel.WorkReceipt.for_task(task, miner=miner.hotkey, assigner=validator.hotkey,
                                    output_commitment=res.commitment, output_tile_root=res.tile_root,
                                    started_at_ms=10, finished_at_ms=20, nonce=9).sign(miner)
    (tmp_path / "r.bin").write_bytes(sr.encode())
    (tmp_path / "t.bin").write_bytes(task.encode())
    cli("receipt", "verify", str(tmp_path / "r.bin"), "--task", str(tmp_path / "t.bin"))
    tampered = bytearray(sr.encode())
    tampered[-1] ^= 0x40
    (tmp_path / "bad.bin").write_bytes(bytes(tampered))
    assert cli("receipt", "verify", str(tmp_path / "bad.bin"), check=False).returncode != 0
    # A batch written by Python, verified by the CLI.
    batch = mycel.ReceiptBatch(network=task.network, subnet=7, epoch=3, receipts=[sr, sr])
    (tmp_path / "b.bin").write_bytes(batch.encode())
    cli("receipt", "verify", str(tmp_path / "b.bin"))


def test_cli_receipt_verifies_in_python(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    task = mycel.TaskSpec("attention", n_heads=1, n_kv_heads=1, q_len=2, kv_len=2, head_dim=64,
                          input_seed=b"\x05" * 32)
    (tmp_path / "t.bin").write_bytes(task.encode())
    cli("keygen", "--out", str(tmp_path / "miner.key"))
    assigner = mycel.Keypair.generate().hotkey
    cli("receipt", "sign", "--key", str(tmp_path / "miner.key"), "--task", str(tmp_path / "t.bin"),
        "--assigner", assigner.hex(), "--output-commitment", "11" * 32, "--tile-root", "22" * 32,
        "--out", str(tmp_path / "r.bin"))
    sr = mycel.SignedReceipt.decode((tmp_path / "r.bin").read_bytes())
    sr.verify()
    sr.check_task(task)
    assert sr.body.assigner == assigner and sr.body.output_commitment == b"\x11" * 32
    assert mycel.verify_batch([sr]) == []


def test_decoders_reject_every_truncation_and_garbage() -> None:
    for name, decode in [("task.bin", mycel.TaskSpec.decode), ("receipt.bin", mycel.SignedReceipt.decode),
                         ("verdict.bin", mycel.SignedVerdict.decode),
                         ("receipt-batch.bin", mycel.ReceiptBatch.decode)]:
        data = (EXAMPLES / name).read_bytes()
        decode(data)
        for cut in range(len(data)):
            with pytest.raises(mycel.DecodeError):
                decode(data[:cut])
            with pytest.raises(mycel.DecodeError):
                mycel.inspect(data[:cut])
        with pytest.raises(mycel.DecodeError) as e:
            decode(data + b"\0")
        assert e.value.code in ("decode.trailing_bytes", "decode.too_large")
        with pytest.raises(mycel.DecodeError) as e2:
            decode(data[:1] + b"\x09" + data[2:])
        assert e2.value.code == "decode.unknown_kind"
    with pytest.raises(mycel.DecodeError) as e3:
        mycel.inspect(b"\x01\x04" + bytes(2 << 20))
    assert e3.value.code == "decode.too_large"
    with pytest.raises(mycel.DecodeError) as e4:
        mycel.SignedReceipt.decode((EXAMPLES / "task.bin").read_bytes())
    assert e4.value.code == "decode.kind_mismatch"
    rng = random.Random(7)
    for _ in range(2000):
        blob = bytes([1, rng.randint(1, 4)]) + rng.randbytes(rng.randint(0, 300))
        try:
            mycel.inspect(blob)
        except mycel.MycelError:
            pass
