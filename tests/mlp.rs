//! The layered network `mlp` (SPEC §10): J·w, Jᵀz and the exact output-Hessian product
//! against central finite differences for every activation, parameterization, bias on/off,
//! frozen layers and all three approximations; the per-layer kernel formula against J Jᵀ from
//! explicit Jacobian rows and against Lanczos; the loss-Hessian product against a
//! finite-difference Hessian of the loss and its top eigenvalue; the `a_neg` default.

use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::engine::data;
use catapult_lab::engine::dataset::Dataset;
use catapult_lab::engine::kernel::{KernelMethod, dense_top2};
use catapult_lab::engine::model::{self, Model, dot, norm_sq};
use catapult_lab::engine::sim::Simulation;
use nalgebra::{DMatrix, SymmetricEigen};

fn preset(json: &str) -> Preset {
    parse_preset(json.as_bytes(), "test", &[]).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// A tiny mlp preset: depth 2, widths [5, 4], 4 points of dimension 3.
fn tiny(activation: &str, param: &str, bias: bool, approx: &str, frozen: &str) -> Preset {
    preset(&format!(
        r#"{{"version": 1, "seed": 3,
            "model": {{"kind": "mlp", "depth": 2, "widths": [5, 4], "activation": "{activation}", "a_neg": 0.3,
                      "parameterization": "{param}", "bias": {bias}, "bias_scale": 0.7, "approx": "{approx}",
                      "init_scales": [1.0, 1.3, 0.8]}},
            "data": {{"kind": "clusters", "n": 4, "d": 3}}, "loss": {{"kind": "mse", "reduction": "mean"}},
            "train": {{"frozen_layers": {frozen}, "eta_scaled": 1.0, "steps": 5}}}}"#
    ))
}

fn build(p: &Preset) -> (Box<dyn Model>, Dataset) {
    let (data, _) = data::build(&p.data, p.seed).unwrap();
    (model::build(p, &data), data)
}

/// Deterministic pseudo-random vector in [−0.5, 0.5).
fn noise(len: usize, salt: u64) -> Vec<f64> {
    let mut s = 0x2545_F491_4F6C_DD1Du64 ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}

fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    norm_sq(&diff).sqrt() / norm_sq(b).sqrt().max(norm_sq(a).sqrt()).max(1e-12)
}

/// The parameter indices of the layers in `frozen` (layout: W_l row-major then b_l).
fn frozen_mask(p: &Preset, d: usize) -> Vec<bool> {
    let m = &p.model;
    let mut dims = vec![d];
    dims.extend(m.widths.clone().unwrap());
    dims.push(1);
    let mut mask = Vec::new();
    for k in 0..dims.len() - 1 {
        let size = dims[k + 1] * dims[k] + if m.bias { dims[k + 1] } else { 0 };
        mask.extend(std::iter::repeat_n(p.train.frozen_layers.contains(&(k + 1)), size));
    }
    mask
}

/// f at w + t·dir (the model is moved and moved back).
fn outputs_at(model: &mut dyn Model, data: &Dataset, dir: &[f64], t: f64) -> Vec<f64> {
    let mut out = vec![0.0; data.n];
    model.add_to_params(t, dir);
    model.forward(data, &mut out);
    model.add_to_params(-t, dir);
    out
}

fn gradient_at(model: &mut dyn Model, data: &Dataset, z: &[f64], dir: &[f64], t: f64) -> Vec<f64> {
    let mut out = vec![0.0; data.n];
    let mut g = vec![0.0; model.n_params()];
    model.add_to_params(t, dir);
    model.forward(data, &mut out);
    model.vjp(data, z, &mut g);
    model.add_to_params(-t, dir);
    g
}

const ACTIVATIONS: [&str; 4] = ["relu", "linear", "tanh", "gelu"];
const PARAMS: [&str; 3] = ["ntk", "standard", "mean_field"];
const APPROX: [&str; 3] = ["network", "linearized", "quadratic"];

