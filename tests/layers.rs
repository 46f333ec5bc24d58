//! Layer controls (SPEC §10 keys on the two-layer net, layers 1 = u and 2 = v):
//! `model.init_scales` sets each layer's init scale, `train.frozen_layers` keeps a layer at its
//! init and drops it out of J, the kernel, λ̂, the batch critical rate and the weight
//! measurements. J is formed here by hand from the parameters, independently of the model code.

use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::engine::kernel::{KernelMethod, dense_top2};
use catapult_lab::engine::model::norm_sq;
use catapult_lab::engine::sim::Simulation;

fn preset(json: &str) -> Preset {
    parse_preset(json.as_bytes(), "test", &[]).expect("valid test preset")
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

fn net(width: usize, a_neg: f64, data: &str, frozen: &str, train: &str) -> Preset {
    preset(&format!(
        r#"{{"version": 1, "seed": 7, "model": {{"kind": "two_layer", "width": {width}, "a_neg": {a_neg}}},
            "data": {data}, "loss": {{"kind": "mse", "reduction": "mean"}},
            "train": {{"frozen_layers": {frozen}, {train}}}}}"#
    ))
}

const CLUSTERS_D3: &str = r#"{"kind": "clusters", "n": 5, "d": 3}"#;

/// The rows of J for the trained layers only, by the formulas of SPEC §2:
/// ∂f/∂u_k = c v_k σ'(z_k) x / s_d, ∂f/∂v_k = c σ(z_k), z_k = u_kᵀx / s_d.
fn reduced_jacobian(sim: &Simulation, a_neg: f64, train_u: bool, train_v: bool) -> Vec<Vec<f64>> {
    let (data, w) = (sim.data(), sim.model().params());
    let (d, m) = (data.d, sim.preset().model.width);
    let (c, s_inv) = (1.0 / (m as f64).sqrt(), 1.0 / (d as f64).sqrt());
    (0..data.n)
        .map(|i| {
            let x = data.row(i);
            let mut row = Vec::new();
            let z: Vec<f64> = (0..m).map(|k| w[k * d..(k + 1) * d].iter().zip(x).map(|(u, x)| u * x).sum::<f64>() * s_inv).collect();
            let gate = |z: f64| if z >= 0.0 { 1.0 } else { a_neg };
            if train_u {
                for k in 0..m {
                    row.extend(x.iter().map(|xj| c * w[m * d + k] * gate(z[k]) * xj * s_inv));
                }
            }
            if train_v {
                row.extend(z.iter().map(|&zk| c * gate(zk) * zk));
            }
            row
        })
        .collect()
}

/// λ_max of K̂ = 2s J Jᵀ (MSE, mean reduction: s = 1/n) from explicit rows.
fn dense_lambda(rows: &[Vec<f64>]) -> f64 {
    let n = rows.len();
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            k[i * n + j] = 2.0 / n as f64 * rows[i].iter().zip(&rows[j]).map(|(a, b)| a * b).sum::<f64>();
        }
    }
    dense_top2(&k, n).values[0]
}

