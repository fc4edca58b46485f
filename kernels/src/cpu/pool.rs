//! The crate's persistent worker pool: the matmul, the quantizer and attention spread their
//! work over it, so a call does not pay for spawning threads (tens of microseconds each on a
//! VM, a measurable part of a decode matvec).
//!
//! [`for_each`]`(n, f)` runs `f(i)` once for every `i in 0..n` and returns once every call has
//! finished. The work is split `n` ways whatever the machine (a 7-way split stays a 7-way split
//! on two cores), but the OS threads that run it are bounded: the calling thread plus at most
//! [`max_workers`] pool threads, created on first use and kept for the life of the process, so
//! no call ever spawns a thread per request. Which thread runs which index never changes a
//! result: the kernels give each index its own disjoint piece of work. An idle pool thread
//! polls for the next call, and a caller for its helpers' last index, for up to 1 ms before
//! blocking on a condition variable: a decode call lasts well under a millisecond,
//! and a futex wake-up per call cost a measurable share of it.
//!
//! Hazards it handles (spec/kernels.md §1, "Threads"):
//! * **Re-entry.** A job that calls [`for_each`] again (from a pool thread, or from the caller's
//!   own share of the work) runs that inner call inline on its own thread, so it can never wait
//!   for a pool thread that is waiting for it.
//! * **`fork()` without `exec`.** The pool remembers the process id that built it; a forked
//!   child (which has none of the parent's threads) builds a fresh pool on first use and never
//!   touches the parent's (whose locks may have been held at the fork).
//! * **Lost jobs.** Indices are claimed from a shared counter by whichever thread is free, the
//!   caller included, and the caller keeps claiming until none is left, so no index waits on a
//!   particular pool thread: a pool thread that is busy, slow or gone cannot strand work. A
//!   claimed index is always reported finished (a drop guard), even if its thread unwinds.
//! * **Panics.** A panicking `f(i)` is caught; the other indices still run, and the call
//!   returns [`Error::WorkerPanicked`] with the panic message of the lowest panicking index. A
//!   panic payload whose own `drop` panics is contained too, so a job cannot kill a pool thread.
//! * **Floating-point state.** Each job on a pool thread runs with the default floating-point
//!   environment (crate::fpenv), whatever the thread inherited from the thread that created it.

#![allow(unsafe_code)]

use core::cell::Cell;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::error::{Error, Result};

std::thread_local! {
    /// Whether this thread is running [`for_each`] work (a pool thread, or a caller inside its
    /// own share): a nested call then runs inline.
    static IN_POOL: Cell<bool> = const { Cell::new(false) };
}

/// The most pool threads this process will ever have at once: the CPUs this process may run on
/// (`std::thread::available_parallelism`) minus one for the calling thread, and at least one.
/// Requests for more threads than that still split the work that many ways; the pieces then
/// share these threads.
pub fn max_workers() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, core::num::NonZeroUsize::get)
            .saturating_sub(1)
            .max(1)
    })
}

/// How many pool threads this process has now (never more than [`max_workers`]).
pub fn live_workers() -> usize {
    current_pool().map_or(0, |p| p.live.load(Ordering::Acquire))
}

/// One [`for_each`] call, shared by every thread that works on it.
struct Call {
    /// The borrowed closure with its lifetime erased; see [`for_each`] for why that is sound.
    f: &'static (dyn Fn(usize) + Sync),
    /// The number of indices.
    n: usize,
    /// The next index to claim (`n` once all are claimed or skipped).
    next: AtomicUsize,
    /// Finished (or skipped) indices and the lowest panicking one.
    state: Mutex<CallState>,
    /// `state.finished`, readable without the lock (the caller spins on it for a while before
    /// it blocks).
    finished_now: AtomicUsize,
    /// Signalled when `state.finished` reaches `n` while the caller is blocked.
    done: Condvar,
}

struct CallState {
    finished: usize,
    panic: Option<(usize, String)>,
    /// The caller is blocked on `done` (so the last finisher must signal it).
    waiting: bool,
}

/// How long a thread polls before it blocks: a pool thread waiting for the next call, and a
/// caller waiting for the pool threads to finish theirs. Decode calls are well under a
/// millisecond and come back to back; waking a blocked thread costs a futex system call and,
/// on the VMs of benches/README.md, tens of microseconds before it runs, a noticeable part of
/// such a call (ggml's OpenMP threads spin likewise). Measured there (2 threads, Q8_0 decode,
/// N = K = 4096, shared machine): medians of 15.1 GB/s without polling, 13.4–21.3 polling
/// 200 µs, 20.6–21.4 polling 1 ms with a yield between rounds.
const SPIN: core::time::Duration = core::time::Duration::from_millis(1);

