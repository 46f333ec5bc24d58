//! `catapult-lab bench`: the fixed speed workloads (W1–W5, I1 on MNIST images), timed through the same
//! `Simulation::step` the app and the CLI use, with time per step split into forward/backward
//! and kernel eigenvalues and the achieved GFLOP/s of the arithmetic each step must do; and
//! `--export DIR`, which writes each workload's data, initial weights and first 100 steps
//! (raw little-endian f64 + JSON) for the NumPy reference `bench/reference.py`.

use crate::engine::config::{ConfigError, Preset, Reduction};
use crate::engine::library;
use crate::engine::sim::Simulation;
use crate::engine::sweep::{self, EtaAxis, SweepSpec};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Steps of the trajectory exported for the reference comparison.
pub const EXPORT_STEPS: usize = 100;
/// The same for the SGD workload W5, and the steps its references time.
pub const SGD_EXPORT_STEPS: usize = 20;
pub const SGD_REFERENCE_STEPS: usize = 10;

/// One single-run workload.
pub struct Workload {
    pub name: &'static str,
    pub what: &'static str,
    pub preset: Preset,
    /// Timed steps (a quick run divides these by 5).
    pub steps: usize,
}

fn set(key: &str, value: Value) -> (String, Value) {
    (key.to_string(), value)
}

/// W1–W3: the single-run workloads.
pub fn workloads() -> Result<Vec<Workload>, ConfigError> {
    Ok(vec![
        Workload {
            name: "W1",
            what: "ReLU net, clusters d=1 n=128, m=5000, mean MSE (zhu-multi-example)",
            preset: library::resolve("zhu-multi-example", &[])?,
            steps: 500,
        },
        Workload {
            name: "W2",
            what: "ReLU net, clusters d=64 n=256, m=20000, mean MSE",
            preset: library::resolve("zhu-multi-example", &[set("data.d", json!(64)), set("data.n", json!(256)), set("model.width", json!(20000))])?,
            steps: 40,
        },
        Workload {
            name: "W3",
            what: "two-layer linear net, one example, m=100000 (catapult-uv)",
            preset: library::resolve("catapult-uv", &[set("model.width", json!(100_000))])?,
            steps: 5000,
        },
        // W5 as shipped, with the loss-Hessian measurement of SPEC §11 (`measure.hessian_every`)
        // off: it did not exist when the W5 target (≥ 100 steps/s) was set.
        Workload {
            name: "W5",
            what: "SGD batch 5 on a rank-2 teacher, n=1000 d=50, m=512 ReLU, full-data top-2 kernel, batch edge, test loss, AGOP (zhu-sgd-batch-5; measure.hessian_every = 0: the Hessian measurement is newer than the target)",
            preset: library::resolve("zhu-sgd-batch-5", &[set("measure.hessian_every", json!(0))])?,
            steps: 100,
        },
        Workload {
            name: "I1",
            what: "two-layer ReLU m=1024 on 128 MNIST 0/1 images (d=784), top-2 kernel, test loss on 1000 images (images-meltzer-mnist-fig3)",
            preset: library::resolve("images-meltzer-mnist-fig3", &[])?,
            steps: 100,
        },
        // W6: the layered net of SPEC §10 (src/cli/bench_w6.rs, with its export).
        super::bench_w6::workload()?,
    ])
}

/// W4: a sweep of 64 learning rates × 4 widths × 500 steps of the one-example linear net.
pub fn sweep_spec() -> Result<SweepSpec, ConfigError> {
    let base = library::resolve("catapult-uv", &[set("train.steps", json!(500))])?;
    Ok(SweepSpec { base, eta: EtaAxis::Scaled { from: 0.5, to: 5.0, count: 64 }, widths: vec![250, 1000, 2000, 4000], seeds: 1, approxes: Vec::new() })
}

/// What one timed workload measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub name: String,
    pub steps: usize,
    pub secs: f64,
    pub forward_backward_secs: f64,
    pub kernel_secs: f64,
    pub other_secs: f64,
    /// Floating-point operations the timed steps did (see `flops`).
    pub flops: f64,
    pub plan: String,
    /// Achieved GFLOP/s, its fraction of the machine's nominal peak (NaN, null in JSON, when
    /// the measured products beat that peak: the cores run above the reported clock) and of
    /// the measured matrix-product rate (`gemm_gflops`), filled by `run_all`.
    pub gflops: f64,
    pub peak_fraction: f64,
    pub gemm_fraction: f64,
}

