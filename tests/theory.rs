//! The physics against closed forms (SPEC §4–6): the exact one-example maps, the phase
//! thresholds of the two-layer linear net, dense vs Lanczos eigenvalues, gradients vs finite
//! differences, the normalized kernel's stability edge, the rank-2 d = 1 NQM kernel and the
//! critical rate of the exponential loss on degenerate data.

use catapult_lab::engine::config::{
    Approx, DataConfig, DataKind, EtaSpec, LossKind, ModelKind, Parameterization, Preset, Reduction, XSpec, YSpec,
    parse_preset,
};
use catapult_lab::engine::data;
use catapult_lab::engine::kernel::{KernelMethod, dense_top2, lanczos_top2};
use catapult_lab::engine::model::{self, dot};
use catapult_lab::engine::sim::{Phase, Simulation, Status};

fn preset(json: &str) -> Preset {
    parse_preset(json.as_bytes(), "test", &[]).expect("test preset is valid")
}

/// A two-layer net on one example, as JSON overrides of the documented defaults.
fn one_example(width: usize, a_neg: f64, approx: &str, x: &str, y: f64, eta_scaled: f64, steps: usize) -> Preset {
    preset(&format!(
        r#"{{"version": 1, "seed": 3,
            "model": {{"kind": "two_layer", "width": {width}, "a_neg": {a_neg}, "approx": "{approx}"}},
            "data": {{"kind": "single", "x": {x}, "y": {y}}},
            "loss": {{"kind": "mse", "reduction": "sum_half"}},
            "train": {{"eta_scaled": {eta_scaled}, "steps": {steps}}}}}"#
    ))
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

/// Full-parameter GD of the quadratic model vs the exact (f, λ) map of SPEC §4:
/// r = f − y, f' = f − ηrλ + η²r²h²f, λ' = λ(1 + η²r²h²) − 4ηr h² f.
fn check_exact_map(a_neg: f64, x: &str, y: f64, eta_scaled: f64) {
    let p = one_example(200, a_neg, "quadratic", x, y, eta_scaled, 400);
    let mut sim = Simulation::new(&p).unwrap();
    let eta = sim.eta();
    let d = sim.data().d as f64;
    let x_sq = sim.data().mean_sq_norm();
    let h2 = x_sq / (200.0 * d);
    let first = sim.first_sample().clone();
    // The sign of f is not in the sample; recover it from the model at init.
    let mut f = {
        let mut m = model::build(&p, sim.data());
        let mut out = vec![0.0];
        m.forward(sim.data(), &mut out);
        out[0]
    };
    let mut lambda = first.lambda_hat;
    let r0 = f - y;
    assert!(rel_err(0.5 * r0 * r0, first.loss) < 1e-12);
    let mut peak: f64 = 0.0;
    let mut steps = 0;
    while let Some(s) = sim.step() {
        let r = f - y;
        let (f_next, lambda_next) =
            (f - eta * r * lambda + eta * eta * r * r * h2 * f, lambda * (1.0 + eta * eta * r * r * h2) - 4.0 * eta * r * h2 * f);
        f = f_next;
        lambda = lambda_next;
        let r = f - y;
        let (u, v) = (eta * eta * h2 * r * r, eta * lambda);
        // |r| relative to max(|r|, |r0|): once the loss has collapsed, f = Σ (terms of size
        // |r0|) cancels, so rounding is relative to the initial residual, not to r itself.
        let r_scale = r.abs().max(r0.abs());
        let r_sim = (2.0 * s.loss).sqrt();
        assert!((r_sim - r.abs()).abs() < 1e-10 * r_scale, "step {}: |r| {} vs map {}", s.step, r_sim, r.abs());
        assert!(rel_err(s.lambda_hat, lambda) < 1e-10, "step {}: λ̂ {} vs map {}", s.step, s.lambda_hat, lambda);
        assert!(rel_err(s.v, v) < 1e-10, "step {}: v", s.step);
        let u_scale = (eta * eta * h2).sqrt() * r_scale;
        assert!((s.u.sqrt() - u.sqrt()).abs() < 1e-10 * u_scale, "step {}: u {} vs map {}", s.step, s.u, u);
        peak = peak.max(s.loss);
        steps += 1;
    }
    assert_eq!(steps, 400);
    assert_eq!(sim.phase(), Phase::Catapult, "a whole catapult was followed");
    assert!(peak > 10.0 * first.loss);
}

