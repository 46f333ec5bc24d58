//! Issue 13's UI tests: what the window draws equals what was computed. The real `App` with its
//! real runner thread (kittest), driven by widgets and runner commands; streaming is awaited
//! with step-until loops (a generous timeout only guards against hangs; nothing is timed).

use catapult_lab::app::export::PlotId;
use catapult_lab::app::runner::{Command, RunStatus, Speed};
use catapult_lab::app::{self, App};
use catapult_lab::engine::library;
use catapult_lab::report::live_view::{self, KERNEL_PLOT, LOSS_PLOT};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

mod common;
use common::*;

/// The kernel plot's 2/η series is 2/η(step) at every step of the history (all steps drawn).
fn assert_two_over_eta_follows_eta(app: &App) {
    let history = app.history();
    let line = live_view::find(app.plotted_series(), KERNEL_PLOT, "2/eta");
    assert_eq!(line.len(), history.len(), "every step is drawn");
    for (p, (&step, &eta)) in line.iter().zip(history.step.iter().zip(&history.eta)) {
        assert_eq!(*p, [step, 2.0 / eta], "2/η at step {step}");
    }
}

#[test]
fn the_2_over_eta_line_follows_eta_after_a_slider_move_and_a_schedule_change() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, [1400.0, 900.0]);
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    steps(&mut harness, 5);
    harness.get_by_role_and_label(Role::Slider, app::labels::ETA_SCALED_LABEL).set_value_accesskit(3.2);
    step_until(&mut harness, "η·λ₀ = 3.2", |app| app.snapshot().is_some_and(|s| s.eta_setting == (3.2, true)));
    steps(&mut harness, 10);
    let history = harness.state().history();
    assert_ne!(history.eta[5], history.eta[6], "η changed from step 6 on");
    assert_two_over_eta_follows_eta(harness.state());

    // A schedule edit applied from the table: the line follows the new schedule.
    harness.state_mut().load_shipped("zhu-multiple-catapults");
    step_until(&mut harness, "the schedule preset", |app| app.preset_name() == "zhu-multiple-catapults");
    harness.run_steps(2);
    let label = app::schedule::schedule_step_label(1);
    harness.get_by_role_and_label(Role::SpinButton, &label).set_value_accesskit(20.0);
    harness.run_steps(2);
    harness.get_by_label(app::labels::SCHEDULE_APPLY_LABEL).click();
    step_until(&mut harness, "the edited schedule", |app| app.preset().train.schedule.first() == Some(&(20, 2.5)));
    steps(&mut harness, 40);
    assert_two_over_eta_follows_eta(harness.state());
    let history = harness.state().history();
    assert_ne!(history.eta[20], history.eta[21], "the schedule changed η after step 20");
}

/// Regression (issue 13, defect 2): typing into the η fields of a slow SGD run, then loading
/// zhu-multi-example, runs zhu-multi-example at its own η·λ̂0 = 2.5 (ten times).
#[test]
fn loading_a_preset_after_typing_in_the_eta_fields_runs_that_preset() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, [1400.0, 900.0]);
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    for round in 0..10 {
        harness.state_mut().load_shipped("zhu-sgd-batch-5");
        step_until(&mut harness, "the SGD preset", |app| app.snapshot().is_some_and(|s| s.preset_name == "zhu-sgd-batch-5"));
        harness.run_steps(2);
        // Type into both fields without pressing Enter (the edit is still open) …
        let field = if round % 2 == 0 { (Role::SpinButton, app::labels::ETA_LABEL) } else { (Role::Slider, app::labels::ETA_SCALED_LABEL) };
        harness.get_by_role_and_label(field.0, field.1).focus();
        harness.step();
        harness.get_by_role_and_label(field.0, field.1).type_text("1");
        harness.step();
        // … then load another preset.
        harness.state_mut().load_shipped("zhu-multi-example");
        step_until(&mut harness, "zhu-multi-example", |app| app.snapshot().is_some_and(|s| s.preset_name == "zhu-multi-example"));
        // The focus leaves the field (where the typed text used to be committed to the new run).
        harness.key_press(egui::Key::Tab);
        harness.run_steps(4);
        harness.key_press(egui::Key::Enter);
        harness.run_steps(4);
        // The preset's own rate (2.5 when this test was written; issue 12 moved it to 2.2, inside its band).
        let own = library::shipped("zhu-multi-example", &[]).unwrap().unwrap().train.eta_scaled.unwrap();
        let s = harness.state().snapshot().unwrap();
        assert!((s.eta_scaled - own).abs() < 1e-9, "round {round}: η·λ̂0 = {} instead of {own}", s.eta_scaled);
        assert_eq!(s.eta_setting, (own, true), "round {round}");
        assert!(s.effective.train.schedule.is_empty(), "round {round}: no live change recorded: {:?}", s.effective.train.schedule);
    }
}