impl Report {
    pub fn ms_per_step(&self) -> f64 {
        1e3 * self.secs / self.steps as f64
    }
    pub fn gflops(&self) -> f64 {
        self.flops / self.secs / 1e9
    }
}

/// The machine's peak double-precision rate in GFLOP/s: cores × clock × flops per cycle
/// (2 FMA units × 8 lanes × 2 with AVX-512, × 4 lanes with AVX2). An upper bound.
pub fn peak_gflops() -> (f64, String) {
    let cores = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1);
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mhz = info.lines().find(|l| l.starts_with("cpu MHz")).and_then(|l| l.split(':').nth(1)).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(2000.0);
    let flags = info.lines().find(|l| l.starts_with("flags")).unwrap_or("");
    let per_cycle = if flags.contains(" avx512f") {
        32.0
    } else if flags.contains(" fma") {
        16.0
    } else {
        4.0
    };
    let model = info.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).unwrap_or("unknown").trim().to_string();
    let peak = cores as f64 * mhz * 1e-3 * per_cycle;
    (peak, format!("{model}, {cores} cores at {mhz:.0} MHz, {per_cycle} flop/cycle/core"))
}

/// The rate the machine actually reaches on dense f64 matrix products: every core multiplies
/// 256 × 512 by 512 × 256 (the shape of the dense kernel's Gram blocks) through the engine's
/// GEMM path (`linalg::gemm`: the gemm crate) — or, with `matrixmultiply`, through that crate,
/// the library the engine used before, for comparison; GFLOP/s summed over the cores, the best
/// of five windows of ~0.1 s (a shared machine has slow spells). This is what the step loop can
/// hope for.
pub fn gemm_gflops(matrixmultiply: bool) -> f64 {
    use rayon::prelude::*;
    let (n, k) = (256usize, 512usize);
    let a: Vec<f64> = (0..n * k).map(|i| ((i * 7919) % 1000) as f64 * 1e-3).collect();
    let threads = rayon::current_num_threads();
    // One output per thread, made before the timing, so the rate counts the products only (not
    // the mapping and page faults of a fresh 512 KB vector per call).
    let mut outs: Vec<Vec<f64>> = (0..threads).map(|_| vec![0.0; n * n]).collect();
    let products = |out: &mut Vec<f64>, count: usize| {
        for _ in 0..count {
            if matrixmultiply {
                // SAFETY: a is k × n row-major (read as its transpose, n × k) and out is n × n.
                unsafe { matrixmultiply::dgemm(n, k, n, 1.0, a.as_ptr(), 1, n as isize, a.as_ptr(), n as isize, 1, 0.0, out.as_mut_ptr(), n as isize, 1) };
            } else {
                crate::engine::linalg::gemm(n, k, n, 1.0, &a, (1, n as isize), &a, (n as isize, 1), 0.0, out, (n as isize, 1));
            }
        }
    };
    outs.par_iter_mut().for_each(|out| products(out, 2)); // warm up
    let mut best: f64 = 0.0;
    for _ in 0..5 {
        let started = Instant::now();
        let mut rounds = 0;
        while started.elapsed().as_secs_f64() < 0.1 {
            outs.par_iter_mut().for_each(|out| products(out, 2));
            rounds += 1;
        }
        let flops = (rounds * threads * 2) as f64 * 2.0 * (n * n * k) as f64;
        best = best.max(flops / started.elapsed().as_secs_f64() / 1e9);
    }
    best
}

