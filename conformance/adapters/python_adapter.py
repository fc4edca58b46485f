#!/usr/bin/env python3
"""The example adapter of the mycel conformance suite: answers every case by calling the
``mycel`` Python wheel, and passes the whole suite.

Run it through the runner (an interpreter with the wheel installed)::

    mycel conformance run --vectors conformance/vectors \\
        --adapter "python3 conformance/adapters/python_adapter.py"

The protocol (conformance/README.md, "Adapter protocol"): one JSON request per line on stdin,
``{"area", "op", "tcId", "params", "input"}``; one JSON response per line on stdout, flushed,
``{"tcId", "result": "valid", "output": {...}}`` or ``{"tcId", "result": "invalid", "error":
code}``. An implementation in another language copies this file's shape: read a line, answer
it, flush.

``handle(request)`` is importable: the pytest runner (conformance/runners/python/) runs the
vectors through it in-process.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any, Callable, Optional

import numpy as np

import mycel


class Refused(Exception):
    """An outcome the adapter itself maps to a code (a host API that answers False instead of
    raising, for example)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def unhex(s: str) -> bytes:
    return bytes.fromhex(s)


def hx(b: Any) -> str:
    return bytes(b).hex()


def big(v: int) -> Any:
    """Integers above 2^53 travel as decimal strings."""
    return str(v) if v > 2**53 or v < -(2**53) else v


def normalize(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return big(v)
    if isinstance(v, list):
        return [normalize(x) for x in v]
    if isinstance(v, tuple):
        return [normalize(x) for x in v]
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items()}
    return v


def uint(v: Any) -> int:
    return int(v)


# ---- wire -------------------------------------------------------------------------------------

DECODERS: dict[str, Callable[[bytes], Any]] = {
    "task": lambda b: mycel.TaskSpec.decode(b).digest,
    "receipt": lambda b: mycel.SignedReceipt.decode(b).id,
    "verdict": lambda b: mycel.SignedVerdict.decode(b).id,
    "receipt-batch": lambda b: mycel.ReceiptBatch.decode(b).root,
}


