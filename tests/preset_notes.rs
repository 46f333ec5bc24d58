//! Every shipped preset's `notes` are true: each claim a note makes (phase, band, which
//! eigenvalue falls, shares, closed forms) is asserted here on a run of the shipped preset
//! (with the note's own variations), with as few steps as the claim needs.

use catapult_lab::engine::config::Preset;
use catapult_lab::engine::library;
use catapult_lab::engine::sim::{Phase, Sample, Simulation, Summary};
use serde_json::{Value, json};

fn load(name: &str, sets: &[(&str, Value)]) -> Preset {
    let overrides: Vec<(String, Value)> = sets.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    library::shipped(name, &overrides).expect("a shipped preset").expect("valid")
}

/// Runs a shipped preset (with overrides) to the end: the simulation, every sample (step 0
/// first) and the summary.
fn run(name: &str, sets: &[(&str, Value)]) -> (Simulation, Vec<Sample>, Summary) {
    let mut sim = Simulation::new(&load(name, sets)).expect("builds");
    let mut samples = Vec::new();
    let summary = sim.run(|s| samples.push(s.clone()));
    (sim, samples, summary)
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

/// The loss never rises (up to rounding at its floor, 1e-12 relative).
fn never_rises(samples: &[Sample]) -> bool {
    samples.windows(2).all(|w| w[1].loss <= w[0].loss * (1.0 + 1e-12))
}

/// Local maxima of the loss above `level`.
fn peaks_above(samples: &[Sample], level: f64) -> Vec<u64> {
    samples.windows(3).filter(|w| w[1].loss > w[0].loss && w[1].loss >= w[2].loss && w[1].loss > level).map(|w| w[1].step).collect()
}

/// The presets this file checks; `every_shipped_preset_is_checked` keeps it complete.
const CHECKED: &[&str] = &[
    "lazy-uv", "catapult-uv", "divergent-uv", "zhu-one-example-relu", "zhu-multi-example", "zhu-multi-example-nqm",
    "zhu-general-quadratic", "huang-exp-degenerate", "zhu-one-example-nqm", "zhu-one-example-linearized",
    "meltzer-pure-quadratic", "meltzer-homogeneous-05", "meltzer-homogeneous-075", "meltzer-relu-4-2",
    "huang-ex1-exponential", "huang-ex1-logistic", "huang-ex2-exponential", "huang-ex2-logistic", "huang-ex3-exponential",
    "huang-ex3-logistic", "huang-ex4-exponential", "huang-ex4-logistic", "zhu-sgd-batch-5", "zhu-sgd-batch-10",
    "zhu-sgd-batch-50", "zhu-sgd-batch-full", "zhu-sgd-spike-one-point", "zhu-multiple-catapults", "huang2025-two-stage",
];

/// The presets whose notes other test files check: the real-image presets (tests/image_presets.rs),
/// the optimizer and schedule presets (tests/optimizer_presets.rs) and the layered nets (tests/deep_presets.rs).
const CHECKED_ELSEWHERE: &[&str] = &[
    "images-meltzer-mnist-fig3", "images-meltzer-fashion-fig12", "images-mnist-lazy", "images-thesis-sgd-fig46",
    "images-digits-catapult", "images-zhu-generalization",
    // tests/optimizer_presets.rs (issue 18: optimizers and schedules).
    "momentum-below-edge", "momentum-above-edge", "cyclic-catapult", "auto-catapult", "optimizers-fig411",
    // tests/deep_presets.rs (issue 15: layered networks).
    "deep-meltzer-3layer", "deep-relu-window", "deep-thesis-fig43", "deep-thesis-fig49b", "deep-network-nqm-linearized",
];

#[test]
fn every_shipped_preset_is_checked() {
    let mut shipped: Vec<&str> = library::SHIPPED.iter().map(|(name, _)| *name).collect();
    let mut checked: Vec<&str> = CHECKED.iter().chain(CHECKED_ELSEWHERE).copied().collect();
    shipped.sort();
    checked.sort();
    assert_eq!(shipped, checked, "add a test of the new preset's notes");
}

#[test]
fn basics_lazy_catapult_divergent() {
    // lazy-uv: monotone fall, kernel barely moves, (u, v) slides to u = 0 at v = 1.5.
    let (_, samples, summary) = run("lazy-uv", &[]);
    assert_eq!(summary.phase, Phase::Lazy);
    assert!(never_rises(&samples));
    assert!(rel_err(summary.final_lambda, summary.lambda0) < 1e-2, "{summary:?}");
    let last = samples.last().unwrap();
    assert!(last.u < 1e-20 && (last.v - 1.5).abs() < 0.02, "u {} v {}", last.u, last.v);

    // catapult-uv: growth for a few steps with the residual flipping sign, a peak, a collapse
    // with λ falling until η·λ < 2, landing on the stable segment u = 0, v < 2.
    let mut sim = Simulation::new(&load("catapult-uv", &[])).unwrap();
    let mut outputs = vec![sim.model().output_at(&[1.0])];
    let mut samples = vec![sim.first_sample().clone()];
    while let Some(s) = sim.step() {
        outputs.push(sim.model().output_at(&[1.0]));
        samples.push(s);
    }
    let summary = sim.summary();
    assert_eq!(summary.phase, Phase::Catapult);
    let peak = summary.peak_step as usize;
    assert!((3..=15).contains(&peak), "peak at step {peak}");
    for t in 1..=peak {
        assert!(samples[t].loss > samples[t - 1].loss, "grows up to the peak (step {t})");
        assert!(outputs[t] * outputs[t - 1] < 0.0, "the residual flips sign at step {t}");
    }
    assert!(summary.final_eta_lambda < 2.0 && summary.final_lambda < summary.lambda0);
    let last = samples.last().unwrap();
    assert!(last.u < 1e-20 && last.v < 2.0);

    // divergent-uv: the loss grows, λ increases, the run stops at the divergence step.
    let (_, samples, summary) = run("divergent-uv", &[]);
    assert_eq!(summary.phase, Phase::Divergent);
    assert!(summary.diverged_at.is_some() && summary.final_lambda > summary.lambda0, "{summary:?}");
    assert!(samples.windows(2).all(|w| w[1].lambda_hat >= w[0].lambda_hat), "λ increases instead of falling");
}

#[test]
fn zhu_one_example_nqm_network_linearized() {
    // NQM: the exact map, a catapult ending with v < 2; 1.5 lazy, 3.2 catapult, 4.5 divergent.
    let (_, samples, summary) = run("zhu-one-example-nqm", &[]);
    assert_eq!(summary.phase, Phase::Catapult);
    for w in samples.windows(2) {
        let (u, v) = (w[0].u, w[0].v);
        let expected = (1.0 - v + u).powi(2) * u;
        assert!(rel_err(w[1].u, expected) < 1e-9 || (w[1].u - expected).abs() < 1e-15, "u' at step {}: {} vs {expected}", w[1].step, w[1].u);
        assert!((w[1].v - (v - u * (4.0 - v))).abs() < 1e-9, "v' at step {}", w[1].step);
    }
    assert!(samples.last().unwrap().v < 2.0);
    for (x, phase) in [(1.5, Phase::Lazy), (3.2, Phase::Catapult), (4.5, Phase::Divergent)] {
        assert_eq!(run("zhu-one-example-nqm", &[("train.eta_scaled", json!(x))]).2.phase, phase, "η·λ̂0 = {x}");
    }
    // The ReLU network catapults like it; its linearized model diverges above 2.
    assert_eq!(run("zhu-one-example-relu", &[]).2.phase, Phase::Catapult);
    assert_eq!(run("zhu-one-example-relu", &[("model.approx", json!("linearized"))]).2.phase, Phase::Divergent);
    // zhu-one-example-linearized: no catapult, it diverges and its kernel never moves.
    let (_, samples, summary) = run("zhu-one-example-linearized", &[]);
    assert_eq!(summary.phase, Phase::Divergent);
    assert!(samples.iter().all(|s| rel_err(s.lambda_hat, summary.lambda0) < 1e-12), "the kernel is fixed");
}

#[test]
fn zhu_multi_example_band() {
    // NQM: the band 2 < η·λ̂0 < 2/λ̂2·λ̂1 = 2.45; at 2.2 the top eigenvalue falls below 2/η with
    // one loss peak, the second stays to 1e-4; at 2.5 a second peak appears.
    let (sim, samples, summary) = run("zhu-multi-example-nqm", &[]);
    let band_edge = 2.0 * summary.lambda0 / summary.lambda0_2;
    assert!((band_edge - 2.45).abs() < 0.01, "2/λ̂2 at η·λ̂1 = {band_edge}");
    assert!(summary.eta_scaled > 2.0 && summary.eta_scaled < band_edge);
    assert_eq!(summary.phase, Phase::Catapult);
    assert_eq!(peaks_above(&samples, 2.0 * summary.loss0).len(), 1, "one loss peak");
    let last = samples.last().unwrap();
    let (high, low) = (last.lambda_hat, last.lambda_hat_2);
    let crit = 2.0 / sim.eta();
    // Sorted, the fallen top eigenvalue is now the lower one; the other is the second's start.
    assert!(rel_err(high, summary.lambda0_2) < 1e-4, "the second stays: {high} vs {}", summary.lambda0_2);
    assert!(low < crit, "the top one fell below 2/η: {low} vs {crit}");
    let (_, samples_25, s25) = run("zhu-multi-example-nqm", &[("train.eta_scaled", json!(2.5))]);
    assert_eq!(peaks_above(&samples_25, 2.0 * s25.loss0).len(), 2, "above 2.45 a second peak");
    assert!(samples_25.last().unwrap().lambda_hat < s25.lambda0_2, "above 2.45 both fall");
    // Network: λ̂2/λ̂1 = 0.82, one peak at 2.2, the top falls below 2/η, the second moves < 5 %.
    let (sim, samples, summary) = run("zhu-multi-example", &[]);
    assert!((summary.lambda0_2 / summary.lambda0 - 0.82).abs() < 0.005);
    assert!((2.0 * summary.lambda0 / summary.lambda0_2 - 2.45).abs() < 0.01 && summary.eta_scaled < 2.45, "inside the band");
    assert_eq!(summary.phase, Phase::Catapult);
    assert_eq!(peaks_above(&samples, 2.0 * summary.loss0).len(), 1, "one loss peak");
    let last = samples.last().unwrap();
    assert!(last.lambda_hat < 2.0 / sim.eta(), "the top one is below 2/η");
    for value in [last.lambda_hat, last.lambda_hat_2] {
        assert!(rel_err(value, summary.lambda0_2) < 0.05, "{value} vs λ̂2(0) = {}", summary.lambda0_2);
    }
}

#[test]
fn zhu_general_quadratic_and_multiple_catapults() {
    let (_, _, summary) = run("zhu-general-quadratic", &[]);
    assert_eq!(summary.phase, Phase::Catapult);
    assert!(summary.final_eta_lambda < 2.0 && summary.final_lambda < summary.lambda0);
    // Repeated catapults: lazy at 1.5 for 100 steps; each raise (100, 200, 300) pushes η·λ̂
    // above 2 again, the loss spikes and λ̂ falls again, each time to a flatter point.
    let (_, samples, summary) = run("zhu-multiple-catapults", &[]);
    assert!(never_rises(&samples[..=100]), "lazy before the first raise");
    let mut previous_end = f64::INFINITY;
    for (start, end) in [(100usize, 200usize), (200, 300), (300, 400)] {
        let at_raise = &samples[start + 1];
        assert!(at_raise.eta_lambda > 2.0, "step {start}: η·λ̂ = {}", at_raise.eta_lambda);
        let peak = samples[start + 1..=end].iter().map(|s| s.loss).fold(0.0, f64::max);
        assert!(peak > 2.0 * samples[start].loss, "segment {start}: the loss spikes ({peak} vs {})", samples[start].loss);
        let lambda_end = samples[end].lambda_hat;
        assert!(lambda_end < samples[start].lambda_hat, "segment {start}: λ̂ falls");
        assert!(lambda_end < previous_end, "each time to a flatter point");
        previous_end = lambda_end;
    }
    assert_eq!(summary.phase, Phase::Catapult);
}

#[test]
fn meltzer_presets() {
    for (name, a_neg, bound, (converges, diverges)) in [("meltzer-homogeneous-05", 0.5f64, 2.5, (4.5, 5.0)), ("meltzer-homogeneous-075", 0.75, 3.12, (4.05, 4.2))] {
        // θ'² = θ² + η_e f² (η_e λ − 4) exactly (half_mean: η_e = η), f from the loss (L = f²/2).
        let (sim, samples, _) = run(name, &[("train.steps", json!(40))]);
        for w in samples.windows(2) {
            let f_sq = 2.0 * w[0].loss;
            let expected = w[0].weight_norm_sq + sim.eta() * f_sq * (sim.eta() * w[0].lambda_raw - 4.0);
            assert!(rel_err(w[1].weight_norm_sq, expected) < 1e-9, "{name} step {}", w[1].step);
        }
        let (catapult, _) = sim.meltzer_liu_bounds().unwrap();
        assert!((catapult - 2.0 * (1.0 + a_neg * a_neg)).abs() < 0.05 * bound && (catapult - bound).abs() < 0.05 * bound, "{name}: {catapult}");
        assert_eq!(run(name, &[]).2.phase, Phase::Catapult, "{name} at 3");
        // It still converges for some super-critical rates beyond 4 (the note names them).
        let beyond = run(name, &[("train.eta_scaled", json!(converges))]).2;
        assert!(beyond.phase == Phase::Catapult && beyond.final_loss < 1e-20, "{name} at {converges}: {beyond:?}");
        assert_eq!(run(name, &[("train.eta_scaled", json!(diverges))]).2.phase, Phase::Divergent, "{name} at {diverges}");
    }
    // Pure quadratic model: at 3 the loss grows, then falls to 0 while ‖w‖² and η·H drop;
    // it converges up to η·H0 = 4.
    let (_, _, summary) = run("meltzer-pure-quadratic", &[]);
    assert_eq!(summary.phase, Phase::Catapult);
    assert!(summary.final_loss < 1e-20 && summary.final_weight_norm_sq < summary.weight_norm_sq0 && summary.final_eta_lambda < summary.eta_scaled);
    assert!(run("meltzer-pure-quadratic", &[("train.eta_scaled", json!(3.9))]).2.final_loss < 1e-12);
    assert_eq!(run("meltzer-pure-quadratic", &[("train.eta_scaled", json!(4.1))]).2.phase, Phase::Divergent);
    // ReLU net on (4, 2): a catapult that switches gates off (the CSV's sparsity rises from
    // 0.47 to over 0.55); at 5 the kernel collapses (dead, every gate off).
    let (_, samples, summary) = run("meltzer-relu-4-2", &[]);
    assert_eq!(summary.phase, Phase::Catapult);
    assert!(summary.final_loss < 1e-20 && summary.final_lambda < 0.1 * summary.lambda0);
    let (first, last) = (samples[0].sparsity.unwrap(), samples.last().unwrap().sparsity.unwrap());
    assert!((first - 0.47).abs() < 0.005 && last > 0.55, "sparsity {first} → {last}");
    let (_, samples, summary) = run("meltzer-relu-4-2", &[("train.eta_scaled", json!(5.0))]);
    assert_eq!(summary.phase, Phase::Dead);
    assert_eq!(samples.last().unwrap().sparsity, Some(1.0));
}

/// ±w* of the logistic 2-cycle: w* = (η/4) tanh(w*/2).
fn two_cycle(eta: f64) -> f64 {
    let mut w: f64 = 1.0;
    for _ in 0..100_000 {
        w = eta / 4.0 * (w / 2.0).tanh();
    }
    w
}

#[test]
fn huang_linear_predictor_presets() {
    // Example 1, exponential: η_crit = 2 w0/sinh(w0) = 1.668; at 1.6 the loss falls to 1;
    // above η_crit it never decreases and explodes.
    let (_, samples, summary) = run("huang-ex1-exponential", &[]);
    let w0: f64 = 1.06;
    assert!((summary.eta_crit_theory.unwrap() - 2.0 * w0 / w0.sinh()).abs() < 1e-12);
    assert!((summary.eta_crit_theory.unwrap() - 1.669).abs() < 5e-4);
    assert!(never_rises(&samples) && (summary.final_loss - 1.0).abs() < 1e-6, "{summary:?}");
    let (_, samples, summary) = run("huang-ex1-exponential", &[("train.eta", json!(1.7)), ("train.steps", json!(2000))]);
    assert!(samples.windows(2).all(|w| w[1].loss >= w[0].loss), "never decreases");
    assert_eq!(summary.phase, Phase::Divergent, "explodes: {summary:?}");
    // Example 1, logistic: η_crit = 4 w0/tanh(w0/2) = 8.48; below 8 the loss falls to log 2; at
    // 8.2 it settles on the 2-cycle ±w*.
    let (sim, _, summary) = run("huang-ex1-logistic", &[]);
    let w0: f64 = 0.85;
    assert!((summary.eta_crit_theory.unwrap() - 4.0 * w0 / (w0 / 2.0).tanh()).abs() < 1e-12);
    assert!((summary.eta_crit_theory.unwrap() - 8.48).abs() < 5e-3);
    assert_eq!(summary.phase, Phase::Oscillating);
    assert!((sim.model().params()[0].abs() - two_cycle(8.2)).abs() < 1e-6, "|w| = w*");
    let below = run("huang-ex1-logistic", &[("train.eta", json!(7.5))]).2;
    assert!((below.final_loss - 2f64.ln()).abs() < 1e-9, "{below:?}");
    // huang-exp-degenerate: η_crit = 2/sinh(1) = 1.70; at 1.6 the loss falls; above, it rises.
    let (_, samples, summary) = run("huang-exp-degenerate", &[]);
    assert!((summary.eta_crit_theory.unwrap() - 1.70).abs() < 5e-3);
    assert!(never_rises(&samples) && summary.final_loss < summary.loss0);
    let (_, samples, _) = run("huang-exp-degenerate", &[("train.eta", json!(1.75)), ("train.steps", json!(50))]);
    assert!(samples.windows(2).all(|w| w[1].loss > w[0].loss), "above 1.70 the loss rises");
    // Example 2 (non-separable), exponential: at 0.8 the loss falls at every step; from about
    // 0.95 the first steps raise it (it still converges); from about 1.15 it diverges.
    let (_, samples, summary) = run("huang-ex2-exponential", &[]);
    assert!(never_rises(&samples) && summary.final_loss < summary.loss0);
    let rises = run("huang-ex2-exponential", &[("train.eta", json!(0.95))]).2;
    assert!(rises.peak_loss > rises.loss0 && rises.peak_step <= 5 && rises.final_loss < rises.loss0 && rises.phase != Phase::Divergent, "{rises:?}");
    assert_eq!(run("huang-ex2-exponential", &[("train.eta", json!(1.15))]).2.phase, Phase::Divergent);
    // Logistic: at 4 and 5 the loss falls at every step; at 5.5 it rises a little, then
    // converges; from about 6 a 2-cycle.
    for eta in [4.0, 5.0] {
        let (_, samples, summary) = run("huang-ex2-logistic", &[("train.eta", json!(eta))]);
        assert!(never_rises(&samples) && summary.final_loss < summary.loss0, "η = {eta}");
    }
    let rises = run("huang-ex2-logistic", &[("train.eta", json!(5.5))]).2;
    assert!(rises.peak_loss > rises.loss0 && rises.peak_loss < 1.05 * rises.loss0 && rises.final_loss < rises.loss0, "{rises:?}");
    assert_eq!(run("huang-ex2-logistic", &[("train.eta", json!(6.0))]).2.phase, Phase::Oscillating);
}

#[test]
fn huang_one_hidden_layer_presets() {
    // Example 3, exponential (m = 30): at 2.5 the loss rises for ~8 steps, falls to 1, the NTK
    // eigenvalue ends far below its start (catapult); at m = 1000 the divergence rule trips.
    let (_, samples, summary) = run("huang-ex3-exponential", &[]);
    assert_eq!(summary.phase, Phase::Catapult);
    assert!((5..=11).contains(&summary.peak_step), "peak at {}", summary.peak_step);
    assert!((summary.final_loss - 1.0).abs() < 1e-3);
    let ntk = |s: &Sample| s.lambda_ntk.unwrap();
    assert!(ntk(samples.last().unwrap()) < 0.2 * ntk(&samples[0]));
    assert_eq!(run("huang-ex3-exponential", &[("model.width", json!(1000))]).2.phase, Phase::Divergent);
    // Example 3, logistic: at 4 the loss rises a few steps, falls to log 2, NTK well below.
    let (_, samples, summary) = run("huang-ex3-logistic", &[]);
    assert_eq!(summary.phase, Phase::Catapult);
    assert!(summary.peak_step <= 5 && (summary.final_loss - 2f64.ln()).abs() < 1e-3);
    assert!(ntk(samples.last().unwrap()) < 0.5 * ntk(&samples[0]));
    // Example 4, exponential: no catapult; the loss falls at every step up to 6 (lazy at 2.2,
    // NTK up ~20 %), diverges from about 6.3.
    let (_, samples, summary) = run("huang-ex4-exponential", &[]);
    assert_eq!(summary.phase, Phase::Lazy);
    assert!(never_rises(&samples));
    let growth = ntk(samples.last().unwrap()) / ntk(&samples[0]);
    assert!((1.1..1.35).contains(&growth), "NTK ×{growth}");
    let (_, samples, _) = run("huang-ex4-exponential", &[("train.eta_scaled", json!(6.0))]);
    assert!(never_rises(&samples));
    for x in [6.3, 7.0] {
        assert_eq!(run("huang-ex4-exponential", &[("train.eta_scaled", json!(x))]).2.phase, Phase::Divergent, "{x}");
    }
    // Example 4, logistic: at 8 the loss rises then falls; the NTK ends lower than lazy's.
    let (_, samples, summary) = run("huang-ex4-logistic", &[]);
    assert_eq!(summary.phase, Phase::Catapult);
    let (_, lazy_samples, lazy) = run("huang-ex4-logistic", &[("train.eta_scaled", json!(1.5))]);
    assert_eq!(lazy.phase, Phase::Lazy);
    assert!(ntk(samples.last().unwrap()) < ntk(lazy_samples.last().unwrap()));
}

/// The least-squares floor of a linear model without intercept: min_β mean (βᵀx_i − y_i)².
fn least_squares_floor(sim: &Simulation) -> f64 {
    let data = sim.data();
    let d = data.d;
    let mut a = vec![0.0; d * (d + 1)];
    for i in 0..data.n {
        let x = data.row(i);
        for r in 0..d {
            for c in 0..d {
                a[r * (d + 1) + c] += x[r] * x[c];
            }
            a[r * (d + 1) + d] += x[r] * data.y[i];
        }
    }
    // Gaussian elimination with partial pivoting on [XᵀX | Xᵀy].
    for col in 0..d {
        let pivot = (col..d).max_by(|&p, &q| a[p * (d + 1) + col].abs().total_cmp(&a[q * (d + 1) + col].abs())).unwrap();
        for k in 0..=d {
            a.swap(col * (d + 1) + k, pivot * (d + 1) + k);
        }
        for r in 0..d {
            if r != col {
                let factor = a[r * (d + 1) + col] / a[col * (d + 1) + col];
                for k in 0..=d {
                    a[r * (d + 1) + k] -= factor * a[col * (d + 1) + k];
                }
            }
        }
    }
    let beta: Vec<f64> = (0..d).map(|r| a[r * (d + 1) + d] / a[r * (d + 1) + r]).collect();
    (0..data.n).map(|i| (data.row(i).iter().zip(&beta).map(|(x, b)| x * b).sum::<f64>() - data.y[i]).powi(2)).sum::<f64>() / data.n as f64
}

#[test]
fn huang2025_two_stage() {
    let preset = load("huang2025-two-stage", &[]);
    assert_eq!(preset.model.init_scales, Some(vec![0.01, 0.001]), "the paper's σ_u, σ_v");
    let (sim, samples, summary) = run("huang2025-two-stage", &[]);
    let l0 = summary.loss0;
    assert!(samples[200].loss > 0.99 * l0, "plateau for ~200 steps: {}", samples[200].loss);
    assert!(samples.iter().all(|s| s.loss <= l0), "never rises");
    let floor = least_squares_floor(&sim);
    assert!(samples[600].loss < 1.01 * floor && summary.final_loss >= floor * (1.0 - 1e-9), "floor {floor}, step 600 {}", samples[600].loss);
    let growth = summary.final_lambda / summary.lambda0;
    assert!((3e3..3e4).contains(&growth), "kernel ×{growth}");
    assert_eq!(summary.phase, Phase::Rich);
    let last = samples.last().unwrap();
    let ratio = last.rho.unwrap() / last.v_mean.unwrap();
    let target = sim.gamma_y().sqrt();
    assert!(rel_err(ratio.abs(), target) < 0.1, "ρ/v̄ = {ratio}, √γ_y = {target}");
}

/// The SGD bookkeeping of the first `steps` steps of a preset.
fn sgd_run(name: &str, sets: &[(&str, Value)], steps: usize) -> (u64, Summary, Sample) {
    let mut all: Vec<(&str, Value)> = sets.to_vec();
    all.push(("train.steps", json!(steps)));
    let (sim, samples, summary) = run(name, &all);
    let above = sim.sgd_stats().map_or(0, |s| s.steps_above);
    (above, summary, samples.last().unwrap().clone())
}

#[test]
fn zhu_sgd_batches() {
    let (above_5, summary_5, last_5) = sgd_run("zhu-sgd-batch-5", &[], 100);
    assert!((28..=40).contains(&above_5), "batch 5: {above_5} of 100 above 2/λ̂(batch)");
    let ratio = summary_5.peak_loss / summary_5.loss0;
    assert!((2.4..3.0).contains(&ratio), "batch 5 spike ×{ratio}");
    let (above_10, _, last_10) = sgd_run("zhu-sgd-batch-10", &[], 100);
    let (above_50, _, last_50) = sgd_run("zhu-sgd-batch-50", &[], 100);
    assert_eq!((above_10, above_50), (0, 0));
    let (above_10_hot, _, _) = sgd_run("zhu-sgd-batch-10", &[("train.eta_scaled", json!(1.35))], 100);
    assert!((30..=50).contains(&above_10_hot), "batch 10 at 1.35: {above_10_hot}");
    let (_, summary_full, last_full) = sgd_run("zhu-sgd-batch-full", &[], 100);
    assert_eq!(summary_full.phase, Phase::Lazy, "full batch: the loss never rises, the kernel stays put");
    assert_eq!(summary_full.peak_step, 0);
    let agop = [&last_5, &last_10, &last_50, &last_full].map(|s| s.agop_alignment.unwrap());
    for (value, stated) in agop.iter().zip([0.14, 0.17, 0.30, 0.31]) {
        assert!((value - stated).abs() < 0.015, "AGOP at step 100: {agop:?}");
    }
    assert!(agop.windows(2).all(|w| w[0] < w[1]), "it does not rise as the batch shrinks: {agop:?}");
}

#[test]
fn zhu_sgd_spike_one_point() {
    let preset = load("zhu-sgd-spike-one-point", &[]);
    assert_eq!(preset.train.frozen_layers, vec![2]);
    let mut sim = Simulation::new(&preset).unwrap();
    let eta = sim.eta();
    let mut samples = vec![sim.first_sample().clone()];
    let mut draws_of_star = Vec::new();
    while let Some(s) = sim.step() {
        let critical = s.batch_crit_eta.unwrap();
        if sim.last_batch() == [0] {
            draws_of_star.push((s.step, critical));
        } else {
            assert!(critical > eta, "step {}: another point is sub-critical ({critical} > {eta})", s.step);
            if s.step <= 100 {
                assert!((1.75..2.35).contains(&critical), "first epoch, step {}: the others' rate {critical}", s.step);
            }
        }
        samples.push(s);
    }
    let (first_draw, first_critical) = draws_of_star[0];
    assert!((first_critical - 0.53).abs() < 0.01, "x*'s critical rate {first_critical}");
    let first_big_rise = samples.windows(2).find(|w| w[1].loss > 1.05 * w[0].loss).map(|w| w[1].step);
    assert_eq!(first_big_rise, Some(first_draw), "the first loss rise > 5 % is x*'s first draw");
    let supercritical: Vec<_> = draws_of_star.iter().take_while(|(_, c)| *c < eta).collect();
    assert!(supercritical.last().unwrap().1 > 1.3 * first_critical, "its kernel flattens: {draws_of_star:?}");
    assert_eq!(supercritical.len(), 7, "from the eighth draw on sub-critical: {draws_of_star:?}");
    for &(step, critical) in &draws_of_star {
        let (before, after) = (samples[step as usize - 1].loss, samples[step as usize].loss);
        if critical < eta {
            assert!(after > before, "super-critical draw at {step} raises the loss");
        } else {
            assert!(after < before, "sub-critical draw at {step} lowers it");
        }
    }
    let star_steps: Vec<u64> = draws_of_star.iter().map(|(s, _)| *s).collect();
    for w in samples.windows(2) {
        if !star_steps.contains(&w[1].step) {
            assert!(w[1].loss <= 1.05 * w[0].loss, "step {} (another point) raises the loss by more than 5 %", w[1].step);
        }
    }
    assert!(sim.summary().final_loss < 0.02 * sim.summary().loss0, "converges");
}
