//! The subnet simulation as a library: a [`Scenario`] (parsed and validated from TOML or built
//! in code), [`Subnet::new`], [`Subnet::step`] returning each epoch's record, and the JSON log
//! ([`SimLog`], [`to_json`]) as pure functions. `mycel simulate` is this plus files and printing.
//!
//! ```
//! use mycel_node::sim::{NoClock, Scenario, SimLog, Subnet, to_json};
//!
//! let mut scenario = Scenario::default();
//! scenario.epochs = 2;
//! let mut subnet = Subnet::new(scenario)?;
//! let mut records = Vec::new();
//! for _ in 0..2 {
//!     records.push(subnet.step(1, &NoClock)?.record);
//! }
//! let log = SimLog::new(&subnet, records);
//! assert!(to_json(&log)?.starts_with('{'));
//! # Ok::<(), mycel_node::Error>(())
//! ```

mod log;
mod scenario;
mod subnet;
mod timings;
mod work;

pub use log::{
    Artifacts, EpochRecord, LOG_FORMAT, MinerInfo, MinerRecord, MinerTotal, PhaseTimes,
    ProofRecord, SimLog, Totals, ValidatorInfo, ValidatorRecord, ValidatorTotal, q32_share,
    to_json,
};
pub use scenario::{
    EmissionConfig, MAX_EPOCHS, MAX_NEURONS, MAX_TASKS_PER_MINER, MinerBehaviour, MinerConfig,
    Scenario, ScoringConfig, TaskConfig, TimingConfig, ValidatorBehaviour, ValidatorConfig,
    parse_dtype, parse_miner_behaviour,
};
pub use subnet::hosted;
pub use subnet::{Clock, EpochOutcome, NoClock, SimMiner, SimValidator, Subnet};
pub use timings::{EpochTiming, Timings};
pub use work::{execute_as, execute_honest, latency_ms};
