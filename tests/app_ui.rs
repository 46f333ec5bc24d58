//! UI tests of the desktop app with egui_kittest: the real `App` with its real runner thread,
//! driven through its widgets (found by label) and keys. Streaming is awaited with step-until
//! loops with a timeout, never `Harness::run` (the app keeps requesting repaints).

use catapult_lab::app::{self, App};
use catapult_lab::engine::library;
use catapult_lab::app::runner::{Command, RunStatus, Speed};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

mod common;
use common::*;

/// The default preset, paused at step 0, rendered with wgpu (for snapshots and PNG export).
fn paused_wgpu_harness() -> Harness<'static, App> {
    let preset = shipped(library::DEFAULT_PRESET);
    Harness::builder().with_size([1400.0, 900.0]).wgpu().build_eframe(move |cc| {
        let mut app = App::new_paused(preset, Box::new(|| {}));
        app.setup_context(&cc.egui_ctx);
        app
    })
}

/// Fills the Sweep view's grid (η·λ̂0 from 1 to 4.5 in `count` points, `widths`, one seed,
/// `steps` per run) and presses Run sweep.
fn start_ui_sweep(harness: &mut Harness<'static, App>, count: usize, widths: &str, steps: usize) {
    fill_sweep_form(harness, (1.0, 4.5), count, widths, steps);
    harness.step();
    harness.get_by_label(app::labels::SWEEP_START_LABEL).click();
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
    for title in [app::labels::LOSS_TITLE, app::labels::LAMBDA_TITLE, app::labels::WEIGHTS_TITLE, app::labels::PHASE_PLANE_TITLE] {
        harness.get_by_label(title);
    }
    harness.get_by_role_and_label(Role::Slider, app::labels::ETA_SCALED_LABEL);
    harness.get_by_role_and_label(Role::SpinButton, app::labels::ETA_LABEL);
    harness.get_by_role_and_label(Role::Slider, app::labels::WIDTH_LABEL);
    harness.get_by_role_and_label(Role::Slider, app::labels::SPEED_LABEL);
    harness.get_by_label(app::labels::PAUSE_LABEL);
    harness.get_by_label(app::labels::STEP_LABEL);
    harness.get_by_label(app::labels::RESET_LABEL);
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
    harness.get_by_role_and_label(Role::Slider, app::labels::ETA_SCALED_LABEL).set_value_accesskit(3.5);
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
    harness.get_by_role_and_label(Role::SpinButton, app::labels::ETA_LABEL).set_value_accesskit(0.5);
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

    harness.get_by_label(app::labels::STEP_LABEL).click();
    step_until(&mut harness, "one step", |app| app.step_count() == paused_at + 1);
    step_for(&mut harness, Duration::from_millis(300));
    assert_eq!(harness.state().step_count(), paused_at + 1, "Step must advance by exactly one");

    harness.key_press(egui::Key::ArrowRight);
    step_until(&mut harness, "one step by key", |app| app.step_count() == paused_at + 2);

    harness.get_by_label(app::labels::RESET_LABEL).click();
    step_until(&mut harness, "reset to step 0", |app| app.step_count() == 0 && app.history().len() == 1);

    harness.get_by_label(app::labels::PLAY_LABEL).click();
    step_until(&mut harness, "running again", |app| app.step_count() > 0);
}