/// Runs a workload for `steps` timed updates (after building the run and one warm-up step,
/// untimed) and reports.
/// Flops counted per step: forward and backward as the model computes them
/// (`Model::step_flops`), kernel by what the solver did (dense kernel and matrix-free
/// products priced by `Model::kernel_costs`, 2n² per product on a formed kernel).
pub fn run_workload(name: &str, preset: &Preset, steps: usize) -> Result<Report, String> {
    let mut preset = preset.clone();
    preset.train.steps = steps + 1;
    let mut sim = Simulation::new(&preset)?;
    // The workloads time what their references compute (no λ_H, no kernel change, no h² for
    // the u column).
    sim.skip_automatic_extras();
    // One untimed warm-up step, as the references take one before timing (JAX compiles in it):
    // the first step also allocates the run's buffers, makes what is kept between steps and
    // starts the eigen-solver cold (W6: ≈ 31 ms against ≈ 21 for the next ones).
    sim.step();
    let n = sim.data().n as f64;
    let before = counters(&sim);
    let block0 = sim.kernel_solver().block_counters();
    let timing0 = sim.timing();
    let started = Instant::now();
    let mut done = 0;
    while sim.step().is_some() {
        done += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let after = counters(&sim);
    let (dense_cost, apply_cost) = sim.model().kernel_costs(sim.data().n);
    let kernel_flops = (after.0 - before.0) * apply_cost + (after.1 - before.1) * dense_cost + (after.2 - before.2) * 2.0 * n * n;
    let flops = done as f64 * sim.model().step_flops(sim.data().n) + kernel_flops;
    let timing1 = sim.timing();
    let timing = crate::engine::sim::StepTiming {
        forward_backward_secs: timing1.forward_backward_secs - timing0.forward_backward_secs,
        kernel_secs: timing1.kernel_secs - timing0.kernel_secs,
        other_secs: timing1.other_secs - timing0.other_secs,
    };
    let per_step = |a: f64, b: f64| if done > 0 { (b - a) / done as f64 } else { 0.0 };
    let blocks = (block0, sim.kernel_solver().block_counters());
    let plan = format!(
        "{:?} ({:.1} matrix-free + {:.1} formed-kernel vector products in {:.1} block products, {:.2} dense kernels per step; {} dense fallbacks)",
        sim.kernel_solver().plan(sim.model(), sim.data().n),
        per_step(before.0, after.0),
        per_step(before.2, after.2),
        per_step(blocks.0.products as f64, blocks.1.products as f64),
        per_step(before.1, after.1),
        blocks.1.fallbacks - blocks.0.fallbacks
    );
    Ok(Report {
        name: name.to_string(),
        steps: done,
        secs,
        forward_backward_secs: timing.forward_backward_secs,
        kernel_secs: timing.kernel_secs,
        other_secs: timing.other_secs,
        flops,
        plan,
        gflops: 0.0,
        peak_fraction: 0.0,
        gemm_fraction: 0.0,
    })
}

fn counters(sim: &Simulation) -> (f64, f64, f64) {
    let s = sim.kernel_solver();
    (s.matrix_free_applies as f64, s.dense_kernels as f64, s.dense_applies as f64)
}

/// Times W4 (the whole sweep through `sweep::run_sweep`).
pub fn run_sweep_workload(quick: bool) -> Result<Report, String> {
    let mut spec = sweep_spec().map_err(|e| e.to_string())?;
    if quick {
        spec.eta = EtaAxis::Scaled { from: 0.5, to: 5.0, count: 8 };
    }
    let cells = spec.cells().map_err(|e| e.to_string())?;
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    let results = sweep::run_sweep(&cells, &cancel, |_, _| {});
    let secs = started.elapsed().as_secs_f64();
    let steps: u64 = results.iter().flatten().flatten().map(|s| s.steps_run).sum();
    // One example: forward, backward and the 1 × 1 kernel are each about 4m flops.
    let flops: f64 = results.iter().flatten().flatten().map(|s| s.steps_run as f64 * 12.0 * s.width as f64).sum();
    Ok(Report {
        name: "W4".into(),
        steps: steps as usize,
        secs,
        forward_backward_secs: f64::NAN,
        kernel_secs: f64::NAN,
        other_secs: f64::NAN,
        flops,
        plan: format!("{} runs", cells.len()),
        gflops: 0.0,
        peak_fraction: 0.0,
        gemm_fraction: 0.0,
    })
}

/// Every workload `run_all` knows, in the order it runs them.
pub const WORKLOADS: [&str; 8] = ["W1", "W2", "W3", "W5", "I1", "W6", "W4", "P1"];

/// Runs the wanted workloads (`only`: names to run, empty = all) and prints the table;
/// returns the reports and the measured matrix-product rate (`gemm_gflops`).
pub fn run_all(quick: bool, only: &[String]) -> Result<(Vec<Report>, f64), String> {
    if let Some(unknown) = only.iter().find(|o| !WORKLOADS.iter().any(|w| o.eq_ignore_ascii_case(w))) {
        return Err(format!("--only: unknown workload '{unknown}' (known: {})", WORKLOADS.join(", ")));
    }
    let (nominal, machine) = peak_gflops();
    let gemm = gemm_gflops(false);
    let other = gemm_gflops(true);
    // A virtual machine reports its nominal clock; cores that boost above it can beat the
    // "peak" computed from it, which then bounds nothing: no %peak is shown then.
    let peak = if gemm > nominal { f64::NAN } else { nominal };
    if peak.is_nan() {
        println!("machine: {machine}; nominal peak {nominal:.0} GFLOP/s (f64) at the reported clock, which the cores exceed (see below): no %peak; per-neuron loops use {}", crate::engine::model::simd::level().name());
    } else {
        println!("machine: {machine}; peak {peak:.0} GFLOP/s (f64); per-neuron loops use {}", crate::engine::model::simd::level().name());
    }
    println!("measured: {gemm:.0} GFLOP/s for 256 × 512 × 256 matrix products on every core through the engine's GEMM (gemm crate, x86-v4 kernels), the practical limit; matrixmultiply reaches {other:.0}");
    println!(
        "{:<4} {:>7} {:>11} {:>10} {:>10} {:>10} {:>10} {:>8} {:>7} {:>7}  kernel plan",
        "", "steps", "steps/s", "ms/step", "fwd+bwd", "kernel", "other", "GFLOP/s", "%peak", "%gemm"
    );
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o.eq_ignore_ascii_case(name));
    let mut reports = Vec::new();
    let print = |r: &Report| {
        let per = |x: f64| 1e3 * x / r.steps as f64;
        println!(
            "{:<4} {:>7} {:>11.1} {:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>8.2} {:>7} {:>6.1}%  {}",
            r.name,
            r.steps,
            r.steps as f64 / r.secs,
            r.ms_per_step(),
            per(r.forward_backward_secs),
            per(r.kernel_secs),
            per(r.other_secs),
            r.gflops(),
            if peak.is_nan() { "-".to_string() } else { format!("{:.1}%", 100.0 * r.gflops() / peak) },
            100.0 * r.gflops() / gemm,
            r.plan
        );
    };
    for w in workloads().map_err(|e| e.to_string())? {
        if !wanted(w.name) {
            continue;
        }
        let steps = if quick { (w.steps / 5).max(2) } else { w.steps };
        let mut report = run_workload(w.name, &w.preset, steps)?;
        report.gflops = report.gflops();
        report.peak_fraction = report.gflops / peak;
        report.gemm_fraction = report.gflops / gemm;
        print(&report);
        reports.push(report);
    }
    if wanted("W4") {
        let mut report = run_sweep_workload(quick)?;
        report.gflops = report.gflops();
        report.peak_fraction = report.gflops / peak;
        report.gemm_fraction = report.gflops / gemm;
        println!("{:<4} {:>7} total {:.2} s for the sweep ({}), {:.2} GFLOP/s", report.name, report.steps, report.secs, report.plan, report.gflops());
        reports.push(report);
    }
    println!("(ms/step columns: total, then forward+backward, kernel top-2, other measurements)");
    if wanted("P1") {
        let (samples, frames) = if quick { (200_000, 20) } else { (PLOT_SAMPLES, 50) };
        let (ms, kept) = plot_preparation_ms(samples, frames);
        println!(
            "P1   plot preparation: {ms:.3} ms per frame for the four live plots after {samples} steps ({kept} samples kept; min/max decimation to {PLOT_BUCKETS} columns; budget 8 ms per frame)"
        );
        // The worst case: the history full (every step of 2^18 kept) just before it merges buckets.
        let full = crate::report::series::HISTORY_LIMIT - 1;
        let (ms, kept) = plot_preparation_ms(full, frames);
        println!("P1   plot preparation: {ms:.3} ms per frame with a full history ({kept} samples kept, linear and log step axis both prepared; budget 8 ms per frame)");
    }
    Ok((reports, gemm))
}

