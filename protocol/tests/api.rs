//! Integration tests of mycel-protocol's public API: one binary, one module per area.

#[path = "api/commit.rs"]
mod commit;
#[path = "api/common.rs"]
mod common;
#[path = "api/examples.rs"]
mod examples;
#[path = "api/opening.rs"]
mod opening;
#[path = "api/props.rs"]
mod props;
#[path = "api/receipt.rs"]
mod receipt;
#[path = "api/sign.rs"]
mod sign;
#[path = "api/task.rs"]
mod task;
#[path = "api/wire.rs"]
mod wire;
