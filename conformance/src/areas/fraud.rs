//! `fraud.json`: version-1 fraud proofs (spec/receipts.md §8): proofs that hold, and proofs
//! that must not, each refused for its real reason.
//!
//! Operation `check` `{proof}` (the proof file's JSON text) → `{recomputed, batchRoot}` (the
//! commitment re-execution gives; the batch root or null) or the first failing rule's
//! `fraud.*` code.
#![allow(clippy::indexing_slicing)] // drafts index values they built, of known layout

use mycel_kernels::quant::QuantFormat;
use mycel_node::FraudProof;
use mycel_node::fraud::{BatchMembership, WeightsSource};
use mycel_node::task::weights_seed;
use mycel_protocol::commit::MerkleTree;
use mycel_protocol::ids::{Digest, SigningKey};
use mycel_protocol::receipt::{Outcome, SignedReceipt, SignedVerdict};
use mycel_protocol::task::{AttnDtype, AttnMode, KernelParams, TaskSpec};
use mycel_protocol::wire::MessageKind;
use serde_json::{Value, json};

use super::fixtures::{self as fx, e};
use crate::Result;
use crate::generate::{Draft, DraftGroup, Meta};
use crate::util::{Answer, hx, text};

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec!["spec/receipts.md#8-fraud-proofs"],
        header: vec![
            "Fraud proofs (mycel-fraud-proof/v1 JSON): a task, the miner's signed receipt, the validator's signed Mismatch verdict, the weights' source, and optionally the receipt's inclusion proof under the committed batch root. A proof holds when re-executing the task gives a commitment that differs from the receipt's and equals the verdict's.",
            "Operation check {proof} -> {recomputed, batchRoot} or the first failing rule's fraud.* code (rules checked in the order of spec/receipts.md section 8).",
        ],
        notes: vec![
            ("Holds", "A proof that holds."),
            (
                "ReceiptCorrect",
                "Re-execution matches the receipt: the proof accuses an honest miner (evidence against the validator).",
            ),
            (
                "VerdictWrong",
                "Re-execution matches neither the receipt nor the verdict.",
            ),
            ("NotMismatch", "The verdict's outcome is not Mismatch."),
            ("Signature", "A tampered receipt or verdict signature."),
            (
                "Binding",
                "The receipt belongs to another task, or the verdict to another receipt.",
            ),
            (
                "FastMode",
                "A Fast-mode attention task: not bit-defined, cannot be convicted by commitment.",
            ),
            (
                "OverBudget",
                "A task over the verifier's compute budget (2^36 units).",
            ),
            (
                "Batch",
                "A bad inclusion proof under the claimed batch root.",
            ),
            (
                "Weights",
                "Weights that are missing or do not regenerate to the task's digest.",
            ),
            (
                "Format",
                "Not a version-1 proof file: bad JSON, unknown fields, wrong format string, bad hex, bad envelopes.",
            ),
        ],
    }
}

struct Parts {
    task: TaskSpec,
    receipt: SignedReceipt,
    verdict: SignedVerdict,
    weights: Option<WeightsSource>,
    batch: Option<BatchMembership>,
}

fn source(t: &TaskSpec) -> Option<WeightsSource> {
    match (t.kernel, t.params) {
        (mycel_protocol::task::KernelId::MatmulQ8_0, KernelParams::Matmul { n, k, .. }) => Some(
            WeightsSource::new(&weights_seed(&t.input_seed), QuantFormat::Q8_0, n, k),
        ),
        (mycel_protocol::task::KernelId::MatmulQ4_0, KernelParams::Matmul { n, k, .. }) => Some(
            WeightsSource::new(&weights_seed(&t.input_seed), QuantFormat::Q4_0, n, k),
        ),
        _ => None,
    }
}

fn flip(d: Digest) -> Digest {
    let mut x = d;
    x.0[0] ^= 0x5a;
    x
}

