//! The SPEC §11 lines in the window (egui_kittest): the kernel plot draws λ_H from the run's
//! `hessian_top` column with its legend entry; on teacher data the loss plot draws the top-s
//! split with the s selector, and choosing s restarts the run with `measure.top_s = s`.

use catapult_lab::app::{self};
use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::report::live_view::{self, HESSIAN_SERIES, KERNEL_PLOT, LOSS_PLOT, LOSS_TOP_S_SERIES};
use egui_kittest::kittest::Queryable;

mod common;
use common::*;

fn teacher() -> Preset {
    parse_preset(
        br#"{"version": 1, "name": "teacher split", "seed": 2, "model": {"kind": "two_layer", "width": 64, "a_neg": 0.0},
            "data": {"kind": "teacher", "n": 40, "d": 5, "teacher": "rank2", "test_n": 20}, "loss": {"kind": "mse", "reduction": "mean"},
            "train": {"eta_scaled": 3.0, "steps": 60}}"#,
        "test",
        &[],
    )
    .unwrap()
}

#[test]
fn the_kernel_plot_draws_the_hessian_line() {
    let preset = catapult_lab::engine::library::shipped(catapult_lab::engine::library::DEFAULT_PRESET, &[]).unwrap().unwrap();
    let mut harness = running_harness(preset, SIZE);
    step_until(&mut harness, "a few steps", |app| app.step_count() >= 5);
    harness.run_steps(2);
    harness.get_by_label_contains(app::labels::HESSIAN_LINE);
    let app = harness.state();
    let line = live_view::find(app.plotted_series(), KERNEL_PLOT, HESSIAN_SERIES);
    assert!(line.len() >= 5, "λ_H points: {}", line.len());
    for p in line {
        let row = app.history().step.iter().position(|&s| s == p[0]).unwrap();
        assert_eq!(Some(p[1]), app.history().hessian_top[row], "step {}", p[0]);
    }
}

#[test]
fn the_top_s_selector_restarts_the_run_with_that_s() {
    let mut harness = running_harness(teacher(), SIZE);
    step_until(&mut harness, "teacher samples", |app| app.step_count() >= 4);
    harness.run_steps(2);
    harness.get_by_label_contains(&format!("{} (s = 2)", app::labels::LOSS_TOP_SERIES));
    harness.get_by_label(app::labels::TOP_S_LABEL);
    assert!(!live_view::find(harness.state().plotted_series(), LOSS_PLOT, LOSS_TOP_S_SERIES).is_empty());
    harness.get_by_label("10").click();
    step_until(&mut harness, "the restarted run with s = 10", |app| app.preset().measure.top_s == 10 && app.step_count() >= 3);
    harness.run_steps(2);
    harness.get_by_label_contains(&format!("{} (s = 10)", app::labels::LOSS_TOP_SERIES));
    let history = harness.state().history();
    for i in 0..history.len() {
        let (top, rest) = (history.loss_top_s[i].unwrap(), history.loss_rest_s[i].unwrap());
        assert!((top + rest - history.loss[i]).abs() <= 1e-12 * history.loss[i]);
        assert!(top >= history.loss_top[i].unwrap() * (1.0 - 1e-10), "L≤10 ≥ L≤2 at row {i}");
    }
}
