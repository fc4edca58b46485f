"""The roles of mycel-node from Python: a Python validator catches the default scenario's lazy
miner and copier (its fraud proofs hold in Python and in the CLI), fraud proofs written by
`mycel simulate` check in Python, the simulation's log equals the CLI's, validator state
survives a restart between commit and reveal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import mycel

NETWORK = bytes(range(32))
BEACON = b"\x42" * 32
TASKS = 4


def claims_of(receipts: list[mycel.SignedReceipt]) -> list[tuple[bytes, bytes]]:
    return [(r.body.output_commitment, r.body.output_tile_root) for r in receipts]


def test_python_validator_catches_lazy_miner_and_copier(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pool = mycel.WeightPool(7)  # the default scenario's run seed and task mix
    validator = mycel.Validator(mycel.Keypair.from_seed(b"\x01" * 32))
    honest, lazy, copier = (mycel.Miner(mycel.Keypair.from_seed(bytes([i]) * 32)) for i in (2, 3, 4))

    def tasks_for(miner: mycel.Miner) -> list[mycel.TaskSpec]:
        return [
            validator.issue_task(pool, network=NETWORK, subnet=1, epoch=0, beacon=BEACON,
                                 miner=miner.hotkey, index=i)
            for i in range(TASKS)
        ]

    tasks = {name: tasks_for(m) for name, m in (("honest", honest), ("lazy", lazy), ("copier", copier))}
    assert {t.kernel for t in tasks["honest"]} <= {"matmul-q8_0", "matmul-q4_0", "attention"}
    # The copier's tasks have the honest miner's shapes but other input seeds.
    assert [t.params for t in tasks["copier"]] == [t.params for t in tasks["honest"]]
    assert [t.input_seed for t in tasks["copier"]] != [t.input_seed for t in tasks["honest"]]

    v = validator.hotkey
    receipts = {
        "honest": [honest.run(t, pool.weights_for(t), assigner=v, nonce=i) for i, t in enumerate(tasks["honest"])]
    }
    receipts["lazy"] = [
        lazy.sign(t, os.urandom(32), os.urandom(32), assigner=v, nonce=i) for i, t in enumerate(tasks["lazy"])
    ]
    receipts["copier"] = [
        copier.sign(t, c, r, assigner=v, nonce=i)
        for i, (t, (c, r)) in enumerate(zip(tasks["copier"], claims_of(receipts["honest"])))
    ]
    order = ["honest", "lazy", "copier"]
    everything = [r for name in order for r in receipts[name]]
    all_tasks = [t for name in order for t in tasks[name]]

    # Intake: every receipt is for a task this validator issued to that miner, once.
    book = mycel.IssuedTasks(network=NETWORK, subnet=1, epoch=0)
    for name, miner in (("honest", honest), ("lazy", lazy), ("copier", copier)):
        for t in tasks[name]:
            assert book.issue(miner.hotkey, t) == t.digest
    assert len(book) == 3 * TASKS
    assert [book.admit(v, r) for r in everything] == [None] * len(everything)
    assert book.admit(v, everything[0]) == "duplicate"
    assert len(book.credited(v)) == 3 * TASKS
    # A copier that re-signs the honest miner's own task is refused at intake.
    stolen = copier.sign(tasks["honest"][1], *claims_of(receipts["honest"])[1], assigner=v)
    fresh = mycel.IssuedTasks(network=NETWORK, subnet=1, epoch=0)
    fresh.issue(honest.hotkey, tasks["honest"][1])
    assert fresh.admit(v, stolen) == "wrong_miner"
    assert fresh.admit(mycel.Keypair.generate().hotkey, receipts["honest"][1]) == "wrong_assigner"

    batch = validator.commit_batch(everything, network=NETWORK, subnet=1, epoch=0)
    assert len(batch) == 3 * TASKS and batch.root == batch.batch.root
    assert validator.verify_batch(batch) == [] and validator.verify_batch(batch, b"\x07" * 32) == []
    secret = b"\x33" * 32
    published = mycel.Validator.secret_commitment(secret)  # before any receipt arrives
    assert mycel.Validator.check_secret(published, secret)
    assert not mycel.Validator.check_secret(published, b"\x34" * 32)
    seed = validator.sample_seed(BEACON, batch, secret)
    assert seed != validator.sample_seed(BEACON, batch, b"\x34" * 32)
    outcomes: dict[str, list[str]] = {}
    for m, name in enumerate(order):
        indices = list(range(m * TASKS, (m + 1) * TASKS))
        picked = mycel.Validator.sample(seed, batch, indices, 1.0)
        assert sorted(picked) == indices
        assert len(mycel.Validator.sample(seed, batch, indices, 0.0, 1)) == 1
        outcomes[name] = []
        for i in picked:
            task = all_tasks[i]
            truth = validator.reexecute(task, pool.weights_for(task))
            judgement = validator.judge(everything[i], truth)
            verdict = judgement.verdict
            assert verdict is not None and judgement.is_match == (judgement.outcome == "match")
            verdict.verify()
            verdict.check_receipt(everything[i])
            outcomes[name].append(verdict.body.outcome)
            if verdict.body.outcome == "mismatch":
                proof = validator.fraud_proof(batch, i, task, verdict, pool.source_for(task), note=name)
                confirmed = proof.check()
                assert confirmed.recomputed == truth[0] and confirmed.batch_root == batch.root
                assert confirmed.receipt == everything[i] and confirmed.task == task
                path = tmp_path / f"{name}-{i}.json"
                path.write_text(proof.to_json())
                cli("fraud", "verify", str(path))
                assert mycel.FraudProof.from_json(path.read_text()) == proof
    assert outcomes["honest"] == ["match"] * TASKS
    assert outcomes["lazy"] == ["mismatch"] * TASKS
    assert outcomes["copier"] == ["mismatch"] * TASKS

    # The right commitment with a wrong tile root: no verdict, no pay.
    t0, r0 = tasks["honest"][0], receipts["honest"][0]
    liar = honest.sign(t0, r0.body.output_commitment, os.urandom(32), assigner=v, nonce=99)
    j = validator.judge(liar, validator.reexecute(t0, pool.weights_for(t0)))
    assert j.outcome == "tile_root_mismatch" and j.verdict is None and not j.is_match
    assert j.recomputed_tile_root == r0.body.output_tile_root

    # A validator that accuses an honest miner: its proof does not hold.
    forged = mycel.Verdict(validator=v, receipt_id=r0.id, outcome="mismatch",
                           recomputed_commitment=os.urandom(32)).sign(mycel.Keypair.from_seed(b"\x01" * 32))
    bad = validator.fraud_proof(batch, 0, t0, forged, pool.source_for(t0))
    with pytest.raises(mycel.FraudError) as e:
        bad.check()
    assert e.value.code == "fraud.receipt_correct"
    (tmp_path / "bad.json").write_text(bad.to_json())
    assert cli("fraud", "verify", str(tmp_path / "bad.json"), check=False).returncode != 0


def test_cli_simulate_fraud_proofs_check_in_python_and_logs_agree(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "sim"
    cli("simulate", "--epochs", "3", "--seed", "11", "--out", str(out), "--quiet")
    files = sorted((out / "fraud").glob("*.json"))
    assert files, "the default scenario publishes fraud proofs"
    for f in files:
        confirmed = mycel.FraudProof.from_json(f.read_text()).check()
        assert confirmed.verdict.body.outcome == "mismatch"
        assert confirmed.receipt.body.output_commitment != confirmed.recomputed
    # Tampered: the verdict's signature no longer holds.
    data = json.loads(files[0].read_text())
    v = bytearray(bytes.fromhex(data["verdict"]))
    v[-1] ^= 1
    data["verdict"] = v.hex()
    with pytest.raises(mycel.FraudError) as e:
        mycel.FraudProof.from_json(json.dumps(data)).check()
    assert e.value.code == "fraud.verdict_signature"
    with pytest.raises(mycel.FraudError) as e2:
        mycel.FraudProof.from_json("{}")
    assert e2.value.code == "fraud.not_a_proof"
    # The same run from Python: the same log, proofs and batches.
    sim = mycel.simulate(seed=11, epochs=3)
    assert sim.log == json.loads((out / "simulation.json").read_text())
    assert sorted(name for name, _ in sim.fraud_proofs) == [f.name for f in files]
    for name, proof in sim.fraud_proofs:
        assert proof == mycel.FraudProof.from_json((out / "fraud" / name).read_text())
    for name, data_bytes in sim.receipt_batches:
        assert (out / "receipts" / name).read_bytes() == data_bytes
        mycel.ReceiptBatch.decode(data_bytes)


def test_simulate_default_scenario_pays_no_cheater(tmp_path: Path) -> None:
    log = mycel.simulate().log
    miners = {m["uid"]: m for m in log["totals"]["miners"]}
    by = {m["behaviour"]: m for m in miners.values()}
    for cheat in ("lazy", "copier"):
        assert by[cheat]["final_incentive_share"] == 0.0 and by[cheat]["first_caught_epoch"] is not None
    assert by["honest"]["final_incentive_share"] > 0.0
    # Dicts, TOML files, overrides, bad scenarios.
    small = {"epochs": 1, "miners": {"count": 3, "lazy": 1, "copier": 0, "sloppy": 0, "slow": 0}}
    assert len(mycel.simulate(small).log["miners"]) == 3
    (tmp_path / "s.toml").write_text(
        "epochs = 1\n[miners]\ncount = 2\nlazy = 0\ncopier = 0\nsloppy = 0\nslow = 0\n"
        "[validators]\ncolluder = 0\n"
    )
    assert len(mycel.simulate(tmp_path / "s.toml", seed=3).log["miners"]) == 2
    assert len(mycel.simulate(str(tmp_path / "s.toml")).log["epochs"]) == 1
    with pytest.raises(mycel.ScenarioError) as e:
        mycel.simulate({"epochs": 1, "miners": {"count": 0}})
    assert e.value.code == "node.scenario"
    with pytest.raises(mycel.ArgumentError):
        mycel.simulate({"no_such_table": 1})
    with pytest.raises(mycel.ScenarioError):
        mycel.simulate(tmp_path / "missing.toml")


def test_validator_state_survives_restart_between_commit_and_reveal() -> None:
    key = mycel.Keypair.from_seed(b"\x09" * 32)
    v = mycel.Validator(key, ema_alpha=0.5)
    v.update_scores([(3, 100), (4, 300)])
    w = v.weights()
    assert dict(w)[4] == 65535 and 0 < dict(w)[3] < 65535
    assert v.weights(keep=[3]) == [(3, 65535)]
    commitment = v.commit_weights(b"\x00" * 32, 1, 5, w, b"\x11" * 32)
    miner = mycel.Keypair.from_seed(b"\x0a" * 32).hotkey
    v.ban(miner, 9)
    assert v.is_banned(miner, 9) and not v.is_banned(miner, 10)
    restored = mycel.Validator.from_state(key, v.state())
    assert restored.state() == v.state() and restored.is_banned(miner, 7)
    assert restored.due_reveals(5, 1) == []
    due = restored.due_reveals(6, 1)
    assert len(due) == 1 and bytes(due[0]["commit"]["commitment"]) == commitment
    assert [tuple(p) for p in due[0]["reveal"]["weights"]] == w
    with pytest.raises(mycel.StateError) as e:
        mycel.Validator.from_state(key, "{")
    assert e.value.code == "node.state"
    with pytest.raises(mycel.ScoringError):
        v.update_scores([(1, 1), (1, 2)])


def test_tile_proofs_from_the_cli_check_in_python(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A kernel-version-2 task, a miner that signs another output and opens one of its tiles,
    `mycel fraud prove`: the tile proof holds in Python; a forged seed is refused with the
    CLI's reason; a v2 file is not a v1 proof."""
    p = lambda name: str(tmp_path / name)  # noqa: E731
    shape = ["--kernel", "matmul-q4_0", "--m", "18", "--n", "300", "--k", "64", "--kernel-version", "2"]
    cli("task", "new", *shape, "--seed", "5e" * 32, "--out", p("task.bin"))
    cli("task", "new", *shape, "--seed", "5f" * 32, "--out", p("other.bin"))
    run = cli("task", "run", p("other.bin"))
    commitment = run.stdout.decode().strip()
    tile_root = run.stderr.decode().split("tile root ")[1].split()[0]
    hotkey = cli("keygen", "--out", p("miner.key")).stdout.decode().split()[-1]
    cli("receipt", "sign", "--key", p("miner.key"), "--task", p("task.bin"), "--assigner", hotkey,
        "--output-commitment", commitment, "--tile-root", tile_root, "--out", p("receipt.bin"))
    cli("task", "open", p("other.bin"), "--tile", "3", "--opening", p("open.bin"))
    cli("fraud", "prove", "--task", p("task.bin"), "--receipt", p("receipt.bin"), "--opening",
        p("open.bin"), "--out", p("proof.json"))
    text = (tmp_path / "proof.json").read_text()
    proof = mycel.TileProof.from_json(text)
    assert mycel.TileProof.from_json(proof.to_json()) == proof
    ok = proof.check()
    assert ok.tile == 3 and ok.rect == (16, 18, 256, 300)
    assert ok.claimed_leaf != ok.recomputed_leaf and ok.batch_root is None
    assert ok.receipt.body.output_tile_root == bytes.fromhex(tile_root)
    data = json.loads(text)
    data["weights"]["seed"] = "00" * 32
    with pytest.raises(mycel.FraudError) as e:
        mycel.TileProof.from_json(json.dumps(data)).check()
    assert e.value.code == "fraud.weights_root"
    with pytest.raises(mycel.FraudError) as e2:
        mycel.FraudProof.from_json(text)
    assert e2.value.code == "fraud.format"
