//! `hessian_top` (SPEC §11) against the loss Hessian formed explicitly: every column is a
//! fourth-order central difference of the analytic gradient Jᵀ(s ℓ') (exact up to rounding for
//! MSE, whose gradient is a cubic polynomial of the weights between gate flips), decomposed by a
//! dense symmetric eigen-solver; for the network, quadratic and linearized two-layer nets (ReLU,
//! leaky and linear), the quadratic and linear models, MSE and logistic loss, at init and along a
//! catapult. Also: λ_H = λ̂ for a linearized model with MSE (its Hessian is 2s JᵀJ), the Lanczos
//! answer is the algebraically largest eigenvalue of an indefinite operator, and the automatic
//! interval rule.

use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::engine::data;
use catapult_lab::engine::loss::Loss;
use catapult_lab::engine::model::{self, Model};
use catapult_lab::engine::sim::{Simulation, lanczos_largest};
use nalgebra::{DMatrix, SymmetricEigen};

fn preset(json: &str) -> Preset {
    parse_preset(json.as_bytes(), "test", &[]).expect("valid test preset")
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

/// ∇L at the model's current weights (full batch).
fn gradient(model: &mut dyn Model, data: &data::Dataset, loss: &Loss) -> Vec<f64> {
    let mut f = vec![0.0; data.n];
    model.forward(data, &mut f);
    let s = loss.scale(data.n);
    let z: Vec<f64> = f.iter().zip(&data.y).map(|(&f, &y)| s * loss.d1(f, y)).collect();
    let mut g = vec![0.0; model.n_params()];
    model.vjp(data, &z, &mut g);
    g
}

/// The loss Hessian at `weights` by fourth-order central differences of the gradient, and its
/// largest eigenvalue (algebraically).
fn explicit_top(p: &Preset, weights: &[f64]) -> f64 {
    let (data, _) = data::build(&p.data, p.seed).unwrap();
    let mut m = model::build(p, &data);
    let delta: Vec<f64> = weights.iter().zip(m.init_params()).map(|(w, w0)| w - w0).collect();
    m.add_to_params(1.0, &delta);
    let loss = Loss { kind: p.loss.kind, reduction: p.loss.reduction };
    let n_params = m.n_params();
    let h = 1e-4;
    let mut hess = DMatrix::zeros(n_params, n_params);
    let mut unit = vec![0.0; n_params];
    for j in 0..n_params {
        let mut at = |t: f64, m: &mut Box<dyn Model>| {
            unit[j] = t;
            m.add_to_params(1.0, &unit);
            let g = gradient(m.as_mut(), &data, &loss);
            m.add_to_params(-1.0, &unit);
            unit[j] = 0.0;
            g
        };
        let (g2, g1, gm1, gm2) = (at(2.0 * h, &mut m), at(h, &mut m), at(-h, &mut m), at(-2.0 * h, &mut m));
        for i in 0..n_params {
            hess[(i, j)] = (-g2[i] + 8.0 * g1[i] - 8.0 * gm1[i] + gm2[i]) / (12.0 * h);
        }
    }
    // A frozen layer's coordinates: the gradient there is identically 0 (row j of zeros); moving
    // them is not a move training makes, so their columns are left out too.
    for j in 0..n_params {
        if (0..n_params).all(|i| hess[(j, i)] == 0.0) {
            hess.column_mut(j).fill(0.0);
        }
    }
    let sym = (&hess + hess.transpose()) * 0.5;
    let asym = (&hess - hess.transpose()).abs().max();
    assert!(asym < 1e-7 * sym.abs().max().max(1.0), "the difference Hessian is not symmetric: {asym}");
    SymmetricEigen::new(sym).eigenvalues.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Runs `p` for its steps with λ_H every step and checks every step's value against the
/// explicit Hessian at that step's weights.
fn check_run(p: &Preset, label: &str) {
    let mut sim = Simulation::new(p).unwrap();
    let mut checked = 0;
    let mut sample = sim.first_sample().clone();
    loop {
        let lambda_h = sample.hessian_top.unwrap_or_else(|| panic!("{label}: no hessian_top at step {}", sample.step));
        let exact = explicit_top(p, sim.model().params());
        assert!(rel_err(lambda_h, exact) < 1e-8, "{label} step {}: hessian_top {lambda_h} vs explicit {exact}", sample.step);
        checked += 1;
        match sim.step() {
            Some(next) => sample = next,
            None => break,
        }
    }
    assert!(checked > 1, "{label}: only {checked} steps");
}

fn two_layer(approx: &str, a_neg: f64, loss: &str, extra_train: &str) -> Preset {
    preset(&format!(
        r#"{{"version": 1, "seed": 5, "model": {{"kind": "two_layer", "width": 12, "a_neg": {a_neg}, "approx": "{approx}"}},
            "data": {{"kind": "clusters", "n": 6, "d": 3}}, "loss": {loss},
            "train": {{"eta_scaled": 3.0, "steps": 6{extra_train}}}, "measure": {{"hessian_every": 1}}}}"#
    ))
}

