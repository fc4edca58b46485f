//! Integration tests of mycel-node through its public API only (one binary, rustls style).

mod api {
    mod adversaries;
    mod intake;
    mod optimistic;
    mod roles;
    mod sim;
}
