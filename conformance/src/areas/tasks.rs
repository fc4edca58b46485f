//! `tasks.json`: TaskSpec → generated inputs → output commitment (spec/kernels.md §5): the
//! self-contained seeded tasks of `mycel task new`, and their execution on every host.
//!
//! Operations: `derive` (a seeded task from its parameters, as `mycel task new`) → `{task,
//! digest, computeUnits, weightsDigest}`; `execute` `{task}` → `{commitment, tileRoot}`.
#![allow(clippy::indexing_slicing)] // drafts index JSON values they built (serde_json indexing)

use mycel_kernels::Backend;
use mycel_kernels::quant::QuantFormat;
use mycel_node::task::{AttentionShape, TaskScope, attention_task, execute_seeded, matmul_task};
use mycel_protocol::ids::{Epoch, NetworkId, SubnetId};
use mycel_protocol::task::{AttnDtype, AttnMode, TaskSpec};
use serde_json::{Value, json};

use super::fixtures::{self as fx, e};
use crate::Result;
use crate::generate::{Draft, DraftGroup, Meta};
use crate::util::{Answer, array, b32, bad, bytes, field, hx, text, uint};

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec![
            "spec/receipts.md#1-task-specification",
            "spec/receipts.md#2-compute-units",
            "spec/kernels.md#5-task-execution",
            "spec/kernels.md#5a-task-resource-bounds",
        ],
        header: vec![
            "Self-contained tasks: inputs from the task's input_seed (Philox4x32-10), matmul weights from SHA-256(\"mycel/v1/task-weights\" || input_seed); the output commitment and the tile root are bit-exact on every backend.",
            "Operations: derive {kernel, seed, network, subnet, epoch, m, n, k | heads, kvHeads, qLen, kvLen, headDim, dtype, mode, causal} -> {task, digest, computeUnits, weightsDigest}; execute {task} -> {commitment, tileRoot}.",
        ],
        notes: vec![
            ("Valid", "A task that is built or executed."),
            ("Matmul", "A Q8_0 or Q4_0 matmul task."),
            ("Attention", "An attention task (verifiable mode)."),
            (
                "Tiles",
                "An output of several 16 x 256 tiles (rows and columns beyond one tile).",
            ),
            ("Bounds", "Parameters the TaskSpec rules refuse."),
            (
                "ForeignWeights",
                "A task that names weights not derived from its seed: it cannot be executed from the task alone.",
            ),
        ],
    }
}

fn matmul_in(kernel: &str, seed: &str, m: u32, n: u32, k: u32) -> Value {
    json!({"kernel": kernel, "seed": hx(&b32(seed)), "network": hx(&fx::network().0), "subnet": fx::SUBNET.0, "epoch": fx::EPOCH.0, "m": m, "n": n, "k": k})
}

#[allow(clippy::too_many_arguments)]
fn attn_in(
    seed: &str,
    heads: u32,
    kv: u32,
    q: u32,
    kvl: u32,
    hd: u32,
    dtype: &str,
    mode: &str,
    causal: bool,
) -> Value {
    json!({"kernel": "attention", "seed": hx(&b32(seed)), "network": hx(&fx::network().0), "subnet": fx::SUBNET.0, "epoch": fx::EPOCH.0,
        "heads": heads, "kvHeads": kv, "qLen": q, "kvLen": kvl, "headDim": hd, "dtype": dtype, "mode": mode, "causal": causal})
}