pub(super) fn write_f64(path: &Path, values: &[f64]) -> Result<(), String> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The factor s of L = s Σ ℓ for n examples.
pub(super) fn reduction_scale(preset: &Preset, n: usize) -> f64 {
    match preset.loss.reduction {
        Reduction::SumHalf => 0.5,
        Reduction::Mean => 1.0 / n as f64,
        Reduction::HalfMean => 0.5 / n as f64,
    }
}

/// Writes one run's data, initial weights, constants and first `steps` steps into `dir`.
fn export_run(dir: &Path, preset: &Preset, steps: usize, prefix: &str) -> Result<Value, String> {
    let mut preset = preset.clone();
    preset.train.steps = steps;
    let mut sim = Simulation::new(&preset)?;
    let data = sim.data().clone();
    let (m, d, n) = (preset.model.width, data.d, data.n);
    let w0 = sim.model().init_params().to_vec();
    write_f64(&dir.join(format!("{prefix}x.f64")), &data.x)?;
    write_f64(&dir.join(format!("{prefix}y.f64")), &data.y)?;
    write_f64(&dir.join(format!("{prefix}u0.f64")), &w0[..m * d])?;
    write_f64(&dir.join(format!("{prefix}v0.f64")), &w0[m * d..])?;
    let (mut loss, mut lambda, mut lambda2) = (Vec::new(), Vec::new(), Vec::new());
    // SGD runs (W5): the test set, the teacher's AGOP, each step's batch and the measurements
    // the reference recomputes.
    let sgd = preset.train.batch_size > 0 && preset.train.batch_size < n;
    let (mut test_loss, mut agop, mut batch_crit, mut batches) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut on_sample = |s: &crate::engine::sim::Sample| {
        loss.push(s.loss);
        lambda.push(s.lambda_hat);
        lambda2.push(s.lambda_hat_2);
        test_loss.push(s.test_loss.unwrap_or(f64::NAN));
        agop.push(s.agop_alignment.unwrap_or(f64::NAN));
        batch_crit.push(s.batch_crit_eta.unwrap_or(f64::NAN));
    };
    on_sample(&sim.first_sample().clone());
    while let Some(sample) = sim.step() {
        on_sample(&sample);
        batches.extend(sim.last_batch().iter().map(|&i| i as f64));
    }
    let mut extra = serde_json::Map::new();
    if sgd {
        let (_, test) = crate::engine::data::build(&preset.data, preset.seed)?;
        let test = test.ok_or("an SGD bench workload needs data.test_n")?;
        write_f64(&dir.join(format!("{prefix}test_x.f64")), &test.x)?;
        write_f64(&dir.join(format!("{prefix}test_y.f64")), &test.y)?;
        write_f64(&dir.join(format!("{prefix}agop_target.f64")), sim.agop_target().ok_or("teacher data has an AGOP target")?)?;
        write_f64(&dir.join(format!("{prefix}batches.f64")), &batches)?;
        let b = preset.train.batch_size;
        extra.insert("sgd".into(), json!({
            "batch_size": b, "test_n": test.n, "s_batch": reduction_scale(&preset, b), "s_test": reduction_scale(&preset, test.n),
            "test_loss": test_loss, "agop_alignment": agop, "batch_crit_eta": batch_crit,
        }));
    }
    let c_m = match preset.model.parameterization {
        crate::engine::config::Parameterization::Ntk => 1.0 / (m as f64).sqrt(),
        crate::engine::config::Parameterization::MeanField => 1.0 / m as f64,
        crate::engine::config::Parameterization::Standard => unreachable!("two-layer bench presets use ntk or mean_field"),
    };
    let s_inv = match preset.model.input_norm {
        crate::engine::config::InputNorm::SqrtD => 1.0 / (d as f64).sqrt(),
        crate::engine::config::InputNorm::None => 1.0,
    };
    Ok(json!({
        "n": n, "d": d, "m": m, "a_neg": preset.model.a_neg, "c_m": c_m, "s_inv": s_inv,
        "s": reduction_scale(&preset, n), "eta": sim.eta(), "lambda0": sim.lambda0(),
        "approx": format!("{:?}", preset.model.approx).to_lowercase(),
        "steps": steps, "prefix": prefix,
        "loss": loss, "lambda_hat": lambda, "lambda_hat_2": lambda2,
        "sgd": extra.get("sgd").cloned().unwrap_or(Value::Null),
    }))
}

