//! `scoring.json`: per-miner results → scores → u16 weights, optimistic pay with fraud bans,
//! and weight commit-reveal (spec/scoring.md §2–4).
//!
//! Operations: `score` `{uid, verified, mismatched, unchecked, computeUnits, latencyMs,
//! latencyTargetMs}` → `{score}`; `weights` `{scores: [[uid, score]]}` → `{weights}`; `pay`
//! `{results, latencyTargetMs, banned}` → `{scores, weights}` (banned miners score 0);
//! `commitment` `{network, hotkey, subnet, epoch, weights, salt}` → `{commitment}`; `reveal`
//! `{commit, reveal}` → `{}` or the first `scoring.*` failure.
#![allow(clippy::indexing_slicing)] // drafts index JSON values they built (serde_json indexing)

use mycel_protocol::ids::{Epoch, Hotkey, NetworkId, SubnetId};
use mycel_protocol::scoring::{
    MinerEpochResult, ScoreParams, WeightCommit, WeightReveal, score, verify_reveal,
    weights_commitment, weights_from_scores,
};
use serde_json::{Value, json};

use super::fixtures as fx;
use crate::Result;
use crate::generate::{Draft, DraftGroup, Meta};
use crate::util::{Answer, array, b32, bad, big, field, hx, uint};

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec![
            "spec/scoring.md#2-score",
            "spec/scoring.md#3-weights",
            "spec/scoring.md#4-commit-reveal-of-weights",
        ],
        header: vec![
            "Optimistic pay: a miner's score counts the compute units of all its non-mismatched receipts, checked or not; any mismatch, or a ban after a valid fraud proof, makes it 0. Scores become u16 weights (round half up, max-upscaled, zeros dropped). Weight commitments bind network, hotkey, subnet, epoch, the weights in order and a salt.",
            "Operations: score {uid, verified, mismatched, unchecked, computeUnits, latencyMs, latencyTargetMs} -> {score}; weights {scores} -> {weights}; pay {results, latencyTargetMs, banned} -> {scores, weights}; commitment {network, hotkey, subnet, epoch, weights, salt} -> {commitment}; reveal {commit, reveal} -> {} or scoring.*.",
        ],
        notes: vec![
            ("Valid", "Computed or accepted."),
            (
                "Optimistic",
                "Unchecked receipts are paid like verified ones.",
            ),
            (
                "Mismatch",
                "A mismatch (fraud proof) zeroes the epoch's score.",
            ),
            ("Ban", "A miner banned after a valid fraud proof scores 0."),
            (
                "Latency",
                "The latency term: floor(units * target / latency) beyond the target.",
            ),
            ("Rounding", "Round half up and the chain's max-upscale."),
            ("SpecExample", "A worked example of spec/scoring.md."),
            ("Duplicate", "A uid listed twice."),
            (
                "Replay",
                "A commitment or reveal moved to another network, hotkey, subnet or epoch.",
            ),
            (
                "Tampered",
                "Revealed weights or salt that differ from the committed ones.",
            ),
        ],
    }
}

fn result(uid: u16, v: u32, mm: u32, u: u32, units: u64, lat: u64) -> Value {
    json!({"uid": uid, "verified": v, "mismatched": mm, "unchecked": u, "computeUnits": big(units), "latencyMs": lat})
}

fn with_target(mut r: Value, t: u64) -> Value {
    r["latencyTargetMs"] = json!(t);
    r
}

fn pairs(p: &[(u16, u64)]) -> Value {
    Value::Array(p.iter().map(|(a, b)| json!([a, big(*b)])).collect())
}

fn commit_in(
    net: &[u8; 32],
    hk: &[u8; 32],
    subnet: u16,
    epoch: u64,
    w: &[(u16, u16)],
    salt: &[u8; 32],
) -> Value {
    json!({"network": hx(net), "hotkey": hx(hk), "subnet": subnet, "epoch": epoch,
        "weights": w.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(), "salt": hx(salt)})
}

