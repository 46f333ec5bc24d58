//! Helpers shared by the window tests (tests/app_*.rs: egui_kittest on the real `App` and its
//! runner thread): shipped presets, harnesses on a running app or on one paused at step 0, and
//! frame loops that wait for the runner with a timeout — never `Harness::run`, the app keeps
//! requesting repaints. Each test file uses some of them.
#![allow(dead_code)]

use catapult_lab::app::App;
use catapult_lab::app::runner::Command;
use catapult_lab::engine::config::Preset;
use catapult_lab::engine::library;
use egui_kittest::Harness;
use std::time::{Duration, Instant};

/// How long a wait for the runner may take before the test fails (a loaded CI machine).
pub const TIMEOUT: Duration = Duration::from_secs(120);
/// The window size most tests use.
pub const SIZE: [f32; 2] = [1400.0, 900.0];

/// A shipped preset by name.
pub fn shipped(name: &str) -> Preset {
    library::shipped(name, &[]).expect("shipped").expect("valid")
}

/// The app running `preset` in a window of `size`.
pub fn running_harness(preset: Preset, size: [f32; 2]) -> Harness<'static, App> {
    Harness::builder().with_size(size).build_eframe(move |cc| App::from_creation_context(cc, preset))
}

/// The app running the shipped preset `name` at `SIZE`.
pub fn harness_on(name: &str) -> Harness<'static, App> {
    running_harness(shipped(name), SIZE)
}

/// The app on `preset`, paused at step 0, in a window of `size`.
pub fn paused_harness_of(preset: Preset, size: [f32; 2]) -> Harness<'static, App> {
    Harness::builder().with_size(size).build_eframe(move |cc| {
        let mut app = App::new_paused(preset, Box::new(|| {}));
        app.setup_context(&cc.egui_ctx);
        app
    })
}

/// The app on the shipped preset `name`, paused at step 0, in a window of `size`.
pub fn paused_harness(name: &str, size: [f32; 2]) -> Harness<'static, App> {
    paused_harness_of(shipped(name), size)
}

/// Steps frames until `done` holds (panics after `TIMEOUT` with `what`).
pub fn step_until(harness: &mut Harness<'static, App>, what: &str, done: impl FnMut(&App) -> bool) {
    step_until_within(harness, TIMEOUT, what, done);
}

/// `step_until` with its own timeout.
pub fn step_until_within(harness: &mut Harness<'static, App>, timeout: Duration, what: &str, mut done: impl FnMut(&App) -> bool) {
    let start = Instant::now();
    loop {
        harness.step();
        if done(harness.state()) {
            return;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// Makes `k` steps of a paused app and waits until they are drawn.
pub fn steps(harness: &mut Harness<'static, App>, k: u64) {
    let target = harness.state().step_count() + k;
    harness.state_mut().command(Command::Step(k));
    step_until(harness, "the steps", |app| app.step_count() >= target);
    harness.run_steps(2);
}

/// Fills the Sweep view's form: η·λ̂0 from `from` to `to` in `count` points, `widths`, one
/// seed, `steps` per run.
pub fn fill_sweep_form(harness: &mut Harness<'static, App>, (from, to): (f64, f64), count: usize, widths: &str, steps: usize) {
    let form = harness.state_mut().sweep_form_mut();
    form.scaled = true;
    form.from = from;
    form.to = to;
    form.count = count;
    form.widths_text = widths.into();
    form.seeds = 1;
    form.steps = steps;
}