/// `bench --export DIR`: the single-run workloads (first `EXPORT_STEPS` steps, W5
/// `SGD_EXPORT_STEPS` with its batches, test set and AGOP target) and W4's initial states.
pub fn export(dir: &Path) -> Result<(), String> {
    let mut index = serde_json::Map::new();
    for w in workloads().map_err(|e| e.to_string())? {
        if w.name == "W6" {
            super::bench_w6::export(dir)?;
            index.insert(w.name.into(), json!(w.what));
            continue;
        }
        let sub = dir.join(w.name);
        std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        // The SGD workload's references decompose a 1000 × 1000 kernel every step (~1 s with
        // NumPy or JAX here): fewer steps for their check and their timing.
        let sgd = w.preset.train.batch_size > 0;
        let mut meta = export_run(&sub, &w.preset, if sgd { SGD_EXPORT_STEPS } else { EXPORT_STEPS }, "")?;
        meta["timed_steps"] = json!(w.steps);
        meta["reference_steps"] = json!(if sgd { SGD_REFERENCE_STEPS } else { w.steps });
        meta["what"] = json!(w.what);
        std::fs::write(sub.join("meta.json"), meta.to_string()).map_err(|e| e.to_string())?;
        index.insert(w.name.into(), json!(w.what));
        eprintln!("bench: exported {}", w.name);
    }
    let spec = sweep_spec().map_err(|e| e.to_string())?;
    let sub = dir.join("W4");
    std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
    let mut widths = Vec::new();
    for &width in &spec.widths {
        let mut p = spec.base.clone();
        p.model.width = width;
        widths.push(export_run(&sub, &p, 0, &format!("m{width}_"))?);
    }
    let meta = json!({"eta_scaled": spec.eta.values(), "steps": spec.base.train.steps, "widths": widths});
    std::fs::write(sub.join("meta.json"), meta.to_string()).map_err(|e| e.to_string())?;
    index.insert("W4".into(), json!("sweep: 64 eta_scaled in [0.5, 5] x widths 250/1000/2000/4000 x 500 steps, one-example linear net"));
    std::fs::write(dir.join("index.json"), Value::Object(index).to_string()).map_err(|e| e.to_string())?;
    Ok(())
}

