//! Unit-level tests of `node/src/sim/scenario.rs`, through the public API.

use mycel_node::Error;
use mycel_node::sim::{MinerBehaviour, Scenario, ValidatorBehaviour};

#[test]
fn default_is_valid_and_has_every_behaviour() {
    let s = Scenario::default();
    s.validate().unwrap();
    let m = s.miner_behaviours();
    for b in [
        MinerBehaviour::Honest,
        MinerBehaviour::Lazy,
        MinerBehaviour::Copier,
        MinerBehaviour::Sloppy,
        MinerBehaviour::Slow,
    ] {
        assert!(m.contains(&b), "{b:?} missing");
    }
    let v: Vec<_> = s.validator_behaviours().into_iter().map(|x| x.0).collect();
    for b in [
        ValidatorBehaviour::Honest,
        ValidatorBehaviour::WeightCopier,
        ValidatorBehaviour::Colluder,
    ] {
        assert!(v.contains(&b), "{b:?} missing");
    }
}

#[test]
fn scenarios_default_toml_is_the_default() {
    let text = include_str!("../../../scenarios/default.toml");
    assert_eq!(Scenario::from_toml(text).unwrap(), Scenario::default());
}

#[test]
fn empty_toml_is_the_default_and_unknown_keys_fail() {
    assert_eq!(Scenario::from_toml("").unwrap(), Scenario::default());
    let e = Scenario::from_toml("[miners]\ncuont = 3\n").unwrap_err();
    assert!(e.to_string().contains("cuont"), "{e}");
}

#[test]
fn rules_name_their_field() {
    let cases: [(&str, &str); 8] = [
        ("epochs = 0", "epochs"),
        ("[miners]\ncount = 2\nlazy = 3", "miners"),
        ("[validators]\ncount = 2\nstakes = [1]", "validators.stakes"),
        ("[tasks]\nmatmul_k = 33", "tasks.matmul_k"),
        (
            "[tasks]\nattention_dtypes = [\"f8\"]",
            "tasks.attention_dtypes",
        ),
        (
            "[scoring]\nspot_check_rate = 1.5",
            "scoring.spot_check_rate",
        ),
        (
            "[validators]\ncolluder_target = \"ghost\"",
            "validators.colluder_target",
        ),
        ("[tasks]\nper_miner = 0", "tasks.per_miner"),
    ];
    for (text, field) in cases {
        let e = Scenario::from_toml(text).unwrap().validate().unwrap_err();
        let Error::Scenario(msg) = &e else {
            panic!("{e:?}")
        };
        assert!(msg.starts_with(field), "{text}: {e}");
    }
}

#[test]
fn colluder_target_by_name_and_index() {
    let s = Scenario::default();
    let miners = [
        MinerBehaviour::Honest,
        MinerBehaviour::Lazy,
        MinerBehaviour::Lazy,
    ];
    assert_eq!(s.colluder_target_in(&miners), Ok(1));
    let mut s2 = s.clone();
    s2.validators.colluder_target = "2".into();
    assert_eq!(s2.colluder_target_in(&miners), Ok(2));
    s2.validators.colluder_target = "3".into();
    assert!(s2.colluder_target_in(&miners).is_err());
}

#[test]
fn ema_alpha_bits() {
    let mut s = Scenario::default();
    s.scoring.ema_alpha = 0.5;
    assert_eq!(s.ema_alpha_q32(), 1 << 31);
    s.scoring.ema_alpha = 1.0;
    assert_eq!(s.ema_alpha_q32(), 1 << 32);
}