#[test]
fn exact_uv_map_linear_net_y0() {
    check_exact_map(1.0, "[1.0]", 0.0, 2.6);
}

#[test]
fn exact_uv_map_relu_nqm_y0_in_three_dims() {
    check_exact_map(0.0, "[0.5, -1.0, 2.0]", 0.0, 3.0);
}

#[test]
fn exact_map_with_nonzero_label() {
    check_exact_map(1.0, "[1.0]", 0.5, 2.5);
    check_exact_map(0.0, "[1.0, 2.0]", -0.3, 2.8);
}

/// The closed u/v map (y = 0) itself: u' = (1 − v + u)² u, v' = v − u(4 − v).
#[test]
fn uv_closed_form_matches_simulation_u_v() {
    let p = one_example(300, 1.0, "network", "[1.0]", 0.0, 2.4, 200);
    let mut sim = Simulation::new(&p).unwrap();
    let first = sim.first_sample().clone();
    let (mut u, mut v) = (first.u, first.v);
    while let Some(s) = sim.step() {
        let (u_next, v_next) = ((1.0 - v + u).powi(2) * u, v - u * (4.0 - v));
        u = u_next;
        v = v_next;
        assert!(rel_err(s.v, v) < 1e-10, "step {}: v {} vs {}", s.step, s.v, v);
        // √u ∝ |r|: compared relative to the initial residual's scale (see check_exact_map).
        let scale = u.sqrt().max(first.u.sqrt());
        assert!((s.u.sqrt() - u.sqrt()).abs() < 1e-10 * scale, "step {}: u {} vs {}", s.step, s.u, u);
    }
}

#[test]
fn linear_net_phases_follow_eta_lambda0() {
    for width in [300, 2000] {
        for (eta_scaled, expected) in [
            (0.5, Phase::Lazy),
            (1.5, Phase::Lazy),
            (1.9, Phase::Lazy),
            (2.2, Phase::Catapult),
            (2.6, Phase::Catapult),
            (3.2, Phase::Catapult),
            (3.7, Phase::Catapult),
            (4.3, Phase::Divergent),
            (5.5, Phase::Divergent),
        ] {
            let p = one_example(width, 1.0, "network", "[1.0]", 0.0, eta_scaled, 3000);
            let mut sim = Simulation::new(&p).unwrap();
            let summary = sim.run(|_| {});
            assert_eq!(summary.phase, expected, "width {width}, eta_scaled {eta_scaled}: {summary:?}");
            match expected {
                Phase::Catapult => assert!(summary.final_eta_lambda < 2.0, "catapult ends below the edge"),
                Phase::Divergent => {
                    assert!(summary.diverged_at.is_some());
                    assert!(matches!(sim.status(), Status::Diverged(_)));
                }
                _ => assert!((summary.final_eta_lambda - eta_scaled).abs() < 0.15, "lazy: kernel barely moves"),
            }
        }
    }
}

fn clusters_preset(n: usize, d: usize, width: usize, a_neg: f64, approx: &str, reduction: &str, loss: &str) -> Preset {
    preset(&format!(
        r#"{{"version": 1, "seed": 11,
            "model": {{"kind": "two_layer", "width": {width}, "a_neg": {a_neg}, "approx": "{approx}"}},
            "data": {{"kind": "clusters", "n": {n}, "d": {d}, "separation": 1.5, "flip": 0.1}},
            "loss": {{"kind": "{loss}", "reduction": "{reduction}"}},
            "train": {{"eta_scaled": 2.5, "steps": 30}}}}"#
    ))
}

#[test]
fn lanczos_equals_dense_along_a_catapult() {
    for (approx, a_neg, loss) in [("network", 0.0, "mse"), ("network", 0.5, "logistic"), ("linearized", 1.0, "mse")] {
        let p = clusters_preset(90, 3, 400, a_neg, approx, "mean", loss);
        let mut dense = Simulation::with_kernel_method(&p, KernelMethod::Dense).unwrap();
        let mut lanczos = Simulation::with_kernel_method(&p, KernelMethod::Lanczos).unwrap();
        for _ in 0..30 {
            let (a, b) = (dense.step(), lanczos.step());
            let (Some(a), Some(b)) = (a, b) else { break };
            assert!(rel_err(a.lambda_hat, b.lambda_hat) < 1e-8, "{approx}: λ̂ {} vs {}", a.lambda_hat, b.lambda_hat);
            assert!(rel_err(a.lambda_hat_2, b.lambda_hat_2) < 1e-8, "{approx}: λ̂2 {} vs {}", a.lambda_hat_2, b.lambda_hat_2);
            assert!(rel_err(a.lambda_raw, b.lambda_raw) < 1e-8);
            assert!(rel_err(a.u, b.u) < 1e-6 || a.u < 1e-12);
        }
    }
}