#[test]
fn loading_a_shipped_preset_changes_the_model() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    assert_eq!(harness.state().model_description(), "two_layer linear m=1000 network");
    harness.get_by_label("Presets").click();
    harness.run_steps(3);
    harness.get_by_label("Zhu et al.").click();
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

    let field = harness.get_by_role_and_label(Role::TextInput, app::labels::LOAD_PATH_LABEL);
    field.focus();
    harness.step();
    harness.get_by_role_and_label(Role::TextInput, app::labels::LOAD_PATH_LABEL).type_text(&path.display().to_string());
    harness.step();
    harness.get_by_label(app::labels::LOAD_PATH_BUTTON).click();
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
    harness.get_by_role_and_label(Role::TextInput, app::labels::LOAD_PATH_LABEL).focus();
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
    harness.get_by_label(app::labels::HELP_TITLE);

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
                harness.get_by_role_and_label(Role::Slider, app::labels::ETA_SCALED_LABEL).set_value_accesskit(value);
            }
            2 => {
                let value = 10f64.powf(rng.random_range(1.0..4.0)).round();
                harness.get_by_role_and_label(Role::Slider, app::labels::WIDTH_LABEL).set_value_accesskit(value);
            }
            3 => {
                let value = rng.random_range(1.0..2000.0);
                harness.get_by_role_and_label(Role::Slider, app::labels::SPEED_LABEL).set_value_accesskit(value);
            }
            4 => {
                if let Some(button) = harness.query_by_label(app::labels::STEP_LABEL) {
                    button.click();
                }
            }
            5 => {
                if let Some(button) = harness.query_by_label(app::labels::PAUSE_LABEL).or_else(|| harness.query_by_label(app::labels::PLAY_LABEL)) {
                    button.click();
                }
            }
            6 => {
                if let Some(button) = harness.query_by_label(app::labels::RESET_LABEL) {
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
                if let Some(group) = harness.query_by_label_contains("Basics") {
                    group.click();
                    harness.step();
                }
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
    // Paced, so the run lasts several frames (see the monkey test).
    harness.state_mut().command(Command::SetSpeed(Speed::StepsPerSecond(200.0)));
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
    let mut harness = paused_wgpu_harness();
    harness.step();
    harness.state_mut().command(Command::Step(40));
    step_until(&mut harness, "40 steps", |app| app.step_count() == 40 && app.status() == Some(RunStatus::Paused));
    harness.run_steps(4);
    let options = egui_kittest::SnapshotOptions::new().threshold(2.0).max_failed_pixels(2000);
    harness.snapshot_options("default_view", &options);
}

/// Types `text` into the text field labelled `label`.
fn type_into(harness: &mut Harness<'static, App>, label: &str, text: &str) {
    harness.get_by_role_and_label(Role::TextInput, label).focus();
    harness.step();
    harness.get_by_role_and_label(Role::TextInput, label).type_text(text);
    harness.step();
}

fn csv_rows(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("readable CSV");
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

#[test]
fn a_sweep_from_the_ui_streams_rows_draws_a_phase_strip_and_exports_its_csv() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    harness.get_by_label(app::labels::SWEEP_TAB_LABEL).click();
    harness.step();
    assert_eq!(harness.state().view(), app::View::Sweep);
    start_ui_sweep(&mut harness, 8, "100, 1000", 300);
    step_until(&mut harness, "the sweep to start", |app| app.sweep_total() == 16);
    step_until(&mut harness, "all 16 rows", |app| !app.sweep_running() && app.sweep_rows().len() == 16);
    harness.run_steps(3);
    for title in [app::labels::SWEEP_FINAL_TITLE, app::labels::SWEEP_PEAK_TITLE, app::labels::SWEEP_NORM_TITLE, app::labels::SWEEP_PHASE_TITLE] {
        harness.get_by_label(title);
    }
    harness.get_by_label_contains("done: 16 runs");
    let rows = harness.state().sweep_rows();
    let phases: Vec<&str> = rows.iter().map(|r| r.phase.label()).collect();
    assert!(phases.contains(&"lazy") && phases.contains(&"catapult"), "phases {phases:?}");
    // The phase strip's colour key names the phases present.
    harness.get_by_label(&app::labels::phase_key_label(catapult_lab::engine::sim::Phase::Lazy));
    harness.get_by_label(&app::labels::phase_key_label(catapult_lab::engine::sim::Phase::Catapult));
    // The catapult's peak loss grows with the width.
    let peak = |m: usize, x: f64| rows.iter().find(|r| r.width == m && (r.eta_scaled - x).abs() < 1e-9).unwrap().peak_loss;
    assert!(peak(1000, 3.0) > 3.0 * peak(100, 3.0), "peak loss does not grow with m");

    // Export the sweep CSV through the path field; it equals the CLI's writer on the rows shown.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sweep.csv");
    harness.get_by_label(app::labels::EXPORT_SECTION_LABEL).click();
    harness.run_steps(2);
    harness.get_by_role_and_label(Role::ComboBox, app::labels::EXPORT_WHAT_LABEL).click();
    harness.run_steps(2);
    harness.get_by_label(&app::export::ExportTarget::SweepCsv.label()).click();
    harness.run_steps(2);
    type_into(&mut harness, app::labels::EXPORT_PATH_LABEL, &path.display().to_string());
    harness.get_by_label(app::labels::EXPORT_WRITE_LABEL).click();
    step_until(&mut harness, "the sweep CSV", |app| app.export_message().is_some());
    assert!(matches!(harness.state().export_message(), Some(Ok(_))), "{:?}", harness.state().export_message());
    let mut expected = Vec::new();
    catapult_lab::report::output::write_summary_csv(&mut expected, &harness.state().sweep_rows()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), expected);
}