/// Draft cases.
///
/// # Errors
/// Fixture failures.
pub fn drafts() -> Result<Vec<DraftGroup>> {
    let mut derive = Vec::new();
    let mut execute = Vec::new();
    let matmuls: [(&str, u32, u32, u32, &[&str]); 8] = [
        ("matmul-q8_0", 1, 1, 32, &["Matmul"]),
        ("matmul-q8_0", 2, 32, 64, &["Matmul"]),
        ("matmul-q8_0", 7, 33, 96, &["Matmul"]),
        ("matmul-q8_0", 20, 300, 256, &["Matmul", "Tiles"]),
        ("matmul-q4_0", 1, 1, 32, &["Matmul"]),
        ("matmul-q4_0", 3, 17, 128, &["Matmul"]),
        ("matmul-q4_0", 17, 257, 64, &["Matmul", "Tiles"]),
        ("matmul-q4_0", 8, 64, 512, &["Matmul"]),
    ];
    for (i, (kernel, m, n, k, flags)) in matmuls.iter().enumerate() {
        let input = matmul_in(kernel, &format!("task {i}"), *m, *n, *k);
        derive.push(Draft::valid(
            format!("{kernel} m {m} n {n} k {k}"),
            flags,
            input.clone(),
        ));
        let task = respond("derive", &Value::Null, &input).map_err(crate::Error)?;
        execute.push(Draft::valid(
            format!("{kernel} m {m} n {n} k {k}"),
            flags,
            json!({"task": task["task"]}),
        ));
    }
    let attns: [(u32, u32, u32, u32, u32, &str, bool); 8] = [
        (1, 1, 1, 1, 64, "f32", false),
        (2, 1, 3, 5, 64, "f16", true),
        (4, 2, 16, 16, 64, "bf16", true),
        (4, 4, 5, 130, 64, "f32", false),
        (2, 2, 20, 100, 128, "f32", true),
        (6, 3, 9, 70, 128, "f16", false),
        (8, 1, 2, 65, 64, "bf16", false),
        (2, 1, 64, 64, 128, "f32", true),
    ];
    for (i, (h, kv, q, kvl, hd, dt, causal)) in attns.iter().enumerate() {
        let input = attn_in(
            &format!("attn {i}"),
            *h,
            *kv,
            *q,
            *kvl,
            *hd,
            dt,
            "verifiable",
            *causal,
        );
        let label = format!(
            "attention {h}/{kv} heads, q {q}, kv {kvl}, head_dim {hd}, {dt}{}",
            if *causal { ", causal" } else { "" }
        );
        derive.push(Draft::valid(label.clone(), &["Attention"], input.clone()));
        let task = respond("derive", &Value::Null, &input).map_err(crate::Error)?;
        execute.push(Draft::valid(
            label,
            &["Attention"],
            json!({"task": task["task"]}),
        ));
    }
    derive.push(Draft::valid(
        "attention in fast mode (a valid task; its output is not bit-defined)",
        &["Attention"],
        attn_in("fast", 2, 1, 4, 8, 64, "f32", "fast", false),
    ));
    derive.push(Draft::invalid(
        "matmul with k = 48",
        &["Bounds"],
        matmul_in("matmul-q8_0", "b1", 2, 2, 48),
        "task.k_not_block_aligned",
    ));
    derive.push(Draft::invalid(
        "matmul with n = 0",
        &["Bounds"],
        matmul_in("matmul-q4_0", "b2", 2, 0, 32),
        "task.zero_dimension",
    ));
    derive.push(Draft::invalid(
        "matmul with m = 65537",
        &["Bounds"],
        matmul_in("matmul-q8_0", "b3", 65_537, 1, 32),
        "task.dimension_too_large",
    ));
    derive.push(Draft::invalid(
        "attention with head_dim 80",
        &["Bounds"],
        attn_in("b4", 2, 1, 4, 8, 80, "f32", "verifiable", false),
        "task.unsupported_head_dim",
    ));
    derive.push(Draft::invalid(
        "attention with 3 heads over 2 KV heads",
        &["Bounds"],
        attn_in("b5", 3, 2, 4, 8, 64, "f32", "verifiable", false),
        "task.kv_heads_do_not_divide",
    ));
    derive.push(Draft::invalid(
        "causal attention with q_len 9 > kv_len 8",
        &["Bounds"],
        attn_in("b6", 2, 1, 9, 8, 64, "f32", "verifiable", true),
        "task.causal_query_longer_than_keys",
    ));
    derive.push(Draft::invalid(
        "attention over the memory bound (256 heads, 2^17 keys)",
        &["Bounds"],
        attn_in("b7", 256, 256, 1, 131_072, 128, "f32", "verifiable", false),
        "task.too_much_memory",
    ));

    let mut foreign = fx::matmul(QuantFormat::Q8_0, 2, 32, 64, "foreign")?;
    foreign.weights_digest.0[0] ^= 1;
    execute.push(Draft::invalid(
        "a matmul task naming weights not derived from its seed",
        &["ForeignWeights"],
        json!({"task": hx(&foreign.encode().map_err(e)?)}),
        "node.invalid_argument",
    ));
    Ok(vec![
        DraftGroup::new(
            "derive",
            "Seeded tasks built from their parameters (mycel task new).",
            derive,
        ),
        DraftGroup::new(
            "execute",
            "Seeded tasks executed from their envelope alone.",
            execute,
        ),
    ])
}