#[test]
fn lanczos_on_a_matrix_with_clustered_spectrum() {
    // A = Q diag(…) Qᵀ with a near-degenerate top pair and a random rotation.
    let n = 120;
    let mut a = vec![0.0; n * n];
    let values: Vec<f64> = (0..n).map(|i| if i == 0 { 10.0 } else if i == 1 { 9.999 } else { 5.0 / (1.0 + i as f64) }).collect();
    let mut state = 12345u64;
    let mut rnd = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    // Random orthonormal-ish basis by Gram–Schmidt.
    let mut q: Vec<Vec<f64>> = Vec::new();
    for _ in 0..n {
        let mut v: Vec<f64> = (0..n).map(|_| rnd()).collect();
        for b in &q {
            let c = dot(b, &v);
            v.iter_mut().zip(b).for_each(|(x, y)| *x -= c * y);
        }
        let norm = dot(&v, &v).sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        q.push(v);
    }
    for (k, lam) in values.iter().enumerate() {
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] += lam * q[k][i] * q[k][j];
            }
        }
    }
    let dense = dense_top2(&a, n);
    let start: Vec<f64> = (0..n).map(|i| 1.0 + i as f64 * 0.01).collect();
    let lz = lanczos_top2(
        n,
        |x, out| {
            for i in 0..n {
                out[i] = dot(&a[i * n..(i + 1) * n], x);
            }
        },
        &start,
    );
    for r in 0..2 {
        assert!(rel_err(dense.values[r], lz.values[r]) < 1e-8, "{r}: {} vs {}", dense.values[r], lz.values[r]);
    }
    assert!(rel_err(dense.values[0], 10.0) < 1e-12);
}

