//! The optimizers of SPEC §12 against closed forms: heavy ball and Nesterov converge just below
//! and diverge just above their derived edges on a quadratic (the linearized net); Adam's update
//! equals a hand-written reference; the exact Hessian-vector products equal finite differences
//! of the gradient and an explicitly formed Hessian; the preconditioned sharpness equals the
//! dense eigenvalue of P^{-1/2}HP^{-1/2}; plain GD is untouched by the optimizer machinery.

use catapult_lab::engine::config::{OptimizerKind, Preset, parse_preset};
use catapult_lab::engine::data;
use catapult_lab::engine::kernel::dense_top2;
use catapult_lab::engine::model::{self, Model};
use catapult_lab::engine::optim::edge_of;
use catapult_lab::engine::sim::{Phase, Sample, Simulation, Status};

fn preset(json: &str) -> Preset {
    parse_preset(json.as_bytes(), "test", &[]).expect("test preset is valid")
}

const POINTS: &str = r#""data": {"kind": "points", "x": [[1.0, 0.5], [-0.3, 1.2], [0.7, -0.8], [0.2, 0.9]], "y": [1.0, -0.5, 0.3, 0.8]}"#;

/// A small leaky two-layer net on four points in d = 2, mean-reduced MSE.
fn small_net(approx: &str, train: &str) -> Preset {
    preset(&format!(
        r#"{{"version": 1, "seed": 5, "model": {{"kind": "two_layer", "width": 30, "a_neg": 0.5, "approx": "{approx}"}}, {POINTS},
            "loss": {{"kind": "mse", "reduction": "mean"}}, "train": {train}}}"#
    ))
}

fn run_all(p: &Preset) -> (Vec<Sample>, Simulation) {
    let mut sim = Simulation::new(p).unwrap();
    let mut samples = Vec::new();
    sim.run(|s| samples.push(s.clone()));
    (samples, sim)
}

