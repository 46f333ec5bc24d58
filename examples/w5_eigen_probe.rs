//! The W5 eigen-solver alone: captures the kernels of a zhu-sgd-batch-5 run (W^{1/2} K W^{1/2}
//! with the mean-MSE weights), then times `kernel_block::BlockEigen` on that sequence, warm
//! started step to step as in a run, and prints per step its time (min over rounds), block
//! products and vectors; with CHECK=1 also the largest deviation from the dense
//! decomposition (eigenvalues relative, eigenvectors as ‖y − ±p‖). Run with
//! `cargo run --release --example w5_eigen_probe` (STEPS=40 and ROUNDS=3 by default); the
//! numbers in the block solver's commit messages come from it.

use catapult_lab::engine::kernel::dense_top2;
use catapult_lab::engine::kernel_block::BlockEigen;
use catapult_lab::engine::library;
use catapult_lab::engine::sim::Simulation;
use serde_json::json;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn main() {
    let (steps, rounds) = (env_usize("STEPS", 40), env_usize("ROUNDS", 3));
    let preset = library::resolve("zhu-sgd-batch-5", &[("train.steps".to_string(), json!(steps + 1))]).expect("the shipped preset resolves");
    let mut sim = Simulation::new(&preset).expect("the shipped preset builds");
    let n = sim.data().n;
    // Mean MSE: s ℓ'' = 1/n for every example.
    let root = vec![(1.0 / n as f64).sqrt(); n];
    let mut kernels = Vec::with_capacity(steps);
    let mut form = f64::INFINITY;
    for _ in 0..steps {
        sim.step();
        let mut k = vec![0.0; n * n];
        let started = Instant::now();
        sim.model().kernel_scaled(sim.data(), &root, &mut k);
        form = form.min(started.elapsed().as_secs_f64());
        kernels.push(k);
    }
    println!("{steps} W5 kernels, n = {n}; forming one took {:.3} ms (min)", form * 1e3);
    let exact: Vec<_> = if std::env::var("CHECK").is_ok() { kernels.iter().map(|k| dense_top2(k, n)).collect() } else { Vec::new() };
    let mut best = f64::INFINITY;
    for round in 0..rounds {
        let mut solver = BlockEigen::default();
        let started = Instant::now();
        let tops: Vec<_> = kernels.iter().map(|k| solver.top2(k, n)).collect();
        let per_step = started.elapsed().as_secs_f64() / steps as f64;
        best = best.min(per_step);
        let c = solver.counters;
        let mut worst: f64 = 0.0;
        for (top, ex) in tops.iter().zip(&exact) {
            for j in 0..2 {
                worst = worst.max((top.values[j] - ex.values[j]).abs() / ex.values[j].abs());
                let sign = top.vectors[j].iter().zip(&ex.vectors[j]).map(|(a, b)| a * b).sum::<f64>().signum();
                worst = worst.max(top.vectors[j].iter().zip(&ex.vectors[j]).map(|(a, b)| (a - sign * b).powi(2)).sum::<f64>().sqrt());
            }
        }
        let per = |x: u64| x as f64 / steps as f64;
        print!("round {round}: {:.3} ms per step, {:.2} block products, {:.1} vectors, {} fallbacks", per_step * 1e3, per(c.products), per(c.vectors), c.fallbacks);
        if exact.is_empty() { println!() } else { println!(", largest deviation from dense {worst:.2e}") }
    }
    println!("min {:.3} ms per step", best * 1e3);
}
