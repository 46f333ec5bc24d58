//! The layered net's fused gradient-descent update (`Model::descend`) against the unfused
//! w − η·Jᵀz from `vjp`: the per-layer form for every approximation, with biases and frozen
//! layers (left exactly as they were), and the network's update fused with its forward pass in
//! row parts (the new weights, the outputs and the state it leaves, the same bits on one and
//! two threads); the weight norms summed on the way equal a fresh pass bit for bit; the
//! symmetric kernel (upper triangles only, mirrored) against J Jᵀ from explicit Jacobian rows;
//! the batched (transposed) forward product against one row at a time.

use catapult_lab::engine::config::{Preset, parse_preset};
use mlp_common::{build, rel_diff};

mod mlp_common;

fn preset(approx: &str, bias: bool, frozen: &str, n: usize, width: usize) -> Preset {
    let json = format!(
        r#"{{"version": 1, "seed": 5,
            "model": {{"kind": "mlp", "depth": 3, "width": {width}, "activation": "tanh", "bias": {bias}, "bias_scale": 0.6, "approx": "{approx}"}},
            "data": {{"kind": "clusters", "n": {n}, "d": 6}}, "loss": {{"kind": "mse", "reduction": "mean"}},
            "train": {{"frozen_layers": {frozen}, "eta_scaled": 1.0, "steps": 5}}}}"#
    );
    parse_preset(json.as_bytes(), "test", &[]).unwrap_or_else(|e| panic!("{e}: {json}"))
}

#[test]
fn fused_descend_equals_w_minus_eta_times_the_vjp() {
    for approx in ["network", "linearized", "quadratic"] {
        for bias in [false, true] {
            for frozen in ["[]", "[2]", "[1, 4]"] {
                let p = preset(approx, bias, frozen, 7, 9);
                let (mut net, data) = build(&p);
                let mut out = vec![0.0; data.n];
                // Move away from init first so the Taylor models' factors are not trivial.
                let z: Vec<f64> = (0..data.n).map(|i| 0.3 - 0.1 * i as f64).collect();
                assert!(net.descend(&data, &z, 0.05), "{approx}: the mlp has a fused update");
                net.forward(&data, &mut out);
                let before = net.params().to_vec();
                let mut grad = vec![0.0; net.n_params()];
                net.vjp(&data, &z, &mut grad);
                let expected: Vec<f64> = before.iter().zip(&grad).map(|(w, g)| w - 0.2 * g).collect();
                assert!(net.descend(&data, &z, 0.2));
                let got = net.params().to_vec();
                let err = rel_diff(&got, &expected);
                assert!(err < 1e-14, "{approx} bias={bias} frozen={frozen}: fused update differs by {err:.2e}");
                // Frozen parameters (zero gradient) are untouched, bit for bit.
                for (i, g) in grad.iter().enumerate() {
                    if *g == 0.0 {
                        assert_eq!(got[i].to_bits(), before[i].to_bits(), "{approx} frozen={frozen}: parameter {i} moved");
                    }
                }
                assert!(grad.iter().any(|g| *g != 0.0));
                // The norms summed during the update equal a fresh pass over w and w0, bit for bit.
                let during = net.weight_stats(&[]);
                net.add_to_params(0.0, &vec![0.0; net.n_params()]);
                let fresh = net.weight_stats(&[]);
                assert_eq!((during.norm_sq.to_bits(), during.dist_sq.to_bits()), (fresh.norm_sq.to_bits(), fresh.dist_sq.to_bits()), "{approx} frozen={frozen}");
                let trained: Vec<usize> = (0..grad.len()).filter(|&i| grad[i] != 0.0 || frozen == "[]").collect();
                let expected_norm: f64 = trained.iter().map(|&i| got[i] * got[i]).sum();
                assert!((fresh.norm_sq - expected_norm).abs() <= 1e-12 * expected_norm, "{approx} frozen={frozen}: ‖w‖² over the trained layers");
            }
        }
    }
}

