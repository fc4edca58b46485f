//! `mycel simulate`: a whole subnet in one process — miners running real kernels, validators
//! spot-checking with signatures, fraud proofs, scoring, commit-reveal and the Yuma epoch — as a
//! deterministic simulation driven by a seed and simulated time.
//!
//! Output (under `--out`, default `./mycel-sim/`):
//! * `simulation.json`: the JSON log of every epoch (byte-identical for a given scenario and
//!   seed, whatever `--threads`);
//! * `emission.svg`: emission per miner over epochs;
//! * `receipts/epoch-EEEE-validator-VVV.bin`: each validator's receipt batch envelope per epoch
//!   (check with `mycel receipt verify`);
//! * `fraud/*.json`: fraud proofs (check with `mycel fraud verify`).
//!
//! The tables go to stdout; the progress bar and wall-clock timings to stderr (and to
//! `--timings FILE` as JSON), never into the log.

pub mod report;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use mycel_node::sim::{Clock, Scenario, SimLog, Subnet};

use crate::CliResult;
use crate::fsio::{self, write_atomic};
use mycel_node::sim::Timings;
use report::Progress;

/// The wall clock, for the phase timings only (they never enter the log).
struct WallClock(Instant);

impl Clock for WallClock {
    fn now(&self) -> core::time::Duration {
        self.0.elapsed()
    }
}

/// Largest scenario file read, in bytes.
const MAX_SCENARIO_LEN: u64 = 1 << 20;

/// The scenario flags, shared by `mycel simulate`, `mycel node` and `mycel localnet`: a
/// scenario file and the settings that override it.
#[derive(Debug, Clone, clap::Args)]
pub struct ScenarioArgs {
    /// Scenario file (TOML; see scenarios/default.toml). Flags override it.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Epochs to run.
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Number of miners (the scenario's misbehaving counts stay; the rest are honest).
    #[arg(long)]
    pub miners: Option<usize>,
    /// Number of validators (the scenario's weight copier and colluder counts stay).
    #[arg(long)]
    pub validators: Option<usize>,
    /// Run seed (the roster's keys derive from it).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fraction of each miner's receipts each validator re-executes.
    #[arg(long, value_name = "RATE")]
    pub spot_check_rate: Option<f64>,
}

/// Arguments of `mycel simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Worker threads (0: all CPUs). The results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "mycel-sim")]
    pub out: PathBuf,
    /// Also write the wall-clock timings as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub timings: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Loads the scenario and applies the command-line overrides.
pub fn load_scenario(args: &ScenarioArgs) -> Result<Scenario, String> {
    let mut s = match &args.scenario {
        Some(path) => {
            let meta =
                fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if meta.len() > MAX_SCENARIO_LEN {
                return Err(format!(
                    "{}: larger than {MAX_SCENARIO_LEN} bytes",
                    path.display()
                ));
            }
            let text = fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Scenario::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Scenario::default(),
    };
    if let Some(x) = args.epochs {
        s.epochs = x;
    }
    if let Some(x) = args.miners {
        s.miners.count = x;
    }
    if let Some(x) = args.validators {
        s.validators.count = x;
    }
    if let Some(x) = args.seed {
        s.seed = x;
    }
    if let Some(x) = args.spot_check_rate {
        s.scoring.spot_check_rate = x;
    }
    s.validate().map_err(|e| e.to_string())?;
    Ok(s)
}

/// Removes files a previous run left in `dir` (only names this command writes).
fn clear_old(dir: &Path) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("epoch-") && (name.ends_with(".bin") || name.ends_with(".json")) {
            fs::remove_file(entry.path())
                .map_err(|e| format!("cannot remove {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Runs `mycel simulate`.
pub fn run(args: SimulateArgs) -> CliResult {
    let scenario = load_scenario(&args.scenario)?;
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };
    let t_setup = Instant::now();
    let mut subnet = Subnet::new(scenario)?;
    let clock = WallClock(Instant::now());
    fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    fsio::remove_stale_temps(&args.out)?;
    let receipts_dir = args.out.join("receipts");
    let fraud_dir = args.out.join("fraud");
    for d in [&receipts_dir, &fraud_dir] {
        fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        clear_old(d)?;
        fsio::remove_stale_temps(d)?;
    }
    let mut timings = Timings {
        threads,
        miners: subnet.miners.len(),
        validators: subnet.validators.len(),
        epochs: Vec::new(),
        setup_s: t_setup.elapsed().as_secs_f64(),
        output_s: 0.0,
    };
    let epochs = subnet.scenario.epochs;
    let progress = Progress::new(epochs, args.quiet);
    progress.update(0, "starting");
    let mut records = Vec::with_capacity(epochs as usize);
    for _ in 0..epochs {
        let cpu0 = report::process_cpu_s();
        let outcome = subnet.step(threads, &clock)?;
        let (record, artifacts, times) = (outcome.record, outcome.artifacts, outcome.times);
        let cpu = report::process_cpu_s().zip(cpu0).map(|(b, a)| b - a);
        let t_out = Instant::now();
        for (name, bytes) in &artifacts.batches {
            write_atomic(&receipts_dir.join(name), bytes)?;
        }
        for (name, json) in &artifacts.proofs {
            write_atomic(&fraud_dir.join(name), json.as_bytes())?;
        }
        timings.output_s += t_out.elapsed().as_secs_f64();
        timings.push(&times, cpu);
        let caught: u32 = record.miners.iter().map(|m| m.caught).sum();
        progress.update(
            record.epoch + 1,
            &format!(
                "{} tasks, {} caught; {:.2} s (work {:.2}, verify {:.2}, emission {:.3})",
                record.tasks,
                caught,
                (times.work + times.verify + times.emission).as_secs_f64(),
                times.work.as_secs_f64(),
                times.verify.as_secs_f64(),
                times.emission.as_secs_f64()
            ),
        );
        records.push(record);
    }
    let t_out = Instant::now();
    let log = SimLog::new(&subnet, records);
    let json = mycel_node::sim::to_json(&log)?;
    let log_path = args.out.join("simulation.json");
    write_atomic(&log_path, json.as_bytes())?;
    let svg_path = args.out.join("emission.svg");
    write_atomic(&svg_path, report::svg(&log).as_bytes())?;
    timings.output_s += t_out.elapsed().as_secs_f64();
    print!("{}", report::tables(&log));
    println!(
        "log: {}\nchart: {}\nreceipts: {}\nfraud proofs: {}",
        log_path.display(),
        svg_path.display(),
        receipts_dir.display(),
        fraud_dir.display()
    );
    eprintln!("{}", report::summary(&timings));
    if let Some(path) = &args.timings {
        let t =
            serde_json::to_string_pretty(&timings).map_err(|e| format!("encoding timings: {e}"))?;
        write_atomic(path, (t + "\n").as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}