#[test]
fn products_match_central_finite_differences_in_every_variant() {
    let mut checked = 0;
    for activation in ACTIVATIONS {
        for param in PARAMS {
            for bias in [false, true] {
                for approx in APPROX {
                    for frozen in ["[]", "[2]", "[1, 3]"] {
                        let p = tiny(activation, param, bias, approx, frozen);
                        let (mut model, data) = build(&p);
                        let np = model.n_params();
                        let mask = frozen_mask(&p, data.d);
                        // Move the trained layers away from init (the Taylor models' Δw ≠ 0).
                        let mut shift = noise(np, 11);
                        shift.iter_mut().zip(&mask).for_each(|(s, &f)| if f { *s = 0.0 });
                        model.add_to_params(0.3, &shift);
                        let mut f = vec![0.0; data.n];
                        model.forward(&data, &mut f);
                        let mut dir = noise(np, 5);
                        dir.iter_mut().zip(&mask).for_each(|(s, &f)| if f { *s = 0.0 });
                        let z = noise(data.n, 9);
                        let label = format!("{activation} {param} bias={bias} {approx} frozen={frozen}");
                        // J·dir.
                        let mut jd = vec![0.0; data.n];
                        model.jvp(&data, &dir, &mut jd);
                        let eps = 1e-5;
                        let (fp, fm) = (outputs_at(model.as_mut(), &data, &dir, eps), outputs_at(model.as_mut(), &data, &dir, -eps));
                        let fd: Vec<f64> = fp.iter().zip(&fm).map(|(a, b)| (a - b) / (2.0 * eps)).collect();
                        assert!(rel_diff(&jd, &fd) < 1e-6, "{label}: J·w {jd:?} vs {fd:?}");
                        model.forward(&data, &mut f);
                        // Jᵀz: ⟨Jᵀz, dir⟩ against the finite difference of ⟨z, f⟩, and 0 in frozen layers.
                        let mut g = vec![0.0; np];
                        model.vjp(&data, &z, &mut g);
                        assert!(g.iter().zip(&mask).all(|(x, &f)| !f || *x == 0.0), "{label}: Jᵀz is 0 in frozen layers");
                        let along = dot(&g, &dir);
                        let fd_along = dot(&z, &fd);
                        assert!((along - fd_along).abs() <= 1e-6 * fd_along.abs().max(norm_sq(&g).sqrt() * norm_sq(&dir).sqrt()), "{label}: Jᵀz {along} vs {fd_along}");
                        // Every gradient component: Jᵀz against finite differences of ⟨z, f⟩ along unit vectors.
                        for j in (0..np).step_by(7) {
                            if mask[j] {
                                continue;
                            }
                            let mut e = vec![0.0; np];
                            e[j] = 1.0;
                            let (a, b) = (outputs_at(model.as_mut(), &data, &e, eps), outputs_at(model.as_mut(), &data, &e, -eps));
                            let fd_j: f64 = z.iter().zip(a.iter().zip(&b)).map(|(zi, (x, y))| zi * (x - y) / (2.0 * eps)).sum();
                            assert!((g[j] - fd_j).abs() <= 1e-6 * norm_sq(&g).sqrt().max(1e-12), "{label}: ∂/∂w_{j} {} vs {fd_j}", g[j]);
                        }
                        model.forward(&data, &mut f);
                        // Σ z_i ∇²f_i · dir against the finite difference of Jᵀz.
                        let mut hd = vec![0.0; np];
                        model.output_hessian_apply(&data, &z, &dir, &mut hd);
                        let (gp, gm) = (gradient_at(model.as_mut(), &data, &z, &dir, eps), gradient_at(model.as_mut(), &data, &z, &dir, -eps));
                        let fd_h: Vec<f64> = gp.iter().zip(&gm).map(|(a, b)| (a - b) / (2.0 * eps)).collect();
                        let scale = norm_sq(&fd_h).sqrt().max(norm_sq(&g).sqrt() * 1e-3);
                        let err = norm_sq(&hd.iter().zip(&fd_h).map(|(a, b)| a - b).collect::<Vec<_>>()).sqrt();
                        assert!(err <= 1e-6 * scale, "{label}: Hessian product error {err} (scale {scale})");
                        if approx == "linearized" {
                            assert!(hd.iter().all(|x| *x == 0.0), "{label}: a linear model has no output Hessian");
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 4 * 3 * 2 * 3 * 3);
}

/// J Jᵀ from explicit Jacobian rows.
fn explicit_kernel(model: &dyn Model, data: &Dataset) -> Vec<f64> {
    let (n, np) = (data.n, model.n_params());
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut r = vec![0.0; np];
            model.jacobian_row(data.row(i), &mut r);
            r
        })
        .collect();
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            k[i * n + j] = dot(&rows[i], &rows[j]);
        }
    }
    k
}

#[test]
fn the_per_layer_kernel_equals_j_jt_from_explicit_rows() {
    for activation in ACTIVATIONS {
        for bias in [false, true] {
            for approx in APPROX {
                for frozen in ["[]", "[1]", "[3]"] {
                    let p = tiny(activation, "ntk", bias, approx, frozen);
                    let (mut model, data) = build(&p);
                    let np = model.n_params();
                    let mut shift = noise(np, 2);
                    frozen_mask(&p, data.d).iter().zip(shift.iter_mut()).for_each(|(&f, s)| if f { *s = 0.0 });
                    model.add_to_params(0.2, &shift);
                    let mut f = vec![0.0; data.n];
                    model.forward(&data, &mut f);
                    let n = data.n;
                    let mut k = vec![0.0; n * n];
                    model.kernel(&data, &mut k);
                    let label = format!("{activation} bias={bias} {approx} frozen={frozen}");
                    let expected = explicit_kernel(model.as_ref(), &data);
                    assert!(rel_diff(&k, &expected) < 1e-10, "{label}: dense K vs J Jᵀ");
                    // The same formula at other rows (an SGD batch) and J·w against the rows.
                    let mut kb = vec![0.0; n * n];
                    assert!(model.kernel_on(&data, &mut kb));
                    assert!(rel_diff(&kb, &expected) < 1e-10, "{label}: kernel_on");
                    let mut outs = vec![0.0; n];
                    model.outputs_on(&data, &mut outs);
                    assert!(rel_diff(&outs, &f) < 1e-12, "{label}: outputs_on = forward");
                    assert!((model.output_at(data.row(1)) - f[1]).abs() < 1e-12 * f[1].abs().max(1.0), "{label}: output_at");
                    // The matrix-free product J(Jᵀx) equals K·x.
                    let x = noise(n, 4);
                    let mut kx = vec![0.0; n];
                    let mut scratch = Vec::new();
                    model.kernel_apply(&data, &x, &mut kx, &mut scratch);
                    let dense_kx: Vec<f64> = (0..n).map(|i| dot(&k[i * n..(i + 1) * n], &x)).collect();
                    assert!(rel_diff(&kx, &dense_kx) < 1e-10, "{label}: J(Jᵀx)");
                }
            }
        }
    }
}

#[test]
fn lanczos_on_the_matrix_free_kernel_equals_the_dense_eigenvalues() {
    for approx in APPROX {
        for activation in ["relu", "tanh"] {
            let json = format!(
                r#"{{"version": 1, "seed": 5, "model": {{"kind": "mlp", "depth": 3, "width": 24, "activation": "{activation}", "bias": true, "approx": "{approx}"}},
                    "data": {{"kind": "teacher", "n": 90, "d": 6}}, "loss": {{"kind": "mse", "reduction": "mean"}},
                    "train": {{"eta_scaled": 2.5, "steps": 15}}}}"#
            );
            let p = preset(&json);
            let mut dense = Simulation::with_kernel_method(&p, KernelMethod::Dense).unwrap();
            let mut lanczos = Simulation::with_kernel_method(&p, KernelMethod::Lanczos).unwrap();
            let (a, b) = (dense.lambda0(), lanczos.lambda0());
            assert!((a - b).abs() < 1e-8 * a, "{approx} {activation}: λ̂0 dense {a} vs Lanczos {b}");
            for _ in 0..15 {
                let (x, y) = (dense.step().unwrap(), lanczos.step().unwrap());
                assert!((x.lambda_hat - y.lambda_hat).abs() < 1e-8 * x.lambda_hat, "{approx} {activation} step {}: {} vs {}", x.step, x.lambda_hat, y.lambda_hat);
                assert!((x.lambda_hat_2 - y.lambda_hat_2).abs() < 1e-8 * x.lambda_hat, "{approx} {activation} step {}: λ̂2", x.step);
            }
        }
    }
}

