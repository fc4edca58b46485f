//! What a run leaves behind: the JSON log (deterministic), the SVG chart, the tables, the
//! progress bar and the wall-clock timings (which never enter the log).

use core::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};

use mycel_node::sim::{MinerBehaviour, SimLog, Timings};

fn colour(b: &str, nth: usize) -> &'static str {
    const HONEST: [&str; 6] = [
        "#1b7f3b", "#2e9e55", "#4cbb6c", "#6bd185", "#157347", "#3a8f5c",
    ];
    match b {
        "lazy" => "#d62728",
        "copier" => "#ff7f0e",
        "sloppy" => "#9467bd",
        "slow" => "#17a2b8",
        _ => HONEST.get(nth % HONEST.len()).copied().unwrap_or("#1f77b4"),
    }
}

fn alpha(rao: u64) -> String {
    format!(
        "{}.{:04}",
        rao / 1_000_000_000,
        (rao % 1_000_000_000) / 100_000
    )
}

/// The SVG chart: emission per miner (rao per epoch) over epochs, one polyline per miner.
pub fn svg(log: &SimLog) -> String {
    let (w, h) = (900.0f64, 480.0f64);
    let (left, right, top, bottom) = (80.0, 220.0, 50.0, 50.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let n = log.epochs.len();
    let max = log
        .epochs
        .iter()
        .flat_map(|e| e.miners.iter().map(|m| m.emission_rao))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let x = |i: usize| {
        if n <= 1 {
            left + pw / 2.0
        } else {
            left + pw * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: u64| top + ph - ph * v as f64 / max;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="28" font-size="16">mycel simulate: emission per miner per epoch (seed {}, {} miners, {} validators)</text>"#,
        log.scenario.seed,
        log.miners.len(),
        log.validators.len()
    );
    // Axes and grid.
    for k in 0..=4 {
        let v = (max * k as f64 / 4.0) as u64;
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/>"##,
            left + pw
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            yy + 4.0,
            alpha(v)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="16" y="{:.1}" transform="rotate(-90 16 {:.1})" text-anchor="middle">emission (alpha)</text>"#,
        top + ph / 2.0,
        top + ph / 2.0
    );
    let step = n.div_ceil(12).max(1);
    for (i, e) in log.epochs.iter().enumerate() {
        if i % step == 0 || i + 1 == n {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x(i),
                top + ph + 18.0,
                e.epoch
            );
        }
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">epoch</text>"#,
        left + pw / 2.0,
        h - 10.0
    );
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );
    // One polyline per miner, legend on the right.
    let mut honest_seen = 0usize;
    for (mi, m) in log.miners.iter().enumerate() {
        let c = colour(m.behaviour, honest_seen);
        if m.behaviour == MinerBehaviour::Honest.name() {
            honest_seen += 1;
        }
        let pts: Vec<String> = log
            .epochs
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let rao = e.miners.get(mi)?.emission_rao;
                Some(format!("{:.1},{:.1}", x(i), y(rao)))
            })
            .collect();
        let dash = if m.behaviour == "honest" || m.behaviour == "slow" {
            ""
        } else {
            r#" stroke-dasharray="6 3""#
        };
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{c}" stroke-width="2"{dash} points="{}"><title>uid {} ({})</title></polyline>"#,
            pts.join(" "),
            m.uid,
            m.behaviour
        );
        if mi < 24 {
            let ly = top + 14.0 + 18.0 * mi as f64;
            let lx = left + pw + 16.0;
            let _ = writeln!(
                s,
                r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{c}" stroke-width="3"{dash}/>"#,
                ly - 4.0,
                lx + 22.0,
                ly - 4.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{ly:.1}">uid {} {}</text>"#,
                lx + 28.0,
                m.uid,
                m.behaviour
            );
        } else if mi == 24 {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}">… {} more</text>"#,
                left + pw + 16.0,
                top + 14.0 + 18.0 * 24.0,
                log.miners.len() - 24
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

/// The end-of-run tables (stdout), closing with the number of fraud proofs written.
pub fn tables(log: &SimLog) -> String {
    tables_with_proofs(log, &log.fraud_proof_count().to_string())
}

