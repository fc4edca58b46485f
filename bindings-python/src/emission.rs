//! The Yuma epoch (spec/emission.md) on numpy arrays: the same numbers as `mycel epoch`.
//!
//! `_yuma_epoch(inputs)` takes a dict keyed by the fields of `mycel epoch`'s input JSON, whose
//! per-uid vectors may be numpy arrays (any integer dtype) or lists, and whose `weights` /
//! `bonds` may be dense `[n, n]` integer arrays or sparse rows of `(uid, value)` pairs in
//! stored order. It returns a dict of numpy arrays (the public `mycel.yuma_epoch` wraps it in
//! an `EpochResult`).

use mycel_protocol::emission::{ConsensusMode, EpochInput, EpochOutput, Q32Row, U16Row, epoch};
use numpy::prelude::*;
use numpy::{PyArray1, PyUntypedArray};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::json_to_py;
use crate::errors::{self, IntoPyResult};

/// Every key `_yuma_epoch` accepts.
const KEYS: [&str; 29] = [
    "n",
    "current_block",
    "tempo",
    "activity_cutoff",
    "last_mechanism_step_block",
    "last_update",
    "block_at_registration",
    "stake",
    "tao_stake",
    "tao_weight",
    "stake_threshold",
    "owner_uid",
    "validator_permit",
    "max_allowed_validators",
    "weights",
    "bonds",
    "commit_reveal_enabled",
    "commit_blocks",
    "kappa",
    "bonds_penalty",
    "bonds_moving_average",
    "yuma3",
    "liquid_alpha",
    "alpha_low",
    "alpha_high",
    "alpha_sigmoid_steepness",
    "liquid_alpha_consensus_mode",
    "previous_consensus",
    "rao_emission",
];

/// The inputs dict with typed accessors that name the key on every error.
struct Inputs<'a, 'py> {
    d: &'a Bound<'py, PyDict>,
}

impl<'py> Inputs<'_, 'py> {
    fn get(&self, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(self.d.get_item(key)?.filter(|v| !v.is_none()))
    }

    fn required(&self, key: &str) -> PyResult<Bound<'py, PyAny>> {
        self.get(key)?
            .ok_or_else(|| errors::argument(format!("{key}: required")))
    }

    fn int<T: TryFrom<i128>>(&self, key: &str, v: &Bound<'py, PyAny>) -> PyResult<T> {
        let wide: i128 = v
            .extract()
            .map_err(|_| errors::dtype(key, "an integer", &type_name(v)))?;
        T::try_from(wide).map_err(|_| errors::argument(format!("{key}: {wide} is out of range")))
    }

    fn scalar<T: TryFrom<i128>>(&self, key: &str) -> PyResult<T> {
        self.int(key, &self.required(key)?)
    }

    fn scalar_or<T: TryFrom<i128>>(&self, key: &str, default: T) -> PyResult<T> {
        match self.get(key)? {
            Some(v) => self.int(key, &v),
            None => Ok(default),
        }
    }

    fn flag(&self, key: &str, default: bool) -> PyResult<bool> {
        match self.get(key)? {
            Some(v) => v
                .extract::<bool>()
                .map_err(|_| errors::dtype(key, "a bool", &type_name(&v))),
            None => Ok(default),
        }
    }

    /// A 1-D integer vector (numpy array of any integer or bool dtype, or a sequence of ints).
    fn vector<T: TryFrom<i128> + Copy>(
        &self,
        key: &str,
        v: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<T>> {
        if let Ok(a) = v.cast::<PyUntypedArray>() {
            let kind = a.dtype().kind();
            if !matches!(kind, b'i' | b'u' | b'b') {
                return Err(errors::dtype(key, "an integer array", &type_name(v)));
            }
            if a.ndim() != 1 {
                return Err(errors::shape(
                    key,
                    format!("expected 1 dimension, got shape {:?}", a.shape()),
                ));
            }
        }
        let list = v
            .try_iter()
            .map_err(|_| errors::dtype(key, "a 1-D integer array or sequence", &type_name(v)))?;
        list.map(|item| self.int::<T>(key, &item?)).collect()
    }

    fn required_vector<T: TryFrom<i128> + Copy>(&self, key: &str) -> PyResult<Vec<T>> {
        self.vector(key, &self.required(key)?)
    }

    fn bools(&self, key: &str) -> PyResult<Vec<bool>> {
        let v = self.required(key)?;
        if let Ok(a) = v.cast::<PyUntypedArray>()
            && a.ndim() != 1
        {
            return Err(errors::shape(
                key,
                format!("expected 1 dimension, got shape {:?}", a.shape()),
            ));
        }
        let items = v
            .try_iter()
            .map_err(|_| errors::dtype(key, "a 1-D bool array or sequence", &type_name(&v)))?;
        items
            .map(|item| {
                let item = item?;
                if let Ok(b) = item.extract::<bool>() {
                    return Ok(b);
                }
                match self.int::<u8>(key, &item)? {
                    0 => Ok(false),
                    1 => Ok(true),
                    other => Err(errors::argument(format!("{key}: {other} is not a bool"))),
                }
            })
            .collect()
    }

    /// Weight or bond rows: a dense 2-D integer array (zeros are not stored, uids ascending),
    /// or a sequence of rows of `(uid, value)` pairs (stored order kept).
    fn rows(&self, key: &str) -> PyResult<Vec<U16Row>> {
        let v = self.required(key)?;
        if let Ok(a) = v.cast::<PyUntypedArray>()
            && a.ndim() == 2
        {
            let n_rows = a.shape().first().copied().unwrap_or(0);
            let mut rows = Vec::with_capacity(n_rows);
            for row in v.try_iter()? {
                let values: Vec<u16> = self.vector(key, &row?)?;
                let mut r = U16Row::new();
                for (uid, w) in values.into_iter().enumerate() {
                    if w != 0 {
                        let uid = u16::try_from(uid)
                            .map_err(|_| errors::shape(key, "more than 65536 columns"))?;
                        r.push((uid, w));
                    }
                }
                rows.push(r);
            }
            return Ok(rows);
        }
        let outer = v.try_iter().map_err(|_| {
            errors::dtype(
                key,
                "a 2-D array or rows of (uid, value) pairs",
                &type_name(&v),
            )
        })?;
        let mut rows = Vec::new();
        for row in outer {
            let mut r = U16Row::new();
            for pair in row?.try_iter().map_err(|_| {
                errors::dtype(
                    key,
                    "rows of (uid, value) pairs",
                    "a row that is not a sequence",
                )
            })? {
                let pair: Vec<u16> = self.vector(key, &pair?)?;
                match pair.as_slice() {
                    [uid, w] => r.push((*uid, *w)),
                    _ => {
                        return Err(errors::shape(key, "each entry must be a (uid, value) pair"));
                    }
                }
            }
            rows.push(r);
        }
        Ok(rows)
    }
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    if let Ok(a) = v.cast::<PyUntypedArray>() {
        return format!("a numpy array of dtype {}", a.dtype());
    }
    v.get_type()
        .name()
        .map_or_else(|_| "an object".to_owned(), |n| n.to_string())
}