#[test]
fn the_loss_hessian_product_is_the_finite_difference_hessian_and_its_top_eigenvalue() {
    for (activation, approx, bias) in [("relu", "network", false), ("tanh", "network", true), ("gelu", "quadratic", true), ("relu", "quadratic", false), ("tanh", "linearized", false)] {
        let p = tiny(activation, "ntk", bias, approx, "[]");
        let (mut model, data) = build(&p);
        let np = model.n_params();
        assert!(np <= 200, "a tiny net: P = {np}");
        model.add_to_params(0.25, &noise(np, 8));
        let mut f = vec![0.0; data.n];
        model.forward(&data, &mut f);
        let n = data.n;
        let s = 1.0 / n as f64;
        // MSE with mean reduction: z_i = 2s (f_i − y_i), curvature 2s.
        let z: Vec<f64> = f.iter().zip(&data.y).map(|(fi, yi)| 2.0 * s * (fi - yi)).collect();
        let curvature = vec![2.0 * s; n];
        let loss_gradient = |model: &mut dyn Model, e: &[f64], t: f64| -> Vec<f64> {
            let mut out = vec![0.0; n];
            model.add_to_params(t, e);
            model.forward(&data, &mut out);
            let zt: Vec<f64> = out.iter().zip(&data.y).map(|(fi, yi)| 2.0 * s * (fi - yi)).collect();
            let mut g = vec![0.0; np];
            model.vjp(&data, &zt, &mut g);
            model.add_to_params(-t, e);
            g
        };
        let eps = 1e-5;
        let mut exact = DMatrix::zeros(np, np);
        let mut fd = DMatrix::zeros(np, np);
        let mut scratch = Vec::new();
        for j in 0..np {
            let mut e = vec![0.0; np];
            e[j] = 1.0;
            let (gp, gm) = (loss_gradient(model.as_mut(), &e, eps), loss_gradient(model.as_mut(), &e, -eps));
            model.forward(&data, &mut f);
            let mut col = vec![0.0; np];
            model.hvp(&data, &z, &curvature, &e, &mut col, &mut scratch);
            for i in 0..np {
                exact[(i, j)] = col[i];
                fd[(i, j)] = (gp[i] - gm[i]) / (2.0 * eps);
            }
        }
        let label = format!("{activation} {approx} bias={bias}");
        let diff = (&exact - &fd).norm() / fd.norm();
        assert!(diff < 1e-6, "{label}: ‖H − H_fd‖/‖H_fd‖ = {diff}");
        let asym = (&exact - exact.transpose()).norm() / exact.norm();
        assert!(asym < 1e-12, "{label}: the exact Hessian is symmetric ({asym})");
        let top = |m: DMatrix<f64>| SymmetricEigen::new(m).eigenvalues.iter().copied().fold(f64::MIN, f64::max);
        let (a, b) = (top(exact.clone()), top((&fd + fd.transpose()) * 0.5));
        assert!((a - b).abs() < 1e-6 * a.abs(), "{label}: λ_max {a} vs finite differences {b}");
        if approx == "linearized" {
            // A linear model's loss Hessian is the Gauss–Newton term: its top eigenvalue is λ̂.
            let mut k = vec![0.0; n * n];
            model.kernel(&data, &mut k);
            k.iter_mut().for_each(|x| *x *= 2.0 * s);
            let lambda_hat = dense_top2(&k, n).values[0];
            assert!((a - lambda_hat).abs() < 1e-10 * a, "{label}: λ_H {a} = λ̂ {lambda_hat}");
        }
    }
}

