//! The live view's four plots as data, in data units (steps, losses, eigenvalues; never log10):
//! which series each plot draws from a history, decimated to about one point group per pixel
//! column along the chosen step axis. The window (app/plots.rs, app/phase_plane.rs), the
//! headless figure (live_figure.rs) and `figure --series` all draw exactly these points, so
//! what is drawn is what was computed. Every η-dependent line (2/η, 4/η, the optimizer's edge
//! edge/η) is a per-step series of the η each step used.

use super::decimate::{StepAxis, buckets, decimate_buckets};
use super::series::History;
use crate::engine::config::{LossKind, ModelKind, Preset};
use std::ops::Range;

/// Plot names (as in `figure --series`).
pub const LOSS_PLOT: &str = "loss";
pub const KERNEL_PLOT: &str = "kernel";
pub const WEIGHTS_PLOT: &str = "weights";
pub const PHASE_PLOT: &str = "phase_plane";

/// One plotted series: its plot, its name (the CSV column it shows, or the line's formula) and
/// its points `[x, y]` in data units (x = step, except the u/v series: x = v, y = u).
#[derive(Clone, Debug, PartialEq)]
pub struct PlotSeries {
    pub plot: &'static str,
    pub series: &'static str,
    pub points: Vec<[f64; 2]>,
}

/// What the series of one run depend on besides its history.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewOptions {
    pub axis: StepAxis,
    /// Point groups per plot (about its width in pixels).
    pub columns: usize,
    /// Draw 4/η (theory gives η_max = 4/λ̂0 for this model).
    pub has_eta_max: bool,
    /// The u/v plane applies (else the phase panel shows η·λ̂ against the step).
    pub uv_applies: bool,
}

/// Why the u/v plane means nothing for `preset`, or None where it applies (SPEC §4: u is the
/// squared-loss residual along the top kernel direction of a full-batch network or NQM).
pub fn uv_not_applicable(preset: &Preset) -> Option<&'static str> {
    if preset.model.kind == ModelKind::LinearPredictor {
        Some("a linear predictor has no (u, v) map")
    } else if preset.loss.kind != LossKind::Mse {
        Some("u is defined for the squared loss only")
    } else if preset.train.batch_size != 0 && preset.train.batch_size < crate::engine::config::data_shape(&preset.data).0 {
        Some("under SGD the full-data (u, v) map does not hold")
    } else {
        None
    }
}

/// The optimizer's edge in sharpness units, edge/η per step (`Sample::edge_sharpness`: every
/// optimizer but gd), and the preconditioned sharpness λ_max(P⁻¹∇²L) (adaptive optimizers).
pub const OPTIMIZER_EDGE_SERIES: &str = "edge_sharpness";
pub const PRECOND_SERIES: &str = "precond_sharpness";
/// λ_H, the top eigenvalue of the loss Hessian (SPEC §11), on the kernel plot beside λ̂ (the
/// steps it was measured on).
pub const HESSIAN_SERIES: &str = "hessian_top";
/// The top-s loss split L_{≤s}, L_{>s} on the loss plot (SGD and teacher runs, as before).
pub const LOSS_TOP_S_SERIES: &str = "loss_top_s";
pub const LOSS_REST_S_SERIES: &str = "loss_rest_s";

/// Whether the loss plot shows the top-s split: SGD runs and data with a test split (teacher,
/// images), where the thesis's claim lives (GD spikes in L_{≤5}, SGD spikes in L_{≤1}).
pub fn shows_loss_split(history: &History) -> bool {
    let any = |c: &[Option<f64>]| c.iter().any(Option::is_some);
    (any(&history.batch_crit_eta) || any(&history.test_loss)) && any(&history.loss_top_s)
}

/// The rows of `range` where an optional column has a value, as (steps, values), decimated like
/// the other step series.
fn present_series(history: &History, column: &[Option<f64>], range: Range<usize>, options: &ViewOptions) -> Vec<[f64; 2]> {
    let (steps, values): (Vec<f64>, Vec<f64>) = range.filter_map(|i| column[i].map(|v| (history.step[i], v))).unzip();
    let rows = buckets(&steps, 0..steps.len(), options.columns, options.axis);
    decimate_buckets(&steps, &values, &rows, |x| x, |y| y)
}

