//! The worker pool (issue "Kernel soundness", items 4 and 5): a bounded number of OS threads
//! whatever a call asks for, re-entrant calls, and a job whose panic payload panics again
//! neither kills a pool thread nor strands another caller's work. Every wait here has a
//! deadline, so a regression fails instead of hanging. (Fork safety: tests/fork.rs.)
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::sync::mpsc;

use mycel_kernels::attention::{AttentionMode, AttentionParams, AttnInput, attention};
use mycel_kernels::cpu::pool;
use mycel_kernels::matmul::{QWeights, Weights, matmul};
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::quant::quantize_q8_0;
use mycel_kernels::{Backend, cpu};

const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `f` on its own thread and fails the test if it does not finish before [`DEADLINE`].
fn within_deadline<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(v) => v,
        Err(_) => panic!("{what}: did not finish within {DEADLINE:?} (deadlock?)"),
    }
}

/// The OS threads of this process named like the pool's (Linux: /proc/self/task/*/comm).
fn pool_os_threads() -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|c| c.trim_end() == "mycel-pool")
            .count(),
    )
}

fn small_matmul() -> (Vec<f32>, Vec<u8>, usize, usize, usize) {
    let (m, n, k) = (100usize, 40usize, 64usize);
    let x = generate_uniform(&[1; 32], 0, m * k).unwrap();
    let w = generate_uniform(&[2; 32], 9, n * k).unwrap();
    let wq = quantize_q8_0(&w, k).unwrap();
    (x, bytemuck::cast_slice(&wq).to_vec(), m, n, k)
}

/// Item 4: 3000 requested threads split the work 3000 ways (same bits as 1 thread) but never
/// leave more than `max_workers()` pool threads alive, for the matmul and for attention.
#[test]
fn item4_thread_count_is_bounded_by_the_machine() {
    let cap = pool::max_workers();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(cap, cpus.saturating_sub(1).max(1));
    let (x, wb, m, n, k) = small_matmul();
    let wq: &[mycel_kernels::quant::BlockQ8_0] = bytemuck::cast_slice(&wb);
    let w = Weights::new(QWeights::Q8_0(wq), n, k).unwrap();
    let mut backends = vec![Backend::Scalar];
    if cpu::avx2_available() {
        backends.push(Backend::Avx2);
    }
    let p = AttentionParams::new(8, 2, 40, 40, 64).causal(true);
    let q = generate_uniform(&[3; 32], 1, p.q_elems().unwrap()).unwrap();
    let kv = generate_uniform(&[3; 32], 2, p.kv_elems().unwrap()).unwrap();
    for b in backends {
        let one = matmul(&x, m, &w, b, 1).unwrap();
        for t in [7, 3000, 100_000] {
            assert_eq!(matmul(&x, m, &w, b, t).unwrap(), one, "{b:?} {t}");
        }
        let run = |t| {
            attention(
                &p,
                AttnInput::F32(&q),
                AttnInput::F32(&kv),
                AttnInput::F32(&kv),
                AttentionMode::Verifiable,
                b,
                t,
            )
            .unwrap()
        };
        let one = run(1);
        assert_eq!(run(3000), one);
    }
    let live = pool::live_workers();
    assert!((1..=cap).contains(&live), "{live} pool threads, cap {cap}");
    // (A thread just created may not have named itself yet, so only the bound is checked.)
    if let Some(os) = pool_os_threads() {
        assert!(os <= cap, "{os} pool threads alive, cap {cap}");
    }
    // Many threads asking at once still share the same bounded pool.
    let hs: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                pool::for_each(500, &|_| std::thread::yield_now()).unwrap();
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert!(pool::live_workers() <= cap);
    if let Some(os) = pool_os_threads() {
        assert!(os <= cap, "{os} pool threads alive, cap {cap}");
    }
}

/// Item 5, re-entry: a job that calls the pool again (directly, or through a kernel) runs that
/// inner call inline instead of waiting for itself.
#[test]
fn item5_reentrant_calls_do_not_deadlock() {
    let total = within_deadline("nested for_each", || {
        let hits = AtomicUsize::new(0);
        pool::for_each(6, &|_| {
            pool::for_each(5, &|_| {
                pool::for_each(3, &|_| {
                    hits.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
            })
            .unwrap();
        })
        .unwrap();
        hits.load(Ordering::SeqCst)
    });
    assert_eq!(total, 6 * 5 * 3);

    let (x, wb, m, n, k) = small_matmul();
    let (want, got) = within_deadline("a kernel inside a pool job", move || {
        let wq: &[mycel_kernels::quant::BlockQ8_0] = bytemuck::cast_slice(&wb);
        let w = Weights::new(QWeights::Q8_0(wq), n, k).unwrap();
        let want = matmul(&x, m, &w, Backend::Auto, 1).unwrap();
        let got: Vec<std::sync::Mutex<Vec<f32>>> =
            (0..4).map(|_| std::sync::Mutex::new(Vec::new())).collect();
        pool::for_each(4, &|i| {
            *got[i].lock().unwrap() = matmul(&x, m, &w, Backend::Auto, 3).unwrap();
        })
        .unwrap();
        let got: Vec<Vec<f32>> = got.into_iter().map(|g| g.into_inner().unwrap()).collect();
        (want, got)
    });
    for g in got {
        assert_eq!(g, want);
    }
}

/// A panic payload whose own `drop` panics: on a plain worker loop this unwinds out of the
/// pool thread after the job and kills it, together with the jobs queued behind it.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("the payload's drop panics too");
        }
    }
}

/// Item 5, lost jobs: while a pool thread runs a job that panics with a [`Bomb`], other callers'
/// work queued meanwhile is still done and signalled; the pool keeps its threads and works on.
#[test]
fn item5_a_job_that_kills_its_thread_strands_no_other_call() {
    within_deadline("calls around a dying job", || {
        let cap = pool::max_workers();
        let bomber = std::thread::spawn(|| {
            pool::for_each(2 * pool::max_workers() + 2, &|i| {
                if i % 2 == 1 {
                    std::thread::sleep(Duration::from_millis(50));
                    std::panic::panic_any(Bomb);
                }
            })
        });
        // Other callers queue work while the bomb jobs run.
        let others: Vec<_> = (0..4)
            .map(|j| {
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(10 * j));
                    let hits = AtomicUsize::new(0);
                    pool::for_each(9, &|_| {
                        std::thread::sleep(Duration::from_millis(5));
                        hits.fetch_add(1, Ordering::SeqCst);
                    })
                    .unwrap();
                    hits.load(Ordering::SeqCst)
                })
            })
            .collect();
        let e = bomber.join().unwrap().unwrap_err();
        assert_eq!(e.code(), "worker_panicked");
        for o in others {
            assert_eq!(o.join().unwrap(), 9);
        }
        // The pool threads survived (none died), and the pool still works.
        let hits = AtomicUsize::new(0);
        pool::for_each(2 * cap + 1, &|_| {
            hits.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 2 * cap + 1);
        assert!(pool::live_workers() >= 1 && pool::live_workers() <= cap);
    });
}
