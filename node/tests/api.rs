//! Integration tests of mycel-node through its public API only (one binary, rustls style).

mod api {
    mod adversaries;
    mod extremes;
    mod intake;
    mod localnet;
    mod optimistic;
    mod roles;
    mod sampling;
    mod sim;
    mod tile_proof;
    mod unit_rng;
    mod unit_sample;
    mod unit_scenario;
    mod unit_score;
    mod unit_task;
    mod unit_work;
}
