//! The adapter protocol of `mycel conformance run --adapter CMD`: an outside implementation is
//! a program (started as `sh -c CMD`) that reads one JSON request per line on stdin and writes
//! one JSON response per line on stdout, in the same order, flushing after each line.
//!
//! Request: `{"area", "op", "tcId", "params", "input"}` ([`crate::Request`]).
//! Response: `{"tcId", "result": "valid", "output": {...}}` or
//! `{"tcId", "result": "invalid", "error": "<code>"}` ([`crate::Response`]).
//! The adapter exits when stdin closes. Anything it writes to stderr is passed through.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::{Error, Request, Response, Result};

/// A running adapter process.
#[derive(Debug)]
pub struct Adapter {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    dead: Option<String>,
}

impl Adapter {
    /// Starts `sh -c command`.
    ///
    /// # Errors
    /// When the shell cannot be started.
    pub fn start(command: &str) -> Result<Self> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error(format!("cannot start the adapter `{command}`: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .map(BufReader::new)
            .ok_or_else(|| Error("the adapter has no stdout".into()))?;
        Ok(Self {
            child,
            stdin,
            stdout,
            dead: None,
        })
    }

    /// Sends one request and reads its response line.
    ///
    /// # Errors
    /// When the adapter has exited, or answers with a line that is not a response.
    pub fn ask(&mut self, req: &Request) -> Result<Response> {
        if let Some(why) = &self.dead {
            return Err(Error(why.clone()));
        }
        let r = self.exchange(req);
        if let Err(e) = &r
            && e.0.starts_with("adapter ")
        {
            self.dead = Some(e.0.clone());
        }
        r
    }

    fn exchange(&mut self, req: &Request) -> Result<Response> {
        let mut line = serde_json::to_string(req).map_err(|e| Error(e.to_string()))?;
        line.push('\n');
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| Error("adapter stdin closed".into()))?;
        stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| Error(format!("adapter stopped reading its input: {e}")))?;
        let mut answer = String::new();
        let n = self
            .stdout
            .read_line(&mut answer)
            .map_err(|e| Error(format!("adapter output unreadable: {e}")))?;
        if n == 0 {
            return Err(Error("adapter exited without answering".into()));
        }
        serde_json::from_str(answer.trim_end())
            .map_err(|e| Error(format!("not a response line ({e}): {}", answer.trim_end())))
    }

    /// Closes stdin and waits for the adapter to exit; returns its exit status as text when it
    /// failed.
    pub fn finish(mut self) -> Option<String> {
        drop(self.stdin.take());
        match self.child.wait() {
            Ok(s) if s.success() => None,
            Ok(s) => Some(format!("adapter exited with {s}")),
            Err(e) => Some(format!("adapter: {e}")),
        }
    }
}
