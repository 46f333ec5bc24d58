//! The phase of a run (SPEC §5, corrected): one run per label that must get it (lazy, rich,
//! catapult incl. the converged logistic one, oscillating, divergent, dead, unconverged), the
//! predicted phase shown before and early in a run, and the exact classification critical rate
//! `eta_crit_theory` (SPEC §6) against its closed forms and as the edge between runs.

use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::engine::library;
use catapult_lab::engine::sim::{Phase, Simulation, Summary};
use serde_json::{Value, json};

fn preset(json: &str) -> Preset {
    parse_preset(json.as_bytes(), "test", &[]).expect("valid test preset")
}

fn shipped(name: &str, sets: &[(&str, Value)]) -> Preset {
    let overrides: Vec<(String, Value)> = sets.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    library::shipped(name, &overrides).unwrap().unwrap()
}

fn run(p: &Preset) -> Summary {
    Simulation::new(p).unwrap().run(|_| {})
}

#[test]
fn lazy_needs_a_kernel_that_stayed_put() {
    let summary = run(&shipped("lazy-uv", &[]));
    assert_eq!(summary.phase, Phase::Lazy);
    assert!((summary.final_lambda / summary.lambda0 - 1.0).abs() <= 0.5);
}

#[test]
fn a_smooth_fall_with_a_growing_kernel_is_rich() {
    let summary = run(&shipped("huang2025-two-stage", &[("train.steps", json!(600))]));
    assert!(summary.peak_loss <= 1.01 * summary.loss0 && summary.final_loss < summary.loss0, "the loss fell smoothly");
    assert!(summary.final_lambda > 1.5 * summary.lambda0, "λ̂ grew ×{}", summary.final_lambda / summary.lambda0);
    assert_eq!(summary.phase, Phase::Rich, "not lazy: {summary:?}");
}

#[test]
fn catapult_against_the_loss_floor() {
    assert_eq!(run(&shipped("catapult-uv", &[])).phase, Phase::Catapult);
    // Huang et al. 2022 Example 3, logistic, m = 200, σ² = 0.5, η = 9: the loss rises ~10 %
    // above L0 ≈ log 2, converges to log 2 (the floor L*) and the kernel ends smaller.
    let p = preset(
        r#"{"version": 1, "seed": 0,
            "model": {"kind": "two_layer", "width": 200, "a_neg": 1.0, "input_norm": "none", "init_scale": 0.7071067811865476},
            "data": {"kind": "points", "x": [[1.0, 0.0], [1.0, 0.0]], "y": [1.0, -1.0]},
            "loss": {"kind": "logistic", "reduction": "mean"}, "train": {"eta": 9.0, "steps": 500}}"#,
    );
    let summary = run(&p);
    let rise = summary.peak_loss / summary.loss0;
    assert!((1.05..1.2).contains(&rise), "peak {rise}× L0");
    assert!(summary.peak_loss < 2.0 * summary.loss0, "not a catapult by L0 alone");
    assert!((summary.final_loss - 2f64.ln()).abs() < 1e-9 && summary.final_lambda < summary.lambda0, "{summary:?}");
    assert_eq!(summary.phase, Phase::Catapult, "{summary:?}");
}

#[test]
fn oscillating_divergent_dead_unconverged() {
    assert_eq!(run(&shipped("huang-ex1-logistic", &[])).phase, Phase::Oscillating);
    assert_eq!(run(&shipped("divergent-uv", &[])).phase, Phase::Divergent);
    assert_eq!(run(&shipped("meltzer-relu-4-2", &[("train.eta_scaled", json!(5.0))])).phase, Phase::Dead);
    // The loss rises 10 % above its start, not to a catapult, then falls: none of the above.
    let summary = run(&shipped("huang-ex2-exponential", &[("train.eta", json!(1.0))]));
    assert!(summary.peak_loss > 1.01 * summary.loss0 && summary.peak_loss < 2.0 * summary.loss0);
    assert_eq!(summary.phase, Phase::Unconverged, "{summary:?}");
}

#[test]
fn every_label_has_one_name_and_colour() {
    let labels: Vec<&str> = Phase::ALL.iter().map(|p| p.label()).collect();
    assert_eq!(labels, ["lazy", "rich", "catapult", "oscillating", "divergent", "dead", "unconverged"]);
    for phase in Phase::ALL {
        assert_eq!(serde_json::to_value(phase).unwrap(), json!(phase.label()), "summary JSON and CSV use the label");
    }
    let colours: std::collections::HashSet<_> = Phase::ALL.iter().map(|&p| catapult_lab::report::figure::phase_color(p)).collect();
    assert_eq!(colours.len(), Phase::ALL.len(), "one colour per phase");
}

