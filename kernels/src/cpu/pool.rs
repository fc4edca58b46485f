//! A small persistent worker pool for the matmul, so a call does not pay for spawning threads
//! (tens of microseconds each on a VM, a measurable part of a decode matvec).
//!
//! [`for_each`] runs `f(0)` on the calling thread and `f(1) .. f(n − 1)` on parked workers,
//! and returns only once every call has finished (also when one of them panicked), which is
//! what makes lending the borrowed closure to the workers sound. The workers are created on
//! first use, as many as the largest `n − 1` asked for, and live for the rest of the process.
//! Which thread runs which index never changes a result: the callers give each index its own
//! disjoint piece of work.

#![allow(unsafe_code)]

use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};

/// A borrowed task with its lifetime erased; see [`for_each`] for why that is sound.
struct Job {
    f: &'static (dyn Fn(usize) + Sync),
    index: usize,
    latch: Arc<Latch>,
}

/// Counts the unfinished calls of one [`for_each`] and records whether any panicked.
struct Latch {
    state: Mutex<(usize, bool)>,
    done: Condvar,
}

impl Latch {
    fn finish(&self, panicked: bool) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.0 = s.0.saturating_sub(1);
        s.1 |= panicked;
        if s.0 == 0 {
            self.done.notify_all();
        }
    }

    /// Blocks until every call has finished; returns whether one panicked.
    fn wait(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while s.0 > 0 {
            s = self.done.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        s.1
    }
}

/// Waits for the workers' calls even while the caller's own call unwinds.
struct WaitOnDrop<'a>(&'a Latch);

impl Drop for WaitOnDrop<'_> {
    fn drop(&mut self) {
        self.0.wait();
    }
}

fn workers() -> &'static Mutex<Vec<Sender<Job>>> {
    static WORKERS: OnceLock<Mutex<Vec<Sender<Job>>>> = OnceLock::new();
    WORKERS.get_or_init(|| Mutex::new(Vec::new()))
}

/// A new parked worker, or `None` when the OS refuses a thread.
fn spawn_worker() -> Option<Sender<Job>> {
    let (tx, rx) = channel::<Job>();
    std::thread::Builder::new()
        .name("mycel-matmul".into())
        .spawn(move || {
            while let Ok(job) = rx.recv() {
                let Job { f, index, latch } = job;
                let ok = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| f(index)));
                latch.finish(ok.is_err());
            }
        })
        .ok()?;
    Some(tx)
}

/// Runs `f(i)` for every `i in 0..n`, `f(0)` on this thread and the rest on pool workers (or
/// on this thread too, after `f(0)`, when a worker cannot be had). Returns `false` if any call
/// panicked (the panic is caught; nothing is left running).
pub(crate) fn for_each(n: usize, f: &(dyn Fn(usize) + Sync)) -> bool {
    if n == 0 {
        return true;
    }
    let latch = Arc::new(Latch {
        state: Mutex::new((n - 1, false)),
        done: Condvar::new(),
    });
    // SAFETY: the erased reference is only used by jobs counted in `latch`, and this function
    // does not return (nor unwind past `_guard`) before `latch` reports all of them finished,
    // so every use happens while `f` is still borrowed.
    let f_static: &'static (dyn Fn(usize) + Sync) = unsafe {
        core::mem::transmute::<&(dyn Fn(usize) + Sync), &'static (dyn Fn(usize) + Sync)>(f)
    };
    let _guard = WaitOnDrop(&latch);
    let mut local = Vec::new();
    {
        let mut ws = workers().lock().unwrap_or_else(PoisonError::into_inner);
        for index in 1..n {
            let slot = index - 1;
            if slot >= ws.len() {
                match spawn_worker() {
                    Some(tx) => ws.push(tx),
                    None => {
                        local.push(index);
                        continue;
                    }
                }
            }
            let job = Job {
                f: f_static,
                index,
                latch: latch.clone(),
            };
            // A worker that died (it never should: panics are caught) is replaced.
            let sent = match ws.get(slot) {
                Some(tx) => tx.send(job).map_err(|e| e.0),
                None => Err(job),
            };
            if let Err(job) = sent {
                match spawn_worker() {
                    Some(tx) => {
                        let resent = tx.send(job);
                        if let Some(w) = ws.get_mut(slot) {
                            *w = tx;
                        }
                        if resent.is_err() {
                            local.push(index);
                        }
                    }
                    None => local.push(index),
                }
            }
        }
    }
    let mut ok = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| f(0))).is_ok();
    for index in local {
        ok &= std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| f(index))).is_ok();
        latch.finish(false);
    }
    !latch.wait() && ok
}

#[cfg(test)]
mod tests {
    use super::for_each;
    use core::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_index_runs_once_and_borrows_end_with_the_call() {
        for n in [0usize, 1, 2, 3, 7] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            assert!(for_each(n, &|i| {
                hits[i].fetch_add(1, Ordering::SeqCst);
            }));
            assert!(
                hits.iter().all(|h| h.load(Ordering::SeqCst) == 1),
                "n = {n}"
            );
        }
    }

    #[test]
    #[allow(clippy::panic)]
    fn a_panicking_call_is_reported_and_the_rest_still_finish() {
        let done = AtomicUsize::new(0);
        let ok = for_each(4, &|i| {
            if i == 2 {
                panic!("index 2 fails on purpose");
            }
            done.fetch_add(1, Ordering::SeqCst);
        });
        assert!(!ok);
        assert_eq!(done.load(Ordering::SeqCst), 3);
        // The pool still works afterwards.
        assert!(for_each(4, &|_| {
            done.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(done.load(Ordering::SeqCst), 7);
    }
}
