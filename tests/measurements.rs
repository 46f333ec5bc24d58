//! The measurements of the paper reproductions (SPEC §4 extras, §6): pointwise model
//! evaluation against the batched one, SGD's batch critical rate against closed forms, the
//! loss in the top kernel directions (with the NQM's loss floor), test loss and AGOP
//! alignment against direct computation, SGD match statistics, and the Meltzer–Liu bounds.

use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::engine::data;
use catapult_lab::engine::model::{self, dot};
use catapult_lab::engine::sim::{Phase, Simulation};

fn preset(json: &str) -> Preset {
    parse_preset(json.as_bytes(), "test", &[]).expect("valid test preset")
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn pointwise_evaluation_matches_the_batched_model() {
    for (kind, approx, a_neg) in [("two_layer", "network", 0.3), ("two_layer", "quadratic", 0.0), ("two_layer", "linearized", 0.6), ("quadratic", "network", 1.0), ("linear_predictor", "network", 1.0)] {
        for d in [1, 3] {
            let w0 = if kind == "linear_predictor" { format!(r#", "w0": {:?}"#, vec![0.2; d]) } else { String::new() };
            let p = preset(&format!(
                r#"{{"version": 1, "seed": 3, "model": {{"kind": "{kind}", "width": 9, "a_neg": {a_neg}, "approx": "{approx}", "gamma": 0.3{w0}}},
                    "data": {{"kind": "clusters", "n": 6, "d": {d}}}, "train": {{"eta": 0.1}}}}"#
            ));
            let data = data::generate(&p.data, p.seed);
            let mut m = model::build(&p, &data);
            let bump: Vec<f64> = (0..m.n_params()).map(|i| 0.07 * ((i * 5 % 9) as f64 - 4.0)).collect();
            m.add_to_params(1.0, &bump);
            let mut f = vec![0.0; data.n];
            m.forward(&data, &mut f);
            let dir: Vec<f64> = (0..m.n_params()).map(|i| ((i * 3 % 7) as f64) - 3.0).collect();
            let mut jd = vec![0.0; data.n];
            m.jvp(&data, &dir, &mut jd);
            let mut row = vec![0.0; m.n_params()];
            for i in 0..data.n {
                assert!((m.output_at(data.row(i)) - f[i]).abs() < 1e-12 * (1.0 + f[i].abs()), "{kind}/{approx} d={d}: f");
                m.jacobian_row(data.row(i), &mut row);
                assert!((dot(&row, &dir) - jd[i]).abs() < 1e-10 * (1.0 + jd[i].abs()), "{kind}/{approx} d={d}: J row");
            }
            // ∇ₓf against central differences (gates are piecewise constant; h is tiny).
            let mut grad = vec![0.0; d];
            if m.input_gradient(data.row(0), &mut grad) {
                for j in 0..d {
                    let h = 1e-7;
                    let (mut plus, mut minus) = (data.row(0).to_vec(), data.row(0).to_vec());
                    plus[j] += h;
                    minus[j] -= h;
                    let fd = (m.output_at(&plus) - m.output_at(&minus)) / (2.0 * h);
                    assert!((fd - grad[j]).abs() < 1e-6 * (1.0 + fd.abs()), "{kind}/{approx} d={d}: ∇ₓf[{j}] {fd} vs {}", grad[j]);
                }
            }
        }
    }
}

/// Linear predictor, MSE with mean reduction, batches of one: K̂_B = 2‖x_i‖², so the batch
/// critical rate is exactly 1/‖x_i‖², and every epoch visits every point once.
#[test]
fn batch_critical_rate_of_single_point_batches() {
    let p = preset(
        r#"{"version": 1, "model": {"kind": "linear_predictor", "w0": [0.1, -0.2]},
            "data": {"kind": "points", "x": [[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [3.0, -1.0]], "y": [1.0, -1.0, 0.5, 2.0]},
            "loss": {"kind": "mse", "reduction": "mean"}, "train": {"eta": 0.05, "steps": 40, "batch_size": 1}}"#,
    );
    let mut sim = Simulation::new(&p).unwrap();
    assert!(sim.extra_columns()[7], "SGD runs have the batch_crit_eta column");
    let expected: Vec<f64> = (0..4).map(|i| 1.0 / dot(sim.data().row(i), sim.data().row(i))).collect();
    let mut seen = Vec::new();
    let mut samples = vec![sim.first_sample().clone()];
    while let Some(s) = sim.step() {
        let rate = s.batch_crit_eta.expect("SGD steps report the batch critical rate");
        let which = expected.iter().position(|e| rel_err(*e, rate) < 1e-12).unwrap_or_else(|| panic!("{rate} not in {expected:?}"));
        seen.push(which);
        samples.push(s);
    }
    for epoch in seen.chunks(4) {
        let mut sorted = epoch.to_vec();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3], "each epoch visits every point");
    }
    // The statistics count exactly what the samples show.
    let stats = sim.sgd_stats().unwrap();
    assert_eq!(stats.steps, 40);
    let above = samples[1..].iter().filter(|s| s.eta > s.batch_crit_eta.unwrap()).count() as u64;
    let rises: Vec<bool> = samples.windows(2).map(|w| w[1].loss > w[0].loss).collect();
    let rises_above = samples[1..].iter().zip(&rises).filter(|(s, rose)| **rose && s.eta > s.batch_crit_eta.unwrap()).count() as u64;
    assert_eq!((stats.steps_above, stats.loss_rises, stats.rises_above), (above, rises.iter().filter(|r| **r).count() as u64, rises_above));
}

