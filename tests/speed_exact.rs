//! The speed work changes no number: the SGD thesis workload W5 (zhu-sgd-batch-5) with the fast
//! path (tiled kernel + warm-started block eigen-solver, `kernel_block`) against the exact
//! dense eigen-decomposition, every CSV column at every step; the block solver against the dense
//! decomposition on a matrix with a clustered spectrum, cold and warm-started along a moving
//! matrix, and on a low-rank matrix whose basis becomes invariant; the tiled kernel against explicit Jacobian rows; and bit-identical CSV for W5 across
//! thread counts.

use catapult_lab::engine::kernel::{KernelMethod, dense_top2};
use catapult_lab::engine::kernel_block::BlockEigen;
use catapult_lab::engine::library;
use catapult_lab::engine::model::dot;
use catapult_lab::engine::sim::{Regime, Simulation};
use catapult_lab::report::series::History;
use serde_json::json;

mod cli_run;
use cli_run::csv_with_env;

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

fn csv_rows(preset: &catapult_lab::engine::config::Preset, method: KernelMethod) -> Vec<Vec<String>> {
    let mut sim = Simulation::with_kernel_method(preset, method).unwrap();
    let mut history = History::default();
    sim.run(|s| history.push(s, Regime::Stable));
    let text = String::from_utf8(history.to_csv().unwrap()).unwrap();
    text.lines().map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// W5 as shipped (first 30 steps: the dense reference decomposes 1000 × 1000 every step): every
/// number of the CSV within 1e-10 relative of the dense result. The fast path must really be
/// the block solver (checked by its counters), not the dense decomposition.
#[test]
fn sgd_workload_csv_equals_the_dense_eigen_decomposition() {
    let steps = 30;
    let p = library::resolve("zhu-sgd-batch-5", &[("train.steps".to_string(), json!(steps))]).unwrap();
    let mut fast_sim = Simulation::new(&p).unwrap();
    while fast_sim.step().is_some() {}
    let counters = fast_sim.kernel_solver().block_counters();
    assert!(counters.products > steps as u64, "the block solver ran ({counters:?})");
    assert_eq!(counters.fallbacks, 0, "no call fell back to the dense decomposition");
    let fast = csv_rows(&p, KernelMethod::Auto);
    let dense = csv_rows(&p, KernelMethod::Dense);
    assert_eq!(fast.len(), steps + 2, "header and steps 0..={steps}");
    assert_eq!(fast[0], dense[0], "same columns");
    let header = &fast[0];
    for column in ["lambda_hat", "lambda_hat_2", "u", "loss_top", "test_loss", "agop_alignment", "batch_crit_eta"] {
        assert!(header.iter().any(|h| h == column), "the CSV has {column}");
    }
    for (row_fast, row_dense) in fast[1..].iter().zip(&dense[1..]) {
        for ((name, a), b) in header.iter().zip(row_fast).zip(row_dense) {
            if a.is_empty() || b.is_empty() {
                assert_eq!(a, b, "step {}: {name} present in one run only", row_fast[0]);
                continue;
            }
            let (x, y): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
            assert!(rel_err(x, y) <= 1e-10 || x == y, "step {}: {name} {x} (fast) vs {y} (dense)", row_fast[0]);
        }
    }
}

/// A deterministic symmetric matrix Q diag(values) Qᵀ (Q from Householder reflections).
fn spectrum_matrix(values: &[f64], salt: u64) -> Vec<f64> {
    let n = values.len();
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ salt;
    let mut rnd = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut q = vec![0.0; n * n];
    for i in 0..n {
        q[i * n + i] = 1.0;
    }
    for _ in 0..4 {
        let h: Vec<f64> = (0..n).map(|_| rnd()).collect();
        let hh = dot(&h, &h);
        // Q ← (I − 2hhᵀ/hᵀh) Q.
        for c in 0..n {
            let proj: f64 = (0..n).map(|r| h[r] * q[r * n + c]).sum::<f64>() * 2.0 / hh;
            for r in 0..n {
                q[r * n + c] -= proj * h[r];
            }
        }
    }
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            a[i * n + j] = (0..n).map(|k| q[i * n + k] * values[k] * q[j * n + k]).sum();
        }
    }
    a
}