/// Draft cases.
///
/// # Errors
/// Not expected.
#[allow(clippy::too_many_lines)]
pub fn drafts() -> Result<Vec<DraftGroup>> {
    let sc = vec![
        Draft::valid(
            "1000 units at 1500 ms, target 2000 (spec example)",
            &["SpecExample", "Valid"],
            with_target(result(1, 2, 0, 3, 1000, 1500), 2000),
        ),
        Draft::valid(
            "the same with no receipt re-executed: paid alike",
            &["SpecExample", "Optimistic"],
            with_target(result(1, 0, 0, 5, 1000, 1500), 2000),
        ),
        Draft::valid(
            "1000 units at 3000 ms: floor(1000*2000/3000) = 666",
            &["SpecExample", "Latency"],
            with_target(result(1, 1, 0, 1, 1000, 3000), 2000),
        ),
        Draft::valid(
            "one mismatch: 0",
            &["SpecExample", "Mismatch"],
            with_target(result(1, 5, 1, 9, 1000, 100), 2000),
        ),
        Draft::valid(
            "latency exactly at the target",
            &["Latency"],
            with_target(result(2, 1, 0, 0, 777, 2000), 2000),
        ),
        Draft::valid(
            "target 0 disables the latency term",
            &["Latency"],
            with_target(result(2, 1, 0, 0, 777, 1_000_000), 0),
        ),
        Draft::valid(
            "latency 0",
            &["Latency"],
            with_target(result(2, 1, 0, 0, 777, 0), 2000),
        ),
        Draft::valid(
            "2^64 - 1 units at twice the target (128-bit product)",
            &["Latency"],
            with_target(result(3, 1, 0, 0, u64::MAX, 4000), 2000),
        ),
        Draft::valid(
            "2^64 - 1 units within the target",
            &["Valid"],
            with_target(result(3, 1, 0, 0, u64::MAX, 10), 2000),
        ),
        Draft::valid(
            "no receipts at all",
            &["Valid"],
            with_target(result(4, 0, 0, 0, 0, 0), 2000),
        ),
    ];
    let w = vec![
        Draft::valid(
            "[(3, 50), (1, 100), (7, 0), (2, 1)] (spec example 1)",
            &["SpecExample", "Rounding"],
            json!({"scores": pairs(&[(3, 50), (1, 100), (7, 0), (2, 1)])}),
        ),
        Draft::valid("empty", &["Valid"], json!({"scores": []})),
        Draft::valid(
            "all zero",
            &["Valid"],
            json!({"scores": pairs(&[(0, 0), (1, 0)])}),
        ),
        Draft::valid(
            "one miner",
            &["Valid"],
            json!({"scores": pairs(&[(9, 12345)])}),
        ),
        Draft::valid(
            "a ratio that rounds half up: 1 of 2",
            &["Rounding"],
            json!({"scores": pairs(&[(0, 1), (1, 2)])}),
        ),
        Draft::valid(
            "scores near 2^53",
            &["Rounding"],
            json!({"scores": pairs(&[(0, (1 << 53) - 1), (1, 1 << 52), (2, 3)])}),
        ),
        Draft::valid(
            "uids 65535 and 0",
            &["Valid"],
            json!({"scores": pairs(&[(65535, 10), (0, 20)])}),
        ),
        Draft::valid(
            "tiny shares dropped as 0",
            &["Rounding"],
            json!({"scores": pairs(&[(0, 1_000_000), (1, 1), (2, 7)])}),
        ),
        Draft::invalid(
            "uid 4 twice",
            &["Duplicate"],
            json!({"scores": pairs(&[(4, 1), (5, 2), (4, 3)])}),
            "scoring.duplicate_uid",
        ),
    ];
    let pay = vec![
        Draft::valid(
            "honest, lazy (caught: mismatch), banned and slow miners",
            &["Optimistic", "Mismatch", "Ban", "Latency"],
            json!({
                "latencyTargetMs": 2000,
                "banned": [3],
                "results": [result(0, 1, 0, 9, 5000, 900), result(1, 0, 1, 9, 5000, 900), result(2, 0, 0, 10, 5000, 900), result(3, 2, 0, 8, 5000, 900), result(4, 1, 0, 9, 5000, 4000)],
            }),
        ),
        Draft::valid(
            "nobody banned, nobody checked: all paid",
            &["Optimistic"],
            json!({
                "latencyTargetMs": 2000, "banned": [],
                "results": [result(0, 0, 0, 3, 300, 100), result(1, 0, 0, 4, 400, 100)],
            }),
        ),
        Draft::valid(
            "everyone banned: no weights",
            &["Ban"],
            json!({
                "latencyTargetMs": 2000, "banned": [0, 1],
                "results": [result(0, 1, 0, 3, 300, 100), result(1, 1, 0, 4, 400, 100)],
            }),
        ),
    ];
    let net = b32("scoring network");
    let hk = fx::hotkey("validator 1").0;
    let salt = b32("salt");
    let ws: Vec<(u16, u16)> = vec![(5, 65535), (2, 100), (9, 0)];
    let mut kn = [0u8; 32];
    let mut kh = [0u8; 32];
    for i in 0..32u8 {
        if let (Some(a), Some(b)) = (kn.get_mut(usize::from(i)), kh.get_mut(usize::from(i))) {
            *a = 0x20 + i;
            *b = i;
        }
    }
    let commitment = vec![
        Draft::valid(
            "the known answer of spec/scoring.md section 4",
            &["SpecExample", "Valid"],
            commit_in(&kn, &kh, 7, 42, &ws, &[0xab; 32]),
        ),
        Draft::valid(
            "the same weights in another order (order is committed)",
            &["Valid"],
            commit_in(
                &kn,
                &kh,
                7,
                42,
                &[(2, 100), (5, 65535), (9, 0)],
                &[0xab; 32],
            ),
        ),
        Draft::valid(
            "no weights",
            &["Valid"],
            commit_in(&net, &hk, 1, 0, &[], &salt),
        ),
        Draft::valid(
            "epoch 2^64 - 1, subnet 65535",
            &["Valid"],
            commit_in(&net, &hk, 65535, u64::MAX, &ws, &salt),
        ),
        Draft::invalid(
            "uid 5 twice",
            &["Duplicate"],
            commit_in(&net, &hk, 1, 0, &[(5, 1), (5, 2)], &salt),
            "scoring.duplicate_uid",
        ),
    ];
    let c = weights_commitment(
        &NetworkId(net),
        &Hotkey(hk),
        SubnetId(3),
        Epoch(9),
        &ws,
        &salt,
    )
    .map_err(|e| crate::Error(e.to_string()))?;
    let commit = json!({"network": hx(&net), "hotkey": hx(&hk), "subnet": 3, "epoch": 9, "commitment": hx(&c)});
    let rev = |n: &[u8; 32], h: &[u8; 32], s: u16, e: u64, w: &[(u16, u16)], salt: &[u8; 32]| json!({"commit": commit, "reveal": commit_in(n, h, s, e, w, salt)});
    let other_hk = fx::hotkey("validator 2").0;
    let mut salt2 = salt;
    salt2[31] ^= 1;
    let reveal = vec![
        Draft::valid(
            "the committed weights and salt",
            &["Valid"],
            rev(&net, &hk, 3, 9, &ws, &salt),
        ),
        Draft::invalid(
            "revealed on another network",
            &["Replay"],
            rev(&b32("other net"), &hk, 3, 9, &ws, &salt),
            "scoring.network_mismatch",
        ),
        Draft::invalid(
            "revealed by another hotkey",
            &["Replay"],
            rev(&net, &other_hk, 3, 9, &ws, &salt),
            "scoring.hotkey_mismatch",
        ),
        Draft::invalid(
            "revealed for another subnet",
            &["Replay"],
            rev(&net, &hk, 4, 9, &ws, &salt),
            "scoring.subnet_mismatch",
        ),
        Draft::invalid(
            "revealed for another epoch",
            &["Replay"],
            rev(&net, &hk, 3, 10, &ws, &salt),
            "scoring.epoch_mismatch",
        ),
        Draft::invalid(
            "one weight changed",
            &["Tampered"],
            rev(&net, &hk, 3, 9, &[(5, 65535), (2, 101), (9, 0)], &salt),
            "scoring.commitment_mismatch",
        ),
        Draft::invalid(
            "the weights reordered",
            &["Tampered"],
            rev(&net, &hk, 3, 9, &[(2, 100), (5, 65535), (9, 0)], &salt),
            "scoring.commitment_mismatch",
        ),
        Draft::invalid(
            "one salt bit flipped",
            &["Tampered"],
            rev(&net, &hk, 3, 9, &ws, &salt2),
            "scoring.commitment_mismatch",
        ),
        Draft::invalid(
            "a duplicate uid in the reveal",
            &["Duplicate"],
            rev(&net, &hk, 3, 9, &[(5, 65535), (5, 100)], &salt),
            "scoring.duplicate_uid",
        ),
        Draft::invalid(
            "network and epoch both wrong: the network is reported",
            &["Replay"],
            rev(&b32("other net"), &hk, 3, 10, &ws, &salt),
            "scoring.network_mismatch",
        ),
    ];
    Ok(vec![
        DraftGroup::new("score", "One miner's score for one epoch.", sc),
        DraftGroup::new("weights", "Scores to u16 weights.", w),
        DraftGroup::new(
            "pay",
            "Optimistic pay with fraud bans: scores (banned miners 0) then weights.",
            pay,
        ),
        DraftGroup::new("commitment", "Weight commitments.", commitment),
        DraftGroup::new(
            "reveal",
            "Reveals checked against their commitment.",
            reveal,
        ),
    ])
}

