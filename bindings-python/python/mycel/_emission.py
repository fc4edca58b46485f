"""The Yuma epoch on numpy arrays: :func:`yuma_epoch` and its :class:`EpochResult`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from . import _mycel

#: Weight or bond rows: a dense ``[n, n]`` integer matrix, or per row ``(uid, value)`` pairs
#: in stored (submission) order.
Rows = Union[npt.NDArray[np.integer[Any]], Sequence[Sequence[tuple[int, int]]]]
#: A per-uid integer vector.
Vector = Union[npt.NDArray[np.integer[Any]], npt.NDArray[np.bool_], Sequence[int]]


@dataclass(frozen=True)
class EpochResult:
    """Everything one epoch computes (spec/emission.md). Q32 values are the raw ``I32F32``
    bits as int64 (divide by ``2**32`` for the real number); rao amounts are uint64."""

    active: npt.NDArray[np.bool_]
    stake: npt.NDArray[np.int64]
    active_stake: npt.NDArray[np.int64]
    new_validator_permit: npt.NDArray[np.bool_]
    weights: list[list[tuple[int, int]]]
    consensus: npt.NDArray[np.int64]
    validator_trust: npt.NDArray[np.int64]
    ranks: npt.NDArray[np.int64]
    incentive: npt.NDArray[np.int64]
    dividends: npt.NDArray[np.int64]
    ema_bonds: list[list[tuple[int, int]]]
    normalized_server_emission: npt.NDArray[np.int64]
    normalized_validator_emission: npt.NDArray[np.int64]
    normalized_combined_emission: npt.NDArray[np.int64]
    server_emission: npt.NDArray[np.uint64]
    validator_emission: npt.NDArray[np.uint64]
    combined_emission: npt.NDArray[np.uint64]
    stake_weight_u16: npt.NDArray[np.uint16]
    consensus_u16: npt.NDArray[np.uint16]
    incentive_u16: npt.NDArray[np.uint16]
    dividends_u16: npt.NDArray[np.uint16]
    validator_trust_u16: npt.NDArray[np.uint16]
    new_bonds: list[list[tuple[int, int]]]

    def to_json_dict(self) -> dict[str, Any]:
        """The result as plain Python values, keyed and shaped like ``mycel epoch``'s output
        JSON (pairs as two-element lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                out[f.name] = v.tolist()
            else:
                out[f.name] = [[list(p) for p in row] for row in v]
        return out


def yuma_epoch(
    *,
    stake: Vector,
    weights: Rows,
    bonds: Rows,
    last_update: Vector,
    block_at_registration: Vector,
    validator_permit: Vector,
    current_block: int,
    tempo: int,
    activity_cutoff: int,
    max_allowed_validators: int,
    kappa: int,
    bonds_penalty: int,
    bonds_moving_average: int,
    yuma3: bool,
    liquid_alpha: bool,
    alpha_low: int,
    alpha_high: int,
    alpha_sigmoid_steepness: int,
    rao_emission: int,
    n: Optional[int] = None,
    last_mechanism_step_block: int = 0,
    tao_stake: Optional[Vector] = None,
    tao_weight: int = 0,
    stake_threshold: int = 0,
    owner_uid: Optional[int] = None,
    commit_reveal_enabled: bool = False,
    commit_blocks: Optional[Sequence[Optional[int]]] = None,
    liquid_alpha_consensus_mode: str = "current",
    previous_consensus: Optional[Vector] = None,
) -> EpochResult:
    """Runs one Yuma epoch, bit for bit as the subtensor chain (and ``mycel epoch``) computes
    it. Arguments are the fields of ``mycel epoch``'s input JSON; vectors may be numpy arrays
    of any integer dtype; ``n`` defaults to ``len(stake)``. Raises ``EmissionError`` naming the
    field for an input that breaks the schema."""
    inputs: dict[str, Any] = {
        "stake": stake,
        "weights": weights,
        "bonds": bonds,
        "last_update": last_update,
        "block_at_registration": block_at_registration,
        "validator_permit": validator_permit,
        "current_block": current_block,
        "tempo": tempo,
        "activity_cutoff": activity_cutoff,
        "max_allowed_validators": max_allowed_validators,
        "kappa": kappa,
        "bonds_penalty": bonds_penalty,
        "bonds_moving_average": bonds_moving_average,
        "yuma3": yuma3,
        "liquid_alpha": liquid_alpha,
        "alpha_low": alpha_low,
        "alpha_high": alpha_high,
        "alpha_sigmoid_steepness": alpha_sigmoid_steepness,
        "rao_emission": rao_emission,
        "n": n,
        "last_mechanism_step_block": last_mechanism_step_block,
        "tao_stake": tao_stake,
        "tao_weight": tao_weight,
        "stake_threshold": stake_threshold,
        "owner_uid": owner_uid,
        "commit_reveal_enabled": commit_reveal_enabled,
        "commit_blocks": commit_blocks,
        "liquid_alpha_consensus_mode": liquid_alpha_consensus_mode,
        "previous_consensus": previous_consensus,
    }
    return EpochResult(**_mycel._yuma_epoch(inputs))