/// Samples in the history for the plot-preparation workload P1.
pub const PLOT_SAMPLES: usize = 1_000_000;
/// Pixel columns a plot decimates to (a wide plot on a 1600-pixel screen).
pub const PLOT_BUCKETS: usize = 1200;

/// P1: milliseconds per frame (and the samples the history kept) to prepare what the four live
/// plots draw after `samples` steps (`plot_history`, `prepare_plots`), averaged over `frames`
/// frames. (Drawing itself is egui's; the app's View menu shows the measured frame time.)
pub fn plot_preparation_ms(samples: usize, frames: usize) -> (f64, usize) {
    let history = plot_history(samples);
    let started = Instant::now();
    let mut drawn = 0usize;
    for _ in 0..frames {
        drawn += prepare_plots(&history);
    }
    assert!(drawn > 0);
    (1e3 * started.elapsed().as_secs_f64() / frames as f64, history.len())
}

/// The app's history after `samples` synthetic steps (smooth curves with catapult-like
/// oscillations, regime alternating every 500 steps), pushed the way the app pushes them (so
/// it thins to at most `HISTORY_LIMIT` samples).
pub fn plot_history(samples: usize) -> crate::report::series::History {
    use crate::engine::sim::Regime;
    let mut history = crate::report::series::History::default();
    for step in 0..samples {
        let t = step as f64;
        let sample = crate::engine::sim::Sample {
            step: step as u64,
            eta: 1.0,
            loss: (1.0 + (t * 1e-3).sin()).max(1e-12) * (-t * 1e-6).exp(),
            lambda_hat: 2.0 + (t * 7e-4).cos(),
            lambda_hat_2: 0.5,
            lambda_raw: 2.0,
            eta_lambda: 2.0,
            weight_norm_sq: 1000.0 + t * 1e-3,
            dist_from_init: (t * 1e-3).sqrt(),
            u: 1e-3 * (1.0 + (t * 3e-3).sin()),
            v: 2.0 + (t * 1e-3).cos(),
            train_acc: None,
            sparsity: None,
            rho: None,
            v_mean: None,
            lambda_ntk: None,
            loss_top: None,
            test_loss: None,
            test_acc: None,
            agop_alignment: None,
            batch_crit_eta: None,
            precond_sharpness: None,
            edge_sharpness: None,
            ..Default::default()
        };
        history.push(&sample, if step % 1000 < 500 { Regime::Stable } else { Regime::Catapult });
    }
    history
}

/// One frame of plot preparation for the four live plots: the series the window draws
/// (report::live_view: loss, λ̂, λ̂₂, the per-step 2/η and 4/η, |w|², |w − w0|, the u/v
/// trajectory, all decimated to `PLOT_BUCKETS` columns) plus the regime shading. Returns the
/// number of points prepared.
pub fn prepare_plots(history: &crate::report::series::History) -> usize {
    use crate::report::live_view::{ViewOptions, live_series};
    use crate::report::series::{StepAxis, regime_runs};
    let range = 0..history.len();
    let mut drawn = 0usize;
    for axis in [StepAxis::Linear, StepAxis::Log] {
        let options = ViewOptions { axis, columns: PLOT_BUCKETS, has_eta_max: true, uv_applies: true };
        drawn += live_series(history, range.clone(), &options).iter().map(|s| s.points.len()).sum::<usize>();
    }
    drawn += regime_runs(&history.step, &history.regime, range).len();
    drawn
}