/// Polls until `ready()` or [`SPIN`] has passed, and returns `ready()`: 64 `spin_loop` hints
/// per round, then a yield (`sched_yield`), so that on a busy machine a thread that shares its
/// CPU with the poller (the very helper it waits for, say) gets to run.
fn spin_until(ready: impl Fn() -> bool) -> bool {
    if ready() {
        return true;
    }
    let start = std::time::Instant::now();
    loop {
        for _ in 0..64 {
            core::hint::spin_loop();
            if ready() {
                return true;
            }
        }
        std::thread::yield_now();
        if start.elapsed() >= SPIN {
            return ready();
        }
    }
}

impl Call {
    fn lock(&self) -> MutexGuard<'_, CallState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims the next index, if any is left.
    fn claim(&self) -> Option<usize> {
        let n = self.n;
        self.next
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                v.checked_add(1).filter(|_| v < n)
            })
            .ok()
    }

    /// Records `count` more finished indices, and a panic of index `index` if any.
    fn finish(&self, count: usize, panic: Option<(usize, String)>) {
        let mut s = self.lock();
        s.finished = s.finished.saturating_add(count);
        if let Some((i, msg)) = panic
            && s.panic.as_ref().is_none_or(|(j, _)| i < *j)
        {
            s.panic = Some((i, msg));
        }
        self.finished_now.store(s.finished, Ordering::Release);
        if s.finished >= self.n && s.waiting {
            self.done.notify_all();
        }
    }

    /// Stops further claims and waits until every claimed index has finished: spinning for
    /// up to [`SPIN`] when `spin` (pool threads were asked to help), then blocking.
    fn close_and_wait(&self, spin: bool) {
        let before = self.next.swap(self.n, Ordering::AcqRel);
        if before < self.n {
            // Never claimed: count them as finished without running them (only reached while
            // unwinding; the normal path claims every index first).
            self.finish(self.n.saturating_sub(before), None);
        }
        if spin && spin_until(|| self.finished_now.load(Ordering::Acquire) >= self.n) {
            return;
        }
        let mut s = self.lock();
        while s.finished < self.n {
            s.waiting = true;
            s = self.done.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        s.waiting = false;
    }
}

/// Reports its index finished when dropped: after `f` returned normally, after a caught panic,
/// or while the thread unwinds for any other reason.
struct Finish<'a> {
    call: &'a Call,
    index: usize,
    panic: Option<String>,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let msg = if std::thread::panicking() && self.panic.is_none() {
            Some("a pool thread died while running a job".to_owned())
        } else {
            self.panic.take()
        };
        self.call.finish(1, msg.map(|m| (self.index, m)));
    }
}

/// The panic message of a caught payload; the payload is dropped with its own panic (if its
/// `drop` panics) contained, so that a job cannot kill the thread that ran it.
fn take_message(payload: Box<dyn core::any::Any + Send>) -> String {
    let msg = if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a job panicked with a payload that is not a string".to_owned()
    };
    if let Err(again) = std::panic::catch_unwind(core::panic::AssertUnwindSafe(move || {
        drop(payload);
    })) {
        // A second panicking drop would unwind out of here: leak it instead.
        core::mem::forget(again);
    }
    msg
}

/// Claims and runs indices of `call` until none is left.
fn run_indices(call: &Call) {
    while let Some(index) = call.claim() {
        let mut done = Finish {
            call,
            index,
            panic: None,
        };
        let f = call.f;
        if let Err(p) = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| f(index))) {
            done.panic = Some(take_message(p));
        }
    }
}

/// The pool of one process.
struct Pool {
    /// The process that built it (a forked child builds its own).
    pid: u32,
    /// Calls waiting for a pool thread to help (one entry per helper wanted).
    queue: Mutex<Queue>,
    /// Signalled when `queue` gets an entry while a pool thread is blocked on it.
    ready: Condvar,
    /// Pool threads alive.
    live: AtomicUsize,
    /// Entries in `queue`, readable without the lock (spinning pool threads poll it).
    queued: AtomicUsize,
}

/// The helper requests, and how many pool threads are blocked waiting for one.
struct Queue {
    calls: VecDeque<Arc<Call>>,
    sleeping: usize,
}

/// The current process's pool; pointers stored here come from `Box::leak` and are never freed.
static POOL: AtomicPtr<Pool> = AtomicPtr::new(core::ptr::null_mut());

