//! UI tests of the desktop app with egui_kittest: the real `App` with its real runner thread,
//! driven through its widgets (found by label) and keys. Streaming is awaited with step-until
//! loops with a timeout, never `Harness::run` (the app keeps requesting repaints).

use catapult_lab::app::{self, App};
use catapult_lab::library;
use catapult_lab::runner::{Command, RunStatus};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);

fn shipped(name: &str) -> catapult_lab::config::Preset {
    library::shipped(name, &[]).expect("shipped").expect("valid")
}

fn harness_on(preset: &str) -> Harness<'static, App> {
    let preset = shipped(preset);
    Harness::builder()
        .with_size([1400.0, 900.0])
        .build_eframe(move |cc| App::from_creation_context(cc, preset))
}

/// Steps frames until `done` holds (panics after the timeout with `what`).
fn step_until(harness: &mut Harness<'static, App>, what: &str, mut done: impl FnMut(&App) -> bool) {
    let start = Instant::now();
    loop {
        harness.step();
        if done(harness.state()) {
            return;
        }
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// Steps frames for about `duration` of wall time.
fn step_for(harness: &mut Harness<'static, App>, duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        harness.step();
        std::thread::sleep(Duration::from_millis(3));
    }
}

#[test]
fn plots_and_controls_are_found_by_label() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    for title in [app::LOSS_TITLE, app::LAMBDA_TITLE, app::WEIGHTS_TITLE, app::PHASE_PLANE_TITLE] {
        harness.get_by_label(title);
    }
    harness.get_by_role_and_label(Role::Slider, app::ETA_SCALED_LABEL);
    harness.get_by_role_and_label(Role::SpinButton, app::ETA_LABEL);
    harness.get_by_role_and_label(Role::Slider, app::WIDTH_LABEL);
    harness.get_by_role_and_label(Role::Slider, app::SPEED_LABEL);
    harness.get_by_label(app::PAUSE_LABEL);
    harness.get_by_label(app::STEP_LABEL);
    harness.get_by_label(app::RESET_LABEL);
    harness.get_by_label("Presets");
    harness.get_by_label_contains("λ₀ = 1.96");
    assert_eq!(harness.state().preset_name(), "catapult-uv");
    // The default preset starts running at once, at a watchable speed.
    assert_eq!(harness.state().status(), Some(RunStatus::Running));
    let speed = harness.state().prefs().steps_per_second;
    assert!(speed <= 60.0, "default speed {speed} steps/s is too fast to watch");
}

#[test]
fn moving_the_eta_slider_changes_the_running_eta() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    let eta_before = harness.state().eta().unwrap();
    let lambda0 = harness.state().snapshot().unwrap().lambda0;
    harness.get_by_role_and_label(Role::Slider, app::ETA_SCALED_LABEL).set_value_accesskit(3.5);
    step_until(&mut harness, "the runner to report η·λ₀ = 3.5", |app| {
        app.eta_scaled().is_some_and(|x| (x - 3.5).abs() < 1e-9)
    });
    let eta_after = harness.state().eta().unwrap();
    assert!((eta_after - 3.5 / lambda0).abs() < 1e-12 * eta_after.abs().max(1.0));
    assert!(eta_after > eta_before);
    // The new η shows up in the streamed samples too.
    step_until(&mut harness, "samples with the new η", |app| {
        app.history().eta.last().is_some_and(|e| (e - eta_after).abs() < 1e-12)
    });
    // The raw η control applies as well.
    harness.get_by_role_and_label(Role::SpinButton, app::ETA_LABEL).set_value_accesskit(0.5);
    step_until(&mut harness, "the runner to report η = 0.5", |app| app.eta().is_some_and(|e| (e - 0.5).abs() < 1e-12));
}