#[test]
fn an_mlp_without_a_neg_is_a_true_relu_and_the_two_layer_default_stays_linear() {
    let mlp = preset(r#"{"version": 1, "model": {"kind": "mlp", "depth": 2, "width": 8}}"#);
    assert_eq!(mlp.model.a_neg, 0.0);
    let given = preset(r#"{"version": 1, "model": {"kind": "mlp", "depth": 2, "width": 8, "a_neg": 0.2}}"#);
    assert_eq!(given.model.a_neg, 0.2);
    let two = preset(r#"{"version": 1, "model": {"kind": "two_layer", "width": 8}}"#);
    assert_eq!(two.model.a_neg, 1.0);
    // `--set model.kind=mlp` on a two-layer preset without a_neg: a ReLU too.
    let json = br#"{"version": 1, "model": {"width": 8}}"#;
    let set = parse_preset(json, "t", &[("model.kind".into(), serde_json::json!("mlp"))]).unwrap();
    assert_eq!(set.model.a_neg, 0.0);
    // A saved preset (which always writes a_neg) round-trips.
    let text = catapult_lab::engine::config::preset_to_json(&given);
    assert_eq!(parse_preset(text.as_bytes(), "t", &[]).unwrap().model.a_neg, 0.2);
    // A share code carries the whole preset, a_neg included.
    let code = catapult_lab::engine::config::share::encode(&given);
    assert_eq!(catapult_lab::engine::config::share::decode(&code, &[]).unwrap(), given);
    let code = catapult_lab::engine::config::share::encode(&mlp);
    assert_eq!(catapult_lab::engine::config::share::decode(&code, &[]).unwrap().model.a_neg, 0.0);
    assert!(mlp.describe_model().contains("depth=2") && mlp.describe_model().contains("relu"), "{}", mlp.describe_model());
}

#[test]
fn the_hessian_scale_is_the_hessian_along_the_residual_step_direction() {
    // h² = ‖H_p ĝ‖², ĝ = Jᵀp̂1/‖Jᵀp̂1‖; for a depth-1 linear net without biases this equals the
    // SPEC §4 form c²‖Xᵀp̂1‖²/s_d² that the model reports there.
    for param in ["ntk", "mean_field"] {
        let p = preset(&format!(
            r#"{{"version": 1, "seed": 2, "model": {{"kind": "mlp", "depth": 1, "width": 7, "activation": "linear", "parameterization": "{param}"}},
                "data": {{"kind": "clusters", "n": 5, "d": 3}}, "loss": {{"kind": "mse", "reduction": "mean"}}}}"#
        ));
        let (mut model, data) = build(&p);
        let np = model.n_params();
        model.add_to_params(0.3, &noise(np, 3));
        let mut f = vec![0.0; data.n];
        model.forward(&data, &mut f);
        let mut p1 = noise(data.n, 6);
        let norm = norm_sq(&p1).sqrt();
        p1.iter_mut().for_each(|x| *x /= norm);
        let mut g = vec![0.0; np];
        model.vjp(&data, &p1, &mut g);
        let gn = norm_sq(&g).sqrt();
        g.iter_mut().for_each(|x| *x /= gn);
        let mut hg = vec![0.0; np];
        model.output_hessian_apply(&data, &p1, &g, &mut hg);
        let along = norm_sq(&hg);
        let reported = model.hessian_scale_sq(&data, &p1);
        assert!((along - reported).abs() < 1e-12 * reported, "{param}: ‖H_p ĝ‖² {along} vs c²‖Xᵀp‖²/s² {reported}");
    }
    // Deeper nets report ‖H_p ĝ‖² itself: positive for a ReLU net, 0 for the linearized model.
    for (approx, positive) in [("network", true), ("quadratic", true), ("linearized", false)] {
        let p = tiny("relu", "ntk", true, approx, "[]");
        let (mut model, data) = build(&p);
        let mut f = vec![0.0; data.n];
        model.forward(&data, &mut f);
        let h2 = model.hessian_scale_sq(&data, &[0.5, 0.5, 0.5, 0.5]);
        assert!(h2.is_finite() && (h2 > 0.0) == positive, "{approx}: h² = {h2}");
        // A shorter p weighs the first examples only (the one-example form asks with [1.0]).
        let first = model.hessian_scale_sq(&data, &[1.0]);
        let padded = model.hessian_scale_sq(&data, &[1.0, 0.0, 0.0, 0.0]);
        assert_eq!(first, padded, "{approx}");
    }
}

#[test]
fn input_gradients_layer_params_and_sparsities() {
    for activation in ACTIVATIONS {
        let p = tiny(activation, "standard", true, "network", "[]");
        let (mut model, data) = build(&p);
        let np = model.n_params();
        model.add_to_params(0.2, &noise(np, 12));
        let mut f = vec![0.0; data.n];
        model.forward(&data, &mut f);
        // ∇ₓf (the AGOP's rows) against central differences in x.
        let d = data.d;
        let mut grads = vec![0.0; data.n * d];
        assert!(model.input_gradients(&data, &mut grads));
        let eps = 1e-6;
        for i in 0..data.n {
            for j in 0..d {
                let mut x = data.row(i).to_vec();
                x[j] += eps;
                let up = model.output_at(&x);
                x[j] -= 2.0 * eps;
                let down = model.output_at(&x);
                let fd = (up - down) / (2.0 * eps);
                assert!((grads[i * d + j] - fd).abs() < 1e-6 * fd.abs().max(1.0), "{activation}: ∂f(x_{i})/∂x_{j} {} vs {fd}", grads[i * d + j]);
            }
        }
        // Layers: W1 (5 × 3), W2 (4 × 5), W3 (1 × 4), each with its bias; init and now.
        let layers = model.layer_params();
        assert_eq!(layers.iter().map(|l| (l.rows, l.cols)).collect::<Vec<_>>(), vec![(5, 3), (4, 5), (1, 4)]);
        let flat: Vec<f64> = layers.iter().flat_map(|l| l.weight_now.iter().chain(l.bias_now.as_ref().unwrap()).copied()).collect();
        assert_eq!(flat, model.params());
        let flat0: Vec<f64> = layers.iter().flat_map(|l| l.weight_init.iter().chain(l.bias_init.as_ref().unwrap()).copied()).collect();
        assert_eq!(flat0, model.init_params());
        // Per-layer sparsity: the fraction of negative pre-activations of each hidden layer (relu only).
        let sparsities = model.layer_sparsities();
        if activation == "relu" {
            assert_eq!(sparsities.len(), 2);
            assert!(sparsities.iter().all(|s| (0.0..=1.0).contains(s)));
            let weighted = (sparsities[0] * 5.0 + sparsities[1] * 4.0) / 9.0;
            assert!((model.sparsity().unwrap() - weighted).abs() < 1e-15);
        } else {
            assert!(sparsities.is_empty() && model.sparsity().is_none());
        }
    }
    // A relu net whose first layer is negative on every (positive) input: sparsity 1 there.
    let p = preset(
        r#"{"version": 1, "seed": 1, "model": {"kind": "mlp", "depth": 2, "widths": [5, 4]},
            "data": {"kind": "points", "x": [[1.0, 2.0, 0.5], [0.5, 1.0, 1.0]], "y": [1.0, -1.0]}}"#,
    );
    let (mut model, data) = build(&p);
    let np = model.n_params();
    let init = model.init_params().to_vec();
    let mut shift = vec![0.0; np];
    for j in 0..15 {
        shift[j] = -init[j] - 1.0;
    }
    model.add_to_params(1.0, &shift);
    let mut f = vec![0.0; data.n];
    model.forward(&data, &mut f);
    assert_eq!(model.layer_sparsities()[0], 1.0);
    assert!(f.iter().all(|&v| v == f[0]), "a dead first layer makes f constant");
}

