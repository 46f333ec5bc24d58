//! The replay's timing, shared by the window's Play and the animation export: when, in seconds
//! from the start of a replay, each history row is shown. Half the time runs evenly along the
//! step axis the plots use (log or linear), the other half evenly over the run's interesting
//! start (up to twice the loss peak, at least 40 steps), so a catapult near the start of a long
//! run is never over in one frame; slow motion spends `SLOWMO_SECONDS` on the `SLOWMO_STEPS` steps around the loss peak. A
//! thinned stretch (one row per bucket) is one row: it is shown as its bucket, never
//! interpolated or re-simulated.

use super::decimate::StepAxis;

/// Steps slow motion spreads out: the ones around the loss peak.
pub const SLOWMO_STEPS: f64 = 30.0;
/// Seconds slow motion spends on those steps.
pub const SLOWMO_SECONDS: f64 = 5.0;
/// Seconds a replay of a whole run lasts at speed 1 (outside slow motion and unstable rows).
pub const BASE_SECONDS: f64 = 8.0;
/// Extra seconds per row with η·λ̂ above 2 (a catapult in progress, wherever it is in the run)…
pub const UNSTABLE_SECONDS_PER_ROW: f64 = 1.0 / 12.0;
/// …at most this many in all (a run that hovers above 2 for thousands of steps stays short).
pub const UNSTABLE_SECONDS_MAX: f64 = 8.0;

/// The steps `(lo, hi]` slow motion slows down: 30 steps holding the loss peak, 15 on each side
/// where the run allows, inside `[0, last_step]`.
pub fn slowmo_window(peak_step: u64, last_step: u64) -> (f64, f64) {
    let last = last_step as f64;
    let mut lo = (peak_step as f64 - SLOWMO_STEPS / 2.0).max(0.0);
    let hi = (lo + SLOWMO_STEPS).min(last);
    lo = (hi - SLOWMO_STEPS).max(0.0).min(lo);
    (lo, hi)
}

/// The end of a run's interesting start: twice the loss peak's step, at least 40 steps.
pub fn interesting_until(peak_step: u64) -> f64 {
    (2.0 * peak_step as f64).max(40.0)
}

/// Seconds from the start of the replay at which each row (of `steps`, increasing) is shown, at
/// speed 1: `BASE_SECONDS`, half spread evenly along `axis` and half evenly over the steps
/// `(0, start]`, plus, with `slowmo = Some((lo, hi))`, `SLOWMO_SECONDS / SLOWMO_STEPS` per step
/// of `(lo, hi]` instead of its base share, and `UNSTABLE_SECONDS_PER_ROW` more for each row
/// marked in `unstable` (η·λ̂ > 2; may be empty), so a catapult late in a run (after a raise of
/// η) spans several frames too.
pub fn replay_times(steps: &[f64], axis: StepAxis, start: f64, slowmo: Option<(f64, f64)>, unstable: &[bool]) -> Vec<f64> {
    let Some(&last) = steps.last() else { return Vec::new() };
    let first = steps[0];
    let span = (axis.to_axis(last) - axis.to_axis(first)).max(1e-12);
    let start = start.min(last - first).max(1e-12);
    let per_slow_step = SLOWMO_SECONDS / SLOWMO_STEPS;
    let unstable_rows = unstable.iter().filter(|&&u| u).count() as f64;
    let per_unstable_row = UNSTABLE_SECONDS_PER_ROW.min(UNSTABLE_SECONDS_MAX / unstable_rows.max(1.0));
    let mut times = Vec::with_capacity(steps.len());
    let mut t = 0.0;
    times.push(t);
    for (i, pair) in steps.windows(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        let early = (b.min(first + start) - a).max(0.0);
        let base = 0.5 * BASE_SECONDS * ((axis.to_axis(b) - axis.to_axis(a)) / span + early / start);
        let dt = match slowmo {
            Some((lo, hi)) if b > lo && a < hi && b > a => {
                let overlap = b.min(hi) - a.max(lo);
                base * (1.0 - overlap / (b - a)) + overlap * per_slow_step
            }
            _ => base,
        };
        let in_slowmo = slowmo.is_some_and(|(lo, hi)| b > lo && b <= hi);
        let extra = if unstable.get(i + 1).copied().unwrap_or(false) && !in_slowmo { per_unstable_row } else { 0.0 };
        t += dt + extra;
        times.push(t);
    }
    times
}

/// The row shown at `seconds` into a replay: the last one whose time has come.
pub fn row_at(times: &[f64], seconds: f64) -> usize {
    times.partition_point(|&t| t <= seconds).saturating_sub(1)
}