/// ‖a − ±b‖ for unit vectors (the sign that fits): about the angle between them, accurate to
/// rounding even for tiny angles (1 − cos² is not).
fn angle_sin(a: &[f64], b: &[f64]) -> f64 {
    let sign = dot(a, b).signum();
    a.iter().zip(b).map(|(x, y)| (x - sign * y) * (x - sign * y)).sum::<f64>().sqrt()
}

/// The W5 spectrum's shape: one large eigenvalue, a cluster whose top gap is 4 % of its size,
/// then a bulk; the block solver agrees with the dense decomposition (values 1e-12 relative,
/// vectors to the tolerance), cold and warm-started while the matrix moves step by step.
#[test]
fn block_solver_equals_dense_on_a_clustered_spectrum() {
    let n = 300;
    let values: Vec<f64> = (0..n)
        .map(|i| match i {
            0 => 0.33,
            1 => 0.0314,
            2..=40 => 0.0303 - 0.0005 * i as f64,
            _ => 0.002 / (1.0 + i as f64 * 0.01),
        })
        .collect();
    let mut solver = BlockEigen::default();
    let base = spectrum_matrix(&values, 1);
    let bump = spectrum_matrix(&values.iter().rev().copied().collect::<Vec<_>>(), 2);
    for step in 0..8 {
        let t = 1e-3 * step as f64;
        let a: Vec<f64> = base.iter().zip(&bump).map(|(x, y)| x + t * y).collect();
        let exact = dense_top2(&a, n);
        let got = solver.top2(&a, n);
        for r in 0..2 {
            assert!(rel_err(got.values[r], exact.values[r]) < 1e-12, "step {step}: λ{} {} vs {}", r + 1, got.values[r], exact.values[r]);
            let sin = angle_sin(&got.vectors[r], &exact.vectors[r]);
            assert!(sin < 1e-10, "step {step}: vector {} off by sin = {sin:e}", r + 1);
        }
    }
    assert_eq!(solver.counters.fallbacks, 0);
    // Warm starts need fewer products than the cold first call made on average.
    assert!(solver.counters.products < 8 * 60);
}

/// A kernel of rank 5 (a net with few neurons or a rank-deficient data set): the block Lanczos
/// step of `kernel_block` finds nothing new once the basis holds the range (warm start on the
/// same matrix), and the Rayleigh–Ritz step after it is exact: same values as the dense
/// decomposition, no dense fallback.
#[test]
fn block_solver_is_exact_when_the_basis_becomes_invariant() {
    let n = 120;
    let values: Vec<f64> = (0..n).map(|i| [5.0, 3.0, 2.9, 1.0, 0.5].get(i).copied().unwrap_or(0.0)).collect();
    let a = spectrum_matrix(&values, 3);
    let exact = dense_top2(&a, n);
    let mut solver = BlockEigen::default();
    for call in 0..3 {
        let got = solver.top2(&a, n);
        for r in 0..2 {
            assert!(rel_err(got.values[r], exact.values[r]) < 1e-12, "call {call}: λ{} {} vs {}", r + 1, got.values[r], exact.values[r]);
            let sin = angle_sin(&got.vectors[r], &exact.vectors[r]);
            assert!(sin < 1e-10, "call {call}: vector {} off by sin = {sin:e}", r + 1);
        }
    }
    assert_eq!(solver.counters.fallbacks, 0, "answered by the block method itself");
    assert!(solver.counters.products >= 3, "every call made at least one block product");
}

