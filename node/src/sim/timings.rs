//! The wall-clock timings of a run, per epoch and in all: what `mycel simulate` prints on stderr
//! and writes with `--timings FILE`. They come from the host's clock ([`super::Clock`]) and
//! never enter the log ([`super::SimLog`]).

use std::vec::Vec;

use serde::Serialize;

use super::log::PhaseTimes;

/// One epoch's timings, seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EpochTiming {
    /// Wall time: miners running the kernels and signing receipts.
    pub kernel_work_s: f64,
    /// Wall time: receipt roots, signature batches, spot-check re-execution, verdicts, fraud
    /// proofs and their network-wide check.
    pub verification_s: f64,
    /// Wall time: scoring, commit-reveal, Yuma.
    pub emission_s: f64,
    /// Wall time in batch signature verification summed over the worker threads (part of
    /// `verification_s`).
    pub signatures_cpu_s: f64,
    /// Wall time re-executing sampled receipts summed over the worker threads (part of
    /// `verification_s`).
    pub reexecution_cpu_s: f64,
    /// Wall time of the network-wide fraud proof check (part of `verification_s`).
    pub fraud_audit_s: f64,
    /// CPU time of the whole process (user + system, all threads) during the epoch, where the
    /// OS reports it (Linux `/proc/self/stat`, 10 ms resolution); unlike the wall times it does
    /// not grow when other programs compete for the cores.
    pub process_cpu_s: Option<f64>,
}

/// Wall-clock timings of a run (the `--timings` file's format: these fields, in this order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timings {
    /// Worker threads.
    pub threads: usize,
    /// Miners.
    pub miners: usize,
    /// Validators.
    pub validators: usize,
    /// Per epoch.
    pub epochs: Vec<EpochTiming>,
    /// Setup (keys, weight generation), seconds.
    pub setup_s: f64,
    /// Writing files, seconds.
    pub output_s: f64,
}

impl Timings {
    /// Records one epoch: its phase times and the process CPU seconds it took, where known.
    pub fn push(&mut self, t: &PhaseTimes, cpu_s: Option<f64>) {
        self.epochs.push(EpochTiming {
            kernel_work_s: t.work.as_secs_f64(),
            verification_s: t.verify.as_secs_f64(),
            emission_s: t.emission.as_secs_f64(),
            signatures_cpu_s: t.signatures_cpu.as_secs_f64(),
            reexecution_cpu_s: t.reexecution_cpu.as_secs_f64(),
            fraud_audit_s: t.audit.as_secs_f64(),
            process_cpu_s: cpu_s,
        });
    }

    /// Every figure summed over the epochs (the process CPU time only where every epoch has
    /// it).
    #[must_use]
    pub fn sums(&self) -> EpochTiming {
        let sum = |f: fn(&EpochTiming) -> f64| self.epochs.iter().map(f).sum::<f64>();
        EpochTiming {
            kernel_work_s: sum(|t| t.kernel_work_s),
            verification_s: sum(|t| t.verification_s),
            emission_s: sum(|t| t.emission_s),
            signatures_cpu_s: sum(|t| t.signatures_cpu_s),
            reexecution_cpu_s: sum(|t| t.reexecution_cpu_s),
            fraud_audit_s: sum(|t| t.fraud_audit_s),
            process_cpu_s: self.epochs.iter().map(|t| t.process_cpu_s).sum(),
        }
    }

    /// What a per-epoch mean divides by: the epochs, at least 1.
    #[must_use]
    pub fn mean_divisor(&self) -> f64 {
        self.epochs.len().max(1) as f64
    }
}
