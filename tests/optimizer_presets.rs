//! The optimizer and schedule presets of issue 18 do what their notes say (heavy ball below and
//! above its edge, the cyclic-rate catapult, the auto-catapult, the Fig 4.11-style optimizer
//! comparison), Adam settles at its edge of stability on a quadratic, and the schedule kinds
//! move η as documented (every change a row of `eta`).

use catapult_lab::engine::config::Preset;
use catapult_lab::engine::library;
use catapult_lab::engine::schedule::cyclic_value;
use catapult_lab::engine::sim::{Phase, Sample, Simulation, Summary};
use serde_json::{Value, json};

fn load(name: &str, sets: &[(&str, Value)]) -> Preset {
    let overrides: Vec<(String, Value)> = sets.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    library::shipped(name, &overrides).expect("a shipped preset").expect("valid")
}

fn run_preset(p: &Preset) -> (Vec<Sample>, Summary) {
    let mut sim = Simulation::new(p).expect("builds");
    let mut samples = Vec::new();
    let summary = sim.run(|s| samples.push(s.clone()));
    (samples, summary)
}

fn run(name: &str, sets: &[(&str, Value)]) -> (Vec<Sample>, Summary) {
    run_preset(&load(name, sets))
}

/// Catapults counted from the loss alone: the loss rises above twice a level and comes back
/// below it; the level is then the loss there.
fn count_catapults(samples: &[Sample]) -> usize {
    let (mut level, mut spiked, mut count) = (samples[0].loss, false, 0);
    for s in samples {
        if s.loss > 2.0 * level {
            spiked = true;
        }
        if spiked && s.loss < level {
            count += 1;
            spiked = false;
            level = s.loss;
        }
    }
    count
}

#[test]
fn heavy_ball_below_its_edge_converges_above_it_diverges_or_catapults() {
    let (samples, summary) = run("momentum-below-edge", &[]);
    let edge = summary.optimizer_edge;
    assert!((edge - 3.8).abs() < 1e-12 && (summary.eta_scaled / edge - 0.9).abs() < 1e-9, "{summary:?}");
    assert!(summary.eta_scaled > 2.0, "above GD's edge");
    let peak = summary.peak_loss / summary.loss0;
    assert!((7.0..8.5).contains(&peak), "the loss swings up to about 7.7 L0: {peak}");
    assert!(summary.final_loss < 1e-20 * summary.loss0, "{}", summary.final_loss);
    assert_eq!(summary.phase, Phase::Lazy);
    assert_eq!(summary.final_lambda, summary.lambda0, "the linearized kernel is frozen");
    assert!(samples.iter().all(|s| s.edge_sharpness == Some(edge / s.eta)), "the edge line 2(1+β)/η rides on every sample");

    let (_, summary) = run("momentum-above-edge", &[]);
    assert!((summary.eta_scaled / summary.optimizer_edge - 1.1).abs() < 1e-9);
    assert_eq!(summary.phase, Phase::Divergent);
    assert_eq!(summary.diverged_at, Some(15));
    let (_, summary) = run("momentum-above-edge", &[("model.approx", json!("network"))]);
    assert_eq!(summary.phase, Phase::Catapult);
    let peak = summary.peak_loss / summary.loss0;
    assert!((700.0..950.0).contains(&peak), "peak near 820 L0: {peak}");
    let fall = summary.lambda0 / summary.final_lambda;
    assert!((120.0..200.0).contains(&fall), "λ falls about 160-fold: {fall}");
    assert!(summary.final_loss < 1e-20 * summary.loss0);
}

#[test]
fn the_cyclic_rate_rising_phase_starts_a_catapult() {
    assert_eq!(cyclic_value(0, 200, 1.8, 3.0), 1.8);
    assert_eq!(cyclic_value(100, 200, 1.8, 3.0), 3.0);
    assert!((cyclic_value(50, 200, 1.8, 3.0) - 2.4).abs() < 1e-12 && (cyclic_value(150, 200, 1.8, 3.0) - 2.4).abs() < 1e-12);
    assert_eq!(cyclic_value(200, 200, 1.8, 3.0), 1.8);
    let (samples, summary) = run("cyclic-catapult", &[]);
    let lambda0 = summary.lambda0;
    // Row t carries the η of update t, made at step t − 1 (row 0: the η of the first update).
    for s in &samples {
        let expected = cyclic_value(s.step.saturating_sub(1), 200, 1.8, 3.0) / lambda0;
        assert!((s.eta - expected).abs() <= 1e-12 * expected, "step {}: η follows the triangle", s.step);
    }
    // The loss falls while η·λ̂ < 2 and turns up as soon as it passes 2 (one example: one mode).
    let crossing = samples.iter().find(|s| s.eta_lambda > 2.0).unwrap().step;
    assert!((15..=20).contains(&crossing), "η·λ̂ crosses 2 at step {crossing}");
    let lowest = samples[..60].iter().min_by(|a, b| a.loss.total_cmp(&b.loss)).unwrap().step;
    assert_eq!(lowest + 1, crossing, "the first update with η·λ̂ > 2 raises the loss");
    assert_eq!(summary.peak_step, 50);
    let peak = summary.peak_loss / summary.loss0;
    assert!((450.0..700.0).contains(&peak), "peak near 560 L0: {peak}");
    let fall = summary.final_lambda / lambda0;
    assert!((0.6..0.66).contains(&fall), "λ falls to about 0.63 λ0: {fall}");
    assert!(samples[60..].iter().all(|s| s.eta_lambda < 2.0), "later cycles stay below the edge");
    assert!(samples[60..].windows(2).all(|w| w[1].loss <= w[0].loss), "and the loss keeps falling");
    assert_eq!(summary.phase, Phase::Catapult);
}

