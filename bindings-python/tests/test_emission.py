"""The Yuma epoch on numpy arrays: the project's chain vectors (yuma_examples.jsonl), the CLI's
`mycel epoch` on the same input, dense and sparse weights, typed input errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mycel

from conftest import VECTORS

with open(VECTORS / "yuma_examples.jsonl") as _f:
    EXAMPLES = [json.loads(line) for line in _f if line.strip()]

VECTOR_FIELDS = ["last_update", "block_at_registration", "stake", "tao_stake", "previous_consensus"]


def as_numpy(inp: dict[str, Any]) -> dict[str, Any]:
    """The JSON input with every per-uid vector as a numpy array and rows as (uid, value)
    tuples."""
    out = dict(inp)
    for key in VECTOR_FIELDS:
        if out.get(key) is not None:
            out[key] = np.asarray(out[key], dtype=np.uint64 if key != "previous_consensus" else np.uint16)
    out["validator_permit"] = np.asarray(out["validator_permit"], dtype=bool)
    for key in ("weights", "bonds"):
        out[key] = [[(int(u), int(v)) for u, v in row] for row in out[key]]
    return out


def test_there_are_chain_vectors() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("i", range(len(EXAMPLES)))
def test_chain_vectors_on_numpy(i: int) -> None:
    case = EXAMPLES[i]
    result = mycel.yuma_epoch(**as_numpy(case["input"]))
    assert result.to_json_dict() == case["expected"]
    assert isinstance(result.incentive, np.ndarray) and result.incentive.dtype == np.int64
    assert result.combined_emission.dtype == np.uint64
    assert result.incentive_u16.dtype == np.uint16 and result.active.dtype == np.bool_
    assert mycel.yuma_epoch_json(json.dumps(case["input"])) == case["expected"]


def test_dense_weights_equal_sparse_ascending_rows() -> None:
    done = 0
    for case in EXAMPLES:
        inp = case["input"]
        n = inp["n"]
        rows = inp["weights"]
        if not all([u for u, _ in r] == sorted({u for u, _ in r}) and all(v for _, v in r) and all(u < n for u, _ in r) for r in rows):
            continue
        dense = np.zeros((n, n), dtype=np.uint16)
        for i, r in enumerate(rows):
            for u, v in r:
                dense[i, u] = v
        args = as_numpy(inp)
        args["weights"] = dense
        assert mycel.yuma_epoch(**args).to_json_dict() == case["expected"]
        done += 1
    assert done > 0


def test_same_numbers_as_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = EXAMPLES[-1]
    (tmp_path / "in.json").write_text(json.dumps(case["input"]))
    out = json.loads(cli("epoch", "--input", str(tmp_path / "in.json")).stdout)
    assert mycel.yuma_epoch(**as_numpy(case["input"])).to_json_dict() == out


def test_input_errors_are_typed_and_name_the_field() -> None:
    base = as_numpy(EXAMPLES[0]["input"])
    bad = dict(base, last_update=np.zeros(base["n"] + 1, dtype=np.uint64))
    with pytest.raises(mycel.EmissionError) as e:
        mycel.yuma_epoch(**bad)
    assert e.value.code == "emission.length_mismatch" and "last_update" in str(e.value)
    with pytest.raises(mycel.DtypeError) as e2:
        mycel.yuma_epoch(**dict(base, stake=np.ones(base["n"], dtype=np.float64)))
    assert "stake" in str(e2.value)
    with pytest.raises(mycel.ArgumentError) as e3:
        mycel.yuma_epoch(**dict(base, stake=-np.ones(base["n"], dtype=np.int64)))
    assert "stake" in str(e3.value)
    with pytest.raises(mycel.ShapeError) as e4:
        mycel.yuma_epoch(**dict(base, stake=np.ones((1, base["n"]), dtype=np.uint64)))
    assert "stake" in str(e4.value)
    with pytest.raises(mycel.ArgumentError) as e5:
        mycel.yuma_epoch(**dict(base, kappa=70000))
    assert "kappa" in str(e5.value)
    with pytest.raises(mycel.ShapeError):
        mycel.yuma_epoch(**dict(base, weights=[[(0, 1, 2)]] * base["n"]))
    with pytest.raises(mycel.EmissionError) as e6:
        mycel.yuma_epoch(**dict(base, weights=[[(0, 5), (0, 6)]] + [[]] * (base["n"] - 1)))
    assert e6.value.code == "emission.duplicate_uid"
    with pytest.raises(mycel.DecodeError):
        mycel.yuma_epoch_json("{not json")