#[test]
fn a_bad_sweep_grid_shows_an_error() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    harness.key_press(egui::Key::F2);
    harness.run_steps(2);
    assert_eq!(harness.state().view(), app::View::Sweep);
    harness.state_mut().sweep_form_mut().widths_text = "100, 1000000000000".into();
    harness.step();
    harness.get_by_label(app::labels::SWEEP_START_LABEL).click();
    harness.run_steps(2);
    let error = harness.state().sweep_error().expect("an error").to_string();
    assert!(error.contains("width"), "{error}");
    harness.get_by_label_contains(&error);
    assert!(!harness.state().sweep_running());
}

#[test]
fn cancelling_a_sweep_stops_it() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    harness.get_by_label(app::labels::SWEEP_TAB_LABEL).click();
    harness.step();
    start_ui_sweep(&mut harness, 60, "1000, 10000, 20000", 50_000);
    step_until(&mut harness, "the sweep to run", |app| app.sweep_running());
    step_for(&mut harness, Duration::from_millis(300));
    harness.get_by_label(app::labels::SWEEP_CANCEL_LABEL).click();
    step_until(&mut harness, "the sweep to stop", |app| !app.sweep_running());
    let done = harness.state().sweep_rows().len();
    assert!(done < harness.state().sweep_total(), "cancel came too late to observe ({done} rows)");
    harness.step();
    harness.get_by_label_contains("cancelled");
    harness.get_by_label(app::labels::SWEEP_START_LABEL);
}

#[test]
fn pinning_a_run_overlays_it_and_unpinning_removes_it() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    harness.get_by_label("unlimited speed").click();
    step_until(&mut harness, "30 steps", |app| app.step_count() >= 30);
    harness.get_by_label(app::labels::PIN_LABEL).click();
    harness.run_steps(2);
    assert_eq!(harness.state().pinned_count(), 1);
    let label = harness.state().pins()[0].label.clone();
    assert!(label.contains("η·λ₀ = 2.60") && label.contains("m = 1000"), "{label}");
    // One legend entry per live plot (loss, λ, weights, phase plane).
    let legend = harness.query_all_by_label_contains(&format!("pinned: {label}")).count();
    assert!(legend >= 4, "the pinned run is in {legend} legends");
    // More pins, each its own colour, up to MAX_PINS.
    for _ in 1..app::pins::MAX_PINS + 2 {
        harness.state_mut().pin_current_run();
    }
    harness.step();
    assert_eq!(harness.state().pinned_count(), app::pins::MAX_PINS);
    let mut colors: Vec<_> = harness.state().pins().iter().map(|p| p.color).collect();
    colors.dedup();
    assert_eq!(colors.len(), app::pins::MAX_PINS);
    harness.get_by_label(app::labels::UNPIN_ALL_LABEL).click();
    harness.run_steps(2);
    assert_eq!(harness.state().pinned_count(), 0);
    assert!(harness.query_all_by_label_contains("pinned: η·λ₀").next().is_none());
}

