//! The JSON and TOML readers of mycel-node: fraud-proof files (`mycel-fraud-proof/v1`,
//! node/src/fraud.rs, and `/v2`, node/src/tile_proof.rs) and simulation scenarios
//! (node/src/sim/scenario.rs).
//!
//! * Fraud proofs: any text gives a typed [`FraudError`](mycel_node::fraud::FraudError) or a
//!   proof; a decoded proof re-encodes to text that decodes to the same proof, and checking it
//!   (within a small compute budget, so runs stay fast) gives a verdict or a typed error, never a
//!   panic, and the same verdict twice.
//! * Scenarios: any text gives a typed error or a scenario (reading checks types and keys only;
//!   the rules are `validate`'s); a decoded scenario survives a TOML round trip through its own
//!   serializer unchanged; `Subnet::new` builds exactly the scenarios `validate` accepts and
//!   refuses the others with the same error.

use mycel_node::fraud::CheckOptions;
use mycel_node::sim::{Scenario, Subnet};
use mycel_node::tile_proof::{AnyProof, check_json};

/// The compute budget of a check in this target: 2^20 units (milliseconds of work).
pub const CHECK_UNITS: u64 = 1 << 20;

/// Fraud-proof JSON (either version, `mycel-fraud-proof/v1` or `/v2`) from arbitrary bytes.
pub fn check_fraud_proof(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let Ok(proof) = AnyProof::from_json(text) else {
        return;
    };
    let again = match &proof {
        AnyProof::V1(p) => p.to_json(),
        AnyProof::V2(p) => p.to_json(),
        _ => return,
    }
    .expect("a decoded proof re-encodes");
    let reread = AnyProof::from_json(&again).expect("a re-encoded proof decodes");
    assert_eq!(
        reread, proof,
        "fraud proof JSON round trip changed the proof"
    );
    let options = CheckOptions {
        max_compute_units: CHECK_UNITS,
    };
    let first = proof.check_with(&options).map_err(|e| e.code());
    let second = check_json(text, &options).map_err(|e| e.code());
    assert_eq!(
        first, second,
        "the same proof checked twice gave two verdicts"
    );
}

/// Scenario TOML from arbitrary bytes.
pub fn check_scenario(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = Scenario::from_toml(text) else {
        return;
    };
    let valid = scenario.validate().map_err(|e| e.to_string());
    let again = toml::to_string(&scenario).expect("a scenario serializes");
    let reread = Scenario::from_toml(&again).expect("a serialized scenario reads back");
    assert_eq!(
        format!("{reread:?}"),
        format!("{scenario:?}"),
        "scenario TOML round trip changed the scenario"
    );
    let built = Subnet::new(scenario).map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(built, valid, "Subnet::new and validate disagree");
}
