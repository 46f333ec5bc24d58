//! The layered net's fused GD step with fewer examples than inputs (n < d), where the input
//! layer's forward product is kept in the rows' space (c W Xᵀ += c α Aᵀ X Xᵀ, taken again from
//! W every 64 steps and after any other change of w): over 150 steps — through two re-takes, an
//! `add_to_params` in between and a change of rows — the weights stay w − η·Jᵀz, the outputs
//! stay those of the weights (one row at a time, from W), the state's gradient stays a fresh
//! pass's; steps that never read the weights (the input layer's W left pending, its norms from
//! the base) follow explicit steps; and the steps are the same bits on one and two threads.

use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::engine::dataset::Dataset;
use catapult_lab::engine::model::norm_sq;
use mlp_common::{build, rel_diff};

mod mlp_common;

/// Depth 2, width 1024 on n = 64 rows of d = 300: the input layer's update and forward
/// product are made together in four row parts, and n < d.
fn preset(bias: bool, activation: &str) -> Preset {
    let json = format!(
        r#"{{"version": 1, "seed": 11,
            "model": {{"kind": "mlp", "depth": 2, "width": 1024, "activation": "{activation}", "bias": {bias}, "bias_scale": 0.5}},
            "data": {{"kind": "clusters", "n": 64, "d": 300}}, "loss": {{"kind": "mse", "reduction": "mean"}},
            "train": {{"eta_scaled": 1.0, "steps": 5}}}}"#
    );
    parse_preset(json.as_bytes(), "test", &[]).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn residual(out: &[f64], data: &Dataset) -> Vec<f64> {
    out.iter().zip(&data.y).map(|(f, y)| 2.0 * (f - y) / data.n as f64).collect()
}

#[test]
fn the_input_layer_in_the_rows_space_keeps_the_weights_outputs_and_state() {
    for (bias, activation) in [(false, "relu"), (true, "tanh")] {
        let p = preset(bias, activation);
        let (mut net, mut data) = build(&p);
        let mut out = vec![0.0; data.n];
        net.forward(&data, &mut out);
        let eta = 0.2;
        for step in 1..=150 {
            if step == 120 {
                // Other rows (same n): the kept product must not be used for them.
                data.x.iter_mut().step_by(7).for_each(|x| *x *= 1.01);
                net.add_to_params(0.0, &vec![0.0; net.n_params()]);
                net.forward(&data, &mut out);
            }
            let z = residual(&out, &data);
            let before = net.params().to_vec();
            let mut grad = vec![0.0; net.n_params()];
            net.vjp(&data, &z, &mut grad);
            assert!(net.descend(&data, &z, eta));
            let expected: Vec<f64> = before.iter().zip(&grad).map(|(w, g)| w - eta * g).collect();
            let err = rel_diff(net.params(), &expected);
            assert!(err < 1e-14, "{activation} step {step}: the update differs from w − η Jᵀz by {err:.2e}");
            net.forward(&data, &mut out);
            let scale = out.iter().fold(0.0f64, |m, f| m.max(f.abs()));
            for i in (0..data.n).step_by(9) {
                let single = net.output_at(data.row(i));
                assert!((single - out[i]).abs() <= 1e-12 * scale, "{activation} step {step} row {i}: {single} from W vs {} from the step", out[i]);
            }
            if step % 25 == 0 {
                // The state the step left against a fresh pass at w (which also drops the kept
                // product: the next step takes it again from W).
                let z = residual(&out, &data);
                let mut kept = vec![0.0; net.n_params()];
                net.vjp(&data, &z, &mut kept);
                net.add_to_params(0.0, &vec![0.0; net.n_params()]);
                let mut fresh_out = vec![0.0; data.n];
                net.forward(&data, &mut fresh_out);
                let mut fresh = vec![0.0; net.n_params()];
                net.vjp(&data, &z, &mut fresh);
                let err = rel_diff(&kept, &fresh);
                assert!(err < 1e-11, "{activation} step {step}: the state's gradient differs from a fresh pass by {err:.2e}");
                assert!(rel_diff(&out, &fresh_out) < 1e-12, "{activation} step {step}: outputs");
            }
        }
        assert!(norm_sq(&residual(&out, &data)).is_finite());
    }
}

#[test]
fn steps_that_leave_the_input_layer_pending_follow_the_explicit_steps() {
    // One net steps with `descend` and reads only its outputs and weight norms (the input
    // layer's W is not written for 150 steps, its norms come from the base); the other makes
    // every step explicitly (w ← w − η·Jᵀz by `vjp` and `add_to_params`, a fresh forward pass).
    for (bias, activation) in [(false, "relu"), (true, "tanh")] {
        let p = preset(bias, activation);
        let (mut lazy, data) = build(&p);
        let (mut explicit, _) = build(&p);
        let (mut out_lazy, mut out_explicit) = (vec![0.0; data.n], vec![0.0; data.n]);
        lazy.forward(&data, &mut out_lazy);
        explicit.forward(&data, &mut out_explicit);
        let mut grad = vec![0.0; explicit.n_params()];
        for step in 1..=150 {
            assert!(lazy.descend(&data, &residual(&out_lazy, &data), 0.2));
            lazy.forward(&data, &mut out_lazy);
            explicit.vjp(&data, &residual(&out_explicit, &data), &mut grad);
            explicit.add_to_params(-0.2, &grad);
            explicit.forward(&data, &mut out_explicit);
            let err = rel_diff(&out_lazy, &out_explicit);
            assert!(err < 1e-11, "{activation} step {step}: outputs differ by {err:.2e}");
            let (a, b) = (lazy.weight_stats(&[]), explicit.weight_stats(&[]));
            for (what, x, y) in [("‖w‖²", a.norm_sq, b.norm_sq), ("‖w − w0‖²", a.dist_sq, b.dist_sq)] {
                assert!((x - y).abs() <= 1e-11 * y.abs(), "{activation} step {step}: {what} {x} vs {y}");
            }
        }
        // Reading the weights brings the input layer up to date.
        let err = rel_diff(lazy.params(), explicit.params());
        assert!(err < 1e-11, "{activation}: weights differ by {err:.2e}");
        assert!(explicit.weight_stats(&[]).dist_sq > 1e-6, "{activation}: the weights moved");
    }
}

#[test]
fn steps_through_the_rows_space_are_the_same_bits_on_one_and_two_threads() {
    let p = preset(true, "relu");
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
            let (mut net, data) = build(&p);
            let mut out = vec![0.0; data.n];
            net.forward(&data, &mut out);
            for _ in 0..70 {
                assert!(net.descend(&data, &residual(&out, &data), 0.2));
                net.forward(&data, &mut out);
            }
            let stats = net.weight_stats(&[]);
            (net.params().iter().map(|w| w.to_bits()).collect::<Vec<_>>(), out.iter().map(|f| f.to_bits()).collect::<Vec<_>>(), stats.norm_sq.to_bits(), stats.dist_sq.to_bits())
        })
    };
    assert!(run(1) == run(2), "the steps differ between one and two threads");
}
