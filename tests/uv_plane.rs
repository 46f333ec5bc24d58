//! The u/v phase plane for more than one example (SPEC §4, corrected): h² is taken along the top
//! kernel eigenvector p̂1, h² = c_m² ‖Xᵀp̂1‖²/s_d², so duplicating the data leaves u unchanged and
//! the one-example map still holds; in the d = 1 multi-example NQM each sign class is an exact
//! one-example system and the map with y ≠ 0 holds for it.

use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::engine::library;
use catapult_lab::engine::model::dot;
use catapult_lab::engine::sim::{Phase, Sample, Simulation};

fn preset(json: &str) -> Preset {
    parse_preset(json.as_bytes(), "test", &[]).expect("valid test preset")
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

fn samples_of(sim: &mut Simulation) -> Vec<Sample> {
    let mut out = Vec::new();
    sim.run(|s| out.push(s.clone()));
    out
}

/// One example x = 1 against the same example four times (mean reduction): the dynamics are
/// the same, so u must be too, and the exact map u' = (1 − v + u)² u, v' = v − u(4 − v) holds.
#[test]
fn u_is_invariant_under_duplicating_the_data() {
    for (a_neg, approx) in [(1.0, "network"), (0.0, "quadratic")] {
        let model = format!(r#""model": {{"kind": "two_layer", "width": 1000, "a_neg": {a_neg}, "approx": "{approx}"}}"#);
        let one = preset(&format!(
            r#"{{"version": 1, "seed": 5, {model}, "data": {{"kind": "single", "x": [1.0], "y": 0.0}},
                "loss": {{"kind": "mse", "reduction": "mean"}}, "train": {{"eta_scaled": 2.6, "steps": 60}}}}"#
        ));
        let mut single = Simulation::new(&one).unwrap();
        let eta = single.eta();
        let four = preset(&format!(
            r#"{{"version": 1, "seed": 5, {model}, "data": {{"kind": "points", "x": [[1.0], [1.0], [1.0], [1.0]], "y": [0.0, 0.0, 0.0, 0.0]}},
                "loss": {{"kind": "mse", "reduction": "mean"}}, "train": {{"eta": {eta:e}, "steps": 60}}}}"#
        ));
        let mut copies = Simulation::new(&four).unwrap();
        let (a, b) = (samples_of(&mut single), samples_of(&mut copies));
        assert_eq!(copies.summary().phase, Phase::Catapult, "{approx}");
        assert_eq!(a.len(), b.len());
        for (s1, s4) in a.iter().zip(&b) {
            // The one-example run takes the fused path, the copies the general one: the same
            // dynamics up to rounding (1e-14 at the start, larger only once the loss is ~0).
            let tiny = |a: f64, b: f64, scale: f64| (a - b).abs() < 1e-12 * scale;
            assert!(rel_err(s1.loss, s4.loss) < 1e-9 || tiny(s1.loss, s4.loss, a[0].loss), "{approx} step {}: same dynamics", s1.step);
            assert!(rel_err(s1.v, s4.v) < 1e-12, "{approx} step {}: same v", s1.step);
            assert!(rel_err(s1.u, s4.u) < 1e-9 || tiny(s1.u, s4.u, a[0].u), "{approx} step {}: u {} vs {} for 4 copies", s1.step, s1.u, s4.u);
        }
        for w in b.windows(2) {
            let (u, v) = (w[0].u, w[0].v);
            let expected_u = (1.0 - v + u).powi(2) * u;
            assert!(rel_err(w[1].u, expected_u) < 1e-9 || (w[1].u - expected_u).abs() < 1e-15, "{approx} copies step {}: u' {} vs {expected_u}", w[1].step, w[1].u);
            assert!((w[1].v - (v - u * (4.0 - v))).abs() < 1e-9, "{approx} copies step {}: v'", w[1].step);
        }
    }
}

