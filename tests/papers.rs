//! The papers' closed forms (SPEC §6): Huang et al. 2022's exact reduced dynamics on degenerate
//! data (linear predictor and one-hidden-layer linear net, eq. 8 with the corrected factor), the
//! logistic lazy edge η = 8 and its 2-cycle ±w*, and Meltzer–Liu's weight-norm identity for
//! homogeneous nets.

use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::engine::sim::{Phase, Simulation};

fn preset(json: &str) -> Preset {
    parse_preset(json.as_bytes(), "test", &[]).expect("valid test preset")
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

/// Degenerate data: x = 1 twice with labels +1 and −1 (Huang et al., Assumption 3).
fn degenerate(model: &str, loss: &str, train: &str, x: &str) -> Preset {
    preset(&format!(
        r#"{{"version": 1, "seed": 1, "model": {model},
            "data": {{"kind": "points", "x": [{x}, {x}], "y": [1.0, -1.0]}},
            "loss": {{"kind": "{loss}", "reduction": "mean"}}, "train": {train}}}"#
    ))
}

/// L'(f) on degenerate data with mean reduction: exp → sinh f, logistic → ½ tanh(f/2).
fn loss_slope(loss: &str, f: f64) -> f64 {
    if loss == "exponential" { f.sinh() } else { 0.5 * (0.5 * f).tanh() }
}

fn degenerate_loss(loss: &str, f: f64) -> f64 {
    if loss == "exponential" { f.cosh() } else { 0.5 * ((1.0 + (-f).exp()).ln() + (1.0 + f.exp()).ln()) }
}

