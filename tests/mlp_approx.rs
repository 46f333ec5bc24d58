//! The layered network's runs and contracts (SPEC §10): the linearized deep model's edge is
//! exactly η·λ̂0 = 2; the NQM of a deep ReLU net equals its second-order Taylor expansion
//! computed here independently (products of frozen-gate layers with at most two weight
//! changes); depth 1 with σ_w = 1 and no bias follows `two_layer` step for step; results are
//! the same bits on 1 and 2 threads; bad mlp keys exit 2 naming the key.

use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::engine::data;
use catapult_lab::engine::model;
use catapult_lab::engine::sim::{Phase, Simulation};
use std::process::Command;

fn preset(json: &str) -> Preset {
    parse_preset(json.as_bytes(), "test", &[]).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn the_linearized_deep_model_converges_below_the_edge_and_diverges_above() {
    for (eta_scaled, converges) in [(1.97, true), (2.03, false)] {
        let p = preset(&format!(
            r#"{{"version": 1, "seed": 2, "model": {{"kind": "mlp", "depth": 3, "width": 32, "approx": "linearized", "bias": true}},
                "data": {{"kind": "teacher", "n": 12, "d": 5}}, "loss": {{"kind": "mse", "reduction": "mean"}},
                "train": {{"eta_scaled": {eta_scaled}, "steps": 1500}}}}"#
        ));
        let mut sim = Simulation::new(&p).unwrap();
        assert!(rel_err(sim.eta_max_theory().unwrap(), 2.0 / sim.lambda0()) < 1e-15, "η_max = 2/λ̂0 for a linear model");
        let summary = sim.run(|_| {});
        if converges {
            // The top mode shrinks by |1 − 1.97| a step; the flat modes are slow but never grow.
            assert!(summary.final_loss < 1e-4 * summary.loss0, "{eta_scaled}: {} from {}", summary.final_loss, summary.loss0);
            assert_eq!(summary.peak_step, 0, "{eta_scaled}: the loss never rises above its start");
            assert_ne!(summary.phase, Phase::Divergent);
            assert!(rel_err(summary.final_lambda, summary.lambda0) < 1e-12, "the linearized kernel never moves");
        } else {
            assert_eq!(summary.phase, Phase::Divergent, "{eta_scaled}: final loss {}", summary.final_loss);
        }
    }
}

/// y = M x with M = c W (n_out × n_in row-major).
fn layer(c: f64, w: &[f64], rows: usize, cols: usize, x: &[f64]) -> Vec<f64> {
    (0..rows).map(|r| c * (0..cols).map(|j| w[r * cols + j] * x[j]).sum::<f64>()).collect()
}

#[test]
fn the_nqm_of_a_deep_relu_net_is_its_second_order_taylor_expansion() {
    // Depth 3 ReLU (a_neg = 0.2), NTK parameterization, no biases, input_norm sqrt_d.
    let p = preset(
        r#"{"version": 1, "seed": 4, "model": {"kind": "mlp", "depth": 3, "widths": [6, 5, 4], "a_neg": 0.2, "approx": "quadratic"},
            "data": {"kind": "clusters", "n": 5, "d": 3}, "loss": {"kind": "mse", "reduction": "mean"}, "train": {"eta": 0.1}}"#,
    );
    let (data, _) = data::build(&p.data, p.seed).unwrap();
    let mut nqm = model::build(&p, &data);
    let np = nqm.n_params();
    let change: Vec<f64> = (0..np).map(|i| 0.4 * ((i as f64 * 0.618_034).fract() - 0.5)).collect();
    nqm.add_to_params(1.0, &change);
    let mut f = vec![0.0; data.n];
    nqm.forward(&data, &mut f);
    let (w0, w) = (nqm.init_params().to_vec(), nqm.params().to_vec());
    let dims = [3usize, 6, 5, 4, 1];
    let c: Vec<f64> = (0..4).map(|k| 1.0 / (dims[k] as f64).sqrt()).collect();
    let mut offsets = vec![0];
    for k in 0..4 {
        offsets.push(offsets[k] + dims[k] * dims[k + 1]);
    }
    assert_eq!(offsets[4], np);
    let gate = |z: f64| if z >= 0.0 { 1.0 } else { 0.2 };
    for i in 0..data.n {
        let x = data.row(i);
        // Gates at init.
        let mut gates = Vec::new();
        let mut h = x.to_vec();
        for k in 0..3 {
            let z = layer(c[k], &w0[offsets[k]..offsets[k + 1]], dims[k + 1], dims[k], &h);
            gates.push(z.iter().map(|&v| gate(v)).collect::<Vec<f64>>());
            h = z.iter().map(|&v| gate(v) * v).collect();
        }
        // f with frozen gates is multilinear in the layers: sum the terms where at most two
        // layers carry their change E_k = W_k − W0_k and the rest W0_k.
        let mut total = 0.0;
        for subset in 0u32..16 {
            if subset.count_ones() > 2 {
                continue;
            }
            let mut v = x.to_vec();
            for k in 0..4 {
                let mat: Vec<f64> = (offsets[k]..offsets[k + 1]).map(|j| if subset & (1 << k) != 0 { w[j] - w0[j] } else { w0[j] }).collect();
                v = layer(c[k], &mat, dims[k + 1], dims[k], &v);
                if k < 3 {
                    v.iter_mut().zip(&gates[k]).for_each(|(a, g)| *a *= g);
                }
            }
            total += v[0];
        }
        assert!(rel_err(f[i], total) < 1e-10, "example {i}: NQM {} vs Taylor closed form {total}", f[i]);
    }
    // And it is not the frozen-gate network itself (which keeps the cubic terms).
    let full: f64 = {
        let mut v = data.row(0).to_vec();
        let mut h0 = data.row(0).to_vec();
        for k in 0..4 {
            let z0 = layer(c[k], &w0[offsets[k]..offsets[k + 1]], dims[k + 1], dims[k], &h0);
            v = layer(c[k], &w[offsets[k]..offsets[k + 1]], dims[k + 1], dims[k], &v);
            if k < 3 {
                v.iter_mut().zip(&z0).for_each(|(a, &z)| *a *= gate(z));
                h0 = z0.iter().map(|&z| gate(z) * z).collect();
            }
        }
        v[0]
    };
    assert!(rel_err(full, f[0]) > 1e-6, "the cubic and quartic terms are left out");
}

