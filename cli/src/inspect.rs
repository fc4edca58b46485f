//! `mycel inspect FILE`: decode any envelope (spec/wire.md) and print it as JSON, with the
//! values derived from it (task digest and compute units, receipt/verdict id and signature
//! verdict, batch root).

use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use mycel_protocol::sign::Signable;
use mycel_protocol::sign::Signed;
use mycel_protocol::wire::AnyMessage;
use serde_json::{Value, json};

use crate::CliResult;

/// Arguments of `mycel inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The envelope file (`-`: stdin).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

fn signature_status<T: Signable>(m: &Signed<T>) -> Value {
    match m.verify() {
        Ok(()) => json!("valid"),
        Err(e) => json!(format!("invalid: {e} ({})", e.code())),
    }
}

/// `mycel inspect`.
pub fn run(args: InspectArgs) -> CliResult {
    let bytes = if args.file.as_os_str() == "-" {
        let limit = crate::fsio::ENVELOPE_FILE_LIMIT;
        let mut b = Vec::new();
        io::stdin().lock().take(limit + 1).read_to_end(&mut b)?;
        if b.len() as u64 > limit {
            return Err(
                format!("stdin: larger than the {limit}-byte limit for an envelope").into(),
            );
        }
        b
    } else {
        crate::fsio::read_limited(&args.file, crate::fsio::ENVELOPE_FILE_LIMIT, "an envelope")?
    };
    let msg = AnyMessage::decode(&bytes).map_err(|e| {
        format!(
            "{}: not a valid mycel envelope: {e} ({})",
            args.file.display(),
            e.code()
        )
    })?;
    let derived = match &msg {
        AnyMessage::Task(t) => {
            json!({ "digest": t.digest()?, "compute_units": t.compute_units()? })
        }
        AnyMessage::Receipt(r) => json!({ "id": r.id()?, "signature": signature_status(r) }),
        AnyMessage::Verdict(v) => json!({ "id": v.id()?, "signature": signature_status(v) }),
        AnyMessage::ReceiptBatch(b) => json!({
            "root": b.root()?,
            "receipt_ids": b.receipts.iter().map(Signed::id).collect::<Result<Vec<_>, _>>()?,
            "signatures": b.receipts.iter().map(signature_status).collect::<Vec<_>>(),
        }),
        _ => json!({}),
    };
    let mut value = serde_json::to_value(&msg)?;
    if let Value::Object(map) = &mut value {
        map.insert("version".into(), json!(bytes.first().copied().unwrap_or(0)));
        map.insert("bytes".into(), json!(bytes.len()));
        map.insert("derived".into(), derived);
    }
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(ExitCode::SUCCESS)
}