#[test]
fn the_one_pass_loss_hessian_product_equals_its_three_parts() {
    for activation in ACTIVATIONS {
        for bias in [false, true] {
            for frozen in ["[]", "[1]", "[2, 3]"] {
                let p = tiny(activation, "ntk", bias, "network", frozen);
                let (mut model, data) = build(&p);
                let np = model.n_params();
                model.add_to_params(0.2, &noise(np, 21));
                let mut f = vec![0.0; data.n];
                model.forward(&data, &mut f);
                let (z, curvature, dir) = (noise(data.n, 22), noise(data.n, 23).iter().map(|c| c + 1.0).collect::<Vec<f64>>(), noise(np, 24));
                let mut fused = vec![0.0; np];
                model.hvp(&data, &z, &curvature, &dir, &mut fused, &mut Vec::new());
                let mut jd = vec![0.0; data.n];
                model.jvp(&data, &dir, &mut jd);
                jd.iter_mut().zip(&curvature).for_each(|(x, c)| *x *= c);
                let (mut gn, mut residual) = (vec![0.0; np], vec![0.0; np]);
                model.vjp(&data, &jd, &mut gn);
                model.output_hessian_apply(&data, &z, &dir, &mut residual);
                let parts: Vec<f64> = gn.iter().zip(&residual).map(|(a, b)| a + b).collect();
                assert!(rel_diff(&fused, &parts) < 1e-12, "{activation} bias={bias} frozen={frozen}: {}", rel_diff(&fused, &parts));
            }
        }
    }
}