/// The rows of the frames of an animation at `fps` over `times` (at least `min_frames` frame
/// slots), with each frame's duration in seconds; consecutive slots on the same row merge into
/// one longer frame, so every frame shows a different row.
pub fn frame_rows(times: &[f64], fps: f64, min_frames: usize) -> Vec<(usize, f64)> {
    let Some(&total) = times.last() else { return Vec::new() };
    let slots = ((total * fps).ceil() as usize + 1).max(min_frames).max(2);
    let dt = total / (slots - 1) as f64;
    let mut out: Vec<(usize, f64)> = Vec::new();
    for k in 0..slots {
        let row = row_at(times, k as f64 * dt);
        match out.last_mut() {
            Some((r, d)) if *r == row => *d += dt,
            _ => out.push((row, dt)),
        }
    }
    // The last frame (the finished run) stays up a moment.
    if let Some(last) = out.last_mut() {
        last.1 = last.1.max(1.5);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_motion_spends_five_seconds_on_the_thirty_steps_around_the_peak() {
        let steps: Vec<f64> = (0..=1000).map(f64::from).collect();
        let (lo, hi) = slowmo_window(40, 1000);
        assert_eq!((lo, hi), (25.0, 55.0));
        let times = replay_times(&steps, StepAxis::Log, 80.0, Some((lo, hi)), &[]);
        let inside = times[55] - times[25];
        assert!(inside >= SLOWMO_SECONDS && inside < SLOWMO_SECONDS + 0.01, "{inside}");
        assert!(times[1000] > BASE_SECONDS && times[1000] <= BASE_SECONDS + SLOWMO_SECONDS, "{}", times[1000]);
        // Without slow motion the whole run takes BASE_SECONDS: half evenly in log(step + 1), half
        // evenly over the first 80 steps.
        let plain = replay_times(&steps, StepAxis::Log, 80.0, None, &[]);
        assert!((plain[1000] - BASE_SECONDS).abs() < 1e-9);
        assert!((plain[999] - plain[99] - 0.5 * BASE_SECONDS / 1001f64.log10()).abs() < 1e-9);
        assert!((plain[80] - 0.5 * BASE_SECONDS * (1.0 + 81f64.log10() / 1001f64.log10())).abs() < 1e-9);
        // A linear axis: the catapult at the start of a 1000-step run gets half the time, not 4 %.
        let linear = replay_times(&steps, StepAxis::Linear, 40.0, None, &[]);
        assert!(linear[40] > 0.5 * BASE_SECONDS && linear[40] < 0.55 * BASE_SECONDS, "{}", linear[40]);
        assert_eq!(slowmo_window(3, 1000), (0.0, 30.0));
        assert_eq!(slowmo_window(995, 1000), (970.0, 1000.0));
        assert_eq!(row_at(&plain, plain[500]), 500);
        assert_eq!(row_at(&plain, plain[500] - 1e-9), 499);
    }

    #[test]
    fn frames_each_show_another_row_and_cover_the_run() {
        let steps: Vec<f64> = (0..=300).map(f64::from).collect();
        let times = replay_times(&steps, StepAxis::Linear, 40.0, Some(slowmo_window(100, 300)), &[]);
        let frames = frame_rows(&times, 15.0, 30);
        assert!(frames.len() >= 30, "{}", frames.len());
        assert!(frames.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(frames[0].0, 0);
        assert_eq!(frames.last().unwrap().0, 300);
        let slow: Vec<_> = frames.iter().filter(|(r, _)| (86..=115).contains(r)).collect();
        assert!(slow.len() >= 25, "slow motion shows nearly every step of the window: {}", slow.len());
    }

    #[test]
    fn unstable_rows_late_in_a_run_get_frames_of_their_own() {
        let steps: Vec<f64> = (0..=400).map(f64::from).collect();
        let unstable: Vec<bool> = (0..=400).map(|s| (200..220).contains(&s)).collect();
        let plain = frame_rows(&replay_times(&steps, StepAxis::Linear, 40.0, None, &[]), 15.0, 30);
        let marked = frame_rows(&replay_times(&steps, StepAxis::Linear, 40.0, None, &unstable), 15.0, 30);
        let inside = |f: &[(usize, f64)]| f.iter().filter(|(r, _)| (200..220).contains(r)).count();
        assert!(inside(&plain) <= 6, "{}", inside(&plain));
        assert!(inside(&marked) >= 18, "a late catapult gets about a frame per step: {}", inside(&marked));
        // Thousands of unstable rows add at most UNSTABLE_SECONDS_MAX.
        let all = vec![true; 401];
        let t = replay_times(&steps, StepAxis::Linear, 40.0, None, &all);
        assert!(t[400] <= BASE_SECONDS + UNSTABLE_SECONDS_MAX + 1e-9 && t[400] > BASE_SECONDS + UNSTABLE_SECONDS_MAX - 0.1, "{}", t[400]);
    }
}