#[test]
fn fused_update_and_forward_in_row_parts_equal_the_unfused_step() {
    // n = 64, width 512: the network's update and forward product are made together in four
    // row parts of each hidden layer (the input and output layers are not).
    for bias in [false, true] {
        for frozen in ["[]", "[2]"] {
            let p = preset("network", bias, frozen, 64, 512);
            let (mut net, data) = build(&p);
            let mut out = vec![0.0; data.n];
            net.forward(&data, &mut out);
            let z: Vec<f64> = out.iter().zip(&data.y).map(|(f, y)| 2.0 * (f - y) / data.n as f64).collect();
            let before = net.params().to_vec();
            let mut grad = vec![0.0; net.n_params()];
            net.vjp(&data, &z, &mut grad);
            assert!(net.descend(&data, &z, 0.3));
            let got = net.params().to_vec();
            let expected: Vec<f64> = before.iter().zip(&grad).map(|(w, g)| w - 0.3 * g).collect();
            let err = rel_diff(&got, &expected);
            assert!(err < 1e-14, "bias={bias} frozen={frozen}: fused update differs by {err:.2e}");
            // The outputs the fused step computed at the new weights, against one row at a time.
            net.forward(&data, &mut out);
            let scale = out.iter().fold(0.0f64, |m, f| m.max(f.abs()));
            for i in 0..data.n {
                let single = net.output_at(data.row(i));
                assert!((single - out[i]).abs() <= 1e-13 * scale, "bias={bias} frozen={frozen} row {i}: {single} vs {}", out[i]);
            }
            // The norms summed in the parts equal a fresh pass, bit for bit.
            let during = net.weight_stats(&[]);
            net.add_to_params(0.0, &vec![0.0; net.n_params()]);
            let fresh = net.weight_stats(&[]);
            assert_eq!((during.norm_sq.to_bits(), during.dist_sq.to_bits()), (fresh.norm_sq.to_bits(), fresh.dist_sq.to_bits()), "bias={bias} frozen={frozen}");
            // And the state the fused step left equals a fresh forward pass: the next gradient.
            let mut grad_fused = vec![0.0; net.n_params()];
            net.vjp(&data, &z, &mut grad_fused);
            net.forward(&data, &mut out);
            let mut grad_fresh = vec![0.0; net.n_params()];
            net.vjp(&data, &z, &mut grad_fresh);
            assert_eq!(grad_fused, grad_fresh, "bias={bias} frozen={frozen}: the fused step's state is the state at w");
        }
    }
}

#[test]
fn symmetric_kernel_equals_explicit_jacobian_rows() {
    // n = 100, width 48: several lower-triangle blocks (16 rows each).
    for bias in [false, true] {
        let p = preset("network", bias, "[2]", 100, 48);
        let (net, data) = build(&p);
        let n = data.n;
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let mut row = vec![0.0; net.n_params()];
                net.jacobian_row(data.row(i), &mut row);
                row
            })
            .collect();
        let mut kernel = vec![0.0; n * n];
        net.kernel(&data, &mut kernel);
        let mut worst: f64 = 0.0;
        let scale = (0..n).map(|i| kernel[i * n + i]).fold(0.0f64, f64::max);
        for i in 0..n {
            for j in 0..n {
                let want: f64 = rows[i].iter().zip(&rows[j]).map(|(a, b)| a * b).sum();
                worst = worst.max((kernel[i * n + j] - want).abs() / scale);
                assert_eq!(kernel[i * n + j].to_bits(), kernel[j * n + i].to_bits(), "K is exactly symmetric");
            }
        }
        assert!(worst < 1e-12, "bias={bias}: kernel differs from J Jᵀ by {worst:.2e}");
    }
}

#[test]
fn batched_forward_equals_one_row_at_a_time() {
    // n = 100, width 48: the batched pass makes the forward product transposed (Zᵀ = W Hᵀ);
    // one row at a time it does not.
    for bias in [false, true] {
        let p = preset("network", bias, "[]", 100, 48);
        let (mut net, data) = build(&p);
        let mut out = vec![0.0; data.n];
        net.forward(&data, &mut out);
        for i in 0..data.n {
            let single = net.output_at(data.row(i));
            assert!((single - out[i]).abs() <= 1e-13 * out[i].abs().max(1e-3), "bias={bias} row {i}: {single} vs {}", out[i]);
        }
    }
}

#[test]
fn fused_steps_are_the_same_bits_on_one_and_two_threads() {
    let p = preset("network", true, "[]", 64, 512);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
            let (mut net, data) = build(&p);
            let mut out = vec![0.0; data.n];
            net.forward(&data, &mut out);
            for _ in 0..3 {
                let z: Vec<f64> = out.iter().zip(&data.y).map(|(f, y)| 2.0 * (f - y) / data.n as f64).collect();
                assert!(net.descend(&data, &z, 0.3));
                net.forward(&data, &mut out);
            }
            let stats = net.weight_stats(&[]);
            (net.params().iter().map(|w| w.to_bits()).collect::<Vec<_>>(), out.iter().map(|f| f.to_bits()).collect::<Vec<_>>(), stats.norm_sq.to_bits(), stats.dist_sq.to_bits())
        })
    };
    assert!(run(1) == run(2), "the fused steps differ between one and two threads");
}