/// Save as… after a live η change writes the effective configuration: reopening it and making
/// the same number of steps gives the identical CSV. A change at step 0 is the base rate: row 0
/// and the u/v start carry it.
#[test]
fn saving_after_a_live_eta_change_reproduces_the_run() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, [1400.0, 900.0]);
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    // At step 0: the run is rebuilt at the new η, so row 0 carries it.
    harness.get_by_role_and_label(Role::Slider, app::labels::ETA_SCALED_LABEL).set_value_accesskit(2.8);
    step_until(&mut harness, "η·λ₀ = 2.8 at step 0", |app| app.history().eta.first().is_some_and(|&e| (e * app.snapshot().unwrap().lambda0 - 2.8).abs() < 1e-12));
    let lambda0 = harness.state().snapshot().unwrap().lambda0;
    assert_eq!(harness.state().history().v[0], harness.state().history().eta[0] * harness.state().history().lambda_hat[0]);
    assert_eq!(harness.state().history().eta[0], 2.8 / lambda0);
    steps(&mut harness, 30);
    harness.get_by_role_and_label(Role::Slider, app::labels::ETA_SCALED_LABEL).set_value_accesskit(3.2);
    step_until(&mut harness, "η·λ₀ = 3.2", |app| app.snapshot().is_some_and(|s| s.eta_setting == (3.2, true)));
    steps(&mut harness, 30);
    harness.get_by_role_and_label(Role::SpinButton, app::labels::ETA_LABEL).set_value_accesskit(0.9);
    step_until(&mut harness, "η = 0.9", |app| app.eta() == Some(0.9));
    steps(&mut harness, 40);
    let original = harness.state().history().to_csv().unwrap();
    let steps_made = harness.state().step_count();
    assert_eq!(steps_made, 100);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.json");
    harness.state_mut().save_preset_to(&path);
    step_until(&mut harness, "saved", |app| app.info().is_some_and(|i| i.starts_with("Saved")));
    let saved = catapult_lab::engine::config::load_preset_file(&path, &[]).unwrap();
    assert_eq!(saved.train.schedule.len(), 2, "{:?}", saved.train.schedule);
    assert_eq!((saved.train.schedule[0].0, saved.train.schedule[1].0), (30, 60), "live changes at the steps they happened");
    match saved.train.eta_scaled {
        Some(base) => assert_eq!((base, saved.train.schedule[0].1), (2.8, 3.2), "the step-0 change is the base rate"),
        None => assert_eq!(saved.train.eta, Some(2.8 / lambda0), "written in η where η·λ̂0 is not exact"),
    }

    harness.state_mut().load_preset_path(&path);
    step_until(&mut harness, "the saved preset", |app| app.step_count() == 0 && app.snapshot().is_some_and(|s| s.effective.train.schedule.len() == 2));
    harness.state_mut().command(Command::Step(steps_made));
    step_until(&mut harness, "the same steps", |app| app.step_count() == steps_made);
    harness.run_steps(2);
    let reopened = harness.state().history().to_csv().unwrap();
    if original != reopened {
        let (a, b) = (String::from_utf8_lossy(&original).to_string(), String::from_utf8_lossy(&reopened).to_string());
        let diff = a.lines().zip(b.lines()).enumerate().find(|(_, (x, y))| x != y);
        panic!("the reopened run's CSV differs ({} vs {} lines); first difference: {diff:?}", a.lines().count(), b.lines().count());
    }
    // The file itself, run headlessly, writes the same CSV too.
    let mut sim = catapult_lab::engine::sim::Simulation::new(&catapult_lab::engine::config::load_preset_file(&path, &[("train.steps".into(), serde_json::json!(100))]).unwrap()).unwrap();
    let mut csv = catapult_lab::report::output::SampleCsv::with_columns(Vec::new(), sim.extra_columns());
    sim.run(|s| csv.write(s).unwrap());
    assert!(csv.finish().unwrap() == original, "the CLI run of the saved file differs");
}