#[test]
fn pause_step_and_reset_work() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "a few steps", |app| app.step_count() >= 3);
    harness.key_press(egui::Key::Space);
    step_until(&mut harness, "pause", |app| app.status() == Some(RunStatus::Paused));
    let paused_at = harness.state().step_count();
    step_for(&mut harness, Duration::from_millis(400));
    assert_eq!(harness.state().step_count(), paused_at, "the step counter moved while paused");

    harness.get_by_label(app::STEP_LABEL).click();
    step_until(&mut harness, "one step", |app| app.step_count() == paused_at + 1);
    step_for(&mut harness, Duration::from_millis(300));
    assert_eq!(harness.state().step_count(), paused_at + 1, "Step must advance by exactly one");

    harness.key_press(egui::Key::ArrowRight);
    step_until(&mut harness, "one step by key", |app| app.step_count() == paused_at + 2);

    harness.get_by_label(app::RESET_LABEL).click();
    step_until(&mut harness, "reset to step 0", |app| app.step_count() == 0 && app.history().len() == 1);

    harness.get_by_label(app::PLAY_LABEL).click();
    step_until(&mut harness, "running again", |app| app.step_count() > 0);
}

#[test]
fn loading_a_shipped_preset_changes_the_model() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    assert_eq!(harness.state().model_description(), "two_layer linear m=1000 network");
    harness.get_by_label("Presets").click();
    harness.run_steps(3);
    harness.get_by_label("zhu-multi-example").click();
    step_until(&mut harness, "the new preset", |app| app.preset_name() == "zhu-multi-example");
    assert_eq!(harness.state().model_description(), "two_layer relu m=5000 network");
    assert_eq!(harness.state().preset().data.n, 128);
    step_until(&mut harness, "samples of the new run", |app| app.step_count() > 0);
    harness.get_by_label_contains("data: non-separable");
}

#[test]
fn a_malformed_preset_shows_an_error_and_keeps_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, r#"{"version": 1, "name": "broken", "model": {"width": 10, "bogus_key": 3}}"#).unwrap();
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);

    let field = harness.get_by_role_and_label(Role::TextInput, app::LOAD_PATH_LABEL);
    field.focus();
    harness.step();
    harness.get_by_role_and_label(Role::TextInput, app::LOAD_PATH_LABEL).type_text(&path.display().to_string());
    harness.step();
    harness.get_by_label(app::LOAD_PATH_BUTTON).click();
    step_until(&mut harness, "the error", |app| app.last_error().is_some());

    let error = harness.state().last_error().unwrap().to_string();
    assert!(error.contains("bogus_key"), "error does not name the key: {error}");
    assert!(error.contains("broken.json"), "error does not name the file: {error}");
    harness.step();
    harness.get_by_label_contains("bogus_key");
    assert_eq!(harness.state().preset_name(), "catapult-uv");
    let before = harness.state().step_count();
    step_until(&mut harness, "the old run to keep going", |app| app.step_count() > before);
}

#[test]
fn typing_in_the_path_field_does_not_trigger_shortcuts() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 2);
    harness.get_by_role_and_label(Role::TextInput, app::LOAD_PATH_LABEL).focus();
    harness.step();
    harness.key_press(egui::Key::Space);
    harness.key_press(egui::Key::R);
    step_for(&mut harness, Duration::from_millis(200));
    assert_eq!(harness.state().status(), Some(RunStatus::Running));
    assert!(harness.state().step_count() > 2, "R reset the run while typing");
}

#[test]
fn keyboard_zoom_help_and_large_text() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    harness.step();
    let zoom_before = harness.ctx.zoom_factor();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Plus);
    harness.step();
    harness.step();
    assert!(harness.ctx.zoom_factor() > zoom_before, "Ctrl + did not zoom in");
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Minus);
    harness.step();
    harness.step();
    assert!((harness.ctx.zoom_factor() - zoom_before).abs() < 1e-6);

    harness.key_press(egui::Key::F1);
    harness.step();
    harness.step();
    harness.get_by_label(app::HELP_TITLE);

    let body_before = harness.ctx.global_style().text_styles[&egui::TextStyle::Body].size;
    harness.get_by_label("Large text").click();
    harness.step();
    let body_after = harness.ctx.global_style().text_styles[&egui::TextStyle::Body].size;
    assert!(body_after > body_before * 1.2);
    assert!(harness.state().prefs().large_text);
}