#[test]
fn exporting_the_run_as_csv_round_trips_the_shown_history() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "a few steps", |app| app.step_count() >= 5);
    harness.key_press(egui::Key::Space);
    step_until(&mut harness, "pause", |app| app.status() == Some(RunStatus::Paused));
    harness.run_steps(2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.csv");
    // The export section sits low in the side panel: scroll it into view before clicking.
    harness.get_by_label(app::labels::EXPORT_SECTION_LABEL).scroll_to_me();
    harness.run_steps(2);
    harness.get_by_label(app::labels::EXPORT_SECTION_LABEL).click();
    harness.run_steps(2);
    type_into(&mut harness, app::labels::EXPORT_PATH_LABEL, &path.display().to_string());
    harness.get_by_label(app::labels::EXPORT_WRITE_LABEL).scroll_to_me();
    harness.run_steps(2);
    harness.get_by_label(app::labels::EXPORT_WRITE_LABEL).click_accesskit();
    step_until(&mut harness, "the run CSV", |app| app.export_message().is_some());
    assert!(matches!(harness.state().export_message(), Some(Ok(_))), "{:?}", harness.state().export_message());

    let (header, rows) = csv_rows(&path);
    assert_eq!(&header[..12], &catapult_lab::report::output::SAMPLE_COLUMNS[..]);
    let history = harness.state().history();
    assert_eq!(rows.len(), history.len());
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let number = |text: &str| text.parse::<f64>().unwrap();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(number(&row[column("step")]), history.step[i]);
        assert_eq!(number(&row[column("eta")]), history.eta[i]);
        assert_eq!(number(&row[column("loss")]), history.loss[i]);
        assert_eq!(number(&row[column("lambda_hat")]), history.lambda_hat[i]);
        assert_eq!(number(&row[column("lambda_hat_2")]), history.lambda_hat_2[i]);
        assert_eq!(number(&row[column("weight_norm_sq")]), history.weight_norm_sq[i]);
        assert_eq!(number(&row[column("dist_from_init")]), history.dist_from_init[i]);
        assert_eq!(number(&row[column("u")]), history.u[i]);
        assert_eq!(number(&row[column("v")]), history.v[i]);
    }
    // A pinned run exports the same way.
    harness.get_by_label(app::labels::PIN_LABEL).click();
    harness.run_steps(2);
    let pin_path = dir.path().join("pin.csv");
    let ctx = harness.ctx.clone();
    harness.state_mut().export_to_path(&ctx, app::export::ExportTarget::PinCsv(0), pin_path.clone());
    step_until(&mut harness, "the pinned CSV", |app| app.export_message().is_some());
    assert_eq!(std::fs::read(&pin_path).unwrap(), std::fs::read(&path).unwrap());
}

#[test]
fn exporting_the_window_and_a_plot_as_png() {
    let mut harness = paused_wgpu_harness();
    harness.step();
    harness.state_mut().command(Command::Step(20));
    step_until(&mut harness, "20 steps", |app| app.step_count() == 20);
    harness.run_steps(2);
    let dir = tempfile::tempdir().unwrap();
    for (target, name) in [(app::export::ExportTarget::WindowPng, "window.png"), (app::export::ExportTarget::PlotPng(app::export::PlotId::Loss), "loss.png")] {
        let path = dir.path().join(name);
        let ctx = harness.ctx.clone();
        harness.state_mut().export_to_path(&ctx, target, path.clone());
        step_until(&mut harness, "the PNG", |app| app.export_message().is_some());
        assert!(matches!(harness.state().export_message(), Some(Ok(_))), "{:?}", harness.state().export_message());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
}

#[test]
fn clicking_a_phase_cell_opens_that_run_in_the_live_view() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    harness.key_press(egui::Key::F2);
    harness.run_steps(2);
    start_ui_sweep(&mut harness, 3, "500", 200);
    step_until(&mut harness, "the sweep to start", |app| app.sweep_total() == 3);
    step_until(&mut harness, "all 3 rows", |app| !app.sweep_running() && app.sweep_rows().len() == 3);
    harness.run_steps(3);
    // One row of three cells (η·λ₀ = 1, 2.75, 4.5): the strip's centre is the middle cell.
    let center = harness.state().plot_rect(app::export::PlotId::SweepPhase).expect("the phase strip is drawn").center();
    harness.hover_at(center);
    harness.step();
    harness.drag_at(center);
    harness.step();
    harness.drop_at(center);
    harness.step();
    step_until(&mut harness, "the clicked run", |app| {
        app.view() == app::View::Live && app.preset().model.width == 500 && app.eta_scaled().is_some_and(|x| (x - 2.75).abs() < 1e-9)
    });
    assert_eq!(harness.state().preset().train.steps, 200);
}

/// The process's resident memory, after the allocator has handed its free pages back: glibc
/// keeps freed memory in its heaps (one per thread that allocated), so without the trim a wide
/// run the monkey made and dropped could still count, in amounts that depend on timing.
fn resident_bytes() -> Option<usize> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's malloc_trim only returns free memory to the system.
        unsafe { malloc_trim(0) };
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse::<usize>().ok().map(|kb| kb * 1024)
}

