//! Criterion micro-benchmarks of the building blocks of one training step (issue 6): the whole
//! `Simulation::step` on W1 and W3, the model products on W2 (forward, Jᵀz, dense kernel,
//! matrix-free K·x), the warm-started top-2 kernel solver on W1, and the plots' min/max
//! decimation over a full 2¹⁸-sample history. Every workload is built through the public API
//! the app and the CLI use (`bench::workloads`, `data::generate`, `model::build`). Run with
//! `cargo bench --bench engine` (`-- --quick` for a short run, `-- model` to filter).

use catapult_lab::report::series::{HISTORY_LIMIT, decimate};
use catapult_lab::cli::bench::{PLOT_BUCKETS, Workload, plot_history, prepare_plots, workloads};
use catapult_lab::engine::config::Preset;
use catapult_lab::engine::data::{self, Dataset};
use catapult_lab::engine::kernel::{KernelMethod, KernelSolver};
use catapult_lab::engine::loss::Loss;
use catapult_lab::engine::model::{self, Model};
use catapult_lab::engine::sim::Simulation;
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The preset of workload `name` (W1–W3 of `catapult-lab bench`), with its timed step count as
/// the run length (a run is rebuilt when it stops, as the CLI benchmark times it).
fn workload(name: &str) -> Preset {
    let w: Workload = workloads().expect("shipped presets resolve").into_iter().find(|w| w.name == name).expect("known workload");
    let mut preset = w.preset;
    preset.train.steps = w.steps;
    preset
}

/// Data and model of a preset at initialization, with the per-sample caches filled, plus the
/// outputs f(x_i) — what `Simulation::new` builds before its first step.
fn model_at_init(preset: &Preset) -> (Dataset, Box<dyn Model>, Vec<f64>) {
    let data = data::generate(&preset.data, preset.seed);
    let mut model = model::build(preset, &data);
    let mut outputs = vec![0.0; data.n];
    model.forward(&data, &mut outputs);
    (data, model, outputs)
}

fn loss_of(preset: &Preset) -> Loss {
    Loss { kind: preset.loss.kind, reduction: preset.loss.reduction }
}

/// z = s ℓ'(f, y), the vector whose Jᵀz is the gradient.
fn loss_gradient(loss: &Loss, outputs: &[f64], y: &[f64]) -> Vec<f64> {
    let s = loss.scale(outputs.len());
    outputs.iter().zip(y).map(|(&f, &y)| s * loss.d1(f, y)).collect()
}

/// diag(W) = s ℓ''(f, y), the weights of the normalized kernel K̂ = W^{1/2} K W^{1/2}.
fn curvature_weights(loss: &Loss, outputs: &[f64], y: &[f64]) -> Vec<f64> {
    let s = loss.scale(outputs.len());
    outputs.iter().zip(y).map(|(&f, &y)| s * loss.d2(f, y)).collect()
}

/// `step/W1`, `step/W3`: one whole `Simulation::step` (update, forward, top-2 λ̂ and every
/// measurement). Only the step is timed; a run that stops is rebuilt untimed.
fn bench_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("step");
    for name in ["W1", "W3"] {
        let preset = workload(name);
        let mut sim = Simulation::new(&preset).expect("workload builds");
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if !sim.is_running() {
                        sim = Simulation::new(&preset).expect("workload builds");
                    }
                    let started = Instant::now();
                    black_box(sim.step());
                    total += started.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

/// `model/*/W2`: the model's products on W2 (d = 64, n = 256, m = 20 000) at initialization.
fn bench_model(c: &mut Criterion) {
    let preset = workload("W2");
    let (data, mut model, outputs) = model_at_init(&preset);
    let n = data.n;
    let z = loss_gradient(&loss_of(&preset), &outputs, &data.y);
    let mut group = c.benchmark_group("model");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);

    let mut out = vec![0.0; n];
    group.bench_function("forward/W2", |b| b.iter(|| model.forward(black_box(&data), black_box(&mut out))));
    let mut grad = vec![0.0; model.n_params()];
    group.bench_function("vjp/W2", |b| b.iter(|| model.vjp(black_box(&data), black_box(&z), black_box(&mut grad))));
    let mut dense = vec![0.0; n * n];
    group.bench_function("kernel_dense/W2", |b| b.iter(|| model.kernel(black_box(&data), black_box(&mut dense))));
    let mut scratch = Vec::new();
    group.bench_function("kernel_apply/W2", |b| b.iter(|| model.kernel_apply(black_box(&data), black_box(&z), black_box(&mut out), &mut scratch)));
    group.finish();
}

/// `kernel/top2/W1`: the automatic top-2 solver (W1 forms K in O(m + n²) and runs Lanczos on
/// it) warm-started from the previous call's answer, alternating between two consecutive
/// gradient-descent iterates as it does during a run; `kernel/top2_cold/W1`: a fresh solver
/// (the first step of a run).
fn bench_kernel(c: &mut Criterion) {
    let preset = workload("W1");
    let eta = Simulation::new(&preset).expect("workload builds").eta();
    let loss = loss_of(&preset);
    let (data, model_a, outputs_a) = model_at_init(&preset);
    let (_, mut model_b, _) = model_at_init(&preset);
    let z = loss_gradient(&loss, &outputs_a, &data.y);
    let mut grad = vec![0.0; model_b.n_params()];
    model_b.vjp(&data, &z, &mut grad);
    model_b.add_to_params(-eta, &grad);
    let mut outputs_b = vec![0.0; data.n];
    model_b.forward(&data, &mut outputs_b);
    let iterates = [(model_a.as_ref(), curvature_weights(&loss, &outputs_a, &data.y)), (model_b.as_ref(), curvature_weights(&loss, &outputs_b, &data.y))];

    let mut group = c.benchmark_group("kernel");
    let mut solver = KernelSolver::new(KernelMethod::Auto);
    let mut turn = 0;
    group.bench_function("top2/W1", |b| {
        b.iter(|| {
            let (model, weights) = &iterates[turn];
            turn ^= 1;
            black_box(solver.top2(*model, black_box(&data), black_box(weights)))
        })
    });
    group.bench_function("top2_cold/W1", |b| {
        b.iter_batched(
            || KernelSolver::new(KernelMethod::Auto),
            |mut solver| {
                let (model, weights) = &iterates[0];
                black_box(solver.top2(*model, black_box(&data), black_box(weights)))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// `plot/decimate`: one min/max-per-pixel decimation of the loss column (log10, as the loss
/// plot draws it) over a full history of 2¹⁸ samples to `PLOT_BUCKETS` columns;
/// `plot/frame`: everything the four live plots prepare per frame on that history.
fn bench_plot(c: &mut Criterion) {
    let history = plot_history(HISTORY_LIMIT);
    assert_eq!(history.len(), HISTORY_LIMIT);
    let range = 0..history.len();
    let mut group = c.benchmark_group("plot");
    group.bench_function("decimate", |b| {
        b.iter(|| decimate(black_box(&history.step), black_box(&history.loss), range.clone(), PLOT_BUCKETS, |y| y.max(1e-300).log10()))
    });
    group.bench_function("frame", |b| b.iter(|| prepare_plots(black_box(&history))));
    group.finish();
}

/// Shorter than criterion's defaults (3 s warm-up, 5 s measurement): the whole file runs in
/// about a minute. Command-line flags (`--warm-up-time`, `--measurement-time`) still override.
fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_step, bench_model, bench_kernel, bench_plot
}
criterion_main!(benches);
