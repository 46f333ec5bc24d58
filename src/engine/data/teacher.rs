//! Teacher data (SPEC §7): x ~ N(0, I_d), y = f*(x) + N(0, noise²) for the low-rank teachers
//! of Zhu et al. (thesis ch. 4) — rank2 = x1x2, rank3 = x1x2·Σ_{i≤10} x_i, rank4 =
//! Σ_{j≤4} Π_{i≤j} x_i, fullrank = ‖x‖/√d — with their exact input gradients ∇f*, which the
//! AGOP alignment compares against.

use super::{Dataset, rng_for};
use crate::engine::config::Teacher;
use rand_distr::{Distribution, StandardNormal};


/// f*(x).
pub fn value(teacher: Teacher, x: &[f64]) -> f64 {
    match teacher {
        Teacher::Rank2 => x[0] * x[1],
        Teacher::Rank3 => x[0] * x[1] * x.iter().take(10).sum::<f64>(),
        Teacher::Rank4 => {
            let mut product = 1.0;
            let mut total = 0.0;
            for &xi in x.iter().take(4) {
                product *= xi;
                total += product;
            }
            total
        }
        Teacher::Fullrank => x.iter().map(|v| v * v).sum::<f64>().sqrt() / (x.len() as f64).sqrt(),
    }
}

/// ∇f*(x) written into `out` (length d).
pub fn gradient(teacher: Teacher, x: &[f64], out: &mut [f64]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    match teacher {
        Teacher::Rank2 => {
            out[0] = x[1];
            out[1] = x[0];
        }
        Teacher::Rank3 => {
            let sum: f64 = x.iter().take(10).sum();
            let pair = x[0] * x[1];
            for o in out.iter_mut().take(10) {
                *o = pair;
            }
            out[0] += x[1] * sum;
            out[1] += x[0] * sum;
        }
        Teacher::Rank4 => {
            // ∂/∂x_k Σ_j Π_{i≤j} x_i = Σ_{j ≥ k} Π_{i≤j, i≠k} x_i.
            for k in 0..4 {
                for j in k..4 {
                    out[k] += (0..=j).filter(|&i| i != k).map(|i| x[i]).product::<f64>();
                }
            }
        }
        Teacher::Fullrank => {
            let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                let scale = 1.0 / (norm * (x.len() as f64).sqrt());
                for (o, v) in out.iter_mut().zip(x) {
                    *o = v * scale;
                }
            }
        }
    }
}

/// n teacher samples from the given ChaCha stream of `seed`.
pub fn sample(teacher: Teacher, n: usize, d: usize, noise: f64, seed: u64, stream: u64) -> Dataset {
    let mut rng = rng_for(seed, stream);
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let start = x.len();
        for _ in 0..d {
            x.push(<StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng));
        }
        let noise_draw: f64 = StandardNormal.sample(&mut rng);
        y.push(value(teacher, &x[start..]) + noise * noise_draw);
    }
    Dataset { n, d, x, y }
}