/// Jᵀz from the model equals the finite-difference gradient of Σ z_i f(x_i; w), J and Jᵀ are
/// adjoint, the dense kernel is J Jᵀ, and the outputs equal the per-neuron `output_at`. In
/// d = 3 (cached m × n rows) and in d = 1 (the sign-class sums, n = 5 and n = 1).
#[test]
fn gradients_match_finite_differences() {
    let cases = [
        ("two_layer", "network", 0.3, "ntk", "sqrt_d", 5, 3),
        ("two_layer", "quadratic", 0.0, "mean_field", "none", 5, 3),
        ("two_layer", "linearized", 0.7, "ntk", "none", 5, 3),
        ("quadratic", "network", 1.0, "ntk", "sqrt_d", 5, 3),
        ("linear_predictor", "network", 1.0, "ntk", "sqrt_d", 5, 3),
        ("two_layer", "network", 0.3, "ntk", "sqrt_d", 5, 1),
        ("two_layer", "network", 0.0, "ntk", "none", 5, 1),
        ("two_layer", "quadratic", 0.2, "mean_field", "none", 5, 1),
        ("two_layer", "linearized", 0.7, "ntk", "none", 5, 1),
        ("two_layer", "network", 0.3, "ntk", "sqrt_d", 1, 1),
        ("two_layer", "linearized", 0.0, "ntk", "none", 1, 1),
    ];
    for (kind, approx, a_neg, param, norm, n, d) in cases {
        let w0 = if kind == "linear_predictor" { r#", "w0": [0.3, -0.2, 0.1]"# } else { "" };
        let p = preset(&format!(
            r#"{{"version": 1, "seed": 5,
                "model": {{"kind": "{kind}", "width": 7, "a_neg": {a_neg}, "approx": "{approx}",
                           "parameterization": "{param}", "input_norm": "{norm}", "gamma": 0.2{w0}}},
                "data": {{"kind": "clusters", "n": {n}, "d": {d}}},
                "train": {{"eta": 0.1, "steps": 1}}}}"#
        ));
        let data = data::generate(&p.data, p.seed);
        let mut m = model::build(&p, &data);
        let mut f = vec![0.0; data.n];
        // Move away from init so the Taylor models' Δw terms are exercised.
        let bump: Vec<f64> = (0..m.n_params()).map(|i| 0.05 * ((i * 7 % 11) as f64 - 5.0)).collect();
        m.add_to_params(1.0, &bump);
        m.forward(&data, &mut f);
        // The one-pass weight statistics equal the separate passes.
        let xt_y: Vec<f64> = (0..data.d).map(|j| (0..data.n).map(|i| data.row(i)[j] * data.y[i]).sum()).collect();
        let stats = m.weight_stats(&xt_y);
        let (norm, dist) = (dot(m.params(), m.params()), model::dist_sq(m.params(), m.init_params()));
        assert!(rel_err(stats.norm_sq, norm) < 1e-12 && rel_err(stats.dist_sq, dist) < 1e-12, "{kind}/{approx} d = {d}: {stats:?}");
        if let (Some((rho, v_mean)), Some((rho_direct, v_direct))) = (stats.alignment, m.feature_alignment(&xt_y)) {
            assert!((rho - rho_direct).abs() < 1e-12 * (1.0 + rho_direct.abs()) && (v_mean - v_direct).abs() < 1e-12, "{kind}/{approx} d = {d}: alignment");
        }
        assert_eq!(stats.alignment.is_some(), m.feature_alignment(&xt_y).is_some());
        for i in 0..data.n {
            let direct = m.output_at(data.row(i));
            assert!((f[i] - direct).abs() < 1e-12 * (1.0 + direct.abs()), "{kind}/{approx} d = {d}: f({i}) {} vs {direct}", f[i]);
        }
        let z: Vec<f64> = (0..data.n).map(|i| 0.3 + 0.1 * i as f64).collect();
        let mut grad = vec![0.0; m.n_params()];
        m.vjp(&data, &z, &mut grad);
        let objective = |m: &mut Box<dyn model::Model>| {
            let mut out = vec![0.0; data.n];
            m.forward(&data, &mut out);
            dot(&out, &z)
        };
        let h = 1e-6;
        for k in 0..m.n_params() {
            let mut e = vec![0.0; m.n_params()];
            e[k] = h;
            m.add_to_params(1.0, &e);
            let plus = objective(&mut m);
            m.add_to_params(-2.0, &e);
            let minus = objective(&mut m);
            m.add_to_params(1.0, &e);
            let fd = (plus - minus) / (2.0 * h);
            assert!((fd - grad[k]).abs() < 1e-6 * (1.0 + fd.abs()), "{kind}/{approx} n = {n} d = {d} param {k}: fd {fd} vs {}", grad[k]);
        }
        // jvp is the transpose of vjp: ⟨J dir, z⟩ = ⟨dir, Jᵀ z⟩.
        m.forward(&data, &mut f);
        let dir: Vec<f64> = (0..m.n_params()).map(|i| ((i * 3 % 5) as f64) - 2.0).collect();
        let mut jd = vec![0.0; data.n];
        m.jvp(&data, &dir, &mut jd);
        assert!(rel_err(dot(&jd, &z), dot(&dir, &grad)) < 1e-12);
        // The dense kernel equals J Jᵀ built from jvp/vjp columns.
        let mut k_dense = vec![0.0; data.n * data.n];
        m.kernel(&data, &mut k_dense);
        for j in 0..data.n {
            let mut e = vec![0.0; data.n];
            e[j] = 1.0;
            let mut col = vec![0.0; m.n_params()];
            m.vjp(&data, &e, &mut col);
            let mut kcol = vec![0.0; data.n];
            m.jvp(&data, &col, &mut kcol);
            for i in 0..data.n {
                assert!((kcol[i] - k_dense[i * data.n + j]).abs() < 1e-10 * (1.0 + kcol[i].abs()));
            }
        }
    }
}

