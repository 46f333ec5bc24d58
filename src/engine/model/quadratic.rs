//! The general quadratic model of SPEC §2: g(w; x) = wᵀφ(x) + ½ γ wᵀΣw with φ(x) = x/‖x‖
//! (or φ = 0, the pure quadratic model), Σ diagonal with random ±1 entries, w0 ~ N(0, σ² I).
//! Its gradient is φ(x) + γ Σ w, the same for every x up to φ, and h² = γ² (Σ_i p̂1_i)² along
//! the top kernel eigenvector p̂1 (γ² for one example).

use super::{Model, dot};
use crate::engine::config::{ModelConfig, Phi};
use crate::engine::data::{Dataset, STREAM_INIT, rng_for};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

pub struct QuadraticModel {
    gamma: f64,
    /// φ(x) = x/‖x‖ (true) or φ = 0.
    normalized: bool,
    /// φ(x_i), row-major n × p.
    features: Vec<f64>,
    /// The diagonal of Σ (±1).
    sigma: Vec<f64>,
    w: Vec<f64>,
    w0: Vec<f64>,
    /// γ Σ w at the last forward: the part of the gradient shared by every sample.
    curvature_grad: Vec<f64>,
}

impl QuadraticModel {
    pub fn new(cfg: &ModelConfig, data: &Dataset, seed: u64) -> Self {
        let p = data.d;
        let mut rng = rng_for(seed, STREAM_INIT);
        let sigma: Vec<f64> = (0..p).map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 }).collect();
        let w0: Vec<f64> = (0..p)
            .map(|_| cfg.layer_init_scale(1) * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng))
            .collect();
        let mut features = vec![0.0; data.n * p];
        if cfg.phi == Phi::Normalized {
            for i in 0..data.n {
                let x = data.row(i);
                let norm = dot(x, x).sqrt();
                if norm > 0.0 {
                    for (f, xv) in features[i * p..(i + 1) * p].iter_mut().zip(x) {
                        *f = xv / norm;
                    }
                }
            }
        }
        QuadraticModel { gamma: cfg.gamma, normalized: cfg.phi == Phi::Normalized, features, sigma, w: w0.clone(), w0, curvature_grad: vec![0.0; p] }
    }

    fn feature(&self, i: usize) -> &[f64] {
        let p = self.w.len();
        &self.features[i * p..(i + 1) * p]
    }
}

impl Model for QuadraticModel {
    fn n_params(&self) -> usize {
        self.w.len()
    }
    fn params(&self) -> &[f64] {
        &self.w
    }
    fn init_params(&self) -> &[f64] {
        &self.w0
    }
    fn add_to_params(&mut self, scale: f64, delta: &[f64]) {
        for (w, d) in self.w.iter_mut().zip(delta) {
            *w += scale * d;
        }
    }
    fn forward(&mut self, data: &Dataset, out: &mut [f64]) {
        let quad: f64 = 0.5 * self.gamma * self.w.iter().zip(&self.sigma).map(|(w, s)| s * w * w).sum::<f64>();
        for ((c, w), s) in self.curvature_grad.iter_mut().zip(&self.w).zip(&self.sigma) {
            *c = self.gamma * s * w;
        }
        for (i, o) in out.iter_mut().enumerate().take(data.n) {
            *o = dot(&self.w, self.feature(i)) + quad;
        }
    }
    fn jvp(&self, data: &Dataset, dir: &[f64], out: &mut [f64]) {
        let shared = dot(&self.curvature_grad, dir);
        for (i, o) in out.iter_mut().enumerate().take(data.n) {
            *o = dot(self.feature(i), dir) + shared;
        }
    }
    fn vjp(&self, data: &Dataset, z: &[f64], out: &mut [f64]) {
        let z_sum: f64 = z.iter().sum();
        for (o, c) in out.iter_mut().zip(&self.curvature_grad) {
            *o = z_sum * c;
        }
        for (i, &zi) in z.iter().enumerate().take(data.n) {
            for (o, f) in out.iter_mut().zip(self.feature(i)) {
                *o += zi * f;
            }
        }
    }
    fn kernel(&self, data: &Dataset, out: &mut [f64]) {
        let n = data.n;
        let cc = dot(&self.curvature_grad, &self.curvature_grad);
        let fc: Vec<f64> = (0..n).map(|i| dot(self.feature(i), &self.curvature_grad)).collect();
        for i in 0..n {
            for j in 0..n {
                out[i * n + j] = dot(self.feature(i), self.feature(j)) + fc[i] + fc[j] + cc;
            }
        }
    }
    fn hessian_scale_sq(&self, _data: &Dataset, p1: &[f64]) -> f64 {
        // Every example's Hessian is γΣ, so ⟨p1, g⟩ has Hessian γ (Σ_i p1_i) Σ with |Σ| = 1:
        // γ² for one example, unchanged when the example is duplicated.
        let sum: f64 = p1.iter().sum();
        self.gamma * self.gamma * sum * sum
    }
    fn output_hessian_apply(&self, _data: &Dataset, z: &[f64], dir: &[f64], out: &mut [f64]) {
        // Every example's Hessian is γΣ.
        let z_sum: f64 = z.iter().sum();
        for ((o, s), w) in out.iter_mut().zip(&self.sigma).zip(dir) {
            *o = z_sum * self.gamma * s * w;
        }
    }
    fn output_at(&self, x: &[f64]) -> f64 {
        let quad: f64 = 0.5 * self.gamma * self.w.iter().zip(&self.sigma).map(|(w, s)| s * w * w).sum::<f64>();
        let linear = if self.normalized { dot(&self.w, x) / dot(x, x).sqrt().max(f64::MIN_POSITIVE) } else { 0.0 };
        linear + quad
    }
    fn jacobian_row(&self, x: &[f64], out: &mut [f64]) {
        let norm = dot(x, x).sqrt();
        for (((o, w), s), xv) in out.iter_mut().zip(&self.w).zip(&self.sigma).zip(x) {
            let phi = if self.normalized && norm > 0.0 { xv / norm } else { 0.0 };
            *o = phi + self.gamma * s * w;
        }
    }
}
