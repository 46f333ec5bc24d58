//! What the plots draw from a history: the step axis (linear, or log10(step + 1)), buckets of
//! about one pixel column along it, and the decimation that keeps, per bucket, the first, the
//! minimum, the maximum and the last point in step order (so every spike and every end point
//! is drawn), plus the regime runs for shading. Pure functions: no egui.

use crate::engine::sim::Regime;
use std::ops::Range;

/// How the step axis maps steps to plot x.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StepAxis {
    #[default]
    Linear,
    /// x = log10(step + 1), so step 0 sits at 0 and every decade gets the same width.
    Log,
}

impl StepAxis {
    pub fn to_axis(self, step: f64) -> f64 {
        match self {
            StepAxis::Linear => step,
            StepAxis::Log => (step.max(0.0) + 1.0).log10(),
        }
    }

    pub fn from_axis(self, x: f64) -> f64 {
        match self {
            StepAxis::Linear => x,
            StepAxis::Log => 10f64.powf(x) - 1.0,
        }
    }
}

/// Runs longer than this many times their interesting start open with a log step axis.
pub const LOG_AXIS_RATIO: f64 = 100.0;

/// The step axis a run of `last_step` steps opens with: log once it is `LOG_AXIS_RATIO` times
/// longer than its interesting start (`interesting_until`, e.g. twice the peak step, at least 40).
pub fn default_step_axis(last_step: u64, interesting_until: f64) -> StepAxis {
    if last_step as f64 > LOG_AXIS_RATIO * interesting_until.max(40.0) { StepAxis::Log } else { StepAxis::Linear }
}

/// Splits the rows `range` (steps `xs`, in order) into at most `count` non-empty runs of rows
/// of equal width along `axis`.
pub fn buckets(xs: &[f64], range: Range<usize>, count: usize, axis: StepAxis) -> Vec<Range<usize>> {
    if range.is_empty() {
        return Vec::new();
    }
    let count = count.max(1);
    if range.len() <= 4 * count {
        // Few rows: each is its own bucket (drawn whole).
        return range.map(|i| i..i + 1).collect();
    }
    let x0 = axis.to_axis(xs[range.start]);
    let x1 = axis.to_axis(xs[range.end - 1]);
    let width = (x1 - x0) / count as f64;
    let mut out = Vec::with_capacity(count);
    let mut start = range.start;
    for b in 1..=count {
        let end = if b == count {
            range.end
        } else {
            let bound = axis.from_axis(x0 + width * b as f64);
            start + xs[start..range.end].partition_point(|&s| s < bound)
        };
        if end > start {
            out.push(start..end);
            start = end;
        }
    }
    out
}

/// Per bucket the first, minimum, maximum and last row of `ys` (in row order, without repeats),
/// mapped to plot coordinates by `x_map` and `y_map`.
pub fn decimate_buckets(xs: &[f64], ys: &[f64], buckets: &[Range<usize>], x_map: impl Fn(f64) -> f64, y_map: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    let mut out = Vec::with_capacity(4 * buckets.len());
    for bucket in buckets {
        if bucket.len() <= 4 {
            out.extend(bucket.clone().map(|i| [x_map(xs[i]), y_map(ys[i])]));
            continue;
        }
        let (mut lo, mut hi) = (bucket.start, bucket.start);
        for i in bucket.clone() {
            if ys[i] < ys[lo] {
                lo = i;
            }
            if ys[i] > ys[hi] {
                hi = i;
            }
        }
        let mut rows = [bucket.start, lo, hi, bucket.end - 1];
        rows.sort_unstable();
        let mut previous = usize::MAX;
        for i in rows {
            if i != previous {
                out.push([x_map(xs[i]), y_map(ys[i])]);
                previous = i;
            }
        }
    }
    out
}

/// Points to draw for `ys` against `xs` over `range` on a linear step axis: all of them when
/// there are few, else per bucket (≈ one pixel column) the first, minimum, maximum and last.
/// `transform` maps a value to what is plotted (e.g. log10).
pub fn decimate(xs: &[f64], ys: &[f64], range: Range<usize>, buckets: usize, transform: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    let b = self::buckets(xs, range, buckets, StepAxis::Linear);
    decimate_buckets(xs, ys, &b, |x| x, transform)
}

/// True when a recent sample of an optional column carries a value (the column applies to this
/// run; e.g. SGD's batch rate is absent at step 0 only).
pub fn has_values(column: &[Option<f64>]) -> bool {
    column.iter().rev().take(4).any(Option::is_some)
}

/// Like `decimate`, for an optional column: the samples without a value are skipped.
pub fn decimate_present(xs: &[f64], ys: &[Option<f64>], range: Range<usize>, buckets: usize, transform: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    decimate_present_on(xs, ys, range, buckets, StepAxis::Linear, transform)
}

/// `decimate_present` on a chosen step axis (x of the output is plot x).
pub fn decimate_present_on(xs: &[f64], ys: &[Option<f64>], range: Range<usize>, buckets: usize, axis: StepAxis, transform: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    let (steps, values): (Vec<f64>, Vec<f64>) = range.filter_map(|i| ys[i].map(|y| (xs[i], y))).unzip();
    if steps.is_empty() {
        return Vec::new();
    }
    let b = self::buckets(&steps, 0..steps.len(), buckets, axis);
    decimate_buckets(&steps, &values, &b, |x| axis.to_axis(x), transform)
}

/// Runs of equal regime over `range` as (first step, last step, regime).
pub fn regime_runs(xs: &[f64], regimes: &[Regime], range: Range<usize>) -> Vec<(f64, f64, Regime)> {
    let mut runs: Vec<(f64, f64, Regime)> = Vec::new();
    for i in range {
        match runs.last_mut() {
            Some(run) if run.2 == regimes[i] => run.1 = xs[i],
            _ => runs.push((xs[i], xs[i], regimes[i])),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_extremes_and_last_point() {
        let xs: Vec<f64> = (0..1_000_000).map(|i| i as f64).collect();
        let mut ys: Vec<f64> = xs.iter().map(|x| (x * 0.001).sin()).collect();
        ys[123_456] = 50.0;
        ys[654_321] = -50.0;
        let points = decimate(&xs, &ys, 0..xs.len(), 1000, |y| y);
        assert!(points.len() <= 4000);
        assert!(points.iter().any(|p| p[1] == 50.0));
        assert!(points.iter().any(|p| p[1] == -50.0));
        assert_eq!(points.first().unwrap()[0], 0.0);
        assert_eq!(points.last().unwrap()[0], 999_999.0);
        assert!(points.windows(2).all(|w| w[0][0] < w[1][0]));
    }

    #[test]
    fn small_histories_are_drawn_whole() {
        let xs = [0.0, 1.0, 2.0];
        let ys = [3.0, 1.0, 2.0];
        assert_eq!(decimate(&xs, &ys, 0..3, 100, |y| y).len(), 3);
    }

    #[test]
    fn log_axis_buckets_give_the_early_steps_their_own_columns() {
        let xs: Vec<f64> = (0..1_000_001).map(|i| i as f64).collect();
        let b = buckets(&xs, 0..xs.len(), 600, StepAxis::Log);
        // The first decade (steps 0..9) spans 1/6 of the axis: every step its own bucket.
        assert!(b.iter().take(10).all(|r| r.len() == 1), "{:?}", &b[..12]);
        assert_eq!(b.last().unwrap().end, xs.len());
        assert!((StepAxis::Log.from_axis(StepAxis::Log.to_axis(99.0)) - 99.0).abs() < 1e-9);
    }
}