/// A lying miner caught: the receipt claims `flip(truth)`, the verdict recomputes `truth`
/// (or what `verdict_says` gives).
fn caught(
    task: TaskSpec,
    miner: &SigningKey,
    validator: &SigningKey,
    claim: Option<Digest>,
    verdict: (Outcome, Option<Digest>),
) -> Result<Parts> {
    let (c, t) = fx::truth(&task)?;
    let receipt = fx::sign(
        fx::receipt_body(
            &task,
            miner,
            validator,
            (claim.unwrap_or_else(|| flip(c)), t),
            5,
        )?,
        miner,
    )?;
    let v = fx::verdict(validator, receipt.id().map_err(e)?, verdict.0, verdict.1);
    let verdict = fx::sign_raw(v, MessageKind::Verdict, validator)?;
    Ok(Parts {
        weights: source(&task),
        task,
        receipt,
        verdict,
        batch: None,
    })
}

fn json_of(p: &Parts) -> Result<String> {
    serde_json::to_string_pretty(&FraudProof {
        format: mycel_node::fraud::FORMAT.into(),
        task: hex::encode(fx::raw_envelope(MessageKind::TaskSpec, &p.task)?),
        receipt: hex::encode(fx::raw_envelope(MessageKind::Receipt, &p.receipt)?),
        verdict: hex::encode(fx::raw_envelope(MessageKind::Verdict, &p.verdict)?),
        weights: p.weights.clone(),
        batch: p.batch.clone(),
        note: "conformance".into(),
    })
    .map_err(e)
}

fn case(p: &Parts) -> Result<Value> {
    Ok(json!({"proof": json_of(p)?}))
}

