//! The layered-network presets' notes are true (issue 15 item 7): every claim the notes of the
//! `deep-*` presets make is asserted here on a run of the shipped preset (with the note's own
//! variations), with as few steps as the claim needs.

use catapult_lab::engine::config::Preset;
use catapult_lab::engine::library;
use catapult_lab::engine::sim::{Phase, Sample, Simulation, Summary};
use serde_json::{Value, json};

fn load(name: &str, sets: &[(&str, Value)]) -> Preset {
    let overrides: Vec<(String, Value)> = sets.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    library::shipped(name, &overrides).expect("a shipped preset").expect("valid")
}

/// Every sample (step 0 first) and the summary of a shipped preset's run.
fn run(name: &str, sets: &[(&str, Value)]) -> (Vec<Sample>, Summary) {
    let mut sim = Simulation::new(&load(name, sets)).expect("builds");
    let mut samples = Vec::new();
    let summary = sim.run(|s| samples.push(s.clone()));
    (samples, summary)
}

/// The step of the largest loss and that loss over the start.
fn peak(samples: &[Sample]) -> (usize, f64) {
    let (i, s) = samples.iter().enumerate().max_by(|a, b| a.1.loss.total_cmp(&b.1.loss)).unwrap();
    (i, s.loss / samples[0].loss)
}

#[test]
fn deep_meltzer_3layer_catapults_and_switches_gates_off() {
    let (s, summary) = run("deep-meltzer-3layer", &[("train.steps", json!(100))]);
    let (at, height) = peak(&s);
    assert!(at <= 10 && (12.0..25.0).contains(&height), "peak at step {at}, {height} × L0");
    assert!(s[100].loss < 0.01 * s[0].loss, "{} vs {}", s[100].loss, s[0].loss);
    assert!((0.7..1.1).contains(&s[100].eta_lambda), "η·λ̂ at 100: {}", s[100].eta_lambda);
    assert!((0.6..0.8).contains(&s[100].kernel_change.unwrap()), "{:?}", s[100].kernel_change);
    let sp2 = |t: usize| s[t].layer_sparsity[1].unwrap();
    assert!((0.48..0.52).contains(&sp2(0)) && sp2(100) > 0.58, "sparsity_2 {} → {}", sp2(0), sp2(100));
    assert!(summary.phase != Phase::Divergent);
    // The lazy contrast at η·λ̂0 = 1.5.
    let (s, summary) = run("deep-meltzer-3layer", &[("train.eta_scaled", json!(1.5)), ("train.steps", json!(100))]);
    assert_eq!(summary.phase, Phase::Lazy);
    assert_eq!(peak(&s).0, 0);
    assert!((0.05..0.15).contains(&s[100].kernel_change.unwrap()), "{:?}", s[100].kernel_change);
    assert!((0.48..0.52).contains(&s[100].layer_sparsity[1].unwrap()));
}

#[test]
fn deep_relu_window_reaches_far_past_four() {
    let (s, summary) = run("deep-relu-window", &[]);
    assert_eq!(summary.phase, Phase::Catapult, "{summary:?}");
    assert!(peak(&s).1 > 100.0 && summary.final_loss < s[0].loss && summary.final_lambda < 0.5 * s[0].lambda_hat);
    // The sweep's ends of the window: 16 catapults, 18 diverges; the two-layer net diverges at 4.
    assert_eq!(run("deep-relu-window", &[("train.eta_scaled", json!(16.0))]).1.phase, Phase::Catapult);
    assert_eq!(run("deep-relu-window", &[("train.eta_scaled", json!(18.0))]).1.phase, Phase::Divergent);
    assert_eq!(run("deep-relu-window", &[("train.eta_scaled", json!(4.0)), ("model.depth", json!(1))]).1.phase, Phase::Divergent);
}

#[test]
fn deep_thesis_fig43_spike_lives_in_the_top_five() {
    let (s, _) = run("deep-thesis-fig43", &[("train.steps", json!(12))]);
    let (at, height) = peak(&s);
    assert!(at == 3 && (2.5..3.3).contains(&height), "peak at {at}, {height} × L0");
    let top = |t: usize| s[t].loss_top_s.unwrap();
    let rest = |t: usize| s[t].loss_rest_s.unwrap();
    assert!((0.2..0.26).contains(&top(0)) && (2.2..2.8).contains(&top(at)), "L_top {} → {}", top(0), top(at));
    for t in 1..=at + 2 {
        assert!(rest(t) < rest(t - 1), "L_rest rises at step {t}");
        assert!((top(t) + rest(t) - s[t].loss).abs() < 1e-9 * s[t].loss, "the split sums to L at step {t}");
    }
    assert!(s[5].lambda_hat < 0.5 * s[0].lambda_hat && (0.6..0.85).contains(&s[5].eta_lambda), "η·λ̂ at 5: {}", s[5].eta_lambda);
}

#[test]
fn deep_thesis_fig49b_batch_edges_sharpening_and_alignment() {
    let steps = ("train.steps", json!(100));
    let (s, _) = run("deep-thesis-fig49b", &[steps.clone()]);
    let above = s[1..=100].iter().filter(|x| x.batch_crit_eta.is_some_and(|c| x.eta > c)).count();
    assert!((15..=25).contains(&above), "batch 5 above its edge on {above} of 100 steps");
    let (at, height) = peak(&s);
    assert!(at == 22 && (2.2..2.8).contains(&height), "batch 5 peak at {at}, {height} × L0");
    let mut alignment = vec![s[100].agop_alignment.unwrap()];
    // Full batch: λ̂ sharpens until η·λ̂ passes 2 at step 15, then a catapult at step 25.
    let (s, _) = run("deep-thesis-fig49b", &[steps.clone(), ("train.batch_size", json!(0))]);
    let first = s.iter().position(|x| x.eta_lambda > 2.0).unwrap();
    let (at, height) = peak(&s);
    assert!(first == 15 && at == 25 && (2.3..2.9).contains(&height), "crosses at {first}, peak at {at}, {height} × L0");
    assert!(s[0].eta_lambda < 1.0 + 1e-9 && s[100].eta_lambda < 2.0);
    let full = s[100].agop_alignment.unwrap();
    for b in [10, 50] {
        let (s, _) = run("deep-thesis-fig49b", &[steps.clone(), ("train.batch_size", json!(b))]);
        alignment.push(s[100].agop_alignment.unwrap());
    }
    alignment.push(full);
    let expected = [0.25, 0.26, 0.54, 0.61];
    for (a, e) in alignment.iter().zip(expected) {
        assert!((a - e).abs() < 0.02, "AGOP alignments {alignment:?} vs {expected:?}");
    }
}

#[test]
fn deep_trio_network_and_nqm_catapult_linearized_diverges() {
    for approx in ["network", "quadratic"] {
        let (s, summary) = run("deep-network-nqm-linearized", &[("model.approx", json!(approx))]);
        let (at, height) = peak(&s);
        assert_eq!(summary.phase, Phase::Catapult, "{approx}");
        assert!(at == 4 && (5.0..7.5).contains(&height), "{approx}: peak at {at}, {height} × L0");
        assert!(summary.final_eta_lambda < 2.0, "{approx}");
    }
    let (_, summary) = run("deep-network-nqm-linearized", &[("model.approx", json!("linearized"))]);
    assert_eq!(summary.phase, Phase::Divergent);
    assert_eq!(summary.diverged_at, Some(15));
}