/// This process's id where processes can fork (unix); elsewhere a constant (there is no fork,
/// and `std::process::id` panics on targets without processes, such as wasm32).
fn current_pid() -> u32 {
    #[cfg(unix)]
    {
        std::process::id()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

/// The pool if this process has built one.
fn current_pool() -> Option<&'static Pool> {
    // SAFETY: a non-null pointer in POOL comes from `Box::leak` (below) and is never freed.
    let p = unsafe { POOL.load(Ordering::Acquire).as_ref() }?;
    (p.pid == current_pid()).then_some(p)
}

/// This process's pool, built on first use (and again in a forked child).
fn pool() -> &'static Pool {
    let pid = current_pid();
    let cur = POOL.load(Ordering::Acquire);
    // SAFETY: as in `current_pool`.
    if let Some(p) = unsafe { cur.as_ref() }
        && p.pid == pid
    {
        return p;
    }
    // A parent's pool (after fork) is left alone: its threads do not exist here and its locks
    // may be held; it is leaked, which costs a few bytes once per fork.
    let fresh: *mut Pool = Box::into_raw(Box::new(Pool {
        pid,
        queue: Mutex::new(Queue {
            calls: VecDeque::new(),
            sleeping: 0,
        }),
        ready: Condvar::new(),
        live: AtomicUsize::new(0),
        queued: AtomicUsize::new(0),
    }));
    match POOL.compare_exchange(cur, fresh, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: `fresh` was just leaked into POOL and is never freed.
        Ok(_) => unsafe { &*fresh },
        Err(other) => {
            // Another thread of this process installed a pool first: use it, free ours (it was
            // never shared).
            // SAFETY: `fresh` came from Box::into_raw above and nobody else has seen it.
            drop(unsafe { Box::from_raw(fresh) });
            // SAFETY: as in `current_pool`; `other` is non-null (it differs from `cur`, and
            // only non-null pointers are ever stored).
            match unsafe { other.as_ref() } {
                Some(p) => p,
                None => pool(),
            }
        }
    }
}

impl Pool {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a helper request off the queue if there is one (under the lock; `queued` kept
    /// equal to the queue's length).
    fn pop(&self, q: &mut Queue) -> Option<Arc<Call>> {
        let c = q.calls.pop_front()?;
        self.queued.store(q.calls.len(), Ordering::Release);
        Some(c)
    }

    /// The next helper request for a pool thread: polled for up to [`SPIN`], then waited for.
    fn next_call(&self) -> Arc<Call> {
        loop {
            if spin_until(|| self.queued.load(Ordering::Acquire) > 0)
                && let Some(c) = self.pop(&mut self.queue())
            {
                return c;
            }
            let mut q = self.queue();
            if let Some(c) = self.pop(&mut q) {
                return c;
            }
            q.sleeping = q.sleeping.saturating_add(1);
            q = self.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
            q.sleeping = q.sleeping.saturating_sub(1);
            if let Some(c) = self.pop(&mut q) {
                return c;
            }
        }
    }

    /// Makes sure up to `want` pool threads exist (bounded by [`max_workers`]); returns how
    /// many exist.
    fn ensure_workers(&'static self, want: usize) -> usize {
        let want = want.min(max_workers());
        loop {
            let reserved = self
                .live
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |l| {
                    l.checked_add(1).filter(|_| l < want)
                });
            if reserved.is_err() {
                break;
            }
            let spawned = std::thread::Builder::new()
                .name("mycel-pool".into())
                .spawn(move || self.work());
            if spawned.is_err() {
                // The OS refused a thread: the caller does the work itself.
                self.live.fetch_sub(1, Ordering::AcqRel);
                break;
            }
        }
        self.live.load(Ordering::Acquire)
    }

    /// A pool thread's life: take a call, help with it, repeat.
    fn work(&self) {
        /// Counts this thread out of `live` however it ends.
        struct Alive<'a>(&'a AtomicUsize);
        impl Drop for Alive<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _alive = Alive(&self.live);
        IN_POOL.with(|c| c.set(true));
        loop {
            let call = self.next_call();
            let _fp = crate::fpenv::Guard::new();
            run_indices(&call);
        }
    }
}

/// Waits for every claimed index of a call even while the caller unwinds, then restores the
/// caller's re-entry flag.
struct Close<'a> {
    call: &'a Arc<Call>,
    pool: Option<&'static Pool>,
    was_in_pool: bool,
}

impl Drop for Close<'_> {
    fn drop(&mut self) {
        self.call.close_and_wait(self.pool.is_some());
        if let Some(pool) = self.pool {
            // Helper requests nobody picked up are stale now: drop them.
            let mut q = pool.queue();
            q.calls.retain(|c| !Arc::ptr_eq(c, self.call));
            pool.queued.store(q.calls.len(), Ordering::Release);
        }
        let was = self.was_in_pool;
        IN_POOL.with(|c| c.set(was));
    }
}