/// A panic inside the runner's simulation shows an error; Reset starts a new, working run.
#[test]
fn a_runner_panic_shows_an_error_and_reset_recovers() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    harness.state_mut().command(Command::Pause);
    harness.state_mut().command(Command::InjectFault);
    harness.state_mut().command(Command::Step(1));
    step_until(&mut harness, "the fault to be reported", |app| app.last_error().is_some_and(|e| e.contains("injected fault")));
    step_until(&mut harness, "the failed status", |app| app.status() == Some(RunStatus::Failed));
    harness.get_by_label_contains("injected fault");
    harness.get_by_label(app::labels::RESET_LABEL).click();
    step_until(&mut harness, "a new run", |app| app.status() != Some(RunStatus::Failed) && app.step_count() == 0);
    harness.state_mut().command(Command::Step(3));
    step_until(&mut harness, "steps after the reset", |app| app.step_count() == 3);
}

/// The monkey: thousands of random slider values (extremes included), button clicks and key
/// presses on the real app with its real runner. No panic, the runner keeps answering, memory
/// stays bounded.
#[test]
fn monkey_thousands_of_random_actions() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    let before = resident_bytes();
    let mut rng = StdRng::seed_from_u64(2026);
    let keys = [egui::Key::Space, egui::Key::ArrowRight, egui::Key::R, egui::Key::F1, egui::Key::F2, egui::Key::Escape];
    let extremes = [-1e9, -1.0, 0.0, 1e-12, 0.5, 1.0, 2.0, 4.0, 6.0, 1e3, 1e5, 1e12];
    let actions = 3000;
    for action in 0..actions {
        match rng.random_range(0..10) {
            0 | 1 => harness.key_press(keys[rng.random_range(0..keys.len())]),
            2..=5 => {
                let sliders = harness.query_all_by_role(Role::Slider).collect::<Vec<_>>();
                if !sliders.is_empty() {
                    let value = if rng.random_bool(0.3) { extremes[rng.random_range(0..extremes.len())] } else { rng.random_range(0.0..10.0) };
                    sliders[rng.random_range(0..sliders.len())].set_value_accesskit(value);
                }
            }
            _ => {
                // Dialog buttons would only open rfd (no portal here) and the export button
                // writes files: skip them.
                let buttons = harness
                    .query_all_by(|node| {
                        node.role() == Role::Button
                            && node.label().is_none_or(|label| !label.contains('…') && !label.contains("Write to path"))
                    })
                    .collect::<Vec<_>>();
                if !buttons.is_empty() {
                    buttons[rng.random_range(0..buttons.len())].click();
                }
            }
        }
        harness.step();
        if action % 500 == 0 {
            assert!(harness.state().history().len() <= catapult_lab::report::series::HISTORY_LIMIT);
        }
    }
    // The runner still answers: a known preset, running, streams new samples.
    eprintln!(
        "monkey ended on {} (step {}, {:?}, {}), error {:?}",
        harness.state().preset_name(),
        harness.state().step_count(),
        harness.state().status(),
        harness.state().model_description(),
        harness.state().last_error()
    );
    harness.state_mut().set_view(app::View::Live);
    // A paced speed: at unlimited speed the engine finishes lazy-uv's 1000 steps within one
    // frame, and a finished run (rightly) streams nothing more.
    harness.state_mut().command(Command::SetSpeed(Speed::StepsPerSecond(200.0)));
    harness.state_mut().command(Command::SetPreset(Box::new(shipped("lazy-uv"))));
    harness.state_mut().command(Command::Resume);
    step_until(&mut harness, "the lazy preset", |app| app.preset_name() == "lazy-uv");
    // Wait for the runner's lazy-uv run itself: until its first sample arrives, batches of the
    // run the monkey left (perhaps a wide net, its memory still live) count as received.
    let lazy = shipped("lazy-uv");
    let is_lazy = |app: &App| app.snapshot().is_some_and(|s| s.preset_name == "lazy-uv" && s.effective.model.width == lazy.model.width && s.effective.data.n == lazy.data.n);
    step_until(&mut harness, "the runner on the lazy preset", is_lazy);
    let received = harness.state().samples_received();
    step_until(&mut harness, "samples after the monkey", |app| is_lazy(app) && app.samples_received() > received + 5);
    assert!(harness.state().history().loss.iter().all(|x| x.is_finite()));
    if let (Some(before), Some(after)) = (before, resident_bytes()) {
        let grown = after.saturating_sub(before);
        eprintln!("monkey: {actions} actions, resident memory grew by {} MB", grown / (1 << 20));
        assert!(grown < 1 << 30, "resident memory grew by {grown} bytes");
    }
}