/// With the normalized kernel the lazy edge is η·λ̂ = 2 for every reduction: the linearized
/// model (a linear model) converges just below and diverges just above.
#[test]
fn normalized_kernel_edge_is_two_for_every_reduction() {
    for reduction in ["sum_half", "mean", "half_mean"] {
        for (eta_scaled, converges) in [(1.95, true), (2.05, false)] {
            let p = preset(&format!(
                r#"{{"version": 1, "seed": 2,
                    "model": {{"kind": "two_layer", "width": 64, "approx": "linearized", "a_neg": 0.2}},
                    "data": {{"kind": "clusters", "n": 12, "d": 2}},
                    "loss": {{"kind": "mse", "reduction": "{reduction}"}},
                    "train": {{"eta_scaled": {eta_scaled}, "steps": 4000}}}}"#
            ));
            let mut sim = Simulation::new(&p).unwrap();
            assert!(rel_err(sim.first_sample().eta_lambda, eta_scaled) < 1e-12);
            let summary = sim.run(|_| {});
            if converges {
                assert!(summary.final_loss < summary.loss0, "{reduction} {eta_scaled}: {summary:?}");
                assert_eq!(summary.diverged_at, None);
            } else {
                assert_eq!(summary.phase, Phase::Divergent, "{reduction} {eta_scaled}: {summary:?}");
            }
        }
    }
}

/// d = 1 NQM: the kernel has rank ≤ 2, with eigenvectors x restricted to {x ≥ 0} and {x < 0}.
#[test]
fn nqm_d1_kernel_is_rank_two_on_sign_classes() {
    let p = clusters_preset(40, 1, 500, 0.0, "quadratic", "mean", "mse");
    let mut sim = Simulation::with_kernel_method(&p, KernelMethod::Dense).unwrap();
    for _ in 0..10 {
        sim.step();
    }
    let data = sim.data().clone();
    let mut m = model::build(&p, &data);
    let mut f = vec![0.0; data.n];
    m.forward(&data, &mut f);
    let n = data.n;
    let mut k = vec![0.0; n * n];
    m.kernel(&data, &mut k);
    let eig = nalgebra::SymmetricEigen::new(nalgebra::DMatrix::from_row_slice(n, n, &k));
    let mut vals: Vec<f64> = eig.eigenvalues.iter().copied().collect();
    vals.sort_by(|a, b| b.total_cmp(a));
    assert!(vals[1] > 1e-3 * vals[0], "two non-zero eigenvalues");
    assert!(vals[2].abs() < 1e-10 * vals[0], "rank 2: third eigenvalue {}", vals[2]);
    let top = dense_top2(&k, n);
    let x: Vec<f64> = (0..n).map(|i| data.x[i]).collect();
    let pos: Vec<f64> = x.iter().map(|&v| if v >= 0.0 { v } else { 0.0 }).collect();
    let neg: Vec<f64> = x.iter().map(|&v| if v < 0.0 { v } else { 0.0 }).collect();
    let cos = |a: &[f64], b: &[f64]| dot(a, b).abs() / (dot(a, a) * dot(b, b)).sqrt();
    for vec in &top.vectors {
        let best = cos(vec, &pos).max(cos(vec, &neg));
        assert!(best > 1.0 - 1e-10, "eigenvector lies on one sign class (cos {best})");
    }
    assert!((cos(&top.vectors[0], &pos) > 0.5) != (cos(&top.vectors[1], &pos) > 0.5), "one per class");
}

fn degenerate_exp(eta: f64, w0: f64) -> Preset {
    preset(&format!(
        r#"{{"version": 1,
            "model": {{"kind": "linear_predictor", "w0": [{w0}]}},
            "data": {{"kind": "points", "x": [[1.0], [1.0]], "y": [1.0, -1.0]}},
            "loss": {{"kind": "exponential", "reduction": "mean"}},
            "train": {{"eta": {eta}, "steps": 20}}}}"#
    ))
}

#[test]
fn exponential_loss_critical_rate_on_degenerate_data() {
    for w0 in [0.5_f64, 1.0, 2.0] {
        let eta_crit = 2.0 * w0 / w0.sinh();
        let mut below = Simulation::new(&degenerate_exp(0.98 * eta_crit, w0)).unwrap();
        let mut above = Simulation::new(&degenerate_exp(1.02 * eta_crit, w0)).unwrap();
        let l0 = below.first_sample().loss;
        assert!(rel_err(l0, w0.cosh()) < 1e-12);
        // The effective sharpness at init is L''(w0) = cosh(w0).
        assert!(rel_err(below.first_sample().lambda_hat, w0.cosh()) < 1e-12);
        assert!(below.step().unwrap().loss < l0, "w0 {w0}: loss falls just below η_crit");
        assert!(above.step().unwrap().loss > l0, "w0 {w0}: loss rises just above η_crit");
        let sb = below.run(|_| {});
        assert!(sb.final_loss < l0);
    }
}

