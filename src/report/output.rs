//! Writing results: the per-step CSV (SPEC §4 columns, optional ones only where they apply),
//! the summary JSON and the sweep CSV (SPEC §5 fields). Nothing non-finite is ever written:
//! a non-finite number becomes an empty cell or JSON null. Files the app saves go through a temp
//! file and a rename (`write_atomically`).

use crate::engine::sim::{EXTRA_COUNT, Sample, Summary};
use std::io::Write;

/// The SPEC §4 columns every run has, in order.
pub const SAMPLE_COLUMNS: [&str; 12] = [
    "step", "eta", "loss", "lambda_hat", "lambda_hat_2", "lambda_raw", "eta_lambda", "weight_norm_sq",
    "dist_from_init", "u", "v", "train_acc",
];

/// Optional columns, written when the first sample has them.
/// `sparsity` is the two-layer net's one hidden layer (as before); `sparsity_l` are the hidden
/// layers of every model with gates (for the two-layer net `sparsity_1` = `sparsity`).
/// `loss_top` is the fixed top-2 split (the old column); `loss_top_s` / `loss_rest_s` the split
/// at s = `measure.top_s` (the summary's `top_s`).
pub const EXTRA_COLUMNS: [&str; EXTRA_COUNT] = [
    "sparsity", "rho", "v_mean", "lambda_ntk", "loss_top", "test_loss", "agop_alignment", "batch_crit_eta", "test_acc", "precond_sharpness", "edge_sharpness",
    "hessian_top", "loss_top_s", "loss_rest_s", "kernel_change",
    "sparsity_1", "sparsity_2", "sparsity_3", "sparsity_4", "sparsity_5", "sparsity_6", "sparsity_7", "sparsity_8",
];



fn cell(value: Option<f64>) -> String {
    match value {
        // −0 (e.g. ρ at init, a sum of −0 terms) is written as 0.
        Some(x) if x == 0.0 => "0".to_string(),
        Some(x) if x.is_finite() => format!("{x}"),
        _ => String::new(),
    }
}

/// Streams samples as CSV rows under one header.
pub struct SampleCsv<W: Write> {
    out: W,
    /// The optional columns written (`EXTRA_COLUMNS` order); None until the first sample.
    extras: Option<[bool; EXTRA_COUNT]>,
    header_written: bool,
}

impl<W: Write> SampleCsv<W> {
    /// The optional columns are those the first sample has.
    pub fn new(out: W) -> Self {
        SampleCsv { out, extras: None, header_written: false }
    }

    /// The optional columns are fixed up front, e.g. from `Simulation::extra_columns`, for
    /// columns the first sample cannot have yet (the batch critical rate of SGD).
    pub fn with_columns(out: W, present: [bool; EXTRA_COUNT]) -> Self {
        SampleCsv { out, extras: Some(present), header_written: false }
    }

    pub fn write(&mut self, sample: &Sample) -> std::io::Result<()> {
        let present = *self.extras.get_or_insert_with(|| crate::engine::sim::extra_presence(sample));
        if !self.header_written {
            let mut header: Vec<&str> = SAMPLE_COLUMNS.to_vec();
            header.extend(EXTRA_COLUMNS.iter().zip(present).filter(|(_, on)| *on).map(|(name, _)| *name));
            writeln!(self.out, "{}", header.join(","))?;
            self.header_written = true;
        }
        let mut row = vec![
            sample.step.to_string(),
            cell(Some(sample.eta)),
            cell(Some(sample.loss)),
            cell(Some(sample.lambda_hat)),
            cell(Some(sample.lambda_hat_2)),
            cell(Some(sample.lambda_raw)),
            cell(Some(sample.eta_lambda)),
            cell(Some(sample.weight_norm_sq)),
            cell(Some(sample.dist_from_init)),
            cell(Some(sample.u)),
            cell(Some(sample.v)),
            cell(sample.train_acc),
        ];
        row.extend(sample.extras().iter().zip(present).filter(|(_, on)| *on).map(|(value, _)| cell(*value)));
        writeln!(self.out, "{}", row.join(","))
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The summary as pretty JSON (non-finite numbers become null).
pub fn summary_json(summary: &Summary) -> String {
    let mut value = serde_json::to_value(summary).expect("a summary always serializes");
    if let Some(map) = value.as_object_mut() {
        for v in map.values_mut() {
            if v.as_f64().is_some_and(|x| !x.is_finite()) {
                *v = serde_json::Value::Null;
            }
        }
    }
    serde_json::to_string_pretty(&value).expect("JSON values serialize")
}

/// The SPEC §5 field names, the sweep CSV header.
pub const SUMMARY_COLUMNS: [&str; 29] = [
    "lambda0", "lambda0_2", "eta", "eta_scaled", "eta_crit", "eta_crit_theory", "eta_max_theory", "loss0", "peak_loss", "peak_step",
    "final_loss", "final_lambda", "final_eta_lambda", "weight_norm_sq0", "final_weight_norm_sq", "max_dist_from_init",
    "phase", "steps_run", "diverged_at", "seed", "width", "approx", "best_test_loss", "best_test_step", "best_test_acc",
    "optimizer", "optimizer_edge", "final_precond_sharpness", "final_eta_scaled",
];

/// One sweep CSV row in `SUMMARY_COLUMNS` order.
pub fn summary_row(s: &Summary) -> Vec<String> {
    vec![
        cell(Some(s.lambda0)),
        cell(Some(s.lambda0_2)),
        cell(Some(s.eta)),
        cell(Some(s.eta_scaled)),
        cell(Some(s.eta_crit)),
        cell(s.eta_crit_theory),
        cell(s.eta_max_theory),
        cell(Some(s.loss0)),
        cell(Some(s.peak_loss)),
        s.peak_step.to_string(),
        cell(Some(s.final_loss)),
        cell(Some(s.final_lambda)),
        cell(Some(s.final_eta_lambda)),
        cell(Some(s.weight_norm_sq0)),
        cell(Some(s.final_weight_norm_sq)),
        cell(Some(s.max_dist_from_init)),
        s.phase.label().to_string(),
        s.steps_run.to_string(),
        s.diverged_at.map(|x| x.to_string()).unwrap_or_default(),
        s.seed.to_string(),
        s.width.to_string(),
        approx_label(s.approx).to_string(),
        cell(s.best_test_loss),
        s.best_test_step.map(|x| x.to_string()).unwrap_or_default(),
        cell(s.best_test_acc),
        s.optimizer.key().to_string(),
        cell(Some(s.optimizer_edge)),
        cell(s.final_precond_sharpness),
        cell(Some(s.final_eta_scaled)),
    ]
}

/// The preset spelling of an approximation (`model.approx`).
pub fn approx_label(approx: crate::engine::config::Approx) -> &'static str {
    match approx {
        crate::engine::config::Approx::Network => "network",
        crate::engine::config::Approx::Quadratic => "quadratic",
        crate::engine::config::Approx::Linearized => "linearized",
    }
}

/// Writes a whole sweep as CSV.
pub fn write_summary_csv<W: Write>(out: W, rows: &[Summary]) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(SUMMARY_COLUMNS)?;
    for row in rows {
        writer.write_record(summary_row(row))?;
    }
    writer.flush()
}

/// Writes `text` to `path` through a temp file in the same folder and a rename.
pub fn write_atomically(path: &std::path::Path, text: &str) -> Result<(), String> {
    let file_name = path.file_name().ok_or_else(|| format!("{}: not a file path", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp", file_name.to_string_lossy()));
    std::fs::write(&tmp, text).map_err(|e| format!("{}: cannot write: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: cannot rename into place: {e}", path.display())
    })
}