/// Draft cases.
///
/// # Errors
/// Fixture failures.
#[allow(clippy::too_many_lines)]
pub fn drafts() -> Result<Vec<DraftGroup>> {
    let miner = fx::key("fraud miner");
    let val = fx::key("fraud validator");
    let q8 = fx::matmul(QuantFormat::Q8_0, 3, 40, 64, "fraud q8")?;
    let q4 = fx::matmul(QuantFormat::Q4_0, 2, 17, 96, "fraud q4")?;
    let at = fx::attention(
        (2, 1),
        4,
        9,
        64,
        true,
        AttnDtype::F16,
        AttnMode::Verifiable,
        "fraud attn",
    )?;
    let truth = |t: &TaskSpec| fx::truth(t).map(|x| x.0);
    let mismatch = |t: &TaskSpec| -> Result<(Outcome, Option<Digest>)> {
        Ok((Outcome::Mismatch, Some(truth(t)?)))
    };

    let mut holds = Vec::new();
    let mut p = caught(q8, &miner, &val, None, mismatch(&q8)?)?;
    holds.push(Draft::valid(
        "Q8_0 matmul: the receipt's commitment is wrong, the verdict's right",
        &["Holds"],
        case(&p)?,
    ));
    // With batch membership: the receipt at index 1 of a three-receipt batch.
    let others: Vec<SignedReceipt> = (0..2)
        .map(|i| {
            let t = fx::matmul(QuantFormat::Q8_0, 1, 8, 32, &format!("fraud batch {i}"))?;
            fx::sign(
                fx::receipt_body(
                    &t,
                    &fx::key(&format!("batch miner {i}")),
                    &val,
                    fx::truth(&t)?,
                    1,
                )?,
                &fx::key(&format!("batch miner {i}")),
            )
        })
        .collect::<Result<_>>()?;
    let ids = [
        others[0].id().map_err(e)?,
        p.receipt.id().map_err(e)?,
        others[1].id().map_err(e)?,
    ];
    let tree = MerkleTree::from_leaf_data(ids.iter().map(|d| d.0));
    p.batch = Some(BatchMembership {
        root: tree.root(),
        proof: tree.proof(1).map_err(e)?,
    });
    holds.push(Draft::valid(
        "the same with its inclusion proof under the committed batch root",
        &["Holds", "Batch"],
        case(&p)?,
    ));
    let mut bad_batch = p.batch.clone();
    if let Some(b) = bad_batch.as_mut() {
        b.proof.path[0].0[3] ^= 1;
    }
    let mut pb = caught(q8, &miner, &val, None, mismatch(&q8)?)?;
    pb.batch = bad_batch;
    let mut wrong_index = p.batch.clone();
    if let Some(b) = wrong_index.as_mut() {
        b.proof.index = 0;
    }
    let mut pw = caught(q8, &miner, &val, None, mismatch(&q8)?)?;
    pw.batch = wrong_index;
    holds.push(Draft::valid(
        "Q4_0 matmul",
        &["Holds"],
        case(&caught(q4, &miner, &val, None, mismatch(&q4)?)?)?,
    ));
    holds.push(Draft::valid(
        "attention (causal, f16, GQA): no weights",
        &["Holds"],
        case(&caught(at, &miner, &val, None, mismatch(&at)?)?)?,
    ));

    let mut bad = Vec::new();
    let honest = truth(&q8)?;
    bad.push(Draft::invalid(
        "the receipt is correct: re-execution matches it (the validator lied)",
        &["ReceiptCorrect"],
        case(&caught(
            q8,
            &miner,
            &val,
            Some(honest),
            (Outcome::Mismatch, Some(flip(honest))),
        )?)?,
        "fraud.receipt_correct",
    ));
    bad.push(Draft::invalid(
        "the receipt is correct (attention)",
        &["ReceiptCorrect"],
        case(&caught(
            at,
            &miner,
            &val,
            Some(truth(&at)?),
            (Outcome::Mismatch, Some(flip(truth(&at)?))),
        )?)?,
        "fraud.receipt_correct",
    ));
    bad.push(Draft::invalid(
        "both wrong: the verdict's commitment is not what re-execution gives",
        &["VerdictWrong"],
        case(&caught(
            q8,
            &miner,
            &val,
            None,
            (Outcome::Mismatch, Some(Digest([0x33; 32]))),
        )?)?,
        "fraud.verdict_wrong",
    ));
    let p_match = caught(q8, &miner, &val, None, (Outcome::Match, None))?;
    let claimed = p_match.receipt.body.output_commitment;
    bad.push(Draft::invalid(
        "a Match verdict",
        &["NotMismatch"],
        case(&caught(
            q8,
            &miner,
            &val,
            None,
            (Outcome::Match, Some(claimed)),
        )?)?,
        "fraud.not_mismatch",
    ));
    bad.push(Draft::invalid(
        "an Unchecked verdict",
        &["NotMismatch"],
        case(&caught(q8, &miner, &val, None, (Outcome::Unchecked, None))?)?,
        "fraud.not_mismatch",
    ));
    let mut p = caught(q8, &miner, &val, None, mismatch(&q8)?)?;
    p.receipt.body.nonce += 1;
    bad.push(Draft::invalid(
        "the receipt tampered after signing",
        &["Signature"],
        case(&p)?,
        "fraud.receipt_signature",
    ));
    let mut p = caught(q8, &miner, &val, None, mismatch(&q8)?)?;
    p.verdict.signature.0[10] ^= 1;
    bad.push(Draft::invalid(
        "the verdict's signature tampered",
        &["Signature"],
        case(&p)?,
        "fraud.verdict_signature",
    ));
    let mut p = caught(q8, &miner, &val, None, mismatch(&q8)?)?;
    p.task = q4;
    p.weights = source(&q4);
    bad.push(Draft::invalid(
        "the receipt of another task",
        &["Binding"],
        case(&p)?,
        "fraud.receipt_task",
    ));
    let p1 = caught(q8, &miner, &val, None, mismatch(&q8)?)?;
    let mut p = caught(q8, &fx::key("fraud miner 2"), &val, None, mismatch(&q8)?)?;
    p.verdict = p1.verdict;
    bad.push(Draft::invalid(
        "a verdict on another receipt",
        &["Binding"],
        case(&p)?,
        "fraud.verdict_receipt",
    ));
    let fast = fx::attention(
        (2, 1),
        4,
        9,
        64,
        false,
        AttnDtype::F32,
        AttnMode::Fast,
        "fraud fast",
    )?;
    bad.push(Draft::invalid(
        "a Fast-mode attention task",
        &["FastMode"],
        case(&caught(
            fast,
            &miner,
            &val,
            Some(Digest([7; 32])),
            (Outcome::Mismatch, Some(Digest([8; 32]))),
        )?)?,
        "fraud.fast_mode",
    ));
    let huge = fx::matmul(QuantFormat::Q8_0, 4096, 4096, 4096, "fraud huge");
    if let Ok(huge) = huge {
        let receipt = fx::sign(
            fx::receipt_body(&huge, &miner, &val, (Digest([1; 32]), Digest([2; 32])), 1)?,
            &miner,
        )?;
        let verdict = fx::sign(
            fx::verdict(
                &val,
                receipt.id().map_err(e)?,
                Outcome::Mismatch,
                Some(Digest([3; 32])),
            ),
            &val,
        )?;
        bad.push(Draft::invalid(
            "a task of 2^37 compute units (over the 2^36 budget)",
            &["OverBudget"],
            case(&Parts {
                weights: source(&huge),
                task: huge,
                receipt,
                verdict,
                batch: None,
            })?,
            "fraud.over_budget",
        ));
    }
    bad.push(Draft::invalid(
        "an inclusion proof with one bit of a sibling flipped",
        &["Batch"],
        case(&pb)?,
        "fraud.not_in_batch",
    ));
    bad.push(Draft::invalid(
        "the inclusion proof of index 1 claimed for index 0",
        &["Batch"],
        case(&pw)?,
        "fraud.not_in_batch",
    ));
    let mut p = caught(q8, &miner, &val, None, mismatch(&q8)?)?;
    p.weights = Some(WeightsSource::new(&[9; 32], QuantFormat::Q8_0, 40, 64));
    bad.push(Draft::invalid(
        "weights from another seed",
        &["Weights"],
        case(&p)?,
        "fraud.weights_digest",
    ));
    let mut p = caught(q8, &miner, &val, None, mismatch(&q8)?)?;
    p.weights = None;
    bad.push(Draft::invalid(
        "a matmul proof without weights",
        &["Weights"],
        case(&p)?,
        "fraud.weights_missing",
    ));
    let mut p = caught(q8, &miner, &val, None, mismatch(&q8)?)?;
    if let Some(w) = p.weights.as_mut() {
        w.generator = "numpy".into();
    }
    bad.push(Draft::invalid(
        "an unknown weights generator",
        &["Weights"],
        case(&p)?,
        "fraud.weights_source",
    ));

    let good = json_of(&caught(q8, &miner, &val, None, mismatch(&q8)?)?)?;
    let v: Value = serde_json::from_str(&good).map_err(e)?;
    let with = |f: &dyn Fn(&mut Value)| -> Result<Value> {
        let mut x = v.clone();
        f(&mut x);
        Ok(json!({"proof": serde_json::to_string_pretty(&x).map_err(e)?}))
    };
    let format = vec![
        Draft::invalid(
            "not JSON",
            &["Format"],
            json!({"proof": "mycel"}),
            "fraud.not_a_proof",
        ),
        Draft::invalid(
            "an unknown field",
            &["Format"],
            with(&|x| {
                x["extra"] = json!(1);
            })?,
            "fraud.not_a_proof",
        ),
        Draft::invalid(
            "format mycel-fraud-proof/v9",
            &["Format"],
            with(&|x| {
                x["format"] = json!("mycel-fraud-proof/v9");
            })?,
            "fraud.format",
        ),
        Draft::invalid(
            "task not hex",
            &["Format"],
            with(&|x| {
                x["task"] = json!("zz");
            })?,
            "fraud.not_hex",
        ),
        Draft::invalid(
            "a receipt envelope with a trailing byte",
            &["Format"],
            with(&|x| {
                let s = format!("{}00", x["receipt"].as_str().unwrap_or(""));
                x["receipt"] = json!(s);
            })?,
            "fraud.envelope",
        ),
        Draft::invalid(
            "the task and receipt fields swapped",
            &["Format"],
            with(&|x| {
                let t = x["task"].clone();
                x["task"] = x["receipt"].clone();
                x["receipt"] = t;
            })?,
            "fraud.envelope",
        ),
        Draft::valid(
            "the note changed (ignored)",
            &["Holds"],
            with(&|x| {
                x["note"] = json!("anything at all");
            })?,
        ),
    ];
    Ok(vec![
        DraftGroup::new("check", "Fraud proofs that hold.", holds),
        DraftGroup::new(
            "check",
            "Fraud proofs that must not hold, each for its reason.",
            bad,
        ),
        DraftGroup::new("check", "Files that are not version-1 proofs.", format),
    ])
}

/// The reference answer.
pub fn respond(op: &str, _params: &Value, input: &Value) -> Answer {
    if op != "check" {
        return Err(super::unknown_op(op));
    }
    let c = FraudProof::from_json(text(input, "proof")?)
        .and_then(|p| p.check())
        .map_err(|e| e.code().to_string())?;
    Ok(
        json!({"recomputed": hx(&c.recomputed.0), "batchRoot": c.batch_root.map_or(Value::Null, |r| hx(&r.0))}),
    )
}
