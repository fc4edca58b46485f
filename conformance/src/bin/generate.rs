//! Writes the vector files: `cargo run -p mycel-conformance --bin generate [-- DIR]`
//! (default `conformance/vectors/`). The output is byte-reproducible; the crate's tests check
//! that the committed files equal a fresh generation.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors"),
        PathBuf::from,
    );
    for area in mycel_conformance::AREAS {
        let file = match mycel_conformance::generate::generate_area(area) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("generate: {e}");
                return ExitCode::FAILURE;
            }
        };
        if file.number_of_tests == 0 {
            continue;
        }
        let text = match mycel_conformance::render(&file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("generate: {e}");
                return ExitCode::FAILURE;
            }
        };
        let path = dir.join(format!("{area}.json"));
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("generate: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{}: {} cases", path.display(), file.number_of_tests);
    }
    ExitCode::SUCCESS
}