#[test]
fn data_is_seeded_and_separability_is_exact() {
    let cfg = DataConfig { kind: DataKind::Clusters, n: 50, d: 2, separation: 6.0, ..Default::default() };
    let a = data::generate(&cfg, 9);
    assert_eq!(a, data::generate(&cfg, 9));
    assert_ne!(a, data::generate(&cfg, 10));
    assert_eq!(data::classify_separability(&a), data::Separability::Separable);
    let flipped = DataConfig { flip: 0.3, separation: 0.5, ..cfg.clone() };
    assert_eq!(data::classify_separability(&data::generate(&flipped, 9)), data::Separability::NonSeparable);
    let degenerate = DataConfig {
        kind: DataKind::Points,
        x: Some(XSpec::Many(vec![vec![1.0], vec![1.0]])),
        y: Some(YSpec::Many(vec![1.0, -1.0])),
        ..Default::default()
    };
    assert_eq!(data::classify_separability(&data::generate(&degenerate, 0)), data::Separability::Degenerate);
    // XOR-like points: non-separable through the origin without duplicate inputs.
    let xor = DataConfig {
        kind: DataKind::Points,
        x: Some(XSpec::Many(vec![vec![1.0, 0.0], vec![-1.0, 0.0], vec![0.0, 1.0], vec![0.0, -1.0]])),
        y: Some(YSpec::Many(vec![1.0, 1.0, -1.0, -1.0])),
        ..Default::default()
    };
    assert_eq!(data::classify_separability(&data::generate(&xor, 0)), data::Separability::NonSeparable);
}

#[test]
fn sgd_with_full_batch_equals_gd_and_batches_differ() {
    let base = clusters_preset(16, 2, 50, 0.0, "network", "mean", "mse");
    let mut full = base.clone();
    full.train.batch_size = 16;
    let (mut a, mut b) = (Simulation::new(&base).unwrap(), Simulation::new(&full).unwrap());
    for _ in 0..20 {
        assert_eq!(a.step(), b.step());
    }
    let mut small = base.clone();
    small.train.batch_size = 4;
    let mut c = Simulation::new(&small).unwrap();
    let mut a = Simulation::new(&base).unwrap();
    assert_ne!(a.step().unwrap().loss, c.step().unwrap().loss);
}

#[test]
fn schedule_changes_eta_at_its_step() {
    let mut p = one_example(500, 1.0, "network", "[1.0]", 0.0, 1.0, 40);
    p.train.schedule = vec![(10, 2.5), (20, 1.5)];
    let mut sim = Simulation::new(&p).unwrap();
    let lambda0 = sim.lambda0();
    let mut etas = vec![];
    while let Some(s) = sim.step() {
        etas.push((s.step, s.eta * lambda0));
    }
    assert!((etas[8].1 - 1.0).abs() < 1e-12, "before step 10");
    assert!((etas[10].1 - 2.5).abs() < 1e-12, "the update 10→11 used the new rate: {:?}", etas[10]);
    assert!((etas.last().unwrap().1 - 1.5).abs() < 1e-12);
    assert!(matches!(p.train.eta_spec(), EtaSpec::Scaled(_)));
}

#[test]
fn mean_field_and_kinds_run_without_nan() {
    let mut p = one_example(100, 0.5, "network", "[1.0, 2.0]", 0.1, 2.5, 50);
    p.model.parameterization = Parameterization::MeanField;
    p.loss.reduction = Reduction::HalfMean;
    let mut sim = Simulation::new(&p).unwrap();
    sim.run(|s| assert!(s.is_finite()));
    let mut q = p.clone();
    q.model.kind = ModelKind::Quadratic;
    q.model.approx = Approx::Network;
    q.loss.kind = LossKind::Logistic;
    q.data.y = Some(YSpec::One(1.0));
    let mut sim = Simulation::new(&q).unwrap();
    sim.run(|s| {
        assert!(s.is_finite());
        assert!(s.lambda_ntk.is_some());
    });
}