#[test]
fn hessian_top_equals_the_explicit_hessian_for_two_layer_nets() {
    let mse = r#"{"kind": "mse", "reduction": "mean"}"#;
    for approx in ["network", "quadratic", "linearized"] {
        for a_neg in [0.0, 0.4, 1.0] {
            let p = two_layer(approx, a_neg, mse, "");
            assert!(p.model.width * (p.data.d + 1) <= 200);
            check_run(&p, &format!("two_layer {approx} a_neg={a_neg}"));
        }
    }
    // Logistic loss (ℓ'' varies), sum_half MSE, and a frozen layer.
    check_run(&two_layer("network", 0.4, r#"{"kind": "logistic", "reduction": "mean"}"#, ""), "two_layer logistic");
    check_run(&two_layer("network", 1.0, r#"{"kind": "mse", "reduction": "sum_half"}"#, ""), "two_layer sum_half");
    check_run(&two_layer("network", 0.4, mse, r#", "frozen_layers": [2]"#), "two_layer v frozen");
}

#[test]
fn hessian_top_equals_the_explicit_hessian_for_the_quadratic_and_linear_models() {
    for phi in ["normalized", "none"] {
        let p = preset(&format!(
            r#"{{"version": 1, "seed": 2, "model": {{"kind": "quadratic", "gamma": 0.4, "phi": "{phi}", "init_scale": 1.0}},
                "data": {{"kind": "clusters", "n": 5, "d": 6}}, "loss": {{"kind": "mse", "reduction": "half_mean"}},
                "train": {{"eta_scaled": 2.5, "steps": 6}}, "measure": {{"hessian_every": 1}}}}"#
        ));
        check_run(&p, &format!("quadratic phi={phi}"));
    }
    for loss in ["mse", "logistic", "exponential"] {
        let p = preset(&format!(
            r#"{{"version": 1, "seed": 2, "model": {{"kind": "linear_predictor", "w0": [0.3, -0.2, 0.1]}},
                "data": {{"kind": "clusters", "n": 8, "d": 3}}, "loss": {{"kind": "{loss}", "reduction": "mean"}},
                "train": {{"eta_scaled": 1.5, "steps": 4}}, "measure": {{"hessian_every": 1}}}}"#
        ));
        check_run(&p, &format!("linear_predictor {loss}"));
    }
}

/// One example (the fused one-example step of the two-layer net) at the catapult preset's scale.
#[test]
fn hessian_top_on_one_example_matches_the_explicit_hessian() {
    let p = preset(
        r#"{"version": 1, "seed": 1, "model": {"kind": "two_layer", "width": 40, "a_neg": 1.0},
            "data": {"kind": "single", "x": [1.0], "y": 0.0}, "loss": {"kind": "mse", "reduction": "sum_half"},
            "train": {"eta_scaled": 3.2, "steps": 12}, "measure": {"hessian_every": 1}}"#,
    );
    check_run(&p, "one example");
}

/// A linearized model with MSE: ∇²L = 2s JᵀJ, whose top eigenvalue is that of 2s J Jᵀ = K̂, so
/// λ_H = λ̂ at every step, for every reduction.
#[test]
fn hessian_top_equals_lambda_hat_for_the_linearized_model() {
    for reduction in ["sum_half", "mean", "half_mean"] {
        for n in [1, 6, 80] {
            let data = if n == 1 { r#"{"kind": "single", "x": [0.7, -1.2], "y": 0.5}"#.to_string() } else { format!(r#"{{"kind": "clusters", "n": {n}, "d": 3}}"#) };
            let p = preset(&format!(
                r#"{{"version": 1, "seed": 4, "model": {{"kind": "two_layer", "width": 30, "a_neg": 0.2, "approx": "linearized"}},
                    "data": {data}, "loss": {{"kind": "mse", "reduction": "{reduction}"}},
                    "train": {{"eta_scaled": 1.9, "steps": 5}}, "measure": {{"hessian_every": 1}}}}"#
            ));
            let mut sim = Simulation::new(&p).unwrap();
            let mut samples = vec![sim.first_sample().clone()];
            while let Some(s) = sim.step() {
                samples.push(s);
            }
            for s in &samples {
                let lambda_h = s.hessian_top.unwrap();
                assert!(rel_err(lambda_h, s.lambda_hat) < 1e-8, "{reduction} n={n} step {}: λ_H {lambda_h} vs λ̂ {}", s.step, s.lambda_hat);
            }
        }
    }
}