/// Runs `f(i)` once for every `i in 0..n` on this thread and the pool's threads, and returns
/// once every call has finished.
///
/// The order and the thread of each call are unspecified; at most [`max_workers`] pool threads
/// help, however large `n` is. Called from inside another `for_each` (a nested call), it runs
/// inline on the current thread. Every index runs even when some panic.
///
/// Errors: [`Error::WorkerPanicked`] with the message of the lowest index whose call panicked.
pub fn for_each(n: usize, f: &(dyn Fn(usize) + Sync)) -> Result<()> {
    for_each_on(n, n, f)
}

/// [`for_each`] on at most `threads` threads (this one and `threads − 1` pool threads; `0`
/// counts as 1): the indices are claimed one at a time by whichever of them is free, so `n`
/// larger than `threads` balances the work when some pieces, or some threads, are slower.
///
/// Errors: as [`for_each`].
pub fn for_each_on(n: usize, threads: usize, f: &(dyn Fn(usize) + Sync)) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    // SAFETY: the erased reference is only called after a successful `claim`, claims succeed
    // only before `close_and_wait` (run by `Close` when this function returns or unwinds)
    // swaps the counter to `n`, and `close_and_wait` returns only after every claimed call has
    // finished. So every use happens while `f` is still borrowed; later helpers find nothing to
    // claim and never touch `f`.
    let f_static: &'static (dyn Fn(usize) + Sync) = unsafe {
        core::mem::transmute::<&(dyn Fn(usize) + Sync), &'static (dyn Fn(usize) + Sync)>(f)
    };
    let call = Arc::new(Call {
        f: f_static,
        n,
        next: AtomicUsize::new(0),
        state: Mutex::new(CallState {
            finished: 0,
            panic: None,
            waiting: false,
        }),
        finished_now: AtomicUsize::new(0),
        done: Condvar::new(),
    });
    let was_in_pool = IN_POOL.with(Cell::get);
    // Pool threads that may help: one fewer than the runners (this thread is one of them).
    let extra = n.min(threads.max(1)).saturating_sub(1);
    let pool = if was_in_pool || extra == 0 {
        None
    } else {
        Some(pool())
    };
    let close = Close {
        call: &call,
        pool,
        was_in_pool,
    };
    if let Some(p) = pool {
        let helpers = p.ensure_workers(extra).min(extra);
        if helpers > 0 {
            let mut q = p.queue();
            q.calls
                .extend(core::iter::repeat_n(Arc::clone(&call), helpers));
            p.queued.store(q.calls.len(), Ordering::Release);
            // Pool threads still spinning pick the request up without a wake-up.
            let wake = q.sleeping > 0;
            drop(q);
            if wake {
                p.ready.notify_all();
            }
        }
    }
    IN_POOL.with(|c| c.set(true));
    run_indices(&call);
    drop(close);
    match call.lock().panic.take() {
        Some((_, msg)) => Err(Error::WorkerPanicked(msg)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::for_each;
    use core::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_index_runs_once_and_borrows_end_with_the_call() {
        for n in [0usize, 1, 2, 3, 7] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            assert!(
                for_each(n, &|i| {
                    hits[i].fetch_add(1, Ordering::SeqCst);
                })
                .is_ok()
            );
            assert!(
                hits.iter().all(|h| h.load(Ordering::SeqCst) == 1),
                "n = {n}"
            );
        }
    }

    #[test]
    fn for_each_on_runs_every_index_on_at_most_the_given_threads() {
        for threads in [0usize, 1, 2, 3] {
            let hits: Vec<AtomicUsize> = (0..24).map(|_| AtomicUsize::new(0)).collect();
            let ids = std::sync::Mutex::new(std::collections::HashSet::new());
            assert!(
                super::for_each_on(hits.len(), threads, &|i| {
                    hits[i].fetch_add(1, Ordering::SeqCst);
                    ids.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(std::thread::current().id());
                    std::thread::sleep(core::time::Duration::from_millis(1));
                })
                .is_ok()
            );
            assert!(hits.iter().all(|h| h.load(Ordering::SeqCst) == 1));
            let used = ids
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .len();
            assert!(
                used >= 1 && used <= threads.max(1),
                "{used} threads for a limit of {threads}"
            );
        }
    }

    #[test]
    #[allow(clippy::panic)]
    fn a_panicking_call_is_reported_and_the_rest_still_finish() {
        let done = AtomicUsize::new(0);
        let r = for_each(4, &|i| {
            if i == 2 {
                panic!("index 2 fails on purpose");
            }
            done.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(
            r,
            Err(crate::Error::WorkerPanicked(
                "index 2 fails on purpose".into()
            ))
        );
        assert_eq!(done.load(Ordering::SeqCst), 3);
        // The pool still works afterwards.
        assert!(
            for_each(4, &|_| {
                done.fetch_add(1, Ordering::SeqCst);
            })
            .is_ok()
        );
        assert_eq!(done.load(Ordering::SeqCst), 7);
    }
}
