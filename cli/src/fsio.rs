//! Every file the CLI writes goes through here, so that an interrupted run (a crash, a full
//! disk, `kill -9`) never leaves a half-written file under a real name.
//!
//! The bytes go to a hidden temporary sibling (`.<name>.<pid>.mycel-tmp`, same directory, so the
//! final step is a rename within one file system), are flushed to disk with `fsync`, and only
//! then take the real name: by `rename` ([`write_atomic`], which replaces an older file) or by a
//! hard link that fails when the name exists ([`write_new`], for keys and receipts, which must
//! never overwrite). The directory is then synced so the new name survives a power loss too. A
//! reader therefore sees either no file or the whole file. Temporaries left by a killed run
//! carry the `.mycel-tmp` suffix; [`remove_stale_temps`] clears them (`mycel simulate` does so
//! when it starts).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Largest envelope file read (task, receipt, batch, `inspect`): the protocol's envelope bound.
pub const ENVELOPE_FILE_LIMIT: u64 = mycel_protocol::wire::MAX_ENVELOPE_LEN as u64;
/// Largest task file read: an envelope as hex text, with whitespace.
pub const TASK_FILE_LIMIT: u64 = 4 * ENVELOPE_FILE_LIMIT;
/// Largest key file read (a key file is about 200 bytes).
pub const KEY_FILE_LIMIT: u64 = 4096;
/// Largest weights or GGML block file read: the task memory bound (spec/kernels.md §5a).
pub const BLOCKS_FILE_LIMIT: u64 = mycel_protocol::task::MAX_TASK_MEMORY;
/// Largest `mycel epoch` input read (JSON; one line in `--jsonl` mode).
pub const EPOCH_INPUT_LIMIT: u64 = 1 << 28;

/// The suffix of every temporary file this module creates.
pub const TEMP_SUFFIX: &str = ".mycel-tmp";

/// The hidden temporary sibling of `path` used while writing it.
fn temp_path(path: &Path) -> Result<PathBuf, String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".{}{TEMP_SUFFIX}", std::process::id()));
    Ok(path.with_file_name(tmp))
}

/// Writes `bytes` to a fresh temporary file (mode 0600 when `private`) and syncs it.
fn write_temp(tmp: &Path, bytes: &[u8], private: bool) -> Result<(), String> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let result = opts
        .open(tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
    result.map_err(|e| {
        let _ = fs::remove_file(tmp);
        format!("cannot write {}: {e}", tmp.display())
    })
}

/// Syncs the directory holding `path`, so a rename or link into it is durable. Best effort:
/// some file systems refuse to open or sync directories, which loses nothing but durability.
fn sync_parent(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes `bytes` to `path` atomically, replacing any older file of that name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = temp_path(path)?;
    write_temp(&tmp, bytes, false)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    sync_parent(path);
    Ok(())
}

/// Writes `bytes` to `path` atomically, failing (and writing nothing) if `path` exists. With
/// `private` the file is created with mode 0600 (keys).
pub fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<(), String> {
    if fs::symlink_metadata(path).is_ok() {
        return Err(format!(
            "{} already exists; refusing to overwrite it",
            path.display()
        ));
    }
    let tmp = temp_path(path)?;
    write_temp(&tmp, bytes, private)?;
    // A hard link refuses an existing name atomically (no window between check and create);
    // then the temporary name goes away and only the complete file remains.
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    linked.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!(
            "{} already exists; refusing to overwrite it",
            path.display()
        ),
        _ => format!("cannot create {}: {e}", path.display()),
    })?;
    sync_parent(path);
    Ok(())
}

/// Removes the temporaries a killed run left in `dir` (only names ending in [`TEMP_SUFFIX`]);
/// returns how many it removed.
pub fn remove_stale_temps(dir: &Path) -> Result<usize, String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(TEMP_SUFFIX) {
            fs::remove_file(entry.path())
                .map_err(|e| format!("cannot remove {}: {e}", entry.path().display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Reads a whole file, refusing files larger than `limit` bytes before reading them; the error
/// names the file and the limit.
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if len > limit {
        return Err(format!(
            "{}: {len} bytes is larger than the {limit}-byte limit for {what}",
            path.display()
        ));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit + 1), &mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{}: larger than the {limit}-byte limit for {what}",
            path.display()
        ));
    }
    Ok(bytes)
}