#[test]
fn a_frozen_layer_is_never_updated() {
    for (data, a_neg) in [(CLUSTERS_D3, 0.0), (r#"{"kind": "clusters", "n": 6, "d": 1}"#, 0.3), (r#"{"kind": "single", "x": [1.0], "y": 0.0}"#, 1.0), (r#"{"kind": "clusters", "n": 4, "d": 12}"#, 0.0)] {
        for (frozen, first_layer_moves) in [("[2]", true), ("[1]", false)] {
            let p = net(16, a_neg, data, frozen, r#""eta_scaled": 1.5, "steps": 100"#);
            let mut sim = Simulation::new(&p).unwrap();
            sim.run(|_| {});
            assert_eq!(sim.step_count(), 100);
            let split = 16 * sim.data().d;
            let (w, w0) = (sim.model().params(), sim.model().init_params());
            let (frozen_now, frozen_init, moving, moving_init) =
                if first_layer_moves { (&w[split..], &w0[split..], &w[..split], &w0[..split]) } else { (&w[..split], &w0[..split], &w[split..], &w0[split..]) };
            assert!(frozen_now.iter().zip(frozen_init).all(|(a, b)| a.to_bits() == b.to_bits()), "{data} frozen {frozen}: bit-identical after 100 steps");
            assert!(moving != moving_init, "{data} frozen {frozen}: the other layer trains");
            // The weight measurements cover the trained layer only.
            let last = sim.last_sample();
            assert!(rel_err(last.weight_norm_sq, norm_sq(moving)) < 1e-12, "{data} frozen {frozen}: ‖w‖² of the trained part");
            let dist: f64 = moving.iter().zip(moving_init).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
            assert!(rel_err(last.dist_from_init, dist) < 1e-12);
            assert_eq!(last.u, 0.0, "f is linear in the trained layer: h² = 0");
        }
    }
}

#[test]
fn the_kernel_of_a_frozen_net_is_the_reduced_j_jt() {
    for (data, a_neg) in [(CLUSTERS_D3, 0.0), (r#"{"kind": "clusters", "n": 6, "d": 1}"#, 0.3), (r#"{"kind": "clusters", "n": 4, "d": 12}"#, 1.0)] {
        for (frozen, train_u, train_v) in [("[2]", true, false), ("[1]", false, true), ("[]", true, true)] {
            for method in [KernelMethod::Dense, KernelMethod::Lanczos] {
                let p = net(12, a_neg, data, frozen, r#""eta_scaled": 1.2, "steps": 20"#);
                let mut sim = Simulation::with_kernel_method(&p, method).unwrap();
                let expected = dense_lambda(&reduced_jacobian(&sim, a_neg, train_u, train_v));
                assert!(rel_err(sim.lambda0(), expected) < 1e-8, "{data} {frozen} {method:?}: λ̂0 {} vs {expected}", sim.lambda0());
                while sim.step().is_some() {}
                let expected = dense_lambda(&reduced_jacobian(&sim, a_neg, train_u, train_v));
                assert!(rel_err(sim.last_sample().lambda_hat, expected) < 1e-8, "{data} {frozen} {method:?} after 20 steps");
            }
        }
    }
}

#[test]
fn the_batch_critical_rate_uses_the_trained_layers() {
    let p = net(10, 0.0, CLUSTERS_D3, "[2]", r#""eta": 0.05, "steps": 3, "batch_size": 2"#);
    let mut sim = Simulation::new(&p).unwrap();
    for _ in 0..3 {
        // The batch about to be drawn is not known; check the one just used, at the weights it saw.
        let rows_before = reduced_jacobian(&sim, 0.0, true, false);
        let sample = sim.step().unwrap();
        let batch = sim.last_batch().to_vec();
        assert_eq!(batch.len(), 2);
        let rows: Vec<Vec<f64>> = batch.iter().map(|&i| rows_before[i].clone()).collect();
        let expected = 2.0 / dense_lambda(&rows);
        assert!(rel_err(sample.batch_crit_eta.unwrap(), expected) < 1e-10, "2/λ̂(batch) {} vs {expected}", sample.batch_crit_eta.unwrap());
    }
}

#[test]
fn init_scales_set_each_layer() {
    let p = preset(
        r#"{"version": 1, "seed": 1, "model": {"kind": "two_layer", "width": 20000, "init_scales": [0.01, 0.001]},
            "data": {"kind": "single", "x": [1.0], "y": 0.0}, "train": {"eta": 0.1, "steps": 0}}"#,
    );
    let sim = Simulation::new(&p).unwrap();
    let w = sim.model().params();
    let std = |xs: &[f64]| (xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64).sqrt();
    assert!(rel_err(std(&w[..20000]), 0.01) < 0.03 && rel_err(std(&w[20000..]), 0.001) < 0.03, "{} {}", std(&w[..20000]), std(&w[20000..]));
    // [σ, σ] is the same init as init_scale = σ, bit for bit.
    let same = |json: &str| Simulation::new(&preset(json)).unwrap().model().params().to_vec();
    let a = same(r#"{"version": 1, "model": {"kind": "two_layer", "width": 50, "init_scale": 0.3}, "data": {"kind": "clusters", "n": 4, "d": 2}, "train": {"eta": 0.1}}"#);
    let b = same(r#"{"version": 1, "model": {"kind": "two_layer", "width": 50, "init_scales": [0.3, 0.3]}, "data": {"kind": "clusters", "n": 4, "d": 2}, "train": {"eta": 0.1}}"#);
    assert_eq!(a, b);
}

#[test]
fn bad_layer_keys_are_errors_naming_the_key() {
    let bad = |model: &str, train: &str| {
        let json = format!(r#"{{"version": 1, "model": {model}, "data": {{"kind": "single", "x": [1.0]}}, "train": {train}}}"#);
        parse_preset(json.as_bytes(), "bad.json", &[]).unwrap_err()
    };
    let e = bad(r#"{"kind": "two_layer", "init_scales": [1.0]}"#, "{}");
    assert_eq!(e.key, "model.init_scales");
    let e = bad(r#"{"kind": "two_layer"}"#, r#"{"frozen_layers": [3]}"#);
    assert_eq!(e.key, "train.frozen_layers[0]");
    let e = bad(r#"{"kind": "two_layer"}"#, r#"{"frozen_layers": [1, 2]}"#);
    assert_eq!(e.key, "train.frozen_layers");
    let e = bad(r#"{"kind": "quadratic"}"#, r#"{"frozen_layers": [1]}"#);
    assert_eq!(e.key, "train.frozen_layers");
}