#[test]
fn the_auto_catapult_keeps_catapulting_and_ends_far_above_four() {
    // On catapult-uv itself (the issue's test) and on the shipped preset.
    let (samples, summary) = run("catapult-uv", &[("train.schedule_kind", json!("auto_catapult"))]);
    assert!(count_catapults(&samples) >= 3, "{} catapults", count_catapults(&samples));
    assert!(summary.final_loss < 1e-6 * summary.loss0);
    assert!(summary.final_eta_scaled > 4.0, "ends at η·λ̂0 = {}", summary.final_eta_scaled);

    let (samples, summary) = run("auto-catapult", &[]);
    assert_eq!(count_catapults(&samples), 6);
    let changes: Vec<&Sample> = samples.windows(2).filter(|w| w[1].eta != w[0].eta).map(|w| &w[1]).collect();
    assert_eq!(changes.len(), 5, "at most auto_max = 5 changes, each a row of eta");
    for change in &changes {
        // The change sets η·λ̂ (λ̂ of the previous sample) to auto_factor.
        let before = &samples[change.step as usize - 1];
        assert!((change.eta * before.lambda_hat - 2.6).abs() < 1e-9, "step {}", change.step);
    }
    assert!(changes.windows(2).all(|w| w[1].eta > w[0].eta), "each new η is larger");
    assert!((180.0..240.0).contains(&summary.final_eta_scaled), "ends near 210: {}", summary.final_eta_scaled);
    assert_eq!(summary.final_loss, 0.0);
    assert_eq!(summary.phase, Phase::Catapult);
    // That final rate diverges from the start.
    let (_, fresh) = run("catapult-uv", &[("train.eta_scaled", json!(summary.final_eta_scaled))]);
    assert_eq!(fresh.phase, Phase::Divergent);
}

#[test]
fn adam_on_a_quadratic_settles_at_its_edge_of_stability() {
    // A linearized net (an exact quadratic) trained by Adam with β2 = 0.99: as the gradient
    // shrinks the preconditioner √v̂ + ε shrinks with it, the preconditioned sharpness rises
    // until η·λ_max(P⁻¹H) reaches (2 + 2β1)/(1 − β1) = 38 and hovers there (Cohen et al. 2022).
    // With the default β2 = 0.999 the preconditioner's memory is ~1000 steps and this small
    // quadratic converges to rounding (loss ~1e-34) first, at η·λ_max(P⁻¹H) ≈ 4.5 by step 4000:
    // the edge is reached only when v̂ can follow the gradient down.
    let p = catapult_lab::engine::config::parse_preset(
        br#"{"version": 1, "seed": 5, "model": {"kind": "two_layer", "width": 30, "a_neg": 0.5, "approx": "linearized"},
            "data": {"kind": "points", "x": [[1.0, 0.5], [-0.3, 1.2], [0.7, -0.8], [0.2, 0.9]], "y": [1.0, -0.5, 0.3, 0.8]},
            "loss": {"kind": "mse", "reduction": "mean"}, "train": {"optimizer": "adam", "beta2": 0.99, "eta": 0.01, "steps": 4000}}"#,
        "test",
        &[],
    )
    .unwrap();
    let (samples, summary) = run_preset(&p);
    let edge = summary.optimizer_edge;
    assert!((edge - 38.0).abs() < 1e-9);
    let tail: Vec<f64> = samples[3000..].iter().map(|s| s.eta * s.precond_sharpness.unwrap()).collect();
    let mean = tail.iter().sum::<f64>() / tail.len() as f64;
    assert!((mean / edge - 1.0).abs() < 0.1, "η·λ_max(P⁻¹H) settles at {mean}");
    assert!(samples[3000..].iter().all(|s| s.edge_sharpness.is_some_and(|e| (e * s.eta - 38.0).abs() < 1e-9)));
    // It got there from far below, and the loss is held up above its rounding floor by the edge.
    assert!(samples[1].eta * samples[1].precond_sharpness.unwrap() < 1.0);
    assert!(summary.final_loss > 1e-12);
}

#[test]
fn the_fig_4_11_comparison_ranks_test_loss_as_agop_alignment() {
    let rates = [("gd", 0.5, 0.157, 0.974), ("momentum", 0.05, 0.161, 0.972), ("rmsprop", 0.001, 0.61, 0.82), ("adagrad", 0.01, 0.69, 0.76), ("adam", 0.001, 0.73, 0.72)];
    let mut rows = Vec::new();
    for (optimizer, eta, test_loss, alignment) in rates {
        let (samples, summary) = run("optimizers-fig411", &[("train.optimizer", json!(optimizer)), ("train.eta", json!(eta))]);
        let last = samples.last().unwrap();
        let (measured_loss, measured_alignment) = (last.test_loss.unwrap(), last.agop_alignment.unwrap());
        assert!((measured_loss / test_loss - 1.0).abs() < 0.02, "{optimizer}: test loss {measured_loss}");
        assert!((measured_alignment - alignment).abs() < 0.006, "{optimizer}: alignment {measured_alignment}");
        assert_eq!(summary.steps_run, 300);
        assert_eq!(summary.optimizer.key(), optimizer);
        if summary.optimizer.adaptive() {
            let edge = last.edge_sharpness.unwrap();
            assert!(last.precond_sharpness.unwrap() < 0.1 * edge, "{optimizer}: far below its edge");
        }
        rows.push((measured_loss, measured_alignment));
    }
    for pair in rows.windows(2) {
        assert!(pair[0].0 < pair[1].0 && pair[0].1 > pair[1].1, "higher alignment, lower test loss: {rows:?}");
    }
}