/// Reset restarts the preset as loaded (its own η); Restart at this η keeps the η on screen,
/// and so does a seed change.
#[test]
fn restart_at_this_eta_and_structural_edits_keep_the_eta_on_screen() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, [1400.0, 900.0]);
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    let set = |harness: &mut Harness<'static, App>, value: f64| {
        steps(harness, 3);
        harness.get_by_role_and_label(Role::Slider, app::labels::ETA_SCALED_LABEL).set_value_accesskit(value);
        step_until(harness, "the new η·λ₀", |app| app.snapshot().is_some_and(|s| s.eta_setting == (value, true)));
    };
    let restart = |harness: &mut Harness<'static, App>, label: &str| {
        let run = harness.state().snapshot().unwrap().run_id;
        harness.get_by_label(label).click();
        step_until(harness, "the restart", |app| app.snapshot().is_some_and(|s| s.run_id > run));
    };
    set(&mut harness, 3.1);
    restart(&mut harness, app::labels::RESET_LABEL);
    assert_eq!(harness.state().snapshot().unwrap().eta_setting, (2.6, true), "Reset: the preset's own η·λ₀");
    set(&mut harness, 3.1);
    restart(&mut harness, app::labels::RESTART_AT_ETA_LABEL);
    assert_eq!(harness.state().snapshot().unwrap().eta_setting, (3.1, true));
    assert_eq!(harness.state().step_count(), 0);
    set(&mut harness, 3.3);
    let run = harness.state().snapshot().unwrap().run_id;
    harness.get_by_role_and_label(Role::SpinButton, "seed").set_value_accesskit(3.0);
    step_until(&mut harness, "the new seed", |app| app.snapshot().is_some_and(|s| s.run_id > run));
    assert_eq!(harness.state().preset().seed, 3);
    assert_eq!(harness.state().snapshot().unwrap().eta_setting, (3.3, true), "a seed change keeps the η on screen");
}

/// After 10⁶ steps the history holds every one of the first 4096 steps and the plotted loss
/// holds the summary's peak exactly, at its step.
#[test]
fn a_million_steps_keep_the_peak_and_the_first_4096_steps() {
    let preset = library::shipped("catapult-uv", &[("model.width".into(), serde_json::json!(10)), ("train.steps".into(), serde_json::json!(1_000_000))]).unwrap().unwrap();
    let mut harness = Harness::builder().with_size([1400.0, 900.0]).build_eframe(move |cc| {
        let mut app = App::new_paused(preset, Box::new(|| {}));
        app.setup_context(&cc.egui_ctx);
        app
    });
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    harness.state_mut().command(Command::SetSpeed(Speed::Unlimited));
    harness.state_mut().command(Command::Resume);
    step_until(&mut harness, "a million steps", |app| app.status() == Some(RunStatus::Finished) && app.step_count() == 1_000_000);
    harness.run_steps(2);
    let app = harness.state();
    let history = app.history();
    for step in 0..=4096usize {
        assert_eq!(history.step[step], step as f64);
    }
    let s = app.snapshot().unwrap();
    let loss = live_view::find(app.plotted_series(), LOSS_PLOT, "loss");
    assert!(loss.contains(&[s.peak_step as f64, s.peak_loss]), "peak {} at step {} not plotted", s.peak_loss, s.peak_step);
    assert_eq!(app.step_axis(), catapult_lab::report::series::StepAxis::Log, "a long run opens on the log step axis");
    assert_eq!(loss.last().map(|p| p[0]), Some(1_000_000.0));
}