/// Runs momentum on the linearized net (an exact quadratic, Hessian 2sJᵀJ with top eigenvalue
/// λ̂0) at `factor` × the edge; returns (final loss / L0, diverged).
fn momentum_at(beta: f64, nesterov: bool, factor: f64) -> (f64, bool) {
    let edge = edge_of(OptimizerKind::Momentum, beta, nesterov, 0.9);
    let train = format!(r#"{{"optimizer": "momentum", "beta": {beta}, "nesterov": {nesterov}, "eta_scaled": {}, "steps": 3000}}"#, factor * edge);
    let (samples, sim) = run_all(&small_net("linearized", &train));
    let diverged = matches!(sim.status(), Status::Diverged(_));
    (samples.last().unwrap().loss / samples[0].loss, diverged)
}

#[test]
fn heavy_ball_converges_below_and_diverges_above_two_times_one_plus_beta() {
    for beta in [0.5, 0.9] {
        assert_eq!(edge_of(OptimizerKind::Momentum, beta, false, 0.9), 2.0 * (1.0 + beta));
        let (below, diverged) = momentum_at(beta, false, 0.97);
        assert!(!diverged && below < 1e-3, "β = {beta}: at 0.97 × edge the loss falls to {below:e} L0");
        let (_, diverged) = momentum_at(beta, false, 1.03);
        assert!(diverged, "β = {beta}: at 1.03 × edge the run diverges");
    }
}

#[test]
fn nesterov_converges_below_and_diverges_above_its_derived_edge() {
    for beta in [0.5, 0.9] {
        let edge = edge_of(OptimizerKind::Momentum, beta, true, 0.9);
        assert!((edge - 2.0 * (1.0 + beta) / (1.0 + 2.0 * beta)).abs() < 1e-15);
        let (below, diverged) = momentum_at(beta, true, 0.97);
        assert!(!diverged && below < 1e-3, "β = {beta}: at 0.97 × edge the loss falls to {below:e} L0");
        let (_, diverged) = momentum_at(beta, true, 1.03);
        assert!(diverged, "β = {beta}: at 1.03 × edge the run diverges");
        // Heavy ball's edge is above Nesterov's: the same rate is stable there.
        let (heavy, diverged) = momentum_at(beta, false, 1.03 * edge / (2.0 * (1.0 + beta)));
        assert!(!diverged && heavy < 1e-3, "heavy ball at 1.03 × Nesterov's edge converges");
    }
}

#[test]
fn nesterov_edge_is_where_the_companion_matrix_reaches_the_unit_circle() {
    // x = ηb, state (w, x) ↦ [[1 − a(1+β), −β²], [a, β]]: spectral radius crosses 1 at the edge.
    let radius = |a: f64, beta: f64| {
        let (t, d) = (1.0 + beta - a * (1.0 + beta), beta * (1.0 - a));
        let disc = t * t - 4.0 * d;
        if disc >= 0.0 { ((t.abs() + disc.sqrt()) / 2.0).max(((t.abs() - disc.sqrt()) / 2.0).abs()) } else { d.sqrt() }
    };
    for beta in [0.1, 0.5, 0.9, 0.99] {
        let edge = edge_of(OptimizerKind::Momentum, beta, true, 0.9);
        assert!(radius(edge * (1.0 - 1e-9), beta) < 1.0 && radius(edge * (1.0 + 1e-9), beta) > 1.0, "β = {beta}");
    }
}

/// L's gradient at the model's current parameters (mean MSE).
fn gradient(model: &mut dyn Model, data: &data::Dataset) -> Vec<f64> {
    let mut f = vec![0.0; data.n];
    model.forward(data, &mut f);
    let z: Vec<f64> = f.iter().zip(&data.y).map(|(f, y)| 2.0 * (f - y) / data.n as f64).collect();
    let mut g = vec![0.0; model.n_params()];
    model.vjp(data, &z, &mut g);
    g
}

/// (z = s ℓ', curvature = s ℓ'') of mean MSE at the model's current outputs.
fn loss_weights(model: &mut dyn Model, data: &data::Dataset) -> (Vec<f64>, Vec<f64>) {
    let mut f = vec![0.0; data.n];
    model.forward(data, &mut f);
    let n = data.n as f64;
    (f.iter().zip(&data.y).map(|(f, y)| 2.0 * (f - y) / n).collect(), vec![2.0 / n; data.n])
}

/// The Hessian, column by column from `hvp`.
fn hessian_by_hvp(model: &mut dyn Model, data: &data::Dataset) -> Vec<f64> {
    let p = model.n_params();
    let (z, curvature) = loss_weights(model, data);
    let (mut h, mut e, mut col, mut scratch) = (vec![0.0; p * p], vec![0.0; p], vec![0.0; p], Vec::new());
    for j in 0..p {
        e.iter_mut().for_each(|x| *x = 0.0);
        e[j] = 1.0;
        model.hvp(data, &z, &curvature, &e, &mut col, &mut scratch);
        for i in 0..p {
            h[i * p + j] = col[i];
        }
    }
    h
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |a, x| a.max(x.abs()))
}

/// H·dir by `hvp` against the central difference of the gradient along dir.
fn check_hvp_against_finite_differences(p: &Preset, tolerance: f64, trained: impl Fn(usize) -> bool) {
    let (data, _) = data::build(&p.data, p.seed).unwrap();
    let mut net = model::build(p, &data);
    // Move off the init so the residual term is not special.
    let g = gradient(net.as_mut(), &data);
    net.add_to_params(-0.3, &g);
    let n_params = net.n_params();
    let (z, curvature) = loss_weights(net.as_mut(), &data);
    for seed in 0..3u64 {
        // A frozen layer is a constant: directions along it are left out.
        let dir: Vec<f64> = (0..n_params).map(|j| if trained(j) { (((j as u64 * 7919 + seed * 104729) % 997) as f64 / 498.5) - 1.0 } else { 0.0 }).collect();
        let (mut exact, mut scratch) = (vec![0.0; n_params], Vec::new());
        net.hvp(&data, &z, &curvature, &dir, &mut exact, &mut scratch);
        // The loss is a quartic in w: the central difference's error is O(h²).
        let h = 1e-6;
        net.add_to_params(h, &dir);
        let plus = gradient(net.as_mut(), &data);
        net.add_to_params(-2.0 * h, &dir);
        let minus = gradient(net.as_mut(), &data);
        net.add_to_params(h, &dir);
        let fd: Vec<f64> = plus.iter().zip(&minus).map(|(a, b)| (a - b) / (2.0 * h)).collect();
        let diff: Vec<f64> = exact.iter().zip(&fd).map(|(a, b)| a - b).collect();
        assert!(max_abs(&diff) <= tolerance * max_abs(&fd), "{}: |Hv − FD| = {:e} of {:e}", p.describe_model(), max_abs(&diff), max_abs(&fd));
    }
}

