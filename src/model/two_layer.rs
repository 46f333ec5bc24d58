//! The two-layer net of SPEC §2, f(x) = c_m Σ_k v_k σ(u_kᵀx / s_d), and its quadratic (NQM)
//! and linearized Taylor models, with J·w, Jᵀ·z and the dense kernel computed neuron by
//! neuron in O(n·m·d), never forming J.
//!
//! Every variant has Jacobian rows of one shape, so one set of loops serves all three:
//!   ∂f_i/∂u_k = c a_k g_ki x_i / s_d,   ∂f_i/∂v_k = c g_ki b_ki,
//! with gates g = σ'(current pre-activation) for the network and σ'(initial) for the Taylor
//! models, a = v (a = v0 when linearized) and b = current pre-activation (b = initial when
//! linearized). Caches are neuron-major (m × n) so a chunk of neurons is contiguous; work is
//! split into fixed chunks whose partial sums are added in chunk order, so results are
//! bit-identical whatever the number of threads.

use super::Model;
use crate::config::{Approx, InputNorm, ModelConfig, Parameterization, SecondLayerInit};
use crate::data::{Dataset, STREAM_INIT, rng_for};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Neurons per work chunk (fixed, so the summation order never depends on the thread count).
const CHUNK: usize = 256;
/// Below this many multiply-adds per pass the loops stay on the calling thread.
const PARALLEL_WORK: usize = 1 << 16;

pub struct TwoLayer {
    m: usize,
    d: usize,
    n: usize,
    /// c_m: 1/√m (NTK) or 1/m (mean field).
    c: f64,
    /// 1/s_d: 1/√d or 1.
    s_inv: f64,
    a_neg: f64,
    approx: Approx,
    /// [u (m × d, row-major), v (m)].
    w: Vec<f64>,
    w0: Vec<f64>,
    /// Current pre-activations z_ki = u_kᵀx_i / s_d (m × n).
    pre: Vec<f64>,
    /// Pre-activations at init (m × n); kept only for the Taylor models.
    pre0: Vec<f64>,
    /// Gates g_ki (m × n).
    gate: Vec<f64>,
    /// f(x_i) at init (linearized model only).
    f0: Vec<f64>,
}

impl TwoLayer {
    pub fn new(cfg: &ModelConfig, data: &Dataset, seed: u64) -> Self {
        let (m, d, n) = (cfg.width, data.d, data.n);
        let mut rng = rng_for(seed, STREAM_INIT);
        let sigma = cfg.init_scale;
        let mut w = Vec::with_capacity(m * (d + 1));
        for _ in 0..m * d {
            w.push(sigma * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng));
        }
        for _ in 0..m {
            w.push(match cfg.second_layer_init {
                SecondLayerInit::Gaussian => sigma * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng),
                SecondLayerInit::Rademacher => if rng.random::<bool>() { sigma } else { -sigma },
            });
        }
        let c = match cfg.parameterization {
            Parameterization::Ntk => 1.0 / (m as f64).sqrt(),
            Parameterization::MeanField => 1.0 / m as f64,
        };
        let s_inv = match cfg.input_norm {
            InputNorm::SqrtD => 1.0 / (d as f64).sqrt(),
            InputNorm::None => 1.0,
        };
        let mut net = TwoLayer {
            m,
            d,
            n,
            c,
            s_inv,
            a_neg: cfg.a_neg,
            approx: cfg.approx,
            w0: w.clone(),
            w,
            pre: vec![0.0; m * n],
            pre0: Vec::new(),
            gate: vec![0.0; m * n],
            f0: Vec::new(),
        };
        if net.approx != Approx::Network {
            // A network forward at init sets the gates σ'(z0) that the Taylor models keep
            // frozen, and the outputs f(w0) the linear model starts from.
            let saved = net.approx;
            net.approx = Approx::Network;
            let mut f0 = vec![0.0; n];
            net.forward(data, &mut f0);
            net.approx = saved;
            net.pre0 = net.pre.clone();
            net.f0 = f0;
        }
        net
    }

    /// The coefficient a of ∂f/∂u: v, or v0 for the linearized model.
    fn a_coeffs(&self) -> &[f64] {
        let src = if self.approx == Approx::Linearized { &self.w0 } else { &self.w };
        &src[self.m * self.d..]
    }

    /// The factor b of ∂f/∂v: the current pre-activations, or the initial ones when linearized.
    fn b_cache(&self) -> &[f64] {
        if self.approx == Approx::Linearized { &self.pre0 } else { &self.pre }
    }

    fn parallel(&self) -> bool {
        self.m * self.n * self.d.max(1) >= PARALLEL_WORK
    }

    /// Runs `f` on every neuron chunk and returns the per-chunk results in chunk order.
    fn map_chunks<T: Send>(&self, f: impl Fn(std::ops::Range<usize>) -> T + Sync + Send) -> Vec<T> {
        let chunks = self.m.div_ceil(CHUNK);
        let range = |c: usize| c * CHUNK..((c + 1) * CHUNK).min(self.m);
        if self.parallel() {
            (0..chunks).into_par_iter().map(|c| f(range(c))).collect()
        } else {
            (0..chunks).map(|c| f(range(c))).collect()
        }
    }
}