/// The Hessian of a loss is indefinite: Lanczos reports the algebraically largest eigenvalue
/// (not the largest in magnitude), to the residual tolerance, from a cold and a warm start.
#[test]
fn lanczos_largest_finds_the_algebraically_largest_of_an_indefinite_operator() {
    let p = 40;
    let eigenvalues: Vec<f64> = (0..p).map(|i| if i == 0 { -50.0 } else if i == 1 { 3.0 } else { 2.9 - 0.07 * i as f64 }).collect();
    // A = Q diag(λ) Qᵀ with Q a fixed rotation (Householder reflection).
    let v: Vec<f64> = (0..p).map(|i| ((i * 7 % 11) as f64) - 5.0).collect();
    let vv: f64 = v.iter().map(|x| x * x).sum();
    let q = |i: usize, j: usize| (if i == j { 1.0 } else { 0.0 }) - 2.0 * v[i] * v[j] / vv;
    let mut a = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..p {
            a[i * p + j] = (0..p).map(|k| q(i, k) * eigenvalues[k] * q(j, k)).sum();
        }
    }
    let apply = |x: &[f64], out: &mut [f64]| {
        for i in 0..p {
            out[i] = (0..p).map(|j| a[i * p + j] * x[j]).sum();
        }
    };
    let (theta, y, _) = lanczos_largest(p, apply, &[], 1e-11);
    assert!((theta - 3.0).abs() < 1e-9, "θ = {theta}");
    let (again, _, products) = lanczos_largest(p, apply, &y, 1e-11);
    assert!((again - 3.0).abs() < 1e-9 && products < 40, "warm start: θ = {again} after {products} products");
    // A warm start at the second eigenvector (an exact eigenvector) still finds the top one.
    let second: Vec<f64> = (0..p).map(|i| q(i, 2)).collect();
    let (from_second, _, _) = lanczos_largest(p, apply, &second, 1e-11);
    assert!((from_second - 3.0).abs() < 1e-9, "from the second eigenvector: θ = {from_second}");
}