#[test]
fn depth_one_follows_the_two_layer_net_step_for_step() {
    for (a_neg, approx, eta_scaled, data, tol) in [
        (0.0, "network", 1.5, r#"{"kind": "teacher", "n": 16, "d": 12}"#, 1e-12),
        (1.0, "network", 1.5, r#"{"kind": "clusters", "n": 10, "d": 3}"#, 1e-12),
        (0.3, "quadratic", 1.2, r#"{"kind": "teacher", "n": 16, "d": 12}"#, 1e-12),
        (0.0, "linearized", 1.5, r#"{"kind": "clusters", "n": 10, "d": 9}"#, 1e-12),
        (1.0, "network", 1.5, r#"{"kind": "single", "x": [1.0, 0.5], "y": 0.3}"#, 1e-12),
        // Catapults: the loss grows by (η·λ̂0 − 1)² a step before it falls, and rounding with it.
        (1.0, "network", 3.0, r#"{"kind": "teacher", "n": 16, "d": 12}"#, 1e-12),
        (0.0, "network", 3.0, r#"{"kind": "clusters", "n": 10, "d": 9}"#, 1e-12),
    ] {
        let common = format!(r#""data": {data}, "loss": {{"kind": "mse", "reduction": "mean"}}, "train": {{"eta_scaled": {eta_scaled}, "steps": 60}}"#);
        let two = preset(&format!(r#"{{"version": 1, "seed": 9, "model": {{"kind": "two_layer", "width": 40, "a_neg": {a_neg}, "approx": "{approx}"}}, {common}}}"#));
        let mlp = preset(&format!(r#"{{"version": 1, "seed": 9, "model": {{"kind": "mlp", "depth": 1, "width": 40, "a_neg": {a_neg}, "approx": "{approx}"}}, {common}}}"#));
        let (mut a, mut b) = (Simulation::new(&two).unwrap(), Simulation::new(&mlp).unwrap());
        let label = format!("a_neg {a_neg} {approx} {data}");
        assert_eq!(a.model().init_params(), b.model().init_params(), "{label}: same draws");
        loop {
            let (x, y) = (a.step(), b.step());
            let (Some(x), Some(y)) = (x, y) else {
                break;
            };
            for (name, p, q) in [("loss", x.loss, y.loss), ("λ̂", x.lambda_hat, y.lambda_hat), ("λ̂2", x.lambda_hat_2, y.lambda_hat_2), ("‖w‖²", x.weight_norm_sq, y.weight_norm_sq), ("u", x.u, y.u)] {
                assert!(rel_err(p, q) < tol || (p - q).abs() < 1e-15, "{label} step {}: {name} {p} vs {q}", x.step);
            }
        }
        let (wa, wb) = (a.model().params(), b.model().params());
        let worst = wa.iter().zip(wb).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-12, "{label}: weights differ by {worst} after 60 steps");
        let (sa, sb) = (a.summary(), b.summary());
        assert_eq!(sa.phase, sb.phase, "{label}");
        if eta_scaled > 2.0 {
            assert!(sb.peak_loss > 1.2 * sb.loss0, "{label}: the loss rises ({} from {})", sb.peak_loss, sb.loss0);
        }
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_catapult-lab"))
}

#[test]
fn results_are_the_same_bits_on_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.json");
    // Large enough that the products split into parallel chunks.
    std::fs::write(
        &path,
        r#"{"version": 1, "seed": 1, "model": {"kind": "mlp", "depth": 2, "width": 600, "activation": "tanh", "bias": true, "approx": "quadratic"},
            "data": {"kind": "teacher", "n": 80, "d": 40}, "loss": {"kind": "mse", "reduction": "mean"}, "train": {"eta_scaled": 3.0, "steps": 4}}"#,
    )
    .unwrap();
    let mut csvs = Vec::new();
    for threads in ["1", "2"] {
        let csv = dir.path().join(format!("t{threads}.csv"));
        let out = bin().env("RAYON_NUM_THREADS", threads).args(["run", "--preset", path.to_str().unwrap(), "--csv", csv.to_str().unwrap()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        csvs.push(std::fs::read(&csv).unwrap());
    }
    assert_eq!(csvs[0], csvs[1], "the CSV does not depend on the thread count");
}

#[test]
fn bad_mlp_keys_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (r#""depth": 0"#, "", "model.depth"),
        (r#""depth": 100"#, "", "model.depth"),
        (r#""depth": 3, "widths": [8, 8]"#, "", "model.widths"),
        (r#""depth": 2, "activation": "swish""#, "", "model.activation"),
        (r#""depth": 3"#, r#""frozen_layers": [7]"#, "train.frozen_layers[0]"),
        (r#""depth": 2"#, r#""frozen_layers": [1, 2, 3]"#, "train.frozen_layers"),
        (r#""depth": 2, "a_neg": 2"#, "", "model.a_neg"),
        (r#""depth": 2, "widths": [8, 0]"#, "", "model.widths[1]"),
        (r#""depth": 2, "bias": true, "bias_scale": -1"#, "", "model.bias_scale"),
    ];
    for (i, (model, train, key)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.json"));
        let train = if train.is_empty() { String::new() } else { format!(r#", "train": {{{train}}}"#) };
        std::fs::write(&path, format!(r#"{{"version": 1, "model": {{"kind": "mlp", "width": 8, {model}}}{train}}}"#)).unwrap();
        let out = bin().args(["run", "--preset", path.to_str().unwrap()]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{model} {train}: {err}");
        assert!(err.contains(&format!("`{key}`")), "{model} {train}: names `{key}`: {err}");
        assert!(err.contains(&format!("bad{i}.json")) && !err.contains("panicked"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    // Too large to fit: refused before anything is allocated.
    let path = dir.path().join("huge.json");
    std::fs::write(&path, r#"{"version": 1, "model": {"kind": "mlp", "depth": 8, "width": 100000}, "data": {"kind": "clusters", "n": 100, "d": 10}}"#).unwrap();
    let out = bin().args(["run", "--preset", path.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("GiB"), "{err}");
    // The messages say what is allowed.
    let path = dir.path().join("act.json");
    std::fs::write(&path, r#"{"version": 1, "model": {"kind": "mlp", "activation": "swish"}}"#).unwrap();
    let err = String::from_utf8_lossy(&bin().args(["run", "--preset", path.to_str().unwrap()]).output().unwrap().stderr).to_string();
    assert!(err.contains("relu") && err.contains("gelu"), "lists the activations: {err}");
    let path = dir.path().join("frozen.json");
    std::fs::write(&path, r#"{"version": 1, "model": {"kind": "mlp", "depth": 2}, "train": {"frozen_layers": [7]}}"#).unwrap();
    let err = String::from_utf8_lossy(&bin().args(["run", "--preset", path.to_str().unwrap()]).output().unwrap().stderr).to_string();
    assert!(err.contains("1 to 3"), "{err}");
}

#[test]
fn a_width_sweep_sets_every_hidden_layer_of_an_mlp() {
    use catapult_lab::engine::sweep::{EtaAxis, SweepSpec};
    let base = preset(r#"{"version": 1, "model": {"kind": "mlp", "depth": 2, "widths": [8, 4]}, "data": {"kind": "clusters", "n": 6, "d": 2}}"#);
    let spec = SweepSpec { base: base.clone(), eta: EtaAxis::Scaled { from: 1.0, to: 2.0, count: 2 }, widths: vec![16, 32], seeds: 1, approxes: Vec::new() };
    let cells = spec.cells().unwrap();
    assert_eq!(cells.len(), 4);
    for cell in &cells {
        assert!(cell.preset.model.widths.is_none());
        let sim = Simulation::new(&cell.preset).unwrap();
        let w = cell.preset.model.width;
        assert_eq!(sim.model().n_params(), 2 * w + w * w + w, "width {w} in both hidden layers");
    }
    // Without a width axis the per-layer list stays.
    let own = SweepSpec { widths: Vec::new(), ..spec };
    assert!(own.cells().unwrap().iter().all(|c| c.preset.model.widths == Some(vec![8, 4])));
}
