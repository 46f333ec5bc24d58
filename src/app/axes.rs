//! Axis helpers for the live plots: log10 values with 10^k tick labels (egui_plot has no log
//! axis), step-axis grid marks for linear and log step axes, and their labels.

use crate::report::series::StepAxis;
use egui_plot::{GridInput, GridMark};

/// log10 of a positive value for a log axis; zero or negative values sit at 1e-300.
pub fn log10_clamped(value: f64) -> f64 {
    value.max(1e-300).log10()
}

/// Tick label for a log10 axis: 10^k at integers, the plain value elsewhere.
pub fn pow10_label(log_value: f64) -> String {
    let rounded = log_value.round();
    if (log_value - rounded).abs() < 1e-9 {
        let k = rounded as i64;
        match k {
            0 => "1".to_string(),
            1 => "10".to_string(),
            _ => format!("10^{k}"),
        }
    } else {
        format!("{:.2e}", 10f64.powf(log_value))
    }
}

/// Grid marks at whole decades (every k-th decade when the range is wide), or the default
/// 1-2-5 marks when less than two decades are shown.
pub fn decade_spacer(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let span = hi - lo;
    if !(span.is_finite()) || span <= 0.0 {
        return Vec::new();
    }
    if span < 2.0 {
        return (egui_plot::log_grid_spacer(10))(input);
    }
    let every = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0].into_iter().find(|e| span / e <= 8.0).unwrap_or(100.0);
    let mut marks = Vec::new();
    let mut k = (lo / every).floor() * every;
    while k <= hi {
        if k >= lo {
            marks.push(GridMark { value: k, step_size: every });
        }
        k += every;
    }
    marks
}

/// Step-axis grid: major marks at a 1-2-5 step giving about six labels, minor marks at a
/// fifth of it (the default base-10 spacer labels only 0 between 40 and 100 steps).
pub fn step_spacer(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let span = hi - lo;
    if !span.is_finite() || span <= 0.0 {
        return Vec::new();
    }
    // About six labels, but never closer than ~40 points (base_step_size is 8 points' worth).
    let raw = (span / 6.0).max(5.0 * input.base_step_size);
    let decade = 10f64.powf(raw.log10().floor());
    let major = [1.0, 2.0, 5.0, 10.0].into_iter().map(|f| f * decade).find(|s| *s >= raw).unwrap_or(10.0 * decade);
    let minor = major / 5.0;
    let mut marks = Vec::new();
    let mut i = (lo / minor).floor() as i64;
    loop {
        let value = i as f64 * minor;
        if value > hi {
            break;
        }
        if value >= lo {
            let is_major = (value / major - (value / major).round()).abs() < 1e-9;
            marks.push(GridMark { value, step_size: if is_major { major } else { minor } });
        }
        i += 1;
    }
    marks
}

/// Log step axis grid: marks at steps 0, 1, 10, 100, … (x = log10(step + 1)), minor marks at
/// 2…9 × each decade.
pub fn log_step_spacer(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    if !(hi - lo).is_finite() || hi <= lo {
        return Vec::new();
    }
    let mut marks = vec![GridMark { value: 0.0, step_size: 1.0 }];
    let top = StepAxis::Log.from_axis(hi).max(1.0).log10().ceil() as i32;
    for k in 0..=top.min(12) {
        let decade = 10f64.powi(k);
        marks.push(GridMark { value: StepAxis::Log.to_axis(decade), step_size: 1.0 });
        if hi - lo < 8.0 {
            for f in 2..10 {
                marks.push(GridMark { value: StepAxis::Log.to_axis(f as f64 * decade), step_size: 0.1 });
            }
        }
    }
    marks.retain(|m| m.value >= lo && m.value <= hi);
    marks
}

/// Tick label of a log step axis: the step (10^k beyond 1000).
pub fn log_step_label(x: f64) -> String {
    let step = StepAxis::Log.from_axis(x).round();
    if step >= 1e4 { pow10_label(step.log10()) } else { format!("{step:.0}") }
}
