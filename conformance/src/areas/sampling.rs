//! `sampling.json`: which receipts a validator must re-execute, given its committed root and
//! randomness (spec/sampling.md).
//!
//! Operations: `secret_commitment` `{secret}` → `{commitment}`; `seed` `{beacon, root,
//! validator, secret}` → `{seed}`; `sample` `{seed, ids, list, ratePpm, min}` → `{picks}`
//! (indices into `ids`, ascending by pick key; indices not in `ids` are skipped). A group may
//! hold `ids` in its params, shared by its cases.
#![allow(clippy::indexing_slicing)] // drafts index JSON values they built (serde_json indexing)

use mycel_node::validator::sample::{sample, sample_seed, secret_commitment};
use mycel_protocol::ids::{Digest, Hotkey};
use serde_json::{Value, json};

use crate::Result;
use crate::generate::{Draft, DraftGroup, Meta};
use crate::util::{Answer, array, b32, bad, byte_list, hx, uint, uint_list};

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec![
            "spec/sampling.md#1-the-sample-secret",
            "spec/sampling.md#2-the-seed",
            "spec/sampling.md#3-the-sample-among-one-miners-receipts",
        ],
        header: vec![
            "The spot-check sample: a secret committed before receipts arrive, a seed fixed by the beacon, the committed batch root, the validator and the secret, and an integer sampler over one miner's receipts.",
            "Operations: secret_commitment {secret} -> {commitment}; seed {beacon, root, validator, secret} -> {seed}; sample {seed, ids, list, ratePpm, min} -> {picks} (ids in the case, or in the group's params when the case has none).",
        ],
        notes: vec![
            (
                "SpecExample",
                "A worked example of spec/sampling.md section 5.",
            ),
            ("Valid", "Computed."),
            (
                "Rounding",
                "The fractional part of rate x length decides one more pick from the round draw.",
            ),
            (
                "Bounds",
                "Rates of 0, 10^6 and above, a minimum above the list's length, empty lists.",
            ),
            ("Skipped", "List indices not in ids are skipped."),
        ],
    }
}

fn ids(n: u8) -> Vec<Value> {
    (0..n).map(|i| hx(&[i; 32])).collect()
}

