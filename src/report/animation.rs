//! The live view as an animated GIF: frames of report::live_figure (the `figure` renderer) with
//! the history cut at row t, placed by the replay's timing (report::replay: evenly along the
//! step axis, optional slow motion around the loss peak), every frame on the whole run's step
//! axis. Frames are rendered and colour-quantized in parallel, a few at a time, and written in
//! order; a frame of a thinned stretch says which bucket it shows.

use super::decimate::default_step_axis;
use super::live_figure::{LiveFigure, render_live_rgb};
use super::live_view::{self, ViewOptions};
use super::replay::{frame_rows, interesting_until, replay_times, slowmo_window};
use super::series::History;
use crate::engine::config::Preset;
use rayon::prelude::*;
use std::io::Write;

/// The fewest frames an animation has (when the run has that many rows).
pub const MIN_FRAMES: usize = 30;

#[derive(Clone, Copy, Debug)]
pub struct AnimationOptions {
    pub size: (u32, u32),
    pub fps: f64,
    pub slowmo: bool,
}

impl Default for AnimationOptions {
    fn default() -> Self {
        AnimationOptions { size: (1280, 720), fps: 15.0, slowmo: false }
    }
}

/// What an animation holds: the history row and step of every frame, each frame's duration, and
/// the slow-motion window `(lo, hi]` in steps if there is one.
#[derive(Clone, Debug)]
pub struct AnimationPlan {
    pub rows: Vec<usize>,
    pub steps: Vec<u64>,
    pub seconds: Vec<f64>,
    pub slowmo: Option<(f64, f64)>,
}

/// The frames of an animation of `history` (rows, steps and durations by the replay's timing).
pub fn plan(history: &History, peak_step: u64, options: &AnimationOptions) -> AnimationPlan {
    let last = history.last_step().unwrap_or(0);
    let axis = default_step_axis(last, 2.0 * peak_step as f64);
    let slowmo = options.slowmo.then(|| slowmo_window(peak_step, last));
    let unstable: Vec<bool> = history.regime.iter().map(|r| *r != crate::engine::sim::Regime::Stable).collect();
    let times = replay_times(&history.step, axis, interesting_until(peak_step), slowmo, &unstable);
    let frames = frame_rows(&times, options.fps, MIN_FRAMES);
    AnimationPlan {
        steps: frames.iter().map(|(r, _)| history.step[*r] as u64).collect(),
        rows: frames.iter().map(|(r, _)| *r).collect(),
        seconds: frames.iter().map(|(_, s)| *s).collect(),
        slowmo,
    }
}

/// One frame: the live figure of the first `row + 1` rows on the whole run's step axis, RGB.
pub fn render_frame(history: &History, preset: &Preset, has_eta_max: bool, peak_step: u64, row: usize, slowmo: Option<(f64, f64)>, size: (u32, u32)) -> Result<Vec<u8>, String> {
    let last = history.last_step().unwrap_or(0);
    let axis = default_step_axis(last, 2.0 * peak_step as f64);
    let cut = history.prefix(row + 1);
    let uv_reason = live_view::uv_not_applicable(preset);
    let options = ViewOptions { axis, columns: ((size.0 as f64) * 0.5).max(100.0) as usize, has_eta_max, uv_applies: uv_reason.is_none() };
    let series = live_view::live_series(&cut, 0..cut.len(), &options);
    let step = history.step[row] as u64;
    let previous = if row > 0 { history.step[row - 1] as u64 } else { step };
    let bucket = if step > previous + 1 { format!(" (one row for steps {}–{step}: a thinned stretch)", previous + 1) } else { String::new() };
    let slow = match slowmo {
        Some((lo, hi)) if (step as f64) > lo && (step as f64) <= hi => " — slow motion",
        _ => "",
    };
    let title = format!("{}: step {step} of {last}{bucket}{slow}", preset.name);
    let figure = LiveFigure { history: &cut, series: &series, axis, loss0: history.loss.first().copied().unwrap_or(1.0), title, uv_reason, x_until: Some(last as f64), top_s: preset.measure.top_s };
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    render_live_rgb(&figure, &mut rgb, size)?;
    Ok(rgb)
}

/// RGBA of `rgb` with every pixel equal to `previous`'s (if any) transparent.
fn changed_pixels(previous: Option<&[u8]>, rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgb.len() / 3 * 4);
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        let same = previous.is_some_and(|p| &p[3 * i..3 * i + 3] == px);
        let pixel = if same { [0, 0, 0, 0] } else { [px[0], px[1], px[2], 255] };
        out.extend_from_slice(&pixel);
    }
    out
}

/// Renders the animation as a GIF (looping) to `out`; returns its plan.
pub fn write_gif(history: &History, preset: &Preset, has_eta_max: bool, peak_step: u64, options: &AnimationOptions, out: impl Write) -> Result<AnimationPlan, String> {
    if history.is_empty() {
        return Err("the run has no samples to animate".into());
    }
    let (w, h) = options.size;
    let (gw, gh) = (u16::try_from(w).map_err(|_| "GIF frames are at most 65535 pixels wide")?, u16::try_from(h).map_err(|_| "GIF frames are at most 65535 pixels high")?);
    let plan = plan(history, peak_step, options);
    let mut encoder = gif::Encoder::new(out, gw, gh, &[]).map_err(|e| e.to_string())?;
    encoder.set_repeat(gif::Repeat::Infinite).map_err(|e| e.to_string())?;
    let chunk = rayon::current_num_threads().max(1) * 2;
    let jobs: Vec<(usize, f64)> = plan.rows.iter().copied().zip(plan.seconds.iter().copied()).collect();
    let mut previous: Option<Vec<u8>> = None;
    for group in jobs.chunks(chunk) {
        let rendered: Vec<Vec<u8>> = group.par_iter().map(|&(row, _)| render_frame(history, preset, has_eta_max, peak_step, row, plan.slowmo, options.size)).collect::<Result<_, _>>()?;
        // Each frame keeps the one before and sends only the pixels that changed (the rest
        // transparent): far fewer bytes for the same picture.
        let mut rgba: Vec<Vec<u8>> = Vec::with_capacity(rendered.len());
        for rgb in &rendered {
            rgba.push(changed_pixels(previous.as_deref(), rgb));
            previous = Some(rgb.clone());
        }
        let frames: Vec<gif::Frame<'static>> = rgba
            .into_par_iter()
            .zip(group.par_iter())
            .map(|(mut pixels, &(_, seconds))| {
                let mut frame = gif::Frame::from_rgba_speed(gw, gh, &mut pixels, 20);
                frame.delay = ((seconds * 100.0).round() as u16).max(2);
                frame.dispose = gif::DisposalMethod::Keep;
                frame
            })
            .collect();
        for frame in frames {
            encoder.write_frame(&frame).map_err(|e| e.to_string())?;
        }
    }
    Ok(plan)
}