/// The end-of-run tables with `proofs` as the closing "fraud proofs:" figure (the localnet's
/// validators gossip their proofs instead of writing files, and say so there).
pub fn tables_with_proofs(log: &SimLog, proofs: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "miners ({} epochs; incentive share = last epoch; emission = whole run, alpha)",
        log.epochs.len()
    );
    let _ = writeln!(
        s,
        "{:>5}  {:<13} {:>7} {:>9} {:>7} {:>8} {:>10} {:>12} {:>8}",
        "uid",
        "behaviour",
        "tasks",
        "verified",
        "caught",
        "caught@",
        "incentive",
        "emission",
        "share"
    );
    for (m, share) in log.totals.miners.iter().zip(log.totals.emission_shares()) {
        let _ = writeln!(
            s,
            "{:>5}  {:<13} {:>7} {:>9} {:>7} {:>8} {:>9.2}% {:>12} {:>7.2}%",
            m.uid,
            m.behaviour,
            m.tasks,
            m.verified,
            m.caught,
            m.first_caught_epoch
                .map_or_else(|| "-".to_string(), |e| format!("epoch {e}")),
            100.0 * m.final_incentive_share,
            alpha(m.emission_rao),
            100.0 * share
        );
    }
    let _ = writeln!(
        s,
        "\nvalidators (dividends and vtrust = last epoch; emission = whole run, alpha)"
    );
    let _ = writeln!(
        s,
        "{:>5}  {:<14} {:>10} {:>8} {:>12} {:>11}",
        "uid", "behaviour", "dividends", "vtrust", "emission", "check cost"
    );
    for v in &log.totals.validators {
        let _ = writeln!(
            s,
            "{:>5}  {:<14} {:>9.2}% {:>8.4} {:>12} {:>10.2}%",
            v.uid,
            v.behaviour,
            100.0 * v.final_dividend_share,
            f64::from(v.final_vtrust) / 65535.0,
            alpha(v.emission_rao),
            100.0 * v.checking_cost_share
        );
    }
    let cheaters: Vec<_> = log
        .totals
        .miners
        .iter()
        .filter(|m| m.predicted_detection_per_epoch.is_some())
        .collect();
    if !cheaters.is_empty() {
        let _ = writeln!(
            s,
            "\ncheaters: epochs until first caught, against spec/scoring.md 2.1's prediction"
        );
        for m in cheaters {
            let p = m.predicted_detection_per_epoch.unwrap_or(0.0);
            let measured = m.measured_epochs_to_catch.map_or_else(
                || "never caught".to_string(),
                |n| format!("caught after {n} epoch(s)"),
            );
            let predicted = m
                .predicted_epochs_to_catch
                .map_or_else(|| "-".to_string(), |x| format!("{x:.2}"));
            let _ = writeln!(
                s,
                "{:>5}  {:<13} {measured}; predicted detection {:.1}% per epoch, 1/p = {predicted} epochs",
                m.uid,
                m.behaviour,
                100.0 * p
            );
        }
    }
    let _ = writeln!(s, "\nfraud proofs: {proofs}");
    s
}

/// A progress bar on stderr: redrawn in place on a terminal, one line per epoch otherwise.
#[derive(Debug)]
pub struct Progress {
    tty: bool,
    quiet: bool,
    total: u64,
}

impl Progress {
    /// A bar for `total` epochs.
    pub fn new(total: u64, quiet: bool) -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            quiet,
            total,
        }
    }

    /// Reports epoch `done` of `total` finished, with a short status.
    pub fn update(&self, done: u64, status: &str) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let width = 30u64;
            let filled = (done * width).checked_div(self.total).unwrap_or(width) as usize;
            let bar = format!(
                "{}{}",
                "#".repeat(filled),
                "-".repeat(width as usize - filled)
            );
            let _ = write!(
                err,
                "\r\x1b[2K[{bar}] epoch {done}/{}  {status}",
                self.total
            );
            if done == self.total {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "epoch {done}/{}  {status}", self.total);
        }
        let _ = err.flush();
    }
}

/// User + system CPU seconds of this process so far (Linux; `None` elsewhere).
pub fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux ABI.
    Some((utime + stime) as f64 / 100.0)
}

/// The stderr summary of a run's timings: per-epoch means of each phase, setup, output and the
/// total.
pub fn summary(t: &Timings) -> String {
    let n = t.mean_divisor();
    let sums = t.sums();
    let (w, v, e) = (sums.kernel_work_s, sums.verification_s, sums.emission_s);
    let (sig, re, audit) = (
        sums.signatures_cpu_s,
        sums.reexecution_cpu_s,
        sums.fraud_audit_s,
    );
    format!(
        "timings (wall clock, {} threads, {} miners + {} validators): per epoch {:.3} s = kernel work {:.3} s + verification {:.3} s (summed over threads: signatures {:.3} s, re-execution {:.3} s; fraud proof audit {:.3} s wall) + emission {:.4} s; setup {:.3} s, output {:.3} s, total {:.2} s",
        t.threads,
        t.miners,
        t.validators,
        (w + v + e) / n,
        w / n,
        v / n,
        sig / n,
        re / n,
        audit / n,
        e / n,
        t.setup_s,
        t.output_s,
        w + v + e + t.setup_s + t.output_s
    ) + &match sums.process_cpu_s {
        Some(cpu) => format!("; process CPU time {:.3} s per epoch", cpu / n),
        None => String::new(),
    }
}