#[test]
fn a_burst_of_random_input_leaves_no_panic_and_samples_keep_arriving() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    let mut rng = StdRng::seed_from_u64(7);
    let keys = [egui::Key::Space, egui::Key::ArrowRight, egui::Key::R, egui::Key::F1];
    for _ in 0..200 {
        match rng.random_range(0..9) {
            0 => harness.key_press(keys[rng.random_range(0..keys.len())]),
            1 => {
                let value = rng.random_range(0.0..6.0);
                harness.get_by_role_and_label(Role::Slider, app::ETA_SCALED_LABEL).set_value_accesskit(value);
            }
            2 => {
                let value = 10f64.powf(rng.random_range(1.0..4.0)).round();
                harness.get_by_role_and_label(Role::Slider, app::WIDTH_LABEL).set_value_accesskit(value);
            }
            3 => {
                let value = rng.random_range(1.0..2000.0);
                harness.get_by_role_and_label(Role::Slider, app::SPEED_LABEL).set_value_accesskit(value);
            }
            4 => {
                if let Some(button) = harness.query_by_label(app::STEP_LABEL) {
                    button.click();
                }
            }
            5 => {
                if let Some(button) = harness.query_by_label(app::PAUSE_LABEL).or_else(|| harness.query_by_label(app::PLAY_LABEL)) {
                    button.click();
                }
            }
            6 => {
                if let Some(button) = harness.query_by_label(app::RESET_LABEL) {
                    button.click();
                }
            }
            7 => {
                let value = rng.random_range(0.0..1.0);
                if let Some(slider) = harness.query_by_role_and_label(Role::Slider, "a_neg") {
                    slider.set_value_accesskit(value);
                }
            }
            _ => {
                let name = library::SHIPPED[rng.random_range(0..3)].0;
                harness.get_by_label("Presets").click();
                harness.step();
                if let Some(item) = harness.query_by_label(name) {
                    item.click();
                }
            }
        }
        harness.step();
        if rng.random_range(0..4) == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // Back to a known run; samples must still stream.
    harness.key_press(egui::Key::Escape);
    harness.step();
    harness.state_mut().command(Command::SetPreset(Box::new(shipped("lazy-uv"))));
    harness.state_mut().command(Command::Resume);
    step_until(&mut harness, "the lazy preset", |app| app.preset_name() == "lazy-uv");
    let received = harness.state().samples_received();
    step_until(&mut harness, "new samples after the burst", |app| app.samples_received() > received + 5);
    assert!(harness.state().history().loss.iter().all(|x| x.is_finite()));
}

#[test]
fn a_divergent_run_says_where_it_diverged() {
    let mut harness = harness_on("divergent-uv");
    harness.get_by_label("unlimited speed").click();
    step_until(&mut harness, "divergence", |app| matches!(app.status(), Some(RunStatus::DivergedAt(_))));
    harness.step();
    let Some(RunStatus::DivergedAt(step)) = harness.state().status() else { unreachable!() };
    harness.get_by_label(&format!("DIVERGED at step {step}"));
    let history = harness.state().history();
    assert!(history.loss.iter().chain(&history.lambda_hat).chain(&history.u).all(|x| x.is_finite()));
}

#[test]
fn snapshot_of_the_default_view() {
    let preset = shipped(library::DEFAULT_PRESET);
    let mut harness = Harness::builder()
        .with_size([1400.0, 900.0])
        .wgpu()
        .build_eframe(move |cc| {
            let mut app = App::new_paused(preset, Box::new(|| {}));
            app.setup_context(&cc.egui_ctx);
            app
        });
    harness.step();
    harness.state_mut().command(Command::Step(40));
    step_until(&mut harness, "40 steps", |app| app.step_count() == 40 && app.status() == Some(RunStatus::Paused));
    harness.run_steps(4);
    let options = egui_kittest::SnapshotOptions::new().threshold(2.0).max_failed_pixels(2000);
    harness.snapshot_options("default_view", &options);
}
