#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz corpus from real encodings (stdlib only, deterministic).

* envelope: every spec/examples/*.bin envelope;
* decode_task / decode_receipt / decode_verdict / decode_batch: their bodies (header cut);
* signature: every Wycheproof ed25519 vector with a 32-byte key, a 64-byte signature and a
  message of at most 48 bytes, eight to an input, laid out as the target's `Unstructured`
  reads them (item mode 0: key, signature and message taken as given);
* task_exec: the example task envelope, in the target's "task from the wire" layout;
* scenario_toml: every scenario file under scenarios/;
* npy_reader: small .npy files (float32 and float16, little- and big-endian headers, versions
  1.0 and 2.0, ranks 0 to 3, Fortran order), built here from the format's definition;
* fraud_proof: with a folder argument (the `--out` of a `mycel simulate` run), the first proofs
  of its fraud/ folder: `python3 fuzz/seed.py /tmp/sim` after
  `mycel simulate --epochs 2 --out /tmp/sim`.

Each file is named by the SHA-1 of its content, as libFuzzer names corpus entries, so rerunning
adds nothing twice. Run from anywhere: `python3 fuzz/seed.py [SIMULATE_OUT]`.
"""
import hashlib
import json
import pathlib
import struct
import sys

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

    for toml in sorted((ROOT / "scenarios").rglob("*.toml")):
        put("scenario_toml", toml.read_bytes())

    for i, (descr, shape, fortran, version) in enumerate(
        [
            ("<f4", (3,), False, 1),
            ("<f4", (2, 3), False, 1),
            ("<f4", (2, 2), True, 1),
            ("<f2", (4,), False, 1),
            ("<f4", (), False, 1),
            (">f4", (2, 1, 2), False, 1),
            ("<f4", (0, 5), False, 2),
            ("<f2", (1, 2, 2), False, 2),
        ]
    ):
        put("npy_reader", npy(descr, shape, fortran, version, i))

    if len(sys.argv) > 1:
        proofs = sorted((pathlib.Path(sys.argv[1]) / "fraud").glob("*.json"))
        for proof in proofs[:6]:
            put("fraud_proof", proof.read_bytes())


def npy(descr, shape, fortran, version, salt):
    """One .npy file: magic, version, header length, the dict header padded to 64, the data."""
    count = 1
    for d in shape:
        count *= d
    dims = "".join(f"{d}," if len(shape) == 1 else f"{d}, " for d in shape).rstrip(" ")
    if len(shape) > 1:
        dims = dims.rstrip(",")
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': ({dims}), }}"
    fixed = 10 if version == 1 else 12
    pad = -(fixed + len(header) + 1) % 64
    header = (header + " " * pad + "\n").encode("latin1")
    width = 4 if descr[1:] == "f4" else 2
    fmt = descr[0] + ("f" if width == 4 else "e")
    data = b"".join(struct.pack(fmt, (k + salt) * 0.5 - 1.0) for k in range(count))
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header + data


if __name__ == "__main__":
    main()
