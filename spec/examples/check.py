#!/usr/bin/env python3
"""Independent check of spec/examples: a from-the-spec Python reader (no mycel code).

Parses every envelope by the byte layout of spec/wire.md and spec/receipts.md, recomputes the
task digest, receipt and verdict ids, the compute units, the batch Merkle root and its proofs
(spec/commitments.md), and verifies every signature with a pure-Python implementation of the
rule in spec/signatures.md. Compares everything with examples.json, and recomputes the
weight-commitment known answer of spec/scoring.md from its byte layout. Exit status 0 = all
agree.

    python3 spec/examples/check.py
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- ed25519 (spec/signatures.md)
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def point_add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    A = (y1 - x1) * (y2 - x2) % P
    B = (y1 + x1) * (y2 + x2) % P
    C = 2 * t1 * t2 * D % P
    Dd = 2 * z1 * z2 % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def point_mul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = point_add(q, p)
        p = point_add(p, p)
        s >>= 1
    return q


def is_identity(p):
    x, y, z, _ = p
    return x % P == 0 and (y - z) % P == 0


def decode_point_strict(b):
    """Canonical encodings only: y < p, and x = 0 must not carry the sign bit."""
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None, "non-canonical"
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        if sign:
            return None, "non-canonical"
        return (0, y, 1, 0), None
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None, "not on curve"
    if (x & 1) != sign:
        x = P - x
    return (x, y, 1, x * y % P), None


BASE = decode_point_strict(bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666"))[0]


def verify(pk, msg, sig):
    if len(pk) != 32 or len(sig) != 64:
        return "length"
    s = int.from_bytes(sig[32:], "little")
    if s >= L:
        return "S not reduced"
    a, err = decode_point_strict(pk)
    if err:
        return "key " + err
    if is_identity(point_mul(8, a)):
        return "small-order key"
    r, err = decode_point_strict(sig[:32])
    if err:
        return "R " + err
    if is_identity(point_mul(8, r)):
        return "small-order R"
    k = int.from_bytes(hashlib.sha512(sig[:32] + pk + msg).digest(), "little") % L
    neg = lambda p: ((-p[0]) % P, p[1], p[2], (-p[3]) % P)
    check = point_add(point_add(point_mul(s, BASE), neg(r)), neg(point_mul(k, a)))
    return None if is_identity(point_mul(8, check)) else "equation"


# ---------------------------------------------------------------- postcard reader (spec/wire.md)
class Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError("truncated")
        out = self.b[self.i:self.i + n]
        self.i += n
        return out

    def varint(self):
        shift = value = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def arr32(self):
        return self.take(32).hex()


def envelope(b, kind):
    assert b[0] == 1, "version"
    assert b[1] == kind, "kind"
    return Reader(b[2:])


def read_task(r):
    t = {"network": r.arr32(), "subnet": r.varint(), "epoch": r.varint(), "kernel": r.varint(),
         "kernel_version": r.varint()}
    variant = r.varint()
    if variant == 0:
        t["params"] = {"Matmul": {"m": r.varint(), "n": r.varint(), "k": r.varint()}}
    else:
        raise ValueError("example uses a matmul task")
    t["weights_digest"], t["input_seed"] = r.arr32(), r.arr32()
    return t


def read_receipt_body(r):
    start = r.i
    body = {"network": r.arr32(), "subnet": r.varint(), "epoch": r.varint(), "task_digest": r.arr32(),
            "assigner": r.arr32(), "miner": r.arr32(), "output_commitment": r.arr32(),
            "output_tile_root": r.arr32(), "compute_units": r.varint(), "started_at_ms": r.varint(),
            "finished_at_ms": r.varint(), "nonce": r.varint()}
    body["backend"] = r.take(r.varint()).decode("ascii")
    return body, r.b[start:r.i]


def read_signed(r, read_body, tag):
    body, raw = read_body(r)
    sig = r.take(64)
    signed = tag + b"\x00" + raw
    return body, sig, signed


def read_verdict_body(r):
    start = r.i
    body = {"validator": r.arr32(), "receipt_id": r.arr32(), "outcome": ["Match", "Mismatch", "Unchecked"][r.varint()]}
    body["recomputed_commitment"] = r.arr32() if r.take(1)[0] == 1 else None
    return body, r.b[start:r.i]


# ---------------------------------------------------------------- Merkle (spec/commitments.md)
def sha(b):
    return hashlib.sha256(b).digest()


def mth(leaves):
    if not leaves:
        return sha(b"")
    if len(leaves) == 1:
        return sha(b"\x00" + leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def main():
    ex = json.load(open(os.path.join(HERE, "examples.json")))
    read = lambda n: open(os.path.join(HERE, n), "rb").read()
    failures = []

    def check(name, got, want):
        if got != want:
            failures.append(f"{name}: got {got}, want {want}")

    task_bytes = read("task.bin")
    r = envelope(task_bytes, 0x01)
    task = read_task(r)
    check("task trailing", r.i, len(r.b))
    check("task digest", sha(task_bytes).hex(), ex["task"]["digest"])
    mm = task["params"]["Matmul"]
    check("compute units", 2 * mm["m"] * mm["n"] * mm["k"], ex["task"]["compute_units"])
    check("task fields", task["network"], ex["task"]["message"]["network"])

    def check_receipt(name, body, sig, signed, rid=None):
        check(name + " signature", verify(bytes.fromhex(body["miner"]), signed, sig), None)
        check(name + " task digest", body["task_digest"], ex["task"]["digest"])
        check(name + " compute units", body["compute_units"], ex["task"]["compute_units"])
        if rid is not None:
            check(name + " id", sha(signed).hex(), rid)
        return sha(signed)

    r = envelope(read("receipt.bin"), 0x02)
    body, sig, signed = read_signed(r, read_receipt_body, b"mycel/v1/receipt")
    check("receipt trailing", r.i, len(r.b))
    check("receipt signed bytes", signed.hex(), ex["receipt"]["signed_bytes"])
    check("receipt body", body, ex["receipt"]["message"]["body"])
    rid = check_receipt("receipt", body, sig, signed, ex["receipt"]["id"])
    tampered = bytearray(signed)
    tampered[-1] ^= 1
    check("tampered receipt rejected", verify(bytes.fromhex(body["miner"]), bytes(tampered), sig), "equation")
    wrong_tag = b"mycel/v1/verdict" + signed[len(b"mycel/v1/receipt"):]
    check("wrong tag rejected", verify(bytes.fromhex(body["miner"]), wrong_tag, sig), "equation")

    r = envelope(read("verdict.bin"), 0x03)
    vbody, vsig, vsigned = read_signed(r, read_verdict_body, b"mycel/v1/verdict")
    check("verdict trailing", r.i, len(r.b))
    check("verdict signature", verify(bytes.fromhex(vbody["validator"]), vsigned, vsig), None)
    check("verdict receipt id", vbody["receipt_id"], rid.hex())
    check("verdict commitment", vbody["recomputed_commitment"], body["output_commitment"])
    check("verdict id", sha(vsigned).hex(), ex["verdict"]["id"])

    r = envelope(read("receipt-batch.bin"), 0x04)
    r.arr32(), r.varint(), r.varint()
    ids = []
    for i in range(r.varint()):
        b, s, sb = read_signed(r, read_receipt_body, b"mycel/v1/receipt")
        ids.append(check_receipt(f"batch receipt {i}", b, s, sb))
    check("batch trailing", r.i, len(r.b))
    check("batch ids", [x.hex() for x in ids], ex["receipt_batch"]["receipt_ids"])
    root = mth(ids)
    check("batch root", root.hex(), ex["receipt_batch"]["root"])
    for proof in ex["receipt_batch"]["proofs"]:
        # RFC 9162 §2.1.3.2 verification.
        fn, sn, h = proof["index"], proof["tree_size"] - 1, sha(b"\x00" + ids[proof["index"]])
        for p in proof["path"]:
            p = bytes.fromhex(p)
            if fn & 1 or fn == sn:
                h = sha(b"\x01" + p + h)
                while not fn & 1 and fn:
                    fn, sn = fn >> 1, sn >> 1
            else:
                h = sha(b"\x01" + h + p)
            fn, sn = fn >> 1, sn >> 1
        check(f"proof {proof['index']}", (sn, h.hex()), (0, root.hex()))

    # Tensor commitment example of spec/commitments.md: f32 [2, 3] = 1..6.
    import struct
    data = b"".join(struct.pack("<f", float(x)) for x in range(1, 7))
    header = b"mycel/v1/tensor\x00" + bytes([0x01, 2]) + (2).to_bytes(8, "little") + (3).to_bytes(8, "little")
    print("tensor f32 [2,3] commitment:", sha(header + data).hex())

    # Weight-commitment known answer of spec/scoring.md section 4, rebuilt from its byte layout:
    # tag || 0x00 || network || hotkey || subnet u16 || epoch u64 || count u32 || entries || salt.
    entries = [(5, 65535), (2, 100), (9, 0)]
    pre = (b"mycel/v1/weights-commit\x00" + bytes(range(0x20, 0x40)) + bytes(range(32))
           + struct.pack("<HQI", 7, 42, len(entries))
           + b"".join(struct.pack("<HH", u, w) for u, w in entries) + b"\xab" * 32)
    with open(os.path.join(HERE, "..", "scoring.md"), encoding="utf-8") as f:
        after = f.read().split("<!-- example: weights-commitment -->", 1)[1]
    block = "".join(c for c in after.split("```")[1] if c in "0123456789abcdef")
    check("weights commitment preimage length", len(pre), 146)
    check("weights commitment (scoring.md)", sha(pre).hex(), block)

    for f in failures:
        print("FAIL", f)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