/// d = 1 multi-example NQM (zhu-multi-example-nqm at η·λ̂0 = 2.5, a catapult of the top class):
/// each sign class (p1 = x on that class, 0 elsewhere) is the one-example system with
/// ‖x‖² → ‖p1‖², so with r̃ = ⟨r, p̂1⟩,
/// ỹ = ⟨y, p̂1⟩, h² = c² ‖p1‖², u = η_e² h² r̃², w = η_e² h² r̃ ỹ and v = η λ̂₊ (λ̂₊ = p̂1ᵀK̂p̂1):
/// v' = v − u(4 − v) − 4w and u' = (1 − v + u + w)² u. While that class is the top one, the
/// program's u is this u.
#[test]
fn multi_example_nqm_top_class_follows_the_exact_map() {
    let overrides = [("train.eta_scaled".to_string(), serde_json::json!(2.5)), ("train.steps".to_string(), serde_json::json!(80))];
    let p = library::shipped("zhu-multi-example-nqm", &overrides).unwrap().unwrap();
    // Both sign classes are exact one-example systems; the negative one is the top class here.
    let mut top_classes = 0;
    for positive in [true, false] {
        let mut sim = Simulation::new(&p).unwrap();
        let (n, m) = (sim.data().n, p.model.width as f64);
        let s = 1.0 / n as f64;
        let eta = sim.eta();
        let eta_e = 2.0 * s * eta;
        let p1: Vec<f64> = sim.data().x.iter().map(|&x| if (x >= 0.0) == positive { x } else { 0.0 }).collect();
        let norm_p1 = dot(&p1, &p1).sqrt();
        let p1_hat: Vec<f64> = p1.iter().map(|x| x / norm_p1).collect();
        let h2 = norm_p1 * norm_p1 / m;
        let y_tilde = dot(&sim.data().y, &p1_hat);
        // (u, v, w, λ̂ of the class) of the class system at the current state.
        let class_state = |sim: &Simulation| {
            let data = sim.data();
            let residual: Vec<f64> = (0..n).map(|i| sim.model().output_at(data.row(i)) - data.y[i]).collect();
            let mut kernel = vec![0.0; n * n];
            sim.model().kernel(data, &mut kernel);
            let k_p: Vec<f64> = (0..n).map(|i| dot(&kernel[i * n..(i + 1) * n], &p1_hat)).collect();
            let lambda_class = 2.0 * s * dot(&p1_hat, &k_p);
            let r_tilde = dot(&residual, &p1_hat);
            let u = eta_e * eta_e * h2 * r_tilde * r_tilde;
            let w = eta_e * eta_e * h2 * r_tilde * y_tilde;
            (u, eta * lambda_class, w, lambda_class)
        };
        let mut state = class_state(&sim);
        let is_top = rel_err(state.3, sim.lambda0()) < 1e-9;
        let mut peak_v = state.1;
        let mut checked_u = 0;
        while let Some(sample) = sim.step() {
            let (u, v, w, _) = state;
            let next = class_state(&sim);
            assert!((next.1 - (v - u * (4.0 - v) - 4.0 * w)).abs() < 1e-6, "step {}: v' {} vs {}", sample.step, next.1, v - u * (4.0 - v) - 4.0 * w);
            let expected_u = (1.0 - v + u + w).powi(2) * u;
            assert!(rel_err(next.0, expected_u) < 1e-6 || (next.0 - expected_u).abs() < 1e-12, "step {}: u'", sample.step);
            if is_top && next.3 > 1.0001 * sample.lambda_hat_2 && (next.3 - sample.lambda_hat).abs() < 1e-9 * next.3 {
                assert!(rel_err(sample.u, next.0) < 1e-9 || (sample.u - next.0).abs() < 1e-15, "step {}: the program's u {} vs the class's {}", sample.step, sample.u, next.0);
                checked_u += 1;
            }
            peak_v = peak_v.max(next.1);
            state = next;
        }
        if is_top {
            top_classes += 1;
            assert!(state.1 < 2.0, "the top class ended below v = 2: {}", state.1);
            assert!(checked_u >= 10, "the program's u was compared on {checked_u} steps");
            // v starts at η·λ̂ = 2.5 up to the rounding of λ̂ (the solver's) against λ̂₊ (here).
            assert!(peak_v >= 2.5 * (1.0 - 1e-12), "through a catapult: peak v {peak_v}");
            let summary = sim.summary();
            assert!(summary.peak_loss > 2.0 * summary.loss0, "{summary:?}");
        }
    }
    assert_eq!(top_classes, 1);
}