fn u32_of(input: &Value, key: &str) -> core::result::Result<u32, String> {
    u32::try_from(uint(input, key)?).map_err(|_| bad(key))
}

fn derive(input: &Value) -> core::result::Result<TaskSpec, String> {
    let scope = TaskScope {
        network: NetworkId(array::<32>(input, "network")?),
        subnet: SubnetId(u16::try_from(uint(input, "subnet")?).map_err(|_| bad("subnet"))?),
        epoch: Epoch(uint(input, "epoch")?),
    };
    let seed = array::<32>(input, "seed")?;
    let r = match text(input, "kernel")? {
        "matmul-q8_0" | "matmul-q4_0" => {
            let format = if text(input, "kernel")? == "matmul-q8_0" {
                QuantFormat::Q8_0
            } else {
                QuantFormat::Q4_0
            };
            matmul_task(
                scope,
                format,
                u32_of(input, "m")?,
                u32_of(input, "n")?,
                u32_of(input, "k")?,
                seed,
            )
        }
        "attention" => {
            let shape = AttentionShape {
                n_heads: u32_of(input, "heads")?,
                n_kv_heads: u32_of(input, "kvHeads")?,
                q_len: u32_of(input, "qLen")?,
                kv_len: u32_of(input, "kvLen")?,
                head_dim: u32_of(input, "headDim")?,
                causal: field(input, "causal")?
                    .as_bool()
                    .ok_or_else(|| bad("causal"))?,
                dtype: match text(input, "dtype")? {
                    "f32" => AttnDtype::F32,
                    "f16" => AttnDtype::F16,
                    "bf16" => AttnDtype::Bf16,
                    _ => return Err(bad("dtype")),
                },
                mode: match text(input, "mode")? {
                    "verifiable" => AttnMode::Verifiable,
                    "fast" => AttnMode::Fast,
                    _ => return Err(bad("mode")),
                },
            };
            attention_task(scope, shape, seed)
        }
        _ => return Err(bad("kernel")),
    };
    r.map_err(|e| e.code().to_string())
}

/// The reference answer.
pub fn respond(op: &str, _params: &Value, input: &Value) -> Answer {
    match op {
        "derive" => {
            let t = derive(input)?;
            let env = t.encode().map_err(|e| e.code().to_string())?;
            let digest = t.digest().map_err(|e| e.code().to_string())?;
            let units = t.compute_units().map_err(|e| e.code().to_string())?;
            Ok(
                json!({"task": hx(&env), "digest": hx(&digest.0), "computeUnits": crate::util::big(units), "weightsDigest": hx(&t.weights_digest.0)}),
            )
        }
        "execute" => {
            let t = TaskSpec::decode(&bytes(input, "task")?).map_err(|e| e.code().to_string())?;
            let out = execute_seeded(&t, Backend::Auto, 1).map_err(|e| e.code().to_string())?;
            Ok(json!({"commitment": hx(&out.commitment.0), "tileRoot": hx(&out.tile_root.0)}))
        }
        other => Err(super::unknown_op(other)),
    }
}
