//! Integration tests of mycel-node through its public API only (one binary, rustls style).

mod api {
    mod optimistic;
    mod roles;
    mod sim;
}