fn u16_of(v: &Value, key: &str) -> core::result::Result<u16, String> {
    u16::try_from(uint(v, key)?).map_err(|_| bad(key))
}

fn u32_of(v: &Value, key: &str) -> core::result::Result<u32, String> {
    u32::try_from(uint(v, key)?).map_err(|_| bad(key))
}

fn result_of(v: &Value) -> core::result::Result<MinerEpochResult, String> {
    Ok(MinerEpochResult {
        uid: u16_of(v, "uid")?,
        verified: u32_of(v, "verified")?,
        mismatched: u32_of(v, "mismatched")?,
        unchecked: u32_of(v, "unchecked")?,
        compute_units: uint(v, "computeUnits")?,
        latency_ms: uint(v, "latencyMs")?,
    })
}

fn pair_list(v: &Value, key: &str) -> core::result::Result<Vec<(u16, u64)>, String> {
    field(v, key)?
        .as_array()
        .ok_or_else(|| bad(key))?
        .iter()
        .map(|p| {
            let a = p
                .get(0)
                .and_then(Value::as_u64)
                .and_then(|x| u16::try_from(x).ok());
            let b = p.get(1).and_then(|x| {
                x.as_u64()
                    .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
            });
            a.zip(b).ok_or_else(|| bad(key))
        })
        .collect()
}

