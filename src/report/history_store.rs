//! A `History` stored compactly and exactly (the app's saved state keeps pinned runs in it):
//! every number column as little-endian f64 bytes, byte-shuffled (all first bytes, then all
//! second bytes, … so zlib finds the repeated exponents), optional columns as a presence byte per
//! row followed by the values present, the regimes as one byte per row; all of it zlib-compressed
//! and base64url-encoded into one string, with the column names beside it so a history written
//! by another version is refused by name instead of misread. Exact: NaN, ±∞ and −0 come back bit
//! for bit (JSON numbers could not hold them). Decoding a damaged string is an error, never a panic.

use super::series::{BYTES_PER_SAMPLE, HISTORY_LIMIT, History};
use crate::engine::config::share::{base64url_decode, base64url_encode};
use crate::engine::sim::Regime;
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// One history, packed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PackedHistory {
    /// Samples (rows) stored.
    pub rows: usize,
    /// Steps per tail bucket (`History::bucket_span`), so later pushes would thin the same way.
    pub span: u64,
    pub generation: u64,
    /// The column names in the order their bytes follow.
    pub columns: Vec<String>,
    /// base64url(zlib(column bytes)).
    pub data: String,
}

/// The number columns, in `History` order.
const NUMBER_COLUMNS: [&str; 11] = ["step", "eta", "loss", "lambda_hat", "lambda_hat_2", "lambda_raw", "eta_lambda", "weight_norm_sq", "dist_from_init", "u", "v"];
/// The optional columns, in `History` order.
const OPTIONAL_COLUMNS: [&str; 16] = [
    "train_acc", "sparsity", "rho", "v_mean", "lambda_ntk", "loss_top", "test_loss", "test_acc", "agop_alignment", "batch_crit_eta", "precond_sharpness", "edge_sharpness",
    "hessian_top", "loss_top_s", "loss_rest_s", "kernel_change",
];
/// Per-layer sparsity columns are `sparsity_1` … (as many as the history has, at most this).
const LAYER_SPARSITY_PREFIX: &str = "sparsity_";
const REGIME_COLUMN: &str = "regime";
/// The most bytes a packed history may inflate to (a full history is far below it).
const MAX_INFLATED: u64 = (2 * HISTORY_LIMIT * BYTES_PER_SAMPLE) as u64;

fn numbers(h: &History) -> [&Vec<f64>; 11] {
    [&h.step, &h.eta, &h.loss, &h.lambda_hat, &h.lambda_hat_2, &h.lambda_raw, &h.eta_lambda, &h.weight_norm_sq, &h.dist_from_init, &h.u, &h.v]
}

fn numbers_mut(h: &mut History) -> [&mut Vec<f64>; 11] {
    [&mut h.step, &mut h.eta, &mut h.loss, &mut h.lambda_hat, &mut h.lambda_hat_2, &mut h.lambda_raw, &mut h.eta_lambda, &mut h.weight_norm_sq, &mut h.dist_from_init, &mut h.u, &mut h.v]
}

fn optionals(h: &History) -> [&Vec<Option<f64>>; 16] {
    [
        &h.train_acc, &h.sparsity, &h.rho, &h.v_mean, &h.lambda_ntk, &h.loss_top, &h.test_loss, &h.test_acc, &h.agop_alignment, &h.batch_crit_eta, &h.precond_sharpness, &h.edge_sharpness,
        &h.hessian_top, &h.loss_top_s, &h.loss_rest_s, &h.kernel_change,
    ]
}

fn optionals_mut(h: &mut History) -> [&mut Vec<Option<f64>>; 16] {
    [
        &mut h.train_acc, &mut h.sparsity, &mut h.rho, &mut h.v_mean, &mut h.lambda_ntk, &mut h.loss_top, &mut h.test_loss, &mut h.test_acc, &mut h.agop_alignment,
        &mut h.batch_crit_eta, &mut h.precond_sharpness, &mut h.edge_sharpness, &mut h.hessian_top, &mut h.loss_top_s, &mut h.loss_rest_s, &mut h.kernel_change,
    ]
}

/// Writes one optional column: a presence byte per row, then the values present.
fn put_optional(bytes: &mut Vec<u8>, column: &[Option<f64>], rows: usize) {
    let values: Vec<Option<f64>> = (0..rows).map(|i| column.get(i).copied().flatten()).collect();
    bytes.extend(values.iter().map(|v| u8::from(v.is_some())));
    put_shuffled(bytes, &values.iter().flatten().copied().collect::<Vec<f64>>());
}

/// The layer of a `sparsity_l` column name (1-based, at most `MAX_SPARSITY_LAYERS`).
fn layer_of(name: &str) -> Option<usize> {
    let l: usize = name.strip_prefix(LAYER_SPARSITY_PREFIX)?.parse().ok()?;
    (1..=crate::engine::sim::MAX_SPARSITY_LAYERS).contains(&l).then_some(l)
}

fn regime_byte(regime: Regime) -> u8 {
    match regime {
        Regime::Stable => 0,
        Regime::Catapult => 1,
        Regime::Divergent => 2,
    }
}

/// Appends `values` byte-shuffled: byte 0 of every value, then byte 1, …
fn put_shuffled(out: &mut Vec<u8>, values: &[f64]) {
    let bytes: Vec<[u8; 8]> = values.iter().map(|v| v.to_le_bytes()).collect();
    for b in 0..8 {
        out.extend(bytes.iter().map(|x| x[b]));
    }
}