/// Draft cases.
///
/// # Errors
/// Not expected.
pub fn drafts() -> Result<Vec<DraftGroup>> {
    let secrets = vec![
        Draft::valid(
            "secret 04 x 32",
            &["SpecExample"],
            json!({"secret": hx(&[4; 32])}),
        ),
        Draft::valid(
            "secret 00 x 32",
            &["Valid"],
            json!({"secret": hx(&[0; 32])}),
        ),
        Draft::valid(
            "a random secret",
            &["Valid"],
            json!({"secret": hx(&b32("secret"))}),
        ),
    ];
    let seeds = vec![
        Draft::valid(
            "beacon 01, root 02, validator 03, secret 04 (each x 32)",
            &["SpecExample"],
            json!({"beacon": hx(&[1; 32]), "root": hx(&[2; 32]), "validator": hx(&[3; 32]), "secret": hx(&[4; 32])}),
        ),
        Draft::valid(
            "another root: another seed",
            &["Valid"],
            json!({"beacon": hx(&[1; 32]), "root": hx(&[5; 32]), "validator": hx(&[3; 32]), "secret": hx(&[4; 32])}),
        ),
        Draft::valid(
            "another validator: another seed",
            &["Valid"],
            json!({"beacon": hx(&[1; 32]), "root": hx(&[2; 32]), "validator": hx(&[6; 32]), "secret": hx(&[4; 32])}),
        ),
    ];
    let seed = hx(&b32("sample seed"));
    let spec_seed = {
        let s = sample_seed(&[1; 32], &Digest([2; 32]), &Hotkey([3; 32]), &[4; 32]);
        hx(&s)
    };
    let all10: Vec<u64> = (0..10).collect();
    let mut samples = Vec::new();
    let mut shared = Vec::new();
    for (rate, min) in [(250_000u64, 1u64), (150_000, 0), (50_000, 0)] {
        samples.push(Draft::valid(
            format!("spec example: ten ids i x 32, rate {rate} ppm, min {min}"),
            &["SpecExample"],
            json!({"seed": spec_seed, "ids": ids(10), "list": all10, "ratePpm": rate, "min": min}),
        ));
    }
    let many: Vec<Value> = (0..200u32)
        .map(|i| hx(&b32(&format!("receipt {i}"))))
        .collect();
    let list: Vec<u64> = (0..200).filter(|i| i % 3 != 1).collect();
    for rate in [
        0u64, 1, 30_000, 33_333, 500_000, 999_999, 1_000_000, 2_000_000,
    ] {
        let flags: &[&str] = if rate == 0 || rate >= 1_000_000 {
            &["Bounds"]
        } else {
            &["Rounding"]
        };
        shared.push(Draft::valid(
            format!("134 of the 200 receipts, rate {rate} ppm"),
            flags,
            json!({"seed": seed, "list": list, "ratePpm": rate, "min": 0}),
        ));
    }
    for (i, s) in ["round 1", "round 2", "round 3", "round 4"]
        .iter()
        .enumerate()
    {
        shared.push(Draft::valid(format!("7 receipts at 10 %: 0 or 1 pick by the round draw (seed {})", i + 1), &["Rounding"], json!({"seed": hx(&b32(s)), "list": [3, 9, 27, 81, 100, 150, 199], "ratePpm": 100_000, "min": 0})));
    }
    shared.push(Draft::valid(
        "min 5 above a list of 3",
        &["Bounds"],
        json!({"seed": seed, "list": [4, 5, 6], "ratePpm": 30_000, "min": 5}),
    ));
    shared.push(Draft::valid(
        "an empty list",
        &["Bounds"],
        json!({"seed": seed, "list": [], "ratePpm": 500_000, "min": 2}),
    ));
    shared.push(Draft::valid(
        "indices 200 and 500 not in ids are skipped",
        &["Skipped"],
        json!({"seed": seed, "list": [1, 200, 2, 500, 3], "ratePpm": 1_000_000, "min": 0}),
    ));
    samples.push(Draft::valid(
        "ids given in the case: ten ids, half of them sampled",
        &["Valid"],
        json!({"seed": seed, "ids": ids(10), "list": all10, "ratePpm": 500_000, "min": 0}),
    ));
    Ok(vec![
        DraftGroup::new(
            "secret_commitment",
            "Commitments to a validator's sample secret.",
            secrets,
        ),
        DraftGroup::new("seed", "The sample seed.", seeds),
        DraftGroup::new(
            "sample",
            "The sample among one miner's receipts (ids in each case).",
            samples,
        ),
        DraftGroup {
            params: json!({"ids": many}),
            ..DraftGroup::new(
                "sample",
                "The sample among one miner's receipts of a batch of 200 (ids in the group's params).",
                shared,
            )
        },
    ])
}

/// The reference answer.
pub fn respond(op: &str, params: &Value, input: &Value) -> Answer {
    match op {
        "secret_commitment" => {
            Ok(json!({"commitment": hx(&secret_commitment(&array::<32>(input, "secret")?).0)}))
        }
        "seed" => {
            let s = sample_seed(
                &array::<32>(input, "beacon")?,
                &Digest(array::<32>(input, "root")?),
                &Hotkey(array::<32>(input, "validator")?),
                &array::<32>(input, "secret")?,
            );
            Ok(json!({"seed": hx(&s)}))
        }
        "sample" => {
            let from = if input.get("ids").is_some() {
                input
            } else {
                params
            };
            let ids = byte_list(from, "ids")?
                .into_iter()
                .map(|b| <[u8; 32]>::try_from(b).map(Digest).map_err(|_| bad("ids")))
                .collect::<core::result::Result<Vec<_>, _>>()?;
            let list = uint_list(input, "list")?
                .into_iter()
                .map(|i| usize::try_from(i).map_err(|_| bad("list")))
                .collect::<core::result::Result<Vec<_>, _>>()?;
            let rate = u32::try_from(uint(input, "ratePpm")?).map_err(|_| bad("ratePpm"))?;
            let min = u32::try_from(uint(input, "min")?).map_err(|_| bad("min"))?;
            Ok(json!({"picks": sample(&array::<32>(input, "seed")?, &ids, &list, rate, min)}))
        }
        other => Err(super::unknown_op(other)),
    }
}
