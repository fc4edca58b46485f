"""The raw signature rule and keys: Wycheproof (all 151 cases, single and batched, same verdicts
and reasons as the Rust CLI), RFC 8032, wrong lengths."""

from __future__ import annotations

import json
import re

import pytest

import mycel

from conftest import VECTORS


def wycheproof() -> list[tuple[int, bytes, bytes, bytes, bool]]:
    with open(VECTORS / "wycheproof_ed25519_test.json") as f:
        data = json.load(f)
    out = []
    for group in data["testGroups"]:
        pk = bytes.fromhex(group["publicKey"]["pk"])
        for t in group["tests"]:
            assert t["result"] in ("valid", "invalid")
            out.append(
                (t["tcId"], pk, bytes.fromhex(t["msg"]), bytes.fromhex(t["sig"]), t["result"] == "valid")
            )
    assert len(out) == data["numberOfTests"] == 151
    return out


CASES = wycheproof()


@pytest.mark.parametrize("case", CASES, ids=[f"tc{c[0]}" for c in CASES])
def test_wycheproof_single(case: tuple[int, bytes, bytes, bytes, bool]) -> None:
    _, pk, msg, sig, valid = case
    assert mycel.verify_signature(pk, msg, sig) is valid
    assert (mycel.signature_error(pk, msg, sig) is None) is valid


def test_wycheproof_batched_same_verdicts() -> None:
    items = [(pk, msg, sig) for _, pk, msg, sig, _ in CASES]
    expected = [valid for *_, valid in CASES]
    assert mycel.verify_signatures(items) == expected
    # Valid-only and reversed batches: the batch path must not depend on its neighbours.
    assert mycel.verify_signatures(items[::-1]) == expected[::-1]
    valid_only = [it for it, ok in zip(items, expected) if ok]
    assert all(mycel.verify_signatures(valid_only))
    assert sum(expected) > 0 and not all(expected)


@pytest.mark.parametrize("batch", [False, True])
def test_wycheproof_same_verdicts_and_codes_as_cli(cli, batch: bool) -> None:  # type: ignore[no-untyped-def]
    lines = "".join(
        json.dumps({"pk": pk.hex(), "msg": msg.hex(), "sig": sig.hex()}) + "\n"
        for _, pk, msg, sig, _ in CASES
    )
    args = ["sig", "verify"] + (["--batch"] if batch else [])
    proc = cli(*args, input=lines.encode(), check=False)
    assert proc.returncode == 1  # some vectors are invalid
    out = proc.stdout.decode().splitlines()
    assert len(out) == len(CASES)
    for (tc, pk, msg, sig, _), line in zip(CASES, out):
        code = mycel.signature_error(pk, msg, sig)
        if code is None:
            assert line == "valid", f"tc{tc}"
        else:
            m = re.search(r"\(([a-z_.]+)\)$", line)
            assert m is not None and m.group(1) == code, f"tc{tc}: CLI {line!r}, Python {code}"


def test_rfc8032_test1() -> None:
    # RFC 8032 section 7.1, TEST 1 (empty message).
    kp = mycel.Keypair.from_seed(
        bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    )
    assert kp.hotkey == bytes.fromhex(
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )
    sig = kp.sign(b"")
    assert sig == bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert mycel.verify_signature(kp.hotkey, b"", sig)
    assert kp.seed() == bytes.fromhex(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    )
    assert "9d61b19d" not in repr(kp) and kp.hotkey.hex() in repr(kp)


def test_wrong_lengths_are_invalid_never_raise() -> None:
    kp = mycel.Keypair.generate()
    sig = kp.sign(b"m")
    assert mycel.verify_signature(kp.hotkey, b"m", sig)
    for pk, s in [(kp.hotkey[:31], sig), (kp.hotkey + b"\0", sig), (kp.hotkey, sig[:63]),
                  (kp.hotkey, sig + b"\0"), (b"", b"")]:
        assert mycel.verify_signature(pk, b"m", s) is False
    assert mycel.verify_signatures([(kp.hotkey[:31], b"m", sig), (kp.hotkey, b"m", sig)]) == [False, True]
    assert mycel.signature_error(kp.hotkey[:31], b"m", sig) == "signature.key_length"
    assert mycel.signature_error(kp.hotkey, b"m", sig[:1]) == "signature.signature_length"
    assert mycel.verify_signatures([]) == []


def test_keypairs() -> None:
    a, b = mycel.Keypair.generate(), mycel.Keypair.generate()
    assert a.hotkey != b.hotkey and len(a.hotkey) == 32
    assert mycel.Keypair.from_seed(a.seed()).hotkey == a.hotkey
    with pytest.raises(mycel.KeyMaterialError) as e:
        mycel.Keypair.from_seed(b"\x01" * 31)
    assert e.value.code == "key.length"
    mycel.validate_hotkey(a.hotkey)
    with pytest.raises(mycel.SignatureError) as e2:
        mycel.validate_hotkey(bytes(32))  # y = 0: a point of small order
    assert e2.value.code == "signature.small_order_key"
