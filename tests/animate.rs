//! `catapult-lab animate`: a GIF of at least 30 frames at the requested size, every frame different
//! from the one before, frames placed by the replay's timing; with --slowmo the loss peak lies in
//! the slow-motion window, which shows (nearly) every one of its 30 steps over about 5 s.

use catapult_lab::cli::teach::run_history;
use catapult_lab::engine::library;
use catapult_lab::report::animation::{AnimationOptions, plan};
use catapult_lab::report::replay::SLOWMO_SECONDS;
use image::AnimationDecoder;
use image::codecs::gif::GifDecoder;
use std::process::Command;

#[test]
fn animate_writes_at_least_30_distinct_frames_at_the_requested_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.gif");
    let status = Command::new(env!("CARGO_BIN_EXE_catapult-lab"))
        .args(["animate", "--preset", "catapult-uv", "--steps", "300", "--size", "480x270", "--slowmo", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let said = String::from_utf8_lossy(&status.stdout);
    assert!(said.contains("frames, 480x270") && said.contains("slow motion"), "{said}");
    let decoder = GifDecoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap())).unwrap();
    let frames = decoder.into_frames().collect_frames().unwrap();
    assert!(frames.len() >= 30, "{} frames", frames.len());
    for (k, pair) in frames.windows(2).enumerate() {
        assert_eq!(pair[0].buffer().dimensions(), (480, 270));
        assert!(pair[0].buffer() != pair[1].buffer(), "frames {k} and {} are the same picture", k + 1);
    }
    // The last frame is the finished run: it differs from the first in every plot's data.
    let (first, last) = (frames[0].buffer(), frames.last().unwrap().buffer());
    let changed = first.pixels().zip(last.pixels()).filter(|(a, b)| a != b).count();
    assert!(changed > 2000, "only {changed} pixels changed over the run");
}

#[test]
fn the_loss_peak_is_inside_the_slow_motion_window_and_gets_about_five_seconds() {
    for name in ["catapult-uv", "zhu-multi-example"] {
        let preset = library::resolve(name, &[("train.steps".into(), 400.into())]).unwrap();
        let (history, _, peak) = run_history(&preset).unwrap();
        let slow = plan(&history, peak, &AnimationOptions { slowmo: true, ..Default::default() });
        let (lo, hi) = slow.slowmo.expect("a window");
        assert!((peak as f64) > lo - 1.0 && (peak as f64) <= hi, "{name}: peak {peak} outside ({lo}, {hi}]");
        assert_eq!(hi - lo, 30.0);
        let inside: Vec<usize> = (0..slow.steps.len()).filter(|&k| (slow.steps[k] as f64) > lo && (slow.steps[k] as f64) <= hi).collect();
        assert!(inside.len() >= 25, "{name}: {} frames in the window", inside.len());
        let seconds: f64 = inside.iter().map(|&k| slow.seconds[k]).sum();
        assert!((seconds - SLOWMO_SECONDS).abs() < 0.5, "{name}: {seconds} s on the window");
        // Without slow motion the catapult (the steps up to the peak) still spans several frames.
        let plain = plan(&history, peak, &AnimationOptions::default());
        assert!(plain.rows.len() >= 30);
        let before_peak = plain.steps.iter().filter(|&&s| s <= peak).count();
        assert!(before_peak >= 4, "{name}: the rise to the peak is {before_peak} frames");
    }
}