#[test]
fn a_big_nets_hessian_scale_is_held_for_ten_passes_a_small_nets_is_exact() {
    for (width, held) in [(16, false), (900, true)] {
        let p = preset(&format!(
            r#"{{"version": 1, "seed": 2, "model": {{"kind": "mlp", "depth": 2, "width": {width}}},
                "data": {{"kind": "clusters", "n": 40, "d": 5}}, "loss": {{"kind": "mse", "reduction": "mean"}}}}"#
        ));
        let (mut model, data) = build(&p);
        let mut f = vec![0.0; data.n];
        let p1 = vec![1.0 / (data.n as f64).sqrt(); data.n];
        model.forward(&data, &mut f);
        let first = model.hessian_scale_sq(&data, &p1);
        let step = noise(model.n_params(), 1);
        let mut values = Vec::new();
        for _ in 0..10 {
            model.add_to_params(0.05, &step);
            model.forward(&data, &mut f);
            values.push(model.hessian_scale_sq(&data, &p1));
        }
        if held {
            assert!(values[..9].iter().all(|&v| v == first), "width {width}: held for 9 more passes");
            assert_ne!(values[9], first, "width {width}: recomputed at the 10th");
        } else {
            assert!(values.iter().all(|&v| v != first), "width {width}: exact every pass");
        }
        // The one-example probe ([1.0]) is computed, never held.
        assert_ne!(model.hessian_scale_sq(&data, &[1.0]), values[9]);
    }
}