/// A file dialog that returns nothing or fails changes nothing: same preset, the run goes on.
#[test]
fn a_cancelled_or_failed_dialog_changes_nothing() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    let preset = harness.state().preset().clone();
    harness.state_mut().deliver_file_reply(app::presets_ui::FileReply::Opened(None));
    step_until(&mut harness, "the no-file message", |app| app.info().is_some_and(|m| m.contains("No file chosen")));
    harness.state_mut().deliver_file_reply(app::presets_ui::FileReply::Saved(None));
    harness.state_mut().deliver_file_reply(app::presets_ui::FileReply::Saved(Some(Err("/read-only/x.json: cannot write: permission denied".into()))));
    step_until(&mut harness, "the save error", |app| app.last_error().is_some_and(|e| e.contains("permission denied")));
    assert_eq!(harness.state().preset(), &preset, "the preset is untouched");
    let steps = harness.state().step_count();
    step_until(&mut harness, "the run to go on", |app| app.step_count() > steps);
}

/// Save as… writes through a temp file and a rename; what it wrote loads back identical.
#[test]
fn saving_is_atomic_and_loads_back_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.json");
    std::fs::write(&path, "old contents").unwrap();
    for (name, _) in library::SHIPPED {
        let preset = shipped(name);
        catapult_lab::report::output::write_atomically(&path, &format!("{}\n", catapult_lab::engine::config::preset_to_json(&preset))).unwrap();
        let back = catapult_lab::engine::config::load_preset_file(&path, &[]).unwrap();
        assert_eq!(back, preset, "{name}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temp file left behind: {leftovers:?}");
    let missing_dir = dir.path().join("no/such/dir/x.json");
    let err = catapult_lab::report::output::write_atomically(&missing_dir, "{}").unwrap_err();
    assert!(err.contains("cannot write"), "{err}");
}

/// Clicks "unlimited speed" so a test does not wait on the watchable default speed.
fn unlimited(harness: &mut Harness<'static, App>) {
    harness.get_by_label("unlimited speed").click();
    harness.step();
}

#[test]
fn an_sgd_teacher_preset_shows_the_batch_rate_match_rate_test_loss_and_agop() {
    let mut harness = harness_on("zhu-sgd-batch-10");
    unlimited(&mut harness);
    step_until_within(&mut harness, Duration::from_secs(180), "SGD samples with the batch critical rate", |app| {
        app.step_count() >= 4 && app.snapshot().is_some_and(|s| s.sgd.is_some() && s.agop.is_some())
    });
    harness.run_steps(2);
    harness.get_by_label(app::labels::SGD_TITLE);
    harness.get_by_label_contains(app::labels::BATCH_CRIT_SERIES);
    if harness.state().snapshot().unwrap().sgd.unwrap().steps_above > 0 {
        harness.get_by_label_contains(app::labels::ETA_ABOVE_SERIES);
    }
    harness.get_by_label_contains(app::labels::MATCH_RATE_LABEL);
    harness.get_by_label_contains("SGD: η > 2/λ(batch) on");
    // Teacher data: test loss, the loss split, the AGOP heatmaps and the alignment.
    harness.get_by_label_contains(app::labels::TEST_LOSS_SERIES);
    harness.get_by_label_contains(app::labels::LOSS_TOP_SERIES);
    harness.get_by_label_contains(app::labels::LOSS_REST_SERIES);
    harness.get_by_label(app::labels::AGOP_MODEL_LABEL);
    harness.get_by_label(app::labels::AGOP_TARGET_LABEL);
    harness.get_by_label(app::labels::AGOP_ALIGNMENT_TITLE);
    harness.get_by_label_contains("AGOP alignment cos(G, G*) =");
    let agop = harness.state().snapshot().unwrap().agop.clone().unwrap();
    assert_eq!(agop.d, 50);
    assert_eq!(agop.model.len(), 50 * 50);
    assert_eq!(agop.target.len(), 50 * 50);
    // The stats in the strip are the engine's.
    let sgd = harness.state().snapshot().unwrap().sgd.unwrap();
    assert!(sgd.steps >= 4 && sgd.steps_above <= sgd.steps);
}