fn weights_of(v: &Value) -> core::result::Result<Vec<(u16, u16)>, String> {
    pair_list(v, "weights")?
        .into_iter()
        .map(|(a, b)| u16::try_from(b).map(|b| (a, b)).map_err(|_| bad("weights")))
        .collect()
}

fn weights_json(w: &[(u16, u16)]) -> Value {
    Value::Array(w.iter().map(|(a, b)| json!([a, b])).collect())
}

fn reveal_of(v: &Value) -> core::result::Result<WeightReveal, String> {
    Ok(WeightReveal {
        network: NetworkId(array::<32>(v, "network")?),
        hotkey: Hotkey(array::<32>(v, "hotkey")?),
        subnet: SubnetId(u16_of(v, "subnet")?),
        epoch: Epoch(uint(v, "epoch")?),
        weights: weights_of(v)?,
        salt: array::<32>(v, "salt")?,
    })
}

/// The reference answer.
pub fn respond(op: &str, _params: &Value, input: &Value) -> Answer {
    let code = |e: mycel_protocol::scoring::ScoringError| e.code().to_string();
    match op {
        "score" => {
            let p = ScoreParams {
                latency_target_ms: uint(input, "latencyTargetMs")?,
            };
            Ok(json!({"score": big(score(&result_of(input)?, &p))}))
        }
        "weights" => Ok(
            json!({"weights": weights_json(&weights_from_scores(&pair_list(input, "scores")?).map_err(code)?)}),
        ),
        "pay" => {
            let p = ScoreParams {
                latency_target_ms: uint(input, "latencyTargetMs")?,
            };
            let banned = crate::util::uint_list(input, "banned")?;
            let mut scores = Vec::new();
            for r in field(input, "results")?
                .as_array()
                .ok_or_else(|| bad("results"))?
            {
                let r = result_of(r)?;
                let s = if banned.contains(&u64::from(r.uid)) {
                    0
                } else {
                    score(&r, &p)
                };
                scores.push((r.uid, s));
            }
            let w = weights_from_scores(&scores).map_err(code)?;
            Ok(json!({"scores": pairs(&scores), "weights": weights_json(&w)}))
        }
        "commitment" => {
            let r = reveal_of(input)?;
            let c = weights_commitment(
                &r.network, &r.hotkey, r.subnet, r.epoch, &r.weights, &r.salt,
            )
            .map_err(code)?;
            Ok(json!({"commitment": hx(&c)}))
        }
        "reveal" => {
            let c = field(input, "commit")?;
            let commit = WeightCommit {
                network: NetworkId(array::<32>(c, "network")?),
                hotkey: Hotkey(array::<32>(c, "hotkey")?),
                subnet: SubnetId(u16_of(c, "subnet")?),
                epoch: Epoch(uint(c, "epoch")?),
                commitment: array::<32>(c, "commitment")?,
            };
            verify_reveal(&commit, &reveal_of(field(input, "reveal")?)?)
                .map(|()| json!({}))
                .map_err(code)
        }
        other => Err(super::unknown_op(other)),
    }
}