/// `measure.hessian_every`: 0 leaves the column out; k measures on multiples of k only; absent
/// is automatic (every step for a small net).
#[test]
fn hessian_every_sets_the_steps_measured() {
    let base = r#"{"version": 1, "seed": 5, "model": {"kind": "two_layer", "width": 12, "a_neg": 0.4}, "data": {"kind": "clusters", "n": 6, "d": 3}, "train": {"eta_scaled": 1.5, "steps": 12}"#;
    let run = |measure: &str| {
        let mut sim = Simulation::new(&preset(&format!("{base}{measure}}}"))).unwrap();
        let mut samples = vec![sim.first_sample().clone()];
        while let Some(s) = sim.step() {
            samples.push(s);
        }
        (samples, sim.summary())
    };
    let (off, summary) = run(r#", "measure": {"hessian_every": 0}"#);
    assert!(off.iter().all(|s| s.hessian_top.is_none()) && summary.measures.max_hessian_top.is_none());
    let (every5, summary) = run(r#", "measure": {"hessian_every": 5}"#);
    for s in &every5 {
        assert_eq!(s.hessian_top.is_some(), s.step % 5 == 0, "step {}", s.step);
    }
    let measured: Vec<f64> = every5.iter().filter_map(|s| s.hessian_top).collect();
    assert_eq!(summary.measures.final_hessian_top, measured.last().copied());
    assert_eq!(summary.measures.max_hessian_top, measured.iter().copied().reduce(f64::max));
    let (auto, _) = run("");
    assert!(auto.iter().all(|s| s.hessian_top.is_some()), "a small net is measured every step");
}

/// The Lanczos basis of λ_H (`lanczos_basis_len(P)` vectors of length P, and four work
/// vectors) counts in the memory estimate while λ_H is measured: a wide net that fits without
/// it is refused with it, naming the basis and the key that turns it off. Wide nets keep fewer
/// vectors (at most 1 GiB of them, at least 16), and a Lanczos run that restarts sooner finds
/// the same eigenvalue.
#[test]
fn the_hessian_basis_is_bounded_and_counts_in_the_memory_estimate() {
    use catapult_lab::engine::config::{MEMORY_LIMIT_BYTES, estimated_bytes};
    use catapult_lab::engine::sim::{HESSIAN_MAX_BASIS, LANCZOS_BASIS_BYTES, LANCZOS_MIN_BASIS, LanczosWork, lanczos_basis_len, lanczos_largest_in};
    assert_eq!(lanczos_basis_len(40), 40);
    assert_eq!(lanczos_basis_len(100_000), HESSIAN_MAX_BASIS);
    assert_eq!(lanczos_basis_len(4_000_000), LANCZOS_BASIS_BYTES / (8 * 4_000_000));
    assert_eq!(lanczos_basis_len(40_000_000), LANCZOS_MIN_BASIS);
    let json = |width: usize, measure: &str| format!(r#"{{"version": 1, "model": {{"width": {width}}}, "data": {{"kind": "teacher", "n": 100, "d": 100}}{measure}}}"#);
    let (off, every_10) = (r#", "measure": {"hessian_every": 0}"#, r#", "measure": {"hessian_every": 10}"#);
    // The difference is exactly the basis, P = m (d + 1).
    for width in [1000, 100_000, 300_000] {
        let p = width as f64 * 101.0;
        let gap = estimated_bytes(&preset(&json(width, every_10))) - estimated_bytes(&preset(&json(width, off)));
        assert!((gap - 8.0 * (lanczos_basis_len(p as usize) as f64 + 4.0) * p).abs() < 1.0, "{width}: {gap}");
    }
    assert_eq!(estimated_bytes(&preset(&json(1000, ""))), estimated_bytes(&preset(&json(1000, every_10))), "automatic = measured");
    // m = 400 000: 3.6 GiB without the basis, 9.6 GiB with it.
    let without = estimated_bytes(&preset(&json(400_000, off)));
    assert!(without < MEMORY_LIMIT_BYTES / 2.0, "{without}");
    let err = parse_preset(json(400_000, "").as_bytes(), "wide.json", &[]).expect_err("refused with the basis");
    let message = err.to_string();
    assert!(message.starts_with("wide.json: ") && message.contains("`model.width`") && message.contains("Lanczos basis") && message.contains("measure.hessian_every = 0"), "{message}");
    // A slowly converging operator (diagonal, a cluster below the top): with 6 vectors kept it
    // restarts and finds the same top eigenvalue as with all of them.
    let p = 300;
    let diag: Vec<f64> = (0..p).map(|i| 1.0 - 0.3 * (i as f64 / p as f64).sqrt()).collect();
    let apply = |x: &[f64], out: &mut [f64]| out.iter_mut().zip(x).zip(&diag).for_each(|((o, x), d)| *o = d * x);
    let (full, full_products) = lanczos_largest_in(&mut LanczosWork::default(), p, apply, 1e-11);
    let mut small_work = LanczosWork::default();
    small_work.basis_limit = Some(6);
    let (small, small_products) = lanczos_largest_in(&mut small_work, p, apply, 1e-11);
    assert!((full - 1.0).abs() < 1e-9 && (small - 1.0).abs() < 1e-9, "{full} {small}");
    assert!(small_products > 6 && full_products <= HESSIAN_MAX_BASIS as u64 * 30, "{small_products} {full_products}");
}