/// With Large text at 1024×768 and 1920×1080: every live plot lies inside the window with room
/// for its axes, and no legend covers the newest point.
#[test]
fn layouts_at_1024x768_and_1920x1080_with_large_text() {
    let mut results = egui_kittest::SnapshotResults::new();
    for (size, name) in [([1024.0f32, 768.0f32], "large_text_1024x768"), ([1920.0, 1080.0], "large_text_1920x1080")] {
        let preset = shipped(library::DEFAULT_PRESET);
        let mut harness = Harness::builder().with_size(size).wgpu().build_eframe(move |cc| {
            let mut app = App::new_paused(preset, Box::new(|| {}));
            app.setup_context(&cc.egui_ctx);
            app
        });
        step_until(&mut harness, "the run", |app| app.snapshot().is_some());
        harness.get_by_label("Large text").click();
        harness.run_steps(2);
        assert!(harness.state().prefs().large_text);
        steps(&mut harness, 40);
        results.add(harness.try_snapshot(name));
        let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size[0], size[1]));
        for id in [PlotId::Loss, PlotId::Lambda, PlotId::Weights, PlotId::PhasePlane] {
            let layout = harness.state().plot_layout(id).unwrap_or_else(|| panic!("{id:?} drawn"));
            assert!(window.contains_rect(layout.plot), "{name}: {id:?} at {:?} is cut off", layout.plot);
            assert!(layout.plot.height() >= 80.0 && layout.plot.width() >= 200.0, "{name}: {id:?} too small: {:?}", layout.plot);
            let newest = layout.newest.unwrap_or_else(|| panic!("{name}: {id:?} has a newest point"));
            assert!(!layout.legend.expand(2.0).contains(newest), "{name}: {id:?} legend {:?} covers the newest point {newest:?}", layout.legend);
            assert!(!layout.plot.intersects(layout.legend.shrink(1.0)), "{name}: {id:?} legend {:?} over the plot {:?}", layout.legend, layout.plot);
        }
        results.extend_harness(&mut harness);
    }
}

/// An SGD run on teacher data (four plots on the left, legends of several rows) with Large text
/// at 1024×768: every plot keeps room to read (its frame at least 4 lines of text and 80 px tall, not the 25 px
/// the shared height left under the loss legend before); the left column scrolls when they do
/// not all fit, and none is cut off at the sides.
#[test]
fn sgd_plots_keep_their_height_with_large_text_at_1024x768() {
    let size = [1024.0f32, 768.0f32];
    let mut harness = paused_harness("zhu-sgd-batch-5", size);
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    harness.get_by_label("Large text").click();
    harness.run_steps(2);
    assert!(harness.state().prefs().large_text);
    steps(&mut harness, 30);
    let body = harness.ctx.style_of(harness.ctx.theme()).text_styles[&egui::TextStyle::Body].size;
    let mut bottom = 0.0f32;
    for id in [PlotId::Loss, PlotId::Lambda, PlotId::Weights] {
        let layout = harness.state().plot_layout(id).unwrap_or_else(|| panic!("{id:?} drawn"));
        assert!(layout.plot.height() >= 4.0 * body && layout.plot.height() >= 80.0, "{id:?} only {} px tall (body text {body} px): {:?}", layout.plot.height(), layout.plot);
        assert!(layout.plot.left() >= 0.0 && layout.plot.right() <= size[0] && layout.plot.width() >= 200.0, "{id:?} cut off at the sides: {:?}", layout.plot);
        assert!(layout.plot.top() >= bottom - 0.5, "{id:?} overlaps the plot above it: {:?}", layout.plot);
        assert!(!layout.plot.intersects(layout.legend.shrink(1.0)), "{id:?} legend {:?} over the plot {:?}", layout.legend, layout.plot);
        bottom = layout.plot.bottom();
    }
    // The loss and kernel plots (the two a class watches) are on screen without scrolling.
    for id in [PlotId::Loss, PlotId::Lambda] {
        let plot = harness.state().plot_layout(id).unwrap().plot;
        assert!(plot.bottom() <= size[1], "{id:?} below the window: {plot:?}");
    }
}

/// Hovering a plot names the series and snaps to a drawn sample (its step and value).
#[test]
fn hover_snaps_to_a_sample() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, [1400.0, 900.0]);
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    steps(&mut harness, 40);
    let rect = harness.state().plot_layout(PlotId::Loss).unwrap().plot;
    // Over the plot, between samples and far above the line (where the old hover read the cursor's y).
    harness.event(egui::Event::PointerMoved(egui::pos2(rect.left() + rect.width() * 0.22, rect.top() + 12.0)));
    harness.run_steps(3);
    let readout = harness.state().hover_readout().expect("a hover readout");
    assert_eq!(readout.series, "loss");
    let history = harness.state().history();
    let i = history.step.iter().position(|&s| s == readout.step).expect("the readout's step is a sample");
    assert!(readout.step >= 0.0);
    let relative = (readout.value - history.loss[i]).abs() / history.loss[i].abs().max(1e-300);
    assert!(relative < 1e-9, "hover value {} vs loss {} at step {}", readout.value, history.loss[i], readout.step);
}