/// Decimates the column `ys` over `bucket_rows` with `y_map`, x = step (data units).
fn step_series(history: &History, ys: &[f64], bucket_rows: &[Range<usize>], y_map: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    decimate_buckets(&history.step, ys, bucket_rows, |x| x, y_map)
}

/// The u/v trajectory over `bucket_rows` as (v, u): per bucket its first and last sample and the
/// samples with the smallest and largest u and v, in step order.
pub fn uv_trajectory(history: &History, bucket_rows: &[Range<usize>]) -> Vec<[f64; 2]> {
    let mut out = Vec::with_capacity(4 * bucket_rows.len());
    for bucket in bucket_rows {
        if bucket.len() <= 6 {
            out.extend(bucket.clone().map(|i| [history.v[i], history.u[i]]));
            continue;
        }
        let (mut u_lo, mut u_hi, mut v_lo, mut v_hi) = (bucket.start, bucket.start, bucket.start, bucket.start);
        for i in bucket.clone() {
            if history.u[i] < history.u[u_lo] {
                u_lo = i;
            }
            if history.u[i] > history.u[u_hi] {
                u_hi = i;
            }
            if history.v[i] < history.v[v_lo] {
                v_lo = i;
            }
            if history.v[i] > history.v[v_hi] {
                v_hi = i;
            }
        }
        let mut rows = [bucket.start, u_lo, u_hi, v_lo, v_hi, bucket.end - 1];
        rows.sort_unstable();
        let mut previous = usize::MAX;
        for i in rows {
            if i != previous {
                out.push([history.v[i], history.u[i]]);
                previous = i;
            }
        }
    }
    out
}

/// The bucket rows of `range` for `options` (shared by every series of a frame).
pub fn view_buckets(history: &History, range: Range<usize>, options: &ViewOptions) -> Vec<Range<usize>> {
    buckets(&history.step, range, options.columns, options.axis)
}

/// Every series the four live plots draw for `history` over `range`, in data units.
pub fn live_series(history: &History, range: Range<usize>, options: &ViewOptions) -> Vec<PlotSeries> {
    let rows = view_buckets(history, range.clone(), options);
    let mut out = vec![
        PlotSeries { plot: LOSS_PLOT, series: "loss", points: step_series(history, &history.loss, &rows, |y| y) },
        PlotSeries { plot: KERNEL_PLOT, series: "lambda_hat", points: step_series(history, &history.lambda_hat, &rows, |y| y) },
        PlotSeries { plot: KERNEL_PLOT, series: "lambda_hat_2", points: step_series(history, &history.lambda_hat_2, &rows, |y| y) },
        PlotSeries { plot: KERNEL_PLOT, series: "2/eta", points: step_series(history, &history.eta, &rows, |eta| 2.0 / eta) },
    ];
    if options.has_eta_max {
        out.push(PlotSeries { plot: KERNEL_PLOT, series: "4/eta", points: step_series(history, &history.eta, &rows, |eta| 4.0 / eta) });
    }
    if shows_loss_split(history) {
        for (series, column) in [(LOSS_TOP_S_SERIES, &history.loss_top_s), (LOSS_REST_S_SERIES, &history.loss_rest_s)] {
            out.push(PlotSeries { plot: LOSS_PLOT, series, points: present_series(history, column, range.clone(), options) });
        }
    }
    for (series, column) in [(OPTIMIZER_EDGE_SERIES, &history.edge_sharpness), (PRECOND_SERIES, &history.precond_sharpness), (HESSIAN_SERIES, &history.hessian_top)] {
        if column[range.clone()].iter().any(Option::is_some) {
            out.push(PlotSeries { plot: KERNEL_PLOT, series, points: present_series(history, column, range.clone(), options) });
        }
    }
    out.push(PlotSeries { plot: WEIGHTS_PLOT, series: "weight_norm_sq", points: step_series(history, &history.weight_norm_sq, &rows, |y| y) });
    out.push(PlotSeries { plot: WEIGHTS_PLOT, series: "dist_from_init", points: step_series(history, &history.dist_from_init, &rows, |y| y) });
    if options.uv_applies {
        out.push(PlotSeries { plot: PHASE_PLOT, series: "uv", points: uv_trajectory(history, &rows) });
    } else {
        out.push(PlotSeries { plot: PHASE_PLOT, series: "eta_lambda", points: step_series(history, &history.eta_lambda, &rows, |y| y) });
    }
    out
}

