//! The reference responder: answers a [`Request`] with the Rust crates, as every other
//! implementation answers it through its runner or adapter.

use crate::{Request, Response};

/// The reference answer to `req`.
pub fn respond(req: &Request) -> Response {
    match crate::areas::respond(&req.area, &req.op, &req.params, &req.input) {
        Ok(out) => Response::valid(req.tc_id, out),
        Err(code) => Response::invalid(req.tc_id, &code),
    }
}