def wire(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    env = unhex(inp["envelope"])
    kind: Optional[str] = inp["expect"]
    if kind is None:
        kind = mycel.inspect(env)["kind"]
    return {"kind": kind, "id": hx(DECODERS[kind](env))}


# ---- signatures -------------------------------------------------------------------------------

def verify_one(pk: bytes, msg: bytes, sig: bytes) -> Optional[str]:
    """The failing rule's code, or None when the signature is valid."""
    return mycel.signature_error(pk, msg, sig)


def mycel_verify_signatures(items: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    """Batch verdicts, one per item."""
    return list(mycel.verify_signatures(items))


def signatures(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    if op == "verify":
        code = verify_one(unhex(inp["pk"]), unhex(inp["msg"]), unhex(inp["sig"]))
        if code is not None:
            raise Refused(code)
        return {}
    if op == "verify_batch":
        items = [(unhex(i["pk"]), unhex(i["msg"]), unhex(i["sig"])) for i in inp["items"]]
        return {"valid": mycel_verify_signatures(items)}
    if op == "sign":
        k = mycel.Keypair.from_seed(unhex(inp["seed"]))
        return {"pk": hx(k.hotkey), "sig": hx(k.sign(unhex(inp["msg"])))}
    raise KeyError(op)


# ---- receipts ---------------------------------------------------------------------------------

def receipts(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    if op == "verify":
        if inp["kind"] == "receipt":
            r = mycel.SignedReceipt.decode(unhex(inp["envelope"]))
            r.verify()
            return {"id": hx(r.id)}
        v = mycel.SignedVerdict.decode(unhex(inp["envelope"]))
        v.verify()
        return {"id": hx(v.id)}
    if op == "check_task":
        r = mycel.SignedReceipt.decode(unhex(inp["receipt"]))
        r.check_task(mycel.TaskSpec.decode(unhex(inp["task"])))
        return {}
    if op == "check_verdict":
        v = mycel.SignedVerdict.decode(unhex(inp["verdict"]))
        v.check_receipt(mycel.SignedReceipt.decode(unhex(inp["receipt"])))
        return {}
    if op == "verify_batch":
        b = mycel.ReceiptBatch.decode(unhex(inp["batch"]))
        results: list[Optional[str]] = [None] * len(b)
        for i, code in mycel.verify_batch(b.receipts):
            results[i] = code
        return {"root": hx(b.root), "results": results}
    if op == "credit":
        ledger = mycel.CreditLedger()
        out: list[Optional[str]] = []
        for s in inp["steps"]:
            r = mycel.SignedReceipt.decode(unhex(s["receipt"]))
            try:
                ledger.credit(
                    r,
                    network=unhex(s["network"]),
                    subnet=s["subnet"],
                    epoch=uint(s["epoch"]),
                    assigner=unhex(s["assigner"]),
                    miner=unhex(s["miner"]),
                    task_digest=unhex(s["taskDigest"]),
                )
                out.append(None)
            except mycel.MycelError as e:
                out.append(e.code)
        return {"results": out}
    raise KeyError(op)


# ---- merkle, commitments ----------------------------------------------------------------------

def merkle(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    if op == "root":
        return {"root": hx(mycel.merkle_root([unhex(x) for x in inp["leaves"]]))}
    if op == "proof":
        p = mycel.MerkleTree([unhex(x) for x in inp["leaves"]]).proof(inp["index"])
        return {"index": p.index, "treeSize": p.tree_size, "path": [hx(x) for x in p.path]}
    if op == "verify":
        p = mycel.InclusionProof(
            index=uint(inp["index"]),
            tree_size=uint(inp["treeSize"]),
            path=[unhex(x) for x in inp["path"]],
        )
        p.verify(unhex(inp["leaf"]), unhex(inp["root"]))
        return {}
    raise KeyError(op)


def commitments(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    if op == "tensor":
        c = mycel.tensor_commitment(unhex(inp["data"]), inp["dtype"], tuple(inp["shape"]))
        return {"commitment": hx(c)}
    if op == "weights_digest":
        return {"digest": hx(mycel.weights_digest(unhex(inp["weights"])))}
    raise KeyError(op)


# ---- tasks, kernels ---------------------------------------------------------------------------

def derive(inp: dict[str, Any]) -> mycel.TaskSpec:
    scope = dict(network=unhex(inp["network"]), subnet=inp["subnet"], epoch=uint(inp["epoch"]))
    if inp["kernel"] == "attention":
        return mycel.new_task(
            "attention",
            unhex(inp["seed"]),
            heads=inp["heads"],
            kv_heads=inp["kvHeads"],
            q_len=inp["qLen"],
            kv_len=inp["kvLen"],
            head_dim=inp["headDim"],
            dtype=inp["dtype"],
            mode=inp["mode"],
            causal=inp["causal"],
            **scope,
        )
    return mycel.new_task(
        inp["kernel"], unhex(inp["seed"]), m=inp["m"], n=inp["n"], k=inp["k"], **scope
    )


def tasks(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    if op == "derive":
        t = derive(inp)
        return {
            "task": hx(t.encode()),
            "digest": hx(t.digest),
            "computeUnits": big(t.compute_units),
            "weightsDigest": hx(t.weights_digest),
        }
    if op == "execute":
        r = mycel.execute_task(unhex(inp["task"]))
        return {"commitment": hx(r.commitment), "tileRoot": hx(r.tile_root)}
    raise KeyError(op)


STREAM_TAG = b"mycel/conformance/v1/kernel-stream"


def stream_task(seed: bytes, i: int) -> mycel.TaskSpec:
    """Task i of the accumulated stream (conformance/README.md)."""
    s = hashlib.sha256(STREAM_TAG + b"\x00" + seed + i.to_bytes(8, "little")).digest()
    kind = s[0] % 3
    if kind < 2:
        return mycel.new_task(
            "matmul-q8_0" if kind == 0 else "matmul-q4_0",
            s,
            m=1 + s[1] % 4,
            n=1 + s[2] % 32,
            k=32 * (1 + s[3] % 4),
            network=bytes(32),
            subnet=1,
            epoch=0,
        )
    kv = 1 + s[1] % 2
    q_len = 1 + s[3] % 4
    return mycel.new_task(
        "attention",
        s,
        heads=kv * (1 + s[2] % 2),
        kv_heads=kv,
        q_len=q_len,
        kv_len=q_len + s[4] % 5,
        head_dim=64,
        causal=s[5] % 2 == 1,
        dtype=("f32", "f16", "bf16")[s[6] % 3],
        mode="verifiable",
        network=bytes(32),
        subnet=1,
        epoch=0,
    )


def floats(h: str) -> np.ndarray:
    return np.frombuffer(unhex(h), dtype="<f4").copy()


def kernels(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    if op == "quantize":
        x = floats(inp["values"])
        k = inp["k"]
        if len(x) % k == 0:
            x = x.reshape(-1, k)
        return {"blocks": hx(mycel.quantize(x, inp["format"]).tobytes())}
    if op == "matmul":
        x = floats(inp["x"])
        m, k = inp["m"], inp["k"]
        x = x.reshape(m, k) if len(x) == m * k else x.reshape(1, -1)
        y = mycel.matmul(x, unhex(inp["w"]), inp["format"])
        return {"commitment": hx(mycel.tensor_commitment(np.ascontiguousarray(y, dtype=np.float32)))}
    if op == "attention":
        h, kv, ql, kl, d = inp["nHeads"], inp["nKvHeads"], inp["qLen"], inp["kvLen"], inp["headDim"]
        q = floats(inp["q"]).reshape(h, ql, d)
        k = floats(inp["k"]).reshape(kv, kl, d)
        v = floats(inp["v"]).reshape(kv, kl, d)
        y = mycel.attention(q, k, v, causal=inp["causal"], mode="verifiable")
        return {"commitment": hx(mycel.tensor_commitment(np.ascontiguousarray(y, dtype=np.float32)))}
    if op == "accumulate":
        seed = unhex(inp["seed"])
        acc = hashlib.sha256()
        for i in range(uint(inp["count"])):
            r = mycel.execute_task(stream_task(seed, i))
            acc.update(r.commitment)
            acc.update(r.tile_root)
        return {"digest": acc.hexdigest()}
    raise KeyError(op)


# ---- scoring, emission, sampling, fraud -------------------------------------------------------

def score_of(r: dict[str, Any], target: int) -> int:
    return mycel.score(
        uid=r["uid"],
        verified=r["verified"],
        mismatched=r["mismatched"],
        unchecked=r["unchecked"],
        compute_units=uint(r["computeUnits"]),
        latency_ms=uint(r["latencyMs"]),
        latency_target_ms=target,
    )


def pairs(w: Any) -> list[list[Any]]:
    return [[a, big(b)] for a, b in w]


def scoring(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    if op == "score":
        return {"score": big(score_of(inp, uint(inp["latencyTargetMs"])))}
    if op == "weights":
        return {"weights": pairs(mycel.weights_from_scores([(a, uint(b)) for a, b in inp["scores"]]))}
    if op == "pay":
        banned = set(inp["banned"])
        target = uint(inp["latencyTargetMs"])
        scores = [(r["uid"], 0 if r["uid"] in banned else score_of(r, target)) for r in inp["results"]]
        return {"scores": pairs(scores), "weights": pairs(mycel.weights_from_scores(scores))}
    if op == "commitment":
        c = mycel.weights_commitment(
            unhex(inp["network"]),
            unhex(inp["hotkey"]),
            inp["subnet"],
            uint(inp["epoch"]),
            [tuple(w) for w in inp["weights"]],
            unhex(inp["salt"]),
        )
        return {"commitment": hx(c)}
    if op == "reveal":
        c, r = inp["commit"], inp["reveal"]
        mycel.verify_reveal(
            {
                "network": unhex(c["network"]),
                "hotkey": unhex(c["hotkey"]),
                "subnet": c["subnet"],
                "epoch": uint(c["epoch"]),
                "commitment": unhex(c["commitment"]),
            },
            {
                "network": unhex(r["network"]),
                "hotkey": unhex(r["hotkey"]),
                "subnet": r["subnet"],
                "epoch": uint(r["epoch"]),
                "weights": [tuple(w) for w in r["weights"]],
                "salt": unhex(r["salt"]),
            },
        )
        return {}
    raise KeyError(op)


def emission(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    if op == "epoch":
        return normalize(mycel.yuma_epoch_json(inp["inputJson"]))  # type: ignore[no-any-return]
    if op == "max_upscale":
        return {"values": mycel.max_upscale(inp["values"])}
    raise KeyError(op)


def sampling(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    if op == "secret_commitment":
        return {"commitment": hx(mycel.Validator.secret_commitment(unhex(inp["secret"])))}
    if op == "seed":
        s = mycel.sample_seed(
            unhex(inp["beacon"]), unhex(inp["root"]), unhex(inp["validator"]), unhex(inp["secret"])
        )
        return {"seed": hx(s)}
    if op == "sample":
        ids = inp["ids"] if "ids" in inp else params["ids"]
        picks = mycel.sample_receipts(
            unhex(inp["seed"]), [unhex(i) for i in ids], inp["list"], uint(inp["ratePpm"]), inp["min"]
        )
        return {"picks": picks}
    raise KeyError(op)


def fraud(op: str, params: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    if op == "check":
        c = mycel.FraudProof.from_json(inp["proof"]).check()
        return {
            "recomputed": hx(c.recomputed),
            "batchRoot": None if c.batch_root is None else hx(c.batch_root),
        }
    raise KeyError(op)


AREAS: dict[str, Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
    "wire": wire,
    "signatures": signatures,
    "receipts": receipts,
    "merkle": merkle,
    "commitments": commitments,
    "tasks": tasks,
    "kernels": kernels,
    "scoring": scoring,
    "emission": emission,
    "sampling": sampling,
    "fraud": fraud,
}


def handle(req: dict[str, Any]) -> dict[str, Any]:
    """The response to one request."""
    tc = req["tcId"]
    try:
        out = AREAS[req["area"]](req["op"], req.get("params") or {}, req["input"])
        return {"tcId": tc, "result": "valid", "output": out}
    except (mycel.MycelError, Refused) as e:
        return {"tcId": tc, "result": "invalid", "error": e.code}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        sys.stdout.write(json.dumps(handle(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