/// SGD with a large step: the loss rises on steps where η exceeds the batch critical rate.
#[test]
fn sgd_spikes_match_the_batch_critical_rate() {
    let p = preset(
        r#"{"version": 1, "seed": 2, "model": {"kind": "two_layer", "width": 256, "a_neg": 0.0},
            "data": {"kind": "teacher", "teacher": "rank2", "n": 64, "d": 5, "test_n": 200},
            "loss": {"kind": "mse", "reduction": "mean"}, "train": {"eta_scaled": 1.0, "steps": 150, "batch_size": 4}}"#,
    );
    let mut sim = Simulation::new(&p).unwrap();
    sim.run(|_| {});
    let stats = sim.sgd_stats().unwrap();
    assert!(stats.steps_above > 0 && stats.loss_rises > 0, "{stats:?}");
    let match_rate = stats.match_rate().unwrap();
    assert!(match_rate > stats.share_above(), "loss rises concentrate on steps above the batch rate: {stats:?}");
}

/// d = 1 NQM: the residual outside span{p1, p2} never changes, so loss − loss_top is constant.
#[test]
fn nqm_loss_outside_the_top_two_directions_is_a_floor() {
    let p = preset(
        r#"{"version": 1, "seed": 5, "model": {"kind": "two_layer", "width": 400, "a_neg": 0.0, "approx": "quadratic"},
            "data": {"kind": "clusters", "n": 30, "d": 1, "separation": 2.0},
            "loss": {"kind": "mse", "reduction": "mean"}, "train": {"eta_scaled": 2.5, "steps": 200}}"#,
    );
    let mut sim = Simulation::new(&p).unwrap();
    let first = sim.first_sample().clone();
    let floor = first.loss - first.loss_top.unwrap();
    assert!(floor > 1e-3 * first.loss, "a real floor: {floor}");
    let mut peak: f64 = 0.0;
    while let Some(s) = sim.step() {
        assert!(((s.loss - s.loss_top.unwrap()) - floor).abs() < 1e-9 * first.loss.max(s.loss), "step {}", s.step);
        peak = peak.max(s.loss);
    }
    assert!(peak > 2.0 * first.loss, "through a catapult");
    assert!((sim.last_sample().loss - floor).abs() < 1e-6 * first.loss, "converges onto the floor");
    // One example: the top direction is everything.
    let one = catapult_lab::engine::library::shipped("catapult-uv", &[]).unwrap().unwrap();
    let mut sim = Simulation::new(&one).unwrap();
    let s = sim.step().unwrap();
    assert!(rel_err(s.loss_top.unwrap(), s.loss) < 1e-12);
}