/// The points of `series` in `plot` (empty when absent).
pub fn find<'a>(all: &'a [PlotSeries], plot: &str, series: &str) -> &'a [[f64; 2]] {
    all.iter().find(|s| s.plot == plot && s.series == series).map_or(&[], |s| &s.points)
}

/// `plot,series,x,y` CSV of every point (full precision, data units).
pub fn series_csv(all: &[PlotSeries]) -> String {
    let mut text = String::from("plot,series,x,y\n");
    for s in all {
        for p in &s.points {
            text.push_str(&format!("{},{},{},{}\n", s.plot, s.series, p[0], p[1]));
        }
    }
    text
}

/// The kernel axis: fitted to the data (λ̂, λ̂₂, λ_H) with the η lines only where they lie near it;
/// log10 when the data span more than two decades. Returns (y_min, y_max, log).
pub fn kernel_axis(all: &[PlotSeries]) -> (f64, f64, bool) {
    let data = find(all, KERNEL_PLOT, "lambda_hat").iter().chain(find(all, KERNEL_PLOT, "lambda_hat_2")).chain(find(all, KERNEL_PLOT, PRECOND_SERIES)).chain(find(all, KERNEL_PLOT, HESSIAN_SERIES)).map(|p| p[1]).filter(|y| y.is_finite());
    let (lo, hi) = data.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if !lo.is_finite() {
        return (0.0, 1.0, false);
    }
    let positive_lo = find(all, KERNEL_PLOT, "lambda_hat").iter().map(|p| p[1]).filter(|y| *y > 0.0).fold(f64::INFINITY, f64::min);
    let log = positive_lo.is_finite() && hi > 0.0 && hi / positive_lo > 100.0;
    // The 2/η line (or the optimizer's own edge, where it has one) is the story's threshold:
    // include it when it is within a factor 3 of the data.
    let edge = if find(all, KERNEL_PLOT, OPTIMIZER_EDGE_SERIES).is_empty() { "2/eta" } else { OPTIMIZER_EDGE_SERIES };
    let line_hi = find(all, KERNEL_PLOT, edge).iter().map(|p| p[1]).filter(|y| y.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    let line_lo = find(all, KERNEL_PLOT, edge).iter().map(|p| p[1]).filter(|y| y.is_finite()).fold(f64::INFINITY, f64::min);
    let (mut lo, mut hi) = (if log { positive_lo } else { lo.min(0.0) }, hi);
    if line_lo.is_finite() && line_lo <= 3.0 * hi {
        hi = hi.max(line_hi.min(3.0 * hi));
        if log {
            lo = lo.min(line_lo.max(lo / 3.0));
        }
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    (lo, hi, log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_lines_follow_eta_at_every_step() {
        let preset = crate::engine::library::shipped("zhu-multiple-catapults", &[("train.steps".into(), serde_json::json!(400))]).unwrap().unwrap();
        let mut sim = crate::engine::sim::Simulation::new(&preset).unwrap();
        let mut history = History::default();
        history.push(sim.first_sample(), crate::engine::sim::Regime::Stable);
        while let Some(s) = sim.step() {
            history.push(&s, crate::engine::sim::Regime::Stable);
        }
        let options = ViewOptions { axis: StepAxis::Linear, columns: 1000, has_eta_max: true, uv_applies: true };
        let all = live_series(&history, 0..history.len(), &options);
        let line = find(&all, KERNEL_PLOT, "2/eta");
        assert_eq!(line.len(), history.len());
        for (p, (&step, &eta)) in line.iter().zip(history.step.iter().zip(&history.eta)) {
            assert_eq!(p, &[step, 2.0 / eta]);
        }
        assert!(history.eta.windows(2).any(|w| w[0] != w[1]), "the schedule changes η");
    }
}
