//! `mycel keygen`: create an ed25519 signing key file; and the key-file format the other
//! subcommands read.
//!
//! A key file is one JSON object, `{"kind": "mycel-ed25519-seed", "seed": HEX, "hotkey": HEX}`:
//! the RFC 8032 32-byte secret seed and its public key. It is created with mode 0600 and never
//! overwritten.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mycel_protocol::ids::{Hotkey, SigningKey};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::CliResult;

/// The `kind` field of key files.
const KEY_KIND: &str = "mycel-ed25519-seed";

/// Arguments of `mycel keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the key file (must not exist; created with mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Use this 32-byte seed (64 hex digits) instead of OS randomness. For tests and
    /// reproducible examples only: a seed typed on a command line is not secret.
    #[arg(long, value_name = "HEX")]
    pub seed: Option<String>,
}

/// The on-disk key file. The hex seed is wiped when the value is dropped.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    kind: String,
    seed: String,
    hotkey: Hotkey,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.seed.zeroize();
    }
}

/// `mycel keygen`: writes the key file and prints the hotkey (hex) on stdout.
pub fn run(args: KeygenArgs) -> CliResult {
    let key = match &args.seed {
        Some(hex_seed) => {
            let seed =
                Zeroizing::new(hex::decode(hex_seed.trim()).map_err(|e| format!("--seed: {e}"))?);
            SigningKey::from_seed_slice(&seed)
                .map_err(|_| "--seed must be 32 bytes (64 hex digits)")?
        }
        None => SigningKey::generate()?,
    };
    let file = KeyFile {
        kind: KEY_KIND.to_owned(),
        seed: hex::encode(key.to_seed().as_ref()),
        hotkey: key.hotkey(),
    };
    let text = Zeroizing::new(serde_json::to_string_pretty(&file)? + "\n");
    drop(file);
    crate::fsio::write_new(&args.out, text.as_bytes(), true)?;
    eprintln!("wrote key file {}", args.out.display());
    println!("{}", key.hotkey());
    Ok(ExitCode::SUCCESS)
}

/// Writes `key` to a new key file at `path` (mode 0600, never overwriting), in the format
/// `mycel keygen` writes.
pub fn save(path: &Path, key: &SigningKey) -> Result<(), String> {
    let file = KeyFile {
        kind: KEY_KIND.to_owned(),
        seed: hex::encode(key.to_seed().as_ref()),
        hotkey: key.hotkey(),
    };
    let text = Zeroizing::new(
        serde_json::to_string_pretty(&file).map_err(|e| format!("encoding a key: {e}"))? + "\n",
    );
    drop(file);
    crate::fsio::write_new(path, text.as_bytes(), true)
}

/// Reads a key file written by `mycel keygen`, checking that its hotkey matches its seed.
pub fn load(path: &Path) -> Result<SigningKey, String> {
    let text = Zeroizing::new(
        String::from_utf8(crate::fsio::read_limited(
            path,
            crate::fsio::KEY_FILE_LIMIT,
            "a key file",
        )?)
        .map_err(|_| format!("{}: not a mycel key file: not UTF-8", path.display()))?,
    );
    let file: KeyFile = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a mycel key file: {e}", path.display()))?;
    if file.kind != KEY_KIND {
        return Err(format!(
            "{}: key kind is {:?}, expected {KEY_KIND:?}",
            path.display(),
            file.kind
        ));
    }
    let seed = Zeroizing::new(
        hex::decode(&file.seed).map_err(|e| format!("{}: seed: {e}", path.display()))?,
    );
    let key = SigningKey::from_seed_slice(&seed)
        .map_err(|_| format!("{}: seed is not 32 bytes", path.display()))?;
    if key.hotkey() != file.hotkey {
        return Err(format!(
            "{}: hotkey does not belong to the seed",
            path.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "warning: key file {} is readable by other users (chmod 600 it)",
                path.display()
            );
        }
    }
    Ok(key)
}