#[test]
fn the_phase_is_predicted_before_and_early_in_a_run() {
    assert_eq!(Phase::predicted(1.5, Some(4.0)), Phase::Lazy);
    assert_eq!(Phase::predicted(2.6, Some(4.0)), Phase::Catapult);
    assert_eq!(Phase::predicted(2.6, None), Phase::Catapult);
    assert_eq!(Phase::predicted(4.3, Some(4.0)), Phase::Divergent);
    assert_eq!(Phase::predicted(2.5, Some(2.0)), Phase::Divergent, "a linear model diverges above 2");
    for (name, expected) in [("lazy-uv", Phase::Lazy), ("catapult-uv", Phase::Catapult), ("divergent-uv", Phase::Divergent), ("zhu-one-example-linearized", Phase::Divergent)] {
        let sim = Simulation::new(&shipped(name, &[])).unwrap();
        let reading = sim.phase_reading();
        assert!(reading.predicted && reading.phase == expected, "{name} before the first step: {reading:?}");
    }
    let mut sim = Simulation::new(&shipped("catapult-uv", &[])).unwrap();
    assert_eq!(sim.phase_reading().text(), "predicted: catapult", "never LAZY at η·λ̂0 = 2.6");
    // A super-critical run that has not spiked yet keeps showing the prediction.
    let mut slow = Simulation::new(&shipped("catapult-uv", &[("train.eta_scaled", json!(2.02))])).unwrap();
    slow.step();
    assert_eq!(slow.phase_reading().text(), "predicted: catapult");
    // Once it has spiked it shows what it has shown; a finished run is never a prediction.
    while sim.step().is_some() {}
    let reading = sim.phase_reading();
    assert!(!reading.predicted && reading.phase == Phase::Catapult, "{reading:?}");
    let mut lazy = Simulation::new(&shipped("lazy-uv", &[("train.steps", json!(5))])).unwrap();
    lazy.step();
    assert_eq!(lazy.phase_reading().text(), "lazy", "a lazy prediction gives way to what the run shows");
}

/// x = 1 twice, labels ±1, linear predictor with w0, mean reduction.
fn degenerate(loss: &str, w0: f64, eta: f64, steps: usize) -> Preset {
    preset(&format!(
        r#"{{"version": 1, "model": {{"kind": "linear_predictor", "w0": [{w0}]}},
            "data": {{"kind": "points", "x": [[1.0], [1.0]], "y": [1.0, -1.0]}},
            "loss": {{"kind": "{loss}", "reduction": "mean"}}, "train": {{"eta": {eta:e}, "steps": {steps}}}}}"#
    ))
}

#[test]
fn eta_crit_theory_is_the_closed_form_and_the_edge() {
    for w0 in [0.5f64, 1.0, 1.06, 2.0] {
        let exp = Simulation::new(&degenerate("exponential", w0, 0.1, 1)).unwrap().eta_crit_theory().unwrap();
        assert!((exp - 2.0 * w0 / w0.sinh()).abs() < 1e-9, "exponential w0 = {w0}: {exp}");
        let logistic = Simulation::new(&degenerate("logistic", w0, 0.1, 1)).unwrap().eta_crit_theory().unwrap();
        assert!((logistic - 4.0 * w0 / (w0 / 2.0).tanh()).abs() < 1e-9, "logistic w0 = {w0}: {logistic}");
        // Exponential: 0.98 η_crit converges, 1.02 η_crit does not (the loss grows, then explodes).
        let below = run(&degenerate("exponential", w0, 0.98 * exp, 3000));
        assert!(below.phase == Phase::Lazy && (below.final_loss - 1.0).abs() < 1e-9, "w0 {w0} at 0.98: {below:?}");
        let above = run(&degenerate("exponential", w0, 1.02 * exp, 3000));
        assert_eq!(above.phase, Phase::Divergent, "w0 {w0} at 1.02: {above:?}");
        // Logistic: below it |w| shrinks (the loss falls), above it |w| grows to the 2-cycle.
        let below = run(&degenerate("logistic", w0, 0.98 * logistic, 3000));
        let above = run(&degenerate("logistic", w0, 1.02 * logistic, 3000));
        assert!(below.final_loss < below.loss0 && above.final_loss > above.loss0, "w0 {w0}: {below:?} / {above:?}");
    }
    // Null where no paper gives one: MSE, non-degenerate data, networks.
    assert_eq!(run(&shipped("catapult-uv", &[("train.steps", json!(1))])).eta_crit_theory, None);
    assert_eq!(run(&shipped("huang-ex2-exponential", &[("train.steps", json!(1))])).eta_crit_theory, None);
    assert_eq!(run(&shipped("huang-ex3-logistic", &[("train.steps", json!(1))])).eta_crit_theory, None);
    assert_eq!(run(&shipped("huang-exp-degenerate", &[("train.steps", json!(1))])).eta_crit_theory, Some(2.0 / 1f64.sinh()));
}
