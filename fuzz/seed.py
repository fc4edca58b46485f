#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz corpus from real encodings (stdlib only, deterministic).

* envelope: every spec/examples/*.bin envelope;
* decode_task / decode_receipt / decode_verdict / decode_batch: their bodies (header cut);
* signature: every Wycheproof ed25519 vector with a 32-byte key, a 64-byte signature and a
  message of at most 48 bytes, eight to an input, laid out as the target's `Unstructured`
  reads them (item mode 0: key, signature and message taken as given);
* task_exec: the example task envelope, in the target's "task from the wire" layout.

Each file is named by the SHA-1 of its content, as libFuzzer names corpus entries, so rerunning
adds nothing twice. Run from anywhere: `python3 fuzz/seed.py`.
"""
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def put(target, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    ex = ROOT / "spec" / "examples"
    bodies = {
        "task.bin": "decode_task",
        "receipt.bin": "decode_receipt",
        "verdict.bin": "decode_verdict",
        "receipt-batch.bin": "decode_batch",
    }
    for name, target in bodies.items():
        env = (ex / name).read_bytes()
        put("envelope", env)
        put(target, env[2:])
    task = (ex / "task.bin").read_bytes()
    # ratio(1, 8) reads one byte b and is true for b % 8 == 0; then the length (b % 201).
    assert len(task) <= 200
    put("task_exec", bytes([0, len(task)]) + task)

    w = json.loads((ROOT / "protocol/tests/vectors/wycheproof_ed25519_test.json").read_text())
    items = []
    for g in w["testGroups"]:
        pk = bytes.fromhex(g["publicKey"]["pk"])
        for t in g["tests"]:
            msg, sig = bytes.fromhex(t["msg"]), bytes.fromhex(t["sig"])
            if len(pk) == 32 and len(sig) == 64 and len(msg) <= 48:
                # msg_len (b % 49), msg, key index (unused in mode 0), mode 0, pk, sig.
                items.append(bytes([len(msg)]) + msg + bytes([0, 0]) + pk + sig)
    for i in range(0, len(items), 8):
        chunk = items[i : i + 8]
        seed = hashlib.sha256(b"mycel fuzz seed %d" % i).digest()
        # n = 1 + b % 20
        put("signature", seed + bytes([len(chunk) - 1]) + b"".join(chunk))


if __name__ == "__main__":
    main()