fn parse_inputs(d: &Bound<'_, PyDict>) -> PyResult<EpochInput> {
    for key in d.keys() {
        let key: String = key.extract()?;
        if !KEYS.contains(&key.as_str()) {
            return Err(errors::argument(format!("{key}: not an epoch input field")));
        }
    }
    let i = Inputs { d };
    let stake: Vec<u64> = i.required_vector("stake")?;
    let n = match i.get("n")? {
        Some(v) => i.int::<u16>("n", &v)?,
        None => u16::try_from(stake.len())
            .map_err(|_| errors::shape("stake", "more than 65535 uids"))?,
    };
    let mode = match i.get("liquid_alpha_consensus_mode")? {
        None => ConsensusMode::default(),
        Some(v) => match v.extract::<String>()?.as_str() {
            "current" => ConsensusMode::Current,
            "previous" => ConsensusMode::Previous,
            "auto" => ConsensusMode::Auto,
            other => {
                return Err(errors::argument(format!(
                    "liquid_alpha_consensus_mode: expected 'current', 'previous' or 'auto', got {other:?}"
                )));
            }
        },
    };
    let commit_blocks = match i.get("commit_blocks")? {
        None => None,
        Some(v) => Some(
            v.try_iter()
                .map_err(|_| errors::dtype("commit_blocks", "a sequence", &type_name(&v)))?
                .map(|item| {
                    let item = item?;
                    if item.is_none() {
                        Ok(None)
                    } else {
                        i.int::<u64>("commit_blocks", &item).map(Some)
                    }
                })
                .collect::<PyResult<Vec<_>>>()?,
        ),
    };
    Ok(EpochInput {
        n,
        current_block: i.scalar("current_block")?,
        tempo: i.scalar("tempo")?,
        activity_cutoff: i.scalar("activity_cutoff")?,
        last_mechanism_step_block: i.scalar_or("last_mechanism_step_block", 0)?,
        last_update: i.required_vector("last_update")?,
        block_at_registration: i.required_vector("block_at_registration")?,
        stake,
        tao_stake: i
            .get("tao_stake")?
            .map(|v| i.vector("tao_stake", &v))
            .transpose()?,
        tao_weight: i.scalar_or("tao_weight", 0)?,
        stake_threshold: i.scalar_or("stake_threshold", 0)?,
        owner_uid: i
            .get("owner_uid")?
            .map(|v| i.int("owner_uid", &v))
            .transpose()?,
        validator_permit: i.bools("validator_permit")?,
        max_allowed_validators: i.scalar("max_allowed_validators")?,
        weights: i.rows("weights")?,
        bonds: i.rows("bonds")?,
        commit_reveal_enabled: i.flag("commit_reveal_enabled", false)?,
        commit_blocks,
        kappa: i.scalar("kappa")?,
        bonds_penalty: i.scalar("bonds_penalty")?,
        bonds_moving_average: i.scalar("bonds_moving_average")?,
        yuma3: i.flag("yuma3", false)?,
        liquid_alpha: i.flag("liquid_alpha", false)?,
        alpha_low: i.scalar("alpha_low")?,
        alpha_high: i.scalar("alpha_high")?,
        alpha_sigmoid_steepness: i.scalar("alpha_sigmoid_steepness")?,
        liquid_alpha_consensus_mode: mode,
        previous_consensus: i
            .get("previous_consensus")?
            .map(|v| i.vector("previous_consensus", &v))
            .transpose()?,
        rao_emission: i.scalar("rao_emission")?,
    })
}