#[test]
fn hessian_vector_products_equal_finite_differences_of_the_gradient() {
    for approx in ["network", "quadratic", "linearized"] {
        check_hvp_against_finite_differences(&small_net(approx, r#"{"eta": 0.1}"#), 1e-6, |_| true);
    }
    let frozen = small_net("network", r#"{"eta": 0.1, "frozen_layers": [2]}"#);
    check_hvp_against_finite_differences(&frozen, 1e-6, |j| j < 60);
    let quadratic = preset(&format!(r#"{{"version": 1, "seed": 2, "model": {{"kind": "quadratic", "gamma": 0.3}}, {POINTS}, "loss": {{"kind": "mse", "reduction": "mean"}}, "train": {{"eta": 0.1}}}}"#));
    check_hvp_against_finite_differences(&quadratic, 1e-6, |_| true);
    let linear = preset(&format!(r#"{{"version": 1, "model": {{"kind": "linear_predictor", "w0": [0.3, -0.2]}}, {POINTS}, "loss": {{"kind": "mse", "reduction": "mean"}}, "train": {{"eta": 0.1}}}}"#));
    check_hvp_against_finite_differences(&linear, 1e-6, |_| true);
}

#[test]
fn hessian_vector_products_equal_an_explicitly_formed_hessian() {
    // H = Σ_i (2/n) J_iᵀJ_i + Σ_i (2/n) r_i ∇²f_i with ∇²f_i's only blocks
    // ∂²f_i/∂u_kj∂v_k = c σ'(z_ki) x_ij / s_d, written out here entry by entry.
    let p = small_net("network", r#"{"eta": 0.1}"#);
    let (data, _) = data::build(&p.data, p.seed).unwrap();
    let mut net = model::build(&p, &data);
    let g = gradient(net.as_mut(), &data);
    net.add_to_params(-0.3, &g);
    let (m, d, n) = (p.model.width, data.d, data.n);
    let n_params = net.n_params();
    assert_eq!(n_params, m * (d + 1));
    assert!(n_params <= 200);
    let (z, _) = loss_weights(net.as_mut(), &data);
    let w = net.params().to_vec();
    let (c, s_inv) = (1.0 / (m as f64).sqrt(), 1.0 / (d as f64).sqrt());
    let mut explicit = vec![0.0; n_params * n_params];
    let mut row = vec![0.0; n_params];
    for i in 0..n {
        let x = data.row(i);
        net.jacobian_row(x, &mut row);
        for a in 0..n_params {
            for b in 0..n_params {
                explicit[a * n_params + b] += 2.0 / n as f64 * row[a] * row[b];
            }
        }
        for k in 0..m {
            let pre: f64 = (0..d).map(|j| w[k * d + j] * x[j]).sum::<f64>() * s_inv;
            let gate = if pre >= 0.0 { 1.0 } else { p.model.a_neg };
            for j in 0..d {
                let entry = z[i] * c * gate * x[j] * s_inv;
                explicit[(k * d + j) * n_params + m * d + k] += entry;
                explicit[(m * d + k) * n_params + k * d + j] += entry;
            }
        }
    }
    let by_hvp = hessian_by_hvp(net.as_mut(), &data);
    let diff: Vec<f64> = by_hvp.iter().zip(&explicit).map(|(a, b)| a - b).collect();
    assert!(max_abs(&diff) <= 1e-8 * max_abs(&explicit), "|H_hvp − H| = {:e}", max_abs(&diff));
    // The residual term is really there (a spike's λ_H − λ̂).
    assert!(max_abs(&z) > 1e-3);
}

/// Adam by hand: m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², w ← w − η m̂/(√v̂ + ε).
#[test]
fn adam_matches_a_hand_written_reference_and_its_preconditioned_sharpness_the_dense_eigenvalue() {
    let (eta, beta1, beta2, eps) = (0.01, 0.8, 0.99, 1e-8);
    let p = small_net("network", &format!(r#"{{"optimizer": "adam", "beta1": {beta1}, "beta2": {beta2}, "eps": {eps}, "eta": {eta}, "steps": 20}}"#));
    let mut sim = Simulation::new(&p).unwrap();
    let (data, _) = data::build(&p.data, p.seed).unwrap();
    let mut reference = model::build(&p, &data);
    let n_params = reference.n_params();
    let (mut m, mut v) = (vec![0.0; n_params], vec![0.0; n_params]);
    let mut last = None;
    for t in 1..=20i32 {
        let g = gradient(reference.as_mut(), &data);
        let mut step = vec![0.0; n_params];
        for j in 0..n_params {
            m[j] = beta1 * m[j] + (1.0 - beta1) * g[j];
            v[j] = beta2 * v[j] + (1.0 - beta2) * g[j] * g[j];
            let m_hat = m[j] / (1.0 - beta1.powi(t));
            let v_hat = v[j] / (1.0 - beta2.powi(t));
            step[j] = m_hat / (v_hat.sqrt() + eps);
        }
        reference.add_to_params(-eta, &step);
        last = sim.step();
        let diff: Vec<f64> = sim.model().params().iter().zip(reference.params()).map(|(a, b)| a - b).collect();
        assert!(max_abs(&diff) <= 1e-12 * max_abs(reference.params()), "step {t}: |Δw| = {:e}", max_abs(&diff));
    }
    // P = √v̂ + ε from the reference; the dense top eigenvalue of P^{-1/2} H P^{-1/2}.
    let correction = 1.0 - beta2.powi(20);
    let inv_sqrt: Vec<f64> = v.iter().map(|v| 1.0 / ((v / correction).sqrt() + eps).sqrt()).collect();
    let h = hessian_by_hvp(reference.as_mut(), &data);
    let mut scaled = vec![0.0; n_params * n_params];
    for a in 0..n_params {
        for b in 0..n_params {
            scaled[a * n_params + b] = inv_sqrt[a] * h[a * n_params + b] * inv_sqrt[b];
        }
    }
    let dense = dense_top2(&scaled, n_params).values[0];
    let measured = last.unwrap().precond_sharpness.expect("Adam reports the preconditioned sharpness");
    assert!((measured - dense).abs() <= 1e-8 * dense.abs(), "Lanczos {measured} vs dense {dense}");
    let summary = sim.summary();
    assert_eq!(summary.optimizer, OptimizerKind::Adam);
    assert!((summary.optimizer_edge - (2.0 + 2.0 * beta1) / (1.0 - beta1)).abs() < 1e-12);
    assert_eq!(summary.final_precond_sharpness, Some(measured));
}

#[test]
fn rmsprop_and_adagrad_match_their_update_rules() {
    for (kind, beta2) in [("rmsprop", 0.9), ("adagrad", 0.0)] {
        let keys = if kind == "rmsprop" { format!(r#""beta2": {beta2}, "#) } else { String::new() };
        let p = small_net("network", &format!(r#"{{"optimizer": "{kind}", {keys}"eps": 1e-6, "eta": 0.01, "steps": 10}}"#));
        let mut sim = Simulation::new(&p).unwrap();
        let (data, _) = data::build(&p.data, p.seed).unwrap();
        let mut reference = model::build(&p, &data);
        let mut acc = vec![0.0; reference.n_params()];
        for t in 0..10 {
            let g = gradient(reference.as_mut(), &data);
            let step: Vec<f64> = g.iter().zip(acc.iter_mut()).map(|(g, a)| {
                *a = if kind == "rmsprop" { beta2 * *a + (1.0 - beta2) * g * g } else { *a + g * g };
                g / (a.sqrt() + 1e-6)
            }).collect();
            reference.add_to_params(-0.01, &step);
            sim.step();
            let diff: Vec<f64> = sim.model().params().iter().zip(reference.params()).map(|(a, b)| a - b).collect();
            assert!(max_abs(&diff) <= 1e-12 * max_abs(reference.params()), "{kind} step {t}");
        }
        assert!(sim.last_sample().precond_sharpness.is_some_and(|s| s > 0.0));
        assert_eq!(sim.optimizer_edge(), 2.0);
    }
}

#[test]
fn plain_gd_keeps_its_exact_trajectory_and_reports_no_optimizer_columns() {
    // The same run through the momentum rule with β = 0 takes the same steps as GD (b = g).
    let gd = small_net("network", r#"{"eta": 0.05, "steps": 50}"#);
    let heavy = small_net("network", r#"{"optimizer": "momentum", "beta": 0.0, "eta": 0.05, "steps": 50}"#);
    let (a, _) = run_all(&gd);
    let (b, sim) = run_all(&heavy);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.loss, y.loss, "step {}", x.step);
        assert!(x.edge_sharpness.is_none() && x.precond_sharpness.is_none());
        assert_eq!(y.edge_sharpness, Some(2.0 / 0.05));
    }
    assert_eq!(sim.summary().optimizer_edge, 2.0);
}

#[test]
fn momentum_predicts_its_own_lazy_edge() {
    // η·λ̂0 = 3 is above GD's edge 2 but below heavy ball's 2(1 + 0.9) = 3.8.
    let p = small_net("network", r#"{"optimizer": "momentum", "beta": 0.9, "eta_scaled": 3.0, "steps": 10}"#);
    assert_eq!(Simulation::new(&p).unwrap().predicted_phase(), Phase::Lazy);
    let p = small_net("network", r#"{"optimizer": "momentum", "beta": 0.9, "eta_scaled": 4.5, "steps": 10}"#);
    assert_eq!(Simulation::new(&p).unwrap().predicted_phase(), Phase::Catapult);
    let p = small_net("linearized", r#"{"optimizer": "momentum", "beta": 0.9, "eta_scaled": 4.5, "steps": 10}"#);
    assert_eq!(Simulation::new(&p).unwrap().predicted_phase(), Phase::Divergent);
}

#[test]
fn a_saved_preset_reproduces_an_optimizer_run_from_a_fresh_state() {
    // The optimizer's state lives in the run: a rebuilt run (Reset, a saved preset loaded again)
    // starts it at zero and retraces the same steps bit for bit.
    let train = r#"{"optimizer": "adam", "beta1": 0.8, "eps": 1e-7, "eta": 0.01, "steps": 30, "schedule_kind": "cyclic", "cycle_steps": 10, "cycle_low": 0.005, "cycle_high": 0.02}"#;
    let p = small_net("network", train);
    let (first, sim) = run_all(&p);
    let saved = catapult_lab::engine::config::preset_to_json(sim.preset());
    assert!(saved.contains("\"optimizer\": \"adam\"") && saved.contains("\"schedule_kind\": \"cyclic\""), "{saved}");
    let loaded = parse_preset(saved.as_bytes(), "saved", &[]).unwrap();
    assert_eq!(loaded, p);
    let (again, _) = run_all(&loaded);
    assert_eq!(first, again);
    assert_eq!(sim.optimizer().updates(), 30);
    assert_eq!(Simulation::new(&loaded).unwrap().optimizer().updates(), 0, "a rebuilt run starts with a fresh state");
    // And a plain GD preset saves without any optimizer key.
    let gd = catapult_lab::engine::config::preset_to_json(&small_net("network", r#"{"eta": 0.1}"#));
    assert!(!gd.contains("optimizer") && !gd.contains("schedule_kind") && !gd.contains("beta"), "{gd}");
}
