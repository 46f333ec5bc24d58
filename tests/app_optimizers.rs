//! The window's optimizer controls and lines (issue 18), driven through the widgets: choosing
//! Adam in the optimizer section restarts the run with Adam and the kernel plot gains Adam's
//! edge line and the preconditioned sharpness; a heavy-ball preset draws 2(1+β)/η per step.

use catapult_lab::app::{self, App};
use catapult_lab::engine::config::OptimizerKind;
use catapult_lab::engine::library;
use catapult_lab::report::decimate::StepAxis;
use catapult_lab::report::live_view::{self, KERNEL_PLOT, OPTIMIZER_EDGE_SERIES, PRECOND_SERIES, ViewOptions};
use egui::accesskit::Role;
use eframe::egui;
use egui_kittest::kittest::Queryable;

mod common;
use common::*;

/// Tall enough that the side panel's last section is on screen without scrolling.
fn tall_harness_on(name: &str) -> egui_kittest::Harness<'static, App> {
    running_harness(shipped(name), [1400.0, 1400.0])
}

fn kernel_series(app: &App) -> Vec<live_view::PlotSeries> {
    let history = app.history();
    let options = ViewOptions { axis: StepAxis::Linear, columns: 1000, has_eta_max: false, uv_applies: true };
    live_view::live_series(history, 0..history.len(), &options)
}

#[test]
fn a_heavy_ball_preset_draws_its_own_edge_per_step() {
    let mut harness = tall_harness_on("momentum-below-edge");
    step_until(&mut harness, "a few steps", |app| app.history().len() > 5);
    harness.get_by_label(&format!("┅ {}", app::labels::OPTIMIZER_EDGE_LINE));
    let app = harness.state();
    let all = kernel_series(app);
    let edge = live_view::find(&all, KERNEL_PLOT, OPTIMIZER_EDGE_SERIES);
    assert!(!edge.is_empty());
    for p in edge {
        let i = app.history().step.iter().position(|s| *s == p[0]).unwrap();
        assert!((p[1] - 3.8 / app.history().eta[i]).abs() < 1e-9 * p[1], "2(1+β)/η at step {}", p[0]);
    }
    assert!(live_view::find(&all, KERNEL_PLOT, PRECOND_SERIES).is_empty(), "no preconditioner for momentum");
}

#[test]
fn choosing_adam_restarts_the_run_and_draws_the_preconditioned_sharpness() {
    let mut harness = tall_harness_on(library::DEFAULT_PRESET);
    step_until(&mut harness, "the first samples", |app| app.history().len() > 1);
    harness.get_by_label(app::labels::OPTIMIZER_SECTION_LABEL).click();
    harness.run_steps(2);
    harness.get_by_role_and_label(Role::ComboBox, app::labels::OPTIMIZER_LABEL).click();
    harness.run_steps(2);
    harness.get_by_label("adam").click();
    step_until(&mut harness, "the Adam run", |app| app.preset().train.optimizer == OptimizerKind::Adam && app.history().precond_sharpness.iter().flatten().count() > 3);
    let app = harness.state();
    assert!(app.preset().name.ends_with("(edited)"));
    let all = kernel_series(app);
    assert!(!live_view::find(&all, KERNEL_PLOT, PRECOND_SERIES).is_empty());
    let edge = live_view::find(&all, KERNEL_PLOT, OPTIMIZER_EDGE_SERIES);
    let eta = app.history().eta[0];
    assert!((edge[0][1] - 38.0 / eta).abs() < 1e-9 * edge[0][1], "(2 + 2β1)/((1 − β1)η)");
    harness.step();
    harness.get_by_label(&format!("━ {}", app::labels::PRECOND_SHARPNESS_LINE));
}

#[test]
fn the_eta_slider_follows_the_auto_catapult() {
    let mut harness = tall_harness_on("auto-catapult");
    harness.get_by_label("unlimited speed").click();
    step_until(&mut harness, "the last change (step 85)", |app| app.snapshot().is_some_and(|s| s.step > 100));
    let s = harness.state().snapshot().unwrap();
    let (value, scaled) = s.eta_setting;
    assert!(scaled);
    assert!((value - s.eta * s.lambda0).abs() < 1e-9 * value, "the slider shows the η in force");
    assert!(value > 100.0, "η·λ₀ has risen to {value}");
}