#[test]
fn linear_predictor_reduced_dynamics_match_gd() {
    for (loss, eta) in [("exponential", 1.5), ("exponential", 1.8), ("logistic", 6.0), ("logistic", 10.0)] {
        let p = degenerate(r#"{"kind": "linear_predictor", "w0": [0.9]}"#, loss, &format!(r#"{{"eta": {eta}, "steps": 60}}"#), "[1.0]");
        let mut sim = Simulation::new(&p).unwrap();
        let mut w: f64 = 0.9;
        while let Some(s) = sim.step() {
            w -= eta * loss_slope(loss, w);
            assert!(rel_err(s.loss, degenerate_loss(loss, w)) < 1e-12, "{loss} η={eta} step {}: {} vs {}", s.step, s.loss, degenerate_loss(loss, w));
        }
    }
}

/// Eq. 8 of Huang et al. 2022 with g = L'(f): f' = f − η g λ + η² g² h² f,
/// λ' = λ(1 + η² g² h²) − 4 η g h² f, λ = ‖∇f‖² (half of λ_max(K): the two rows of J coincide)
/// and h² = 1/m for the one-hidden-layer linear net f = m^{-1/2} Σ v_k u_kᵀx with ‖x‖ = 1.
#[test]
fn one_hidden_layer_linear_net_matches_eq_8() {
    for (loss, scale, width, eta_scaled) in [("exponential", 0.5f64, 1000, 2.2), ("logistic", 1.0, 100, 4.0), ("exponential", 0.5, 1000, 1.5)] {
        let model = format!(
            r#"{{"kind": "two_layer", "width": {width}, "a_neg": 1.0, "input_norm": "none", "init_scale": {}}}"#,
            scale.sqrt()
        );
        let p = degenerate(&model, loss, &format!(r#"{{"eta_scaled": {eta_scaled}, "steps": 300}}"#), "[1.0, 0.0]");
        let mut sim = Simulation::new(&p).unwrap();
        let eta = sim.eta();
        let h2 = 1.0 / width as f64;
        let first = sim.first_sample().clone();
        let mut lambda = first.lambda_raw / 2.0;
        // |f0| from the loss. The map is odd in f (g is odd), so +|f0| and −|f0| give the same
        // loss and λ paths: the sign of f0 is not needed.
        let mut f = if loss == "exponential" { first.loss.acosh() } else { solve_logistic(first.loss) };
        let mut peak = first.loss;
        while let Some(s) = sim.step() {
            let g = loss_slope(loss, f);
            let (f_next, lambda_next) =
                (f - eta * g * lambda + eta * eta * g * g * h2 * f, lambda * (1.0 + eta * eta * g * g * h2) - 4.0 * eta * g * h2 * f);
            f = f_next;
            lambda = lambda_next;
            assert!(rel_err(s.lambda_raw / 2.0, lambda) < 1e-9, "{loss} step {}: λ {} vs {}", s.step, s.lambda_raw / 2.0, lambda);
            assert!(rel_err(s.loss, degenerate_loss(loss, f)) < 1e-9, "{loss} step {}: L {} vs {}", s.step, s.loss, degenerate_loss(loss, f));
            peak = peak.max(s.loss);
        }
        let last = sim.last_sample();
        if loss == "logistic" {
            assert_eq!(sim.summary().phase, Phase::Catapult, "logistic: the loss rose, fell below its start, λ̂ ended lower");
            assert!(peak > 2.0 * first.loss && last.lambda_raw < first.lambda_raw);
        }
    }
}

/// Inverts L(f) = ½[log(1+e^{−f}) + log(1+e^{f})] for f ≥ 0 by bisection.
fn solve_logistic(loss: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 50.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if degenerate_loss("logistic", mid) < loss { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

/// Logistic loss, mean reduction, degenerate data: lazy below η = 8 = 2/L''(0); above it a
/// 2-cycle ±w* with w* = (η/4) tanh(w*/2), recognized as oscillating.
#[test]
fn logistic_lazy_edge_and_two_cycle() {
    let run = |eta: f64| {
        let p = degenerate(r#"{"kind": "linear_predictor", "w0": [0.05]}"#, "logistic", &format!(r#"{{"eta": {eta}, "steps": 3000}}"#), "[1.0]");
        let mut sim = Simulation::new(&p).unwrap();
        let summary = sim.run(|_| {});
        (summary, sim.last_sample().clone())
    };
    let (below, _) = run(7.5);
    assert_eq!(below.phase, Phase::Lazy, "{below:?}");
    assert!((below.final_loss - 2f64.ln()).abs() < 1e-9, "converges to log 2");
    for eta in [9.0f64, 10.0, 12.0] {
        let (above, last) = run(eta);
        assert_eq!(above.phase, Phase::Oscillating, "η = {eta}: {above:?}");
        // w* = (η/4) tanh(w*/2) by fixed-point iteration.
        let mut w_star: f64 = 1.0;
        for _ in 0..10_000 {
            w_star = eta / 4.0 * (w_star / 2.0).tanh();
        }
        assert!(w_star > 0.1);
        assert!(rel_err(last.loss, degenerate_loss("logistic", w_star)) < 1e-9, "η = {eta}: cycle at ±{w_star}");
        assert!((last.weight_norm_sq.sqrt() - w_star).abs() < 1e-9, "|w| = w* on the cycle");
    }
}

/// Meltzer–Liu: for a homogeneous two-layer net on one example with y = 0,
/// ‖w'‖² = ‖w‖² + η_e f² (η_e λ − 4), η_e = 2sη, λ = λ_max(K), exactly at every step.
#[test]
fn homogeneous_net_weight_norm_identity() {
    for (a_neg, reduction, eta_scaled, x) in
        [(0.5, "half_mean", 2.5, "[1.0]"), (0.75, "half_mean", 3.0, "[1.0]"), (0.0, "sum_half", 2.5, "[4.0]"), (1.0, "mean", 4.5, "[1.0, -2.0]")]
    {
        let p = preset(&format!(
            r#"{{"version": 1, "seed": 4,
                "model": {{"kind": "two_layer", "width": 1024, "a_neg": {a_neg}}},
                "data": {{"kind": "single", "x": {x}, "y": 0.0}},
                "loss": {{"kind": "mse", "reduction": "{reduction}"}},
                "train": {{"eta_scaled": {eta_scaled}, "steps": 200}}}}"#
        ));
        let mut sim = Simulation::new(&p).unwrap();
        let s = if reduction == "sum_half" { 0.5 } else if reduction == "mean" { 1.0 } else { 0.5 };
        let eta_e = 2.0 * s * sim.eta();
        let mut prev = sim.first_sample().clone();
        let mut steps = 0;
        while let Some(next) = sim.step() {
            let f_sq = prev.loss / s;
            let predicted = prev.weight_norm_sq + eta_e * f_sq * (eta_e * prev.lambda_raw - 4.0);
            assert!(
                (next.weight_norm_sq - predicted).abs() < 1e-9 * prev.weight_norm_sq.max(next.weight_norm_sq),
                "a_neg {a_neg} step {}: {} vs {predicted}",
                next.step,
                next.weight_norm_sq
            );
            prev = next;
            steps += 1;
        }
        assert!(steps > 3, "a_neg {a_neg}: ran {steps} steps");
    }
}

/// Huang et al. 2025: a mean-field two-layer linear net from a small init learns in two
/// stages (a plateau, then a drop) and its first layer aligns with Xᵀy: ρ/v̄ rises to √γ_y,
/// γ_y = yᵀXXᵀy. The kernel grows ~10⁴× meanwhile, which is not a divergence.
#[test]
fn mean_field_small_init_two_stages_and_alignment() {
    let preset = catapult_lab::engine::library::shipped("huang2025-two-stage", &[]).unwrap().unwrap();
    let mut sim = Simulation::new(&preset).unwrap();
    let xt_y = sim.data().xt_y();
    let sqrt_gamma_y = xt_y.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut samples = vec![sim.first_sample().clone()];
    let summary = sim.run(|s| samples.push(s.clone()));
    assert_ne!(summary.phase, Phase::Divergent, "{summary:?}");
    let l0 = samples[0].loss;
    assert!(samples[100].loss > 0.99 * l0, "plateau: {} at step 100", samples[100].loss);
    assert!(summary.final_loss < 0.7 * l0, "then a drop: {}", summary.final_loss);
    assert!(summary.final_lambda > 1e3 * summary.lambda0, "the kernel grew from the small init");
    // Stage 1 aligns every neuron with Xᵀy, so ρ/v̄ climbs to √γ_y by the end of the drop;
    // afterwards it relaxes toward the least-squares direction (not Xᵀy for unwhitened data).
    let ratios: Vec<f64> = samples.iter().filter_map(|s| Some(s.rho? / s.v_mean?)).filter(|r| r.is_finite()).collect();
    let peak = ratios.iter().fold(0.0f64, |a, &r| a.max(r.abs()));
    eprintln!("max rho/v = {peak}, sqrt(gamma_y) = {sqrt_gamma_y}");
    assert!(rel_err(peak, sqrt_gamma_y) < 0.03, "ρ/v̄ reaches {peak} vs √γ_y = {sqrt_gamma_y}");
}