#[test]
fn the_default_view_has_no_sgd_or_teacher_elements() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 2);
    harness.run_steps(2);
    for label in [app::labels::SGD_TITLE, app::labels::AGOP_MODEL_LABEL, app::labels::AGOP_ALIGNMENT_TITLE, app::labels::RHO_TOGGLE_LABEL] {
        assert!(harness.query_by_label(label).is_none(), "{label} shown for a one-example full-batch run");
    }
    assert!(harness.query_by_label_contains(app::labels::MATCH_RATE_LABEL).is_none());
}

#[test]
fn the_schedule_table_loads_a_schedule_and_an_applied_edit_restarts_the_run() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    harness.state_mut().load_shipped("zhu-multiple-catapults");
    step_until(&mut harness, "the multiple-catapult preset", |app| app.preset_name() == "zhu-multiple-catapults");
    harness.run_steps(2);
    harness.get_by_label(app::labels::SCHEDULE_SECTION_LABEL);
    let expected = [(100usize, 2.5f64), (200, 4.0), (300, 6.0)];
    for (row, (step, value)) in expected.iter().enumerate() {
        let (step_label, value_label) = (app::schedule::schedule_step_label(row + 1), app::schedule::schedule_value_label(row + 1));
        let step_field = harness.get_by_role_and_label(Role::SpinButton, &step_label);
        assert_eq!(step_field.accesskit_node().numeric_value(), Some(*step as f64));
        let value_field = harness.get_by_role_and_label(Role::SpinButton, &value_label);
        assert_eq!(value_field.accesskit_node().numeric_value(), Some(*value));
    }
    // Edit the second change to η·λ₀ = 3.5 and apply: the run restarts with the new schedule.
    let label = app::schedule::schedule_value_label(2);
    harness.get_by_role_and_label(Role::SpinButton, &label).set_value_accesskit(3.5);
    harness.run_steps(2);
    let run_before = harness.state().snapshot().unwrap().run_id;
    harness.get_by_label(app::labels::SCHEDULE_APPLY_LABEL).click();
    step_until(&mut harness, "the run restarted with the edited schedule", |app| {
        app.snapshot().is_some_and(|s| s.run_id > run_before) && app.preset().train.schedule == vec![(100, 2.5), (200, 3.5), (300, 6.0)]
    });
    assert!(harness.state().preset_name().ends_with("(edited)"));
    // Adding and removing rows edits the draft only; a bad value is refused by validation.
    harness.get_by_label(app::labels::SCHEDULE_ADD_LABEL).click();
    harness.run_steps(2);
    let label = app::schedule::schedule_step_label(4);
    harness.get_by_role_and_label(Role::SpinButton, &label);
    assert_eq!(harness.state().preset().train.schedule.len(), 3, "adding a row does not restart the run");
}

#[test]
fn the_rho_v_mean_toggle_shows_the_sqrt_gamma_line() {
    let mut harness = harness_on("huang2025-two-stage");
    unlimited(&mut harness);
    step_until(&mut harness, "some steps", |app| app.step_count() > 20);
    harness.get_by_label(app::labels::PHASE_PLANE_TITLE);
    harness.get_by_label(app::labels::RHO_TOGGLE_LABEL).click();
    harness.run_steps(2);
    assert_eq!(harness.state().phase_view(), app::phase_plane::PhaseView::RhoVMean);
    harness.get_by_label(app::labels::RHO_PLANE_TITLE);
    harness.get_by_label_contains(app::labels::SQRT_GAMMA_LINE_LABEL);
    harness.get_by_label_contains("√γ_y =");
    assert!(harness.state().snapshot().unwrap().gamma_y > 0.0);
    harness.get_by_label(app::labels::UV_TOGGLE_LABEL).click();
    harness.run_steps(2);
    harness.get_by_label(app::labels::PHASE_PLANE_TITLE);
}

#[test]
fn every_shipped_preset_loads_in_the_app_and_streams_samples() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    unlimited(&mut harness);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    for (name, _) in library::SHIPPED {
        let received = harness.state().samples_received();
        harness.state_mut().load_shipped(name);
        // Step 0 comes with the new run; at least one step must follow it.
        step_until_within(&mut harness, Duration::from_secs(120), &format!("{name} to start and stream samples"), |app| {
            app.preset_name() == *name && app.samples_received() >= received + 2 && app.step_count() > 0
        });
        harness.run_steps(2);
        assert!(harness.state().last_error().is_none(), "{name}: {:?}", harness.state().last_error());
        assert!(app::presets_ui::preset_group(name).is_some(), "{name} is in no Presets submenu");
        let snapshot = harness.state().snapshot().unwrap();
        if name.starts_with("meltzer-homogeneous") {
            assert!(snapshot.meltzer_liu.is_some(), "{name}: no Meltzer–Liu bounds");
            harness.get_by_label_contains("Meltzer–Liu: catapult guaranteed for 2 < η·λ₀ <");
        }
        if name.ends_with("-logistic") || name.ends_with("-exponential") {
            harness.get_by_label_contains(app::labels::LAMBDA_NTK_SERIES);
        }
    }
}