/// Typed values out of range say what happened beside the field; a refused width leaves the
/// value in force on screen.
#[test]
fn out_of_range_entries_say_so() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, [1400.0, 900.0]);
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    harness.get_by_role_and_label(Role::Slider, app::labels::ETA_SCALED_LABEL).set_value_accesskit(25.0);
    harness.run_steps(3);
    harness.get_by_label_contains("beyond the slider's range");
    step_until(&mut harness, "η·λ₀ = 25 applied as typed", |app| app.snapshot().is_some_and(|s| s.eta_setting == (25.0, true)));
    harness.get_by_role_and_label(Role::Slider, app::labels::ETA_SCALED_LABEL).set_value_accesskit(5e6);
    harness.run_steps(3);
    harness.get_by_label_contains("clamped to");
    // A width the app refuses: the message says so and the field shows the width in force; the
    // side panel does not grow with the long number.
    let panel_width = harness.state().prefs().side_panel_width;
    harness.get_by_role_and_label(Role::Slider, app::labels::WIDTH_LABEL).set_value_accesskit(2e9);
    harness.run_steps(3);
    harness.get_by_label_contains("the run keeps width 1000");
    harness.run_steps(2);
    let width = harness.get_by_role_and_label(Role::Slider, app::labels::WIDTH_LABEL).accesskit_node().numeric_value();
    assert_eq!(width, Some(1000.0));
    assert!((harness.state().prefs().side_panel_width - panel_width).abs() < 1.0, "the side panel grew");
}

/// Messages say what they refer to and clear when that changes: a failed load after a good one
/// does not leave "Loaded …" standing.
#[test]
fn a_failed_load_clears_the_loaded_message() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, [1400.0, 900.0]);
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("demo.json");
    std::fs::write(&good, catapult_lab::engine::config::preset_to_json(&shipped("lazy-uv"))).unwrap();
    harness.state_mut().load_preset_path(&good);
    step_until(&mut harness, "lazy-uv", |app| app.snapshot().is_some_and(|s| s.preset_name == "lazy-uv"));
    assert!(harness.state().info().is_some_and(|i| i.starts_with("Loaded") && i.contains("lazy-uv")));
    harness.state_mut().load_preset_path(&dir.path().join("missing.json"));
    harness.run_steps(2);
    assert!(harness.state().last_error().is_some());
    assert_eq!(harness.state().info(), None, "the old Loaded message is gone");
}

/// Raising η on a converged run says how long the next catapult will take (from the growth
/// rate (η·λ̂ − 1)² of the error along the top direction).
#[test]
fn raising_eta_after_convergence_says_when_the_next_catapult_comes() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, [1400.0, 900.0]);
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    steps(&mut harness, 25);
    harness.get_by_role_and_label(Role::Slider, app::labels::ETA_SCALED_LABEL).set_value_accesskit(5.0);
    step_until(&mut harness, "η·λ₀ = 5", |app| app.snapshot().is_some_and(|s| s.eta_setting == (5.0, true)));
    steps(&mut harness, 1);
    let app = harness.state();
    let s = app.snapshot().unwrap();
    let (loss, lambda) = (*app.history().loss.last().unwrap(), *app.history().lambda_hat.last().unwrap());
    let expected = app.next_catapult_in(s).unwrap_or_else(|| panic!("no estimate: loss {loss}, η·λ {}, status {:?}", s.eta * lambda, s.status));
    assert!(expected > 50, "{expected}");
    harness.get_by_label_contains(&format!("next catapult expected in ~{expected} steps"));
}

/// The app's "Export plot PNG" draws the slide figure with the headless renderer (1920×1080,
/// axes and legends), not a screen crop.
#[test]
fn export_plot_png_draws_the_slide_figure() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, [1400.0, 900.0]);
    step_until(&mut harness, "the run", |app| app.snapshot().is_some());
    steps(&mut harness, 30);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("figure.png");
    let ctx = harness.ctx.clone();
    harness.state_mut().export_to_path(&ctx, app::export::ExportTarget::LiveFigurePng, path.clone());
    step_until(&mut harness, "the figure", |app| app.export_message().is_some());
    assert!(matches!(harness.state().export_message(), Some(Ok(_))), "{:?}", harness.state().export_message());
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert_eq!((u32::from_be_bytes(bytes[16..20].try_into().unwrap()), u32::from_be_bytes(bytes[20..24].try_into().unwrap())), (1920, 1080));
}