/// Adds chunk partial vectors in order into `out`.
fn sum_partials(partials: Vec<Vec<f64>>, out: &mut [f64]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    for part in partials {
        for (o, p) in out.iter_mut().zip(&part) {
            *o += p;
        }
    }
}

impl Model for TwoLayer {
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
        for (w, dlt) in self.w.iter_mut().zip(delta) {
            *w += scale * dlt;
        }
    }

    fn forward(&mut self, data: &Dataset, out: &mut [f64]) {
        let (m, d, n, s_inv) = (self.m, self.d, self.n, self.s_inv);
        // Pre-activations, neuron by neuron.
        let u = &self.w[..m * d];
        let fill = |(k, row): (usize, &mut [f64])| {
            let uk = &u[k * d..(k + 1) * d];
            for (i, z) in row.iter_mut().enumerate() {
                *z = super::dot(uk, data.row(i)) * s_inv;
            }
        };
        if self.parallel() {
            self.pre.par_chunks_mut(n).enumerate().for_each(fill);
        } else {
            self.pre.chunks_mut(n).enumerate().for_each(fill);
        }
        if self.approx == Approx::Network {
            let a_neg = self.a_neg;
            for (g, &z) in self.gate.iter_mut().zip(&self.pre) {
                *g = if z >= 0.0 { 1.0 } else { a_neg };
            }
        }
        // The Taylor models keep the gates set at init (see `new`).
        let v = &self.w[m * d..];
        let v0 = &self.w0[m * d..];
        let partials = self.map_chunks(|range| {
            let mut acc = vec![0.0; n];
            for k in range {
                let (g, z) = (&self.gate[k * n..(k + 1) * n], &self.pre[k * n..(k + 1) * n]);
                match self.approx {
                    Approx::Network | Approx::Quadratic => {
                        for i in 0..n {
                            acc[i] += v[k] * g[i] * z[i];
                        }
                    }
                    Approx::Linearized => {
                        let z0 = &self.pre0[k * n..(k + 1) * n];
                        for i in 0..n {
                            acc[i] += g[i] * (v0[k] * (z[i] - z0[i]) + (v[k] - v0[k]) * z0[i]);
                        }
                    }
                }
            }
            acc
        });
        sum_partials(partials, out);
        for (i, o) in out.iter_mut().enumerate() {
            *o *= self.c;
            if self.approx == Approx::Linearized {
                *o += self.f0[i];
            }
        }
    }

    fn jvp(&self, data: &Dataset, dir: &[f64], out: &mut [f64]) {
        let (m, d, n) = (self.m, self.d, self.n);
        let (a, b) = (self.a_coeffs(), self.b_cache());
        let (du, dv) = dir.split_at(m * d);
        let partials = self.map_chunks(|range| {
            let mut acc = vec![0.0; n];
            for k in range {
                let g = &self.gate[k * n..(k + 1) * n];
                let bk = &b[k * n..(k + 1) * n];
                let du_k = &du[k * d..(k + 1) * d];
                let coef = a[k] * self.s_inv;
                for i in 0..n {
                    acc[i] += g[i] * (coef * super::dot(du_k, data.row(i)) + bk[i] * dv[k]);
                }
            }
            acc
        });
        sum_partials(partials, out);
        out.iter_mut().for_each(|o| *o *= self.c);
    }

    fn vjp(&self, data: &Dataset, z: &[f64], out: &mut [f64]) {
        let (m, d, n) = (self.m, self.d, self.n);
        let (a, b) = (self.a_coeffs(), self.b_cache());
        let (c, s_inv) = (self.c, self.s_inv);
        let (out_u, out_v) = out.split_at_mut(m * d);
        let neuron = |k: usize, du_k: &mut [f64], dv_k: &mut f64| {
            let g = &self.gate[k * n..(k + 1) * n];
            let bk = &b[k * n..(k + 1) * n];
            du_k.iter_mut().for_each(|x| *x = 0.0);
            let mut acc_v = 0.0;
            for i in 0..n {
                let t = z[i] * g[i];
                if t != 0.0 {
                    acc_v += t * bk[i];
                    for (o, x) in du_k.iter_mut().zip(data.row(i)) {
                        *o += t * x;
                    }
                }
            }
            let scale = c * a[k] * s_inv;
            du_k.iter_mut().for_each(|x| *x *= scale);
            *dv_k = c * acc_v;
        };
        if self.parallel() {
            out_u.par_chunks_mut(d).zip(out_v.par_iter_mut()).enumerate().for_each(|(k, (du, dv))| neuron(k, du, dv));
        } else {
            out_u.chunks_mut(d).zip(out_v.iter_mut()).enumerate().for_each(|(k, (du, dv))| neuron(k, du, dv));
        }
    }

    fn kernel(&self, data: &Dataset, out: &mut [f64]) {
        let n = self.n;
        let (a, b) = (self.a_coeffs(), self.b_cache());
        // A_ij = Σ_k a_k² g_ki g_kj,  B_ij = Σ_k (g b)_ki (g b)_kj  (upper triangles).
        let partials = self.map_chunks(|range| {
            let mut acc = vec![0.0; 2 * n * n];
            let mut gb = vec![0.0; n];
            for k in range {
                let g = &self.gate[k * n..(k + 1) * n];
                let bk = &b[k * n..(k + 1) * n];
                for i in 0..n {
                    gb[i] = g[i] * bk[i];
                }
                let a2 = a[k] * a[k];
                for i in 0..n {
                    let (ga, gbi) = (a2 * g[i], gb[i]);
                    let row_a = &mut acc[i * n..(i + 1) * n];
                    for j in i..n {
                        row_a[j] += ga * g[j];
                    }
                    let row_b = &mut acc[n * n + i * n..n * n + (i + 1) * n];
                    for j in i..n {
                        row_b[j] += gbi * gb[j];
                    }
                }
            }
            acc
        });
        let mut total = vec![0.0; 2 * n * n];
        sum_partials(partials, &mut total);
        let c2 = self.c * self.c;
        let s2 = self.s_inv * self.s_inv;
        for i in 0..n {
            for j in i..n {
                let gram = super::dot(data.row(i), data.row(j));
                let k_ij = c2 * (s2 * gram * total[i * n + j] + total[n * n + i * n + j]);
                out[i * n + j] = k_ij;
                out[j * n + i] = k_ij;
            }
        }
    }

    fn hessian_scale_sq(&self, data: &Dataset) -> f64 {
        self.c * self.c * data.mean_sq_norm() * self.s_inv * self.s_inv
    }

    fn sparsity(&self) -> Option<f64> {
        if self.a_neg >= 1.0 || self.gate.is_empty() {
            return None;
        }
        // Count the network's own gates at the current weights, whatever is trained.
        let off = self.pre.iter().filter(|&&z| z < 0.0).count();
        Some(off as f64 / self.pre.len() as f64)
    }

    fn feature_alignment(&self, xt_y: &[f64]) -> Option<(f64, f64)> {
        let (m, d) = (self.m, self.d);
        let mut rho = 0.0;
        for k in 0..m {
            let du: f64 = (0..d).map(|j| (self.w[k * d + j] - self.w0[k * d + j]) * xt_y[j]).sum();
            rho += du;
        }
        let v_mean = self.w[m * d..].iter().sum::<f64>() / m as f64;
        Some((rho / m as f64, v_mean))
    }
}