/// Teacher data: the test loss and the AGOP alignment equal a direct computation (linear
/// predictor: G = wwᵀ), and stay in range for a network.
#[test]
fn test_loss_and_agop_alignment() {
    let p = preset(
        r#"{"version": 1, "seed": 8, "model": {"kind": "linear_predictor", "w0": [0.5, -0.3, 0.2]},
            "data": {"kind": "teacher", "teacher": "rank2", "n": 40, "d": 3, "test_n": 100, "noise": 0.0},
            "loss": {"kind": "mse", "reduction": "mean"}, "train": {"eta": 0.05, "steps": 5}}"#,
    );
    let mut sim = Simulation::new(&p).unwrap();
    let test = data::build(&p.data, p.seed).unwrap().1.unwrap();
    let mut w = vec![0.5, -0.3, 0.2];
    for _ in 0..3 {
        let s = sim.step().unwrap();
        // Reproduce the GD step of the linear model by hand.
        let data = sim.data();
        let mut grad = vec![0.0; 3];
        for i in 0..data.n {
            let r = dot(&w, data.row(i)) - data.y[i];
            for j in 0..3 {
                grad[j] += 2.0 * r * data.row(i)[j] / data.n as f64;
            }
        }
        for j in 0..3 {
            w[j] -= 0.05 * grad[j];
        }
        let test_loss = (0..test.n).map(|i| (dot(&w, test.row(i)) - test.y[i]).powi(2)).sum::<f64>() / test.n as f64;
        assert!(rel_err(s.test_loss.unwrap(), test_loss) < 1e-10);
        let target = sim.agop_target().unwrap();
        let g: Vec<f64> = (0..9).map(|k| w[k / 3] * w[k % 3]).collect();
        let cos = dot(&g, target) / (dot(&g, &g) * dot(target, target)).sqrt();
        assert!(rel_err(s.agop_alignment.unwrap(), cos) < 1e-10);
    }
    let net = catapult_lab::engine::library::shipped("zhu-sgd-batch-10", &[("train.steps".into(), serde_json::json!(5))]).unwrap().unwrap();
    let mut sim = Simulation::new(&net).unwrap();
    sim.run(|s| {
        let a = s.agop_alignment.unwrap();
        assert!((-1.0..=1.0).contains(&a));
        assert!(s.test_loss.unwrap() > 0.0);
    });
}

/// Meltzer–Liu: for homogeneous nets the catapult bound is ≈ 2(1 + a_neg²) in η·λ̂0 units
/// at large width; runs below it catapult, runs above the divergence bound diverge.
#[test]
fn meltzer_liu_bounds_hold() {
    for a_neg in [0.5f64, 0.75] {
        let name = if a_neg == 0.5 { "meltzer-homogeneous-05" } else { "meltzer-homogeneous-075" };
        let base = catapult_lab::engine::library::shipped(name, &[]).unwrap().unwrap();
        let sim = Simulation::new(&base).unwrap();
        let (catapult, divergence) = sim.meltzer_liu_bounds().unwrap();
        let divergence = divergence.unwrap();
        assert!(rel_err(catapult, 2.0 * (1.0 + a_neg * a_neg)) < 0.1, "a_neg {a_neg}: catapult bound {catapult}");
        assert!(rel_err(divergence, 2.0 * (1.0 + a_neg * a_neg) / (a_neg * a_neg)) < 0.1, "divergence bound {divergence}");
        let run = |eta_scaled: f64| {
            let mut p = base.clone();
            p.train.eta_scaled = Some(eta_scaled);
            p.train.steps = 3000;
            Simulation::new(&p).unwrap().run(|_| {})
        };
        for x in [2.1, 0.5 * (2.0 + catapult), catapult - 0.05] {
            assert_eq!(run(x).phase, Phase::Catapult, "a_neg {a_neg}, η·λ̂0 = {x}");
        }
        assert_eq!(run(divergence * 1.05).phase, Phase::Divergent, "a_neg {a_neg} above {divergence}");
    }
    let relu = catapult_lab::engine::library::shipped("meltzer-relu-4-2", &[]).unwrap().unwrap();
    assert!(Simulation::new(&relu).unwrap().meltzer_liu_bounds().is_none(), "y ≠ 0: no bound");
}

/// The Meltzer–Liu catapult bound is shown only where its window 2 < η·λ̂0 < bound is not empty:
/// for ReLU (bound ≈ 2(1 + 0²) = 2) it is a sliver above 2 at some inits and empty at others.
#[test]
fn meltzer_liu_bounds_only_where_the_window_is_not_empty() {
    let mut empty = 0;
    for seed in 0..8u64 {
        let overrides = [("seed".to_string(), serde_json::json!(seed))];
        let sim = Simulation::new(&catapult_lab::engine::library::shipped("zhu-one-example-relu", &overrides).unwrap().unwrap()).unwrap();
        assert!(sim.meltzer_liu_applies(), "seed {seed}: one example, y = 0, homogeneous net");
        match sim.meltzer_liu_bounds() {
            Some((catapult, divergence)) => assert!(catapult > 2.0 && divergence.is_none(), "seed {seed}: {catapult}"),
            None => empty += 1,
        }
    }
    assert!(empty > 0, "some ReLU inits have an empty window");
}