#[test]
fn the_presets_menu_groups_presets_by_source() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    harness.get_by_label("Presets").click();
    harness.run_steps(3);
    for (group, _) in app::presets_ui::PRESET_GROUPS {
        assert!(harness.query_all_by_label_contains(group).count() >= 1, "no submenu {group}");
    }
    harness.get_by_label("Huang et al. 2025").click();
    harness.run_steps(3);
    harness.get_by_label("huang2025-two-stage").click();
    step_until(&mut harness, "the Huang 2025 preset", |app| app.preset_name() == "huang2025-two-stage");
}

/// The frame-time readout (View → Frame time) shows how long the UI thread takes per frame.
#[test]
fn the_frame_time_readout_can_be_shown() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    assert!(harness.state().frame_ms() > 0.0);
    harness.get_by_label("View").click();
    harness.run_steps(3);
    harness.get_by_label("Frame time (debug)").click();
    harness.run_steps(3);
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    harness.get_by_label_contains("samples in history");
}

/// A preset opened paused at step 0, without wgpu.
fn paused_on(preset: catapult_lab::engine::config::Preset) -> Harness<'static, App> {
    Harness::builder().with_size([1400.0, 900.0]).build_eframe(move |cc| {
        let mut app = App::new_paused(preset, Box::new(|| {}));
        app.setup_context(&cc.egui_ctx);
        app
    })
}

#[test]
fn the_badge_predicts_before_the_first_step_and_theory_lines_say_what_applies() {
    // η·λ₀ = 2.6 before any step: "predicted: catapult", never LAZY.
    let mut harness = paused_on(shipped(library::DEFAULT_PRESET));
    step_until(&mut harness, "the first snapshot", |app| app.status() == Some(RunStatus::Paused));
    harness.run_steps(2);
    harness.get_by_label_contains("PREDICTED: CATAPULT");
    assert!(harness.query_all_by_label_contains(" LAZY ").next().is_none());
    // ReLU on one example with y = 0: at this seed the Meltzer–Liu window is empty (at others
    // it is a sliver above 2, and the line names it).
    let relu = library::shipped("zhu-one-example-relu", &[("seed".to_string(), serde_json::json!(2))]).unwrap().unwrap();
    let mut harness = paused_on(relu);
    step_until(&mut harness, "the first snapshot", |app| app.status() == Some(RunStatus::Paused));
    harness.run_steps(2);
    harness.get_by_label(app::labels::ML_NO_GUARANTEE_RELU);
    assert!(harness.query_all_by_label_contains("catapult guaranteed for").next().is_none());
    // Degenerate data: the exact critical rate is shown beside 2/λ₀.
    let mut harness = paused_on(shipped("huang-exp-degenerate"));
    step_until(&mut harness, "the first snapshot", |app| app.status() == Some(RunStatus::Paused));
    harness.run_steps(2);
    harness.get_by_label_contains("η_crit (theory) = 1.70");
}

#[test]
fn the_layer_controls_freeze_a_layer_and_restart_the_run() {
    let mut harness = harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    harness.get_by_label(app::labels::LAYERS_SECTION_LABEL).click();
    harness.run_steps(3);
    harness.get_by_label(&app::labels::layer_train_label(2)).click();
    step_until(&mut harness, "the restarted run", |app| app.preset().train.frozen_layers == vec![2]);
    assert!(harness.query_all_by_label(&app::labels::layer_scale_label(1)).count() >= 1);
    step_until(&mut harness, "samples of the frozen run", |app| app.step_count() > 0);
    // Training both layers again restores the run.
    harness.get_by_label(&app::labels::layer_train_label(2)).click();
    step_until(&mut harness, "both layers trained", |app| app.preset().train.frozen_layers.is_empty());
}