impl PackedHistory {
    /// Packs the first `history.len()` rows of every column.
    pub fn pack(history: &History) -> PackedHistory {
        let rows = history.len();
        let mut bytes = Vec::with_capacity(rows * BYTES_PER_SAMPLE);
        for column in numbers(history) {
            let values: Vec<f64> = (0..rows).map(|i| column.get(i).copied().unwrap_or(f64::NAN)).collect();
            put_shuffled(&mut bytes, &values);
        }
        for column in optionals(history) {
            put_optional(&mut bytes, column, rows);
        }
        for column in &history.layer_sparsity {
            put_optional(&mut bytes, column, rows);
        }
        bytes.extend((0..rows).map(|i| history.regime.get(i).map_or(0, |r| regime_byte(*r))));
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&bytes).expect("writing to memory cannot fail");
        let zipped = encoder.finish().expect("writing to memory cannot fail");
        let layers = (1..=history.layer_sparsity.len()).map(|l| format!("{LAYER_SPARSITY_PREFIX}{l}"));
        let columns = NUMBER_COLUMNS.iter().chain(OPTIONAL_COLUMNS.iter()).map(|c| c.to_string()).chain(layers).chain([REGIME_COLUMN.to_string()]).collect();
        PackedHistory { rows, span: history.bucket_span(), generation: history.generation, columns, data: base64url_encode(&zipped) }
    }

    /// The history back, exactly; `Err` says what is wrong (damaged data, an unknown or missing
    /// column, a length that does not add up).
    pub fn unpack(&self) -> Result<History, String> {
        if self.rows > HISTORY_LIMIT {
            return Err(format!("{} rows, more than a history keeps ({HISTORY_LIMIT})", self.rows));
        }
        let zipped = base64url_decode(&self.data).map_err(|e| format!("data: {e}"))?;
        let mut bytes = Vec::new();
        ZlibDecoder::new(zipped.as_slice())
            .take(MAX_INFLATED + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("data: damaged ({e})"))?;
        if bytes.len() as u64 > MAX_INFLATED {
            return Err("data: larger than any history".into());
        }
        let rows = self.rows;
        let mut reader = Reader { bytes: &bytes, at: 0 };
        let mut h = History::default();
        let mut seen = Vec::new();
        let mut layers: Vec<(usize, Vec<Option<f64>>)> = Vec::new();
        for name in &self.columns {
            if seen.contains(&name.as_str()) || layer_of(name).is_some_and(|l| layers.iter().any(|(k, _)| *k == l)) {
                return Err(format!("column `{name}` appears twice"));
            }
            if let Some(k) = NUMBER_COLUMNS.iter().position(|c| c == name) {
                *numbers_mut(&mut h)[k] = reader.shuffled(rows, name)?;
                seen.push(NUMBER_COLUMNS[k]);
            } else if let Some(k) = OPTIONAL_COLUMNS.iter().position(|c| c == name) {
                let present = reader.take(rows, name)?.to_vec();
                if let Some(bad) = present.iter().find(|&&p| p > 1) {
                    return Err(format!("column `{name}`: presence byte {bad} is not 0 or 1"));
                }
                let values = reader.shuffled(present.iter().filter(|&&p| p == 1).count(), name)?;
                let mut values = values.into_iter();
                *optionals_mut(&mut h)[k] = present.iter().map(|&p| if p == 1 { values.next() } else { None }).collect();
                seen.push(OPTIONAL_COLUMNS[k]);
            } else if let Some(l) = layer_of(name) {
                let present = reader.take(rows, name)?.to_vec();
                if let Some(bad) = present.iter().find(|&&p| p > 1) {
                    return Err(format!("column `{name}`: presence byte {bad} is not 0 or 1"));
                }
                let values = reader.shuffled(present.iter().filter(|&&p| p == 1).count(), name)?;
                let mut values = values.into_iter();
                layers.push((l, present.iter().map(|&p| if p == 1 { values.next() } else { None }).collect()));
            } else if name == REGIME_COLUMN {
                h.regime = reader
                    .take(rows, name)?
                    .iter()
                    .map(|&b| match b {
                        0 => Ok(Regime::Stable),
                        1 => Ok(Regime::Catapult),
                        2 => Ok(Regime::Divergent),
                        other => Err(format!("column `regime`: {other} is not a regime")),
                    })
                    .collect::<Result<_, _>>()?;
                seen.push(REGIME_COLUMN);
            } else {
                return Err(format!("unknown column `{name}` (saved by another version?)"));
            }
        }
        if let Some(missing) = NUMBER_COLUMNS.iter().chain([&REGIME_COLUMN]).find(|c| !seen.contains(c)) {
            return Err(format!("column `{missing}` is missing"));
        }
        // Optional columns a history of another version did not have are absent on every row.
        for (k, column) in optionals_mut(&mut h).into_iter().enumerate() {
            if !seen.contains(&OPTIONAL_COLUMNS[k]) {
                *column = vec![None; rows];
            }
        }
        let count = layers.iter().map(|(l, _)| *l).max().unwrap_or(0);
        h.layer_sparsity = vec![vec![None; rows]; count];
        for (l, column) in layers {
            h.layer_sparsity[l - 1] = column;
        }
        if reader.at != bytes.len() {
            return Err(format!("data: {} bytes left over after the columns", bytes.len() - reader.at));
        }
        if !h.step.windows(2).all(|w| w[0] < w[1]) {
            return Err("column `step`: steps are not increasing".into());
        }
        h.span = self.span.max(1);
        h.generation = self.generation;
        Ok(h)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, column: &str) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| format!("column `{column}`: the data ends early"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn shuffled(&mut self, n: usize, column: &str) -> Result<Vec<f64>, String> {
        let raw = self.take(n.checked_mul(8).ok_or_else(|| format!("column `{column}`: too long"))?, column)?;
        Ok((0..n).map(|i| f64::from_le_bytes(std::array::from_fn(|b| raw[b * n + i]))).collect())
    }
}
