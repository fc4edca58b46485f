#!/usr/bin/env python3
"""A deliberately broken adapter: the example adapter with one flipped byte in its signature
check (byte 0 of every signature is XORed with 0x01 before verifying). The suite must catch
it and name every case it fails; `scripts/test` checks that it does.

    mycel conformance run --vectors conformance/vectors \\
        --adapter "python3 conformance/adapters/broken_python_adapter.py"
"""

from __future__ import annotations

import os
import sys
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mycel  # noqa: E402
import python_adapter  # noqa: E402


def flipped(sig: bytes) -> bytes:
    return bytes([sig[0] ^ 0x01]) + sig[1:] if sig else sig


def broken_verify_one(pk: bytes, msg: bytes, sig: bytes) -> Optional[str]:
    return mycel.signature_error(pk, msg, flipped(sig))


def broken_verify_signatures(items: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return list(mycel.verify_signatures([(p, m, flipped(s)) for p, m, s in items]))


python_adapter.verify_one = broken_verify_one
python_adapter.mycel_verify_signatures = broken_verify_signatures

if __name__ == "__main__":
    python_adapter.main()
