//! spec/sampling.md's examples (computed independently with Python's hashlib).

use mycel_node::validator::sample::{check_secret, sample, sample_seed, secret_commitment};
use mycel_protocol::ids::{Digest, Hotkey};

fn spec_block(marker: &str) -> String {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/sampling.md"))
        .unwrap();
    let after = spec
        .split(marker)
        .nth(1)
        .expect("marker in spec/sampling.md");
    after
        .split("```")
        .nth(1)
        .unwrap()
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect()
}

#[test]
fn spec_examples_hold() {
    let secret = [4u8; 32];
    let c = secret_commitment(&secret);
    assert_eq!(
        c.to_string(),
        spec_block("<!-- example: sample-secret-commitment -->")
    );
    assert!(check_secret(&c, &secret));
    let seed = sample_seed(&[1; 32], &Digest([2; 32]), &Hotkey([3; 32]), &secret);
    assert_eq!(
        hex::encode(seed),
        spec_block("<!-- example: sample-seed -->")
    );
    let ids: Vec<Digest> = (0u8..10).map(|i| Digest([i; 32])).collect();
    let all: Vec<usize> = (0..10).collect();
    assert_eq!(sample(&seed, &ids, &all, 250_000, 1), vec![0, 1, 3]);
    assert_eq!(sample(&seed, &ids, &all, 150_000, 0), vec![0, 1]);
    assert_eq!(sample(&seed, &ids, &all, 50_000, 0), vec![0]);
}