fn q32_rows<'py>(py: Python<'py>, rows: &[Q32Row]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, rows.iter().cloned())
}

fn u16_rows<'py>(py: Python<'py>, rows: &[U16Row]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, rows.iter().cloned())
}

fn output_dict<'py>(py: Python<'py>, o: &EpochOutput) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let bools = |v: &[bool]| PyArray1::from_slice(py, v);
    let i64s = |v: &[i64]| PyArray1::from_slice(py, v);
    let u64s = |v: &[u64]| PyArray1::from_slice(py, v);
    let u16s = |v: &[u16]| PyArray1::from_slice(py, v);
    d.set_item("active", bools(&o.active))?;
    d.set_item("stake", i64s(&o.stake))?;
    d.set_item("active_stake", i64s(&o.active_stake))?;
    d.set_item("new_validator_permit", bools(&o.new_validator_permit))?;
    d.set_item("weights", q32_rows(py, &o.weights)?)?;
    d.set_item("consensus", i64s(&o.consensus))?;
    d.set_item("validator_trust", i64s(&o.validator_trust))?;
    d.set_item("ranks", i64s(&o.ranks))?;
    d.set_item("incentive", i64s(&o.incentive))?;
    d.set_item("dividends", i64s(&o.dividends))?;
    d.set_item("ema_bonds", q32_rows(py, &o.ema_bonds)?)?;
    d.set_item(
        "normalized_server_emission",
        i64s(&o.normalized_server_emission),
    )?;
    d.set_item(
        "normalized_validator_emission",
        i64s(&o.normalized_validator_emission),
    )?;
    d.set_item(
        "normalized_combined_emission",
        i64s(&o.normalized_combined_emission),
    )?;
    d.set_item("server_emission", u64s(&o.server_emission))?;
    d.set_item("validator_emission", u64s(&o.validator_emission))?;
    d.set_item("combined_emission", u64s(&o.combined_emission))?;
    d.set_item("stake_weight_u16", u16s(&o.stake_weight_u16))?;
    d.set_item("consensus_u16", u16s(&o.consensus_u16))?;
    d.set_item("incentive_u16", u16s(&o.incentive_u16))?;
    d.set_item("dividends_u16", u16s(&o.dividends_u16))?;
    d.set_item("validator_trust_u16", u16s(&o.validator_trust_u16))?;
    d.set_item("new_bonds", u16_rows(py, &o.new_bonds)?)?;
    Ok(d)
}

/// Runs one Yuma epoch on `inputs` (see the module docs); returns a dict of numpy arrays keyed
/// like `mycel epoch`'s output JSON. Raises `EmissionError` (with the offending field) for an
/// input that breaks the schema, `ArgumentError` / `DtypeError` / `ShapeError` for values that
/// cannot be converted.
#[pyfunction]
pub fn _yuma_epoch<'py>(
    py: Python<'py>,
    inputs: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let input = parse_inputs(inputs)?;
    let out = py.detach(|| epoch(&input)).py()?;
    output_dict(py, &out)
}

/// Runs one epoch on the JSON text `mycel epoch --input` reads; returns the parsed output JSON
/// (exactly what `mycel epoch` prints, as Python objects).
#[pyfunction]
pub fn yuma_epoch_json<'py>(py: Python<'py>, input_json: &str) -> PyResult<Bound<'py, PyAny>> {
    let input: EpochInput = serde_json::from_str(input_json).map_err(|e| {
        errors::error(
            "DecodeError",
            "decode.malformed",
            format!("invalid input: {e}"),
        )
    })?;
    let out = py.detach(|| epoch(&input)).py()?;
    let text = serde_json::to_string(&out)
        .map_err(|e| errors::error("EncodeError", "encode.serializer", e.to_string()))?;
    json_to_py(py, &text)
}
