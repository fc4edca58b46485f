//! Item 5 of "Kernel soundness": after `fork()` without `exec` (as Python's multiprocessing
//! does by default on Linux), the child has none of the parent's pool threads; a multi-threaded
//! kernel call in the child must still finish, with the parent's bits. Its own test binary: a
//! fork from a process with few threads. The child is killed by an alarm if it hangs, so a
//! regression fails instead of hanging the suite.
#![cfg(all(unix, target_os = "linux"))]
#![allow(unsafe_code, clippy::unwrap_used)]

use mycel_kernels::Backend;
use mycel_kernels::cpu::pool;
use mycel_kernels::matmul::{QWeights, Weights, matmul};
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::quant::quantize_q8_0;

unsafe extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn alarm(seconds: u32) -> u32;
    fn _exit(code: i32) -> !;
}

#[test]
fn item5_kernels_work_in_a_forked_child() {
    let (m, n, k) = (64usize, 48usize, 128usize);
    let x = generate_uniform(&[5; 32], 0, m * k).unwrap();
    let wq = quantize_q8_0(&generate_uniform(&[6; 32], 9, n * k).unwrap(), k).unwrap();
    let w = Weights::new(QWeights::Q8_0(&wq), n, k).unwrap();
    // The parent builds its pool (threads exist here, not in the child).
    let want = matmul(&x, m, &w, Backend::Auto, 4).unwrap();
    assert!(pool::live_workers() >= 1);

    // SAFETY: the child only runs Rust code that allocates through glibc's fork-safe malloc,
    // then leaves with _exit (no destructors, no test-harness state touched).
    let pid = unsafe { fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: plain libc calls in the child.
        unsafe { alarm(30) };
        let ok = matches!(matmul(&x, m, &w, Backend::Auto, 4), Ok(y) if y == want)
            && pool::for_each(9, &|_| {}).is_ok()
            && pool::live_workers() >= 1;
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { _exit(if ok { 0 } else { 3 }) };
    }
    let mut status = 0i32;
    // SAFETY: waits for the child created above.
    let r = unsafe { waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    let (exited, code, signal) = (status & 0x7f == 0, (status >> 8) & 0xff, status & 0x7f);
    assert!(
        exited && code == 0,
        "child failed: exit code {code}, signal {signal} (14 = SIGALRM: it hung)"
    );
    // The parent's pool is unaffected.
    assert_eq!(matmul(&x, m, &w, Backend::Auto, 4).unwrap(), want);
}