/// The tiled dense kernel (and its scaled form) equals J Jᵀ from explicit Jacobian rows, for the
/// network, the NQM and the linearized model, with a frozen layer too.
#[test]
fn tiled_kernel_equals_explicit_jacobian_rows() {
    for (approx, frozen) in [("network", "[]"), ("quadratic", "[]"), ("linearized", "[]"), ("network", "[1]"), ("network", "[2]")] {
        let text = format!(
            r#"{{"version": 1, "seed": 3,
                "model": {{"kind": "two_layer", "width": 300, "a_neg": 0.2, "approx": "{approx}"}},
                "data": {{"kind": "teacher", "teacher": "rank2", "n": 290, "d": 9, "noise": 0.1}},
                "loss": {{"kind": "mse", "reduction": "mean"}},
                "train": {{"eta_scaled": 1.0, "steps": 3, "frozen_layers": {frozen}}}}}"#
        );
        let p = catapult_lab::engine::config::parse_preset(text.as_bytes(), "tiled.json", &[]).unwrap();
        let mut sim = Simulation::new(&p).unwrap();
        sim.step();
        let (data, m) = (sim.data().clone(), sim.model());
        let (n, params) = (data.n, m.n_params());
        let mut rows = vec![0.0; n * params];
        for i in 0..n {
            m.jacobian_row(data.row(i), &mut rows[i * params..(i + 1) * params]);
        }
        let mut k = vec![0.0; n * n];
        m.kernel(&data, &mut k);
        let root: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 * 0.1).collect();
        let mut scaled = vec![0.0; n * n];
        m.kernel_scaled(&data, &root, &mut scaled);
        let scale = (0..n).map(|i| k[i * n + i].abs()).fold(0.0, f64::max);
        for i in 0..n {
            for j in 0..n {
                let want = dot(&rows[i * params..(i + 1) * params], &rows[j * params..(j + 1) * params]);
                assert!((k[i * n + j] - want).abs() <= 1e-12 * scale, "{approx} {frozen}: K[{i},{j}] {} vs {want}", k[i * n + j]);
                assert_eq!(k[i * n + j], k[j * n + i], "{approx}: K is exactly symmetric");
                let s = want * root[i] * root[j];
                assert!((scaled[i * n + j] - s).abs() <= 1e-12 * scale, "{approx} {frozen}: scaled K[{i},{j}]");
            }
        }
    }
}

/// The AGOP's input gradients from the cached training pre-activations and the parallel test-set
/// outputs equal the one-point forms (`input_gradient`, `output_at`) row by row.
#[test]
fn cached_input_gradients_and_blocked_outputs_equal_the_pointwise_forms() {
    for approx in ["network", "quadratic", "linearized"] {
        let text = format!(
            r#"{{"version": 1, "seed": 5,
                "model": {{"kind": "two_layer", "width": 700, "a_neg": 0.1, "approx": "{approx}"}},
                "data": {{"kind": "teacher", "teacher": "rank2", "n": 333, "d": 12, "noise": 0.1, "test_n": 301}},
                "loss": {{"kind": "mse", "reduction": "mean"}},
                "train": {{"eta_scaled": 1.0, "steps": 3, "batch_size": 7}}}}"#
        );
        let p = catapult_lab::engine::config::parse_preset(text.as_bytes(), "eval.json", &[]).unwrap();
        let mut sim = Simulation::new(&p).unwrap();
        sim.step();
        sim.step();
        let (data, m) = (sim.data().clone(), sim.model());
        let (n, d) = (data.n, data.d);
        let mut cached = vec![0.0; n * d];
        assert!(m.training_input_gradients(&data, &mut cached));
        let mut one = vec![0.0; d];
        for i in 0..n {
            assert!(m.input_gradient(data.row(i), &mut one));
            for j in 0..d {
                let (a, b) = (cached[i * d + j], one[j]);
                assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{approx}: ∇f(x_{i})[{j}] {a} vs {b}");
            }
        }
        let mut outputs = vec![0.0; n];
        m.outputs_on(&data, &mut outputs);
        for (i, (&o, &f)) in outputs.iter().zip(sim.outputs()).enumerate() {
            assert!((o - f).abs() <= 1e-12 * (1.0 + f.abs()), "{approx}: f(x_{i}) {o} vs {f}");
            let point = m.output_at(data.row(i));
            assert!((o - point).abs() <= 1e-12 * (1.0 + point.abs()), "{approx}: f(x_{i}) {o} vs output_at {point}");
        }
    }
}

/// W5's fast path (tiled kernel, parallel block products, warm starts) gives the same bits on
/// 1, 2 and 4 threads, and for each vector-instruction level of the per-neuron loops.
#[test]
fn sgd_workload_is_bit_identical_across_thread_counts_and_simd_levels() {
    let one = csv_with_env("zhu-sgd-batch-5", "12", &[("RAYON_NUM_THREADS", "1")]);
    assert!(one.len() > 1000);
    for threads in ["2", "4"] {
        assert!(one == csv_with_env("zhu-sgd-batch-5", "12", &[("RAYON_NUM_THREADS", threads)]), "1 vs {threads} threads");
    }
    for level in ["baseline", "avx2"] {
        assert!(one == csv_with_env("zhu-sgd-batch-5", "12", &[("RAYON_NUM_THREADS", "1"), ("CATAPULT_SIMD", level)]), "{level} differs");
    }
}
