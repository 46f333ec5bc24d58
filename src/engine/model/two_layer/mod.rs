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
//!
//! Where the structure allows, less arithmetic is done (each path is exact, and tested against
//! finite differences and the general loops): in d = 1 every gate row is one of three
//! sign-class rows, so outputs, gradient and kernel come from three sums over the neurons,
//! O(m + n) (`line_class_weights`); one example in d = 1 is a single fused pass
//! (`fused_line_step`); the dense kernel multiplies only the upper triangles of its two Gram
//! matrices (`gram_upper`). The per-neuron loops are compiled for AVX2/AVX-512 (`simd`).

mod chunks;
mod eval;
mod gram;
mod line;

use super::{Model, simd};
use chunks::sum_partials;
use line::*;
use crate::engine::linalg::{GRAM_BLOCK, gemm, gram_upper};
use crate::engine::config::{Approx, InputNorm, ModelConfig, Parameterization, SecondLayerInit};
use crate::engine::data::{Dataset, STREAM_INIT, rng_for};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Fewest neurons per work chunk.
const CHUNK_MIN: usize = 64;
/// Multiply-adds a chunk should hold (a chunk is sized from the problem's shape only, never
/// from the thread count, so the summation order is the same on every machine).
const CHUNK_WORK: usize = 1 << 15;
/// Below this many multiply-adds per pass the loops stay on the calling thread.
const PARALLEL_WORK: usize = 1 << 17;
/// From this input dimension on, the n × d products go through a blocked matrix product.
const GEMM_D: usize = 8;
/// Work per neuron (in `chunk_for` units) of the d = 1 passes that cost O(1) per neuron
/// whatever n is (the sign-class sums, the fused one-example step).
const LINE_PASS: usize = 2;
/// Neurons per block of the dense kernel's Gram products (their scaled copies stay in cache).
const GRAM_NEURONS: usize = 256;
/// At most this many blocks per work chunk of the dense kernel (blocks accumulate into one
/// n × n partial; fewer partials, fewer n × n additions).
const GRAM_BLOCKS_PER_CHUNK: usize = 4;
/// Chunks of the dense kernel whose n × n partials are held at once, and the most memory
/// they may take.
const GRAM_WAVE: usize = 16;
const GRAM_WAVE_BYTES: usize = 64 << 20;
/// Fewest neurons per work chunk of the n × d matrix products of `forward` and `vjp` (the
/// input matrix is packed once per chunk).
const GEMM_CHUNK_MIN: usize = 256;

/// σ'(z): 1 for z ≥ 0, a_neg below, without a branch (random signs would mispredict one).
#[inline(always)]
fn gate_of(z: f64, a_neg: f64) -> f64 {
    let mask = ((z >= 0.0) as u64).wrapping_neg();
    f64::from_bits((1f64.to_bits() & mask) | (a_neg.to_bits() & !mask))
}

thread_local! {
    /// Per-thread scratch for a chunk's temporaries (no allocation in the step loop).
    static SCRATCH: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

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
    /// Gates g_ki (m × n) of the Taylor models, frozen at init. The network's gates are
    /// σ'(pre) and are computed where used (one compare), not stored and re-read.
    gate: Vec<f64>,
    /// f(x_i) at init (linearized model only).
    f0: Vec<f64>,
    /// d = 1: gates and pre-activations are recomputed from u and x where needed (one
    /// multiply each) instead of being stored and re-read (m × n caches stay empty).
    recompute: bool,
    /// Fraction of negative pre-activations at the last forward (recompute mode).
    negative_fraction: f64,
    /// The dense kernel's per-chunk n × n partial sums and their total, kept between steps
    /// so that forming the kernel allocates nothing.
    gram_partials: std::sync::Mutex<Vec<f64>>,
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
                SecondLayerInit::Rademacher => {
                    if rng.random::<bool>() {
                        sigma
                    } else {
                        -sigma
                    }
                }
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
            pre: if d == 1 { Vec::new() } else { vec![0.0; m * n] },
            pre0: Vec::new(),
            gate: Vec::new(),
            recompute: d == 1,
            negative_fraction: 0.0,
            f0: Vec::new(),
            gram_partials: Default::default(),
        };
        if net.approx != Approx::Network {
            // A network forward at init sets the gates σ'(z0) that the Taylor models keep
            // frozen, and the outputs f(w0) the linear model starts from.
            let saved = net.approx;
            net.approx = Approx::Network;
            let mut f0 = vec![0.0; n];
            net.forward(data, &mut f0);
            net.approx = saved;
            if !net.recompute {
                net.pre0 = net.pre.clone();
                net.gate = net.pre.iter().map(|&z| gate_of(z, net.a_neg)).collect();
            }
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

    /// The gate row g_k· and the b row of neuron k: borrowed from the caches (the network's
    /// gates computed from its pre-activations into `buf`), or recomputed into `buf`
    /// (length ≥ 2n) in recompute mode.
    #[inline(always)]
    fn rows<'s>(&'s self, data: &Dataset, k: usize, buf: &'s mut [f64]) -> (&'s [f64], &'s [f64]) {
        let n = self.n;
        if !self.recompute {
            let b = &self.b_cache()[k * n..(k + 1) * n];
            if self.approx != Approx::Network {
                return (&self.gate[k * n..(k + 1) * n], b);
            }
            let gbuf = &mut buf[..n];
            for (g, &z) in gbuf.iter_mut().zip(b) {
                *g = gate_of(z, self.a_neg);
            }
            return (gbuf, b);
        }
        let (gbuf, bbuf) = buf[..2 * n].split_at_mut(n);
        let (u, u0, a_neg) = (self.w[k] * self.s_inv, self.w0[k] * self.s_inv, self.a_neg);
        let gate = |z: f64| gate_of(z, a_neg);
        match self.approx {
            Approx::Network => {
                for ((g, b), &x) in gbuf.iter_mut().zip(bbuf.iter_mut()).zip(&data.x) {
                    let z = u * x;
                    *b = z;
                    *g = gate(z);
                }
            }
            Approx::Quadratic => {
                for ((g, b), &x) in gbuf.iter_mut().zip(bbuf.iter_mut()).zip(&data.x) {
                    *b = u * x;
                    *g = gate(u0 * x);
                }
            }
            Approx::Linearized => {
                for ((g, b), &x) in gbuf.iter_mut().zip(bbuf.iter_mut()).zip(&data.x) {
                    let z0 = u0 * x;
                    *b = z0;
                    *g = gate(z0);
                }
            }
        }
        (gbuf, bbuf)
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
        if self.recompute {
            self.forward_recompute(data, out);
            return;
        }
        // One pass per chunk of neurons: pre-activations (one blocked product for d ≥ 8),
        // negative count, and the chunk's partial outputs while its rows are in cache.
        let (u, v, v0) = (&self.w[..m * d], &self.w[m * d..], &self.w0[m * d..]);
        let (approx, a_neg) = (self.approx, self.a_neg);
        let (gate, pre0) = (&self.gate, &self.pre0);
        let mut pre = std::mem::take(&mut self.pre);
        let size = self.chunk_for(n * (d + 1));
        let chunk = |(c, pre_rows): (usize, &mut [f64])| -> (Vec<f64>, u64) {
            let k0 = c * size;
            let rows = pre_rows.len() / n;
            let u_rows = &u[k0 * d..(k0 + rows) * d];
            if d >= GEMM_D {
                gemm(rows, d, n, s_inv, u_rows, (d as isize, 1), &data.x, (1, d as isize), 0.0, pre_rows, (n as isize, 1));
            } else {
                for (row, uk) in pre_rows.chunks_mut(n).zip(u_rows.chunks(d)) {
                    for (i, z) in row.iter_mut().enumerate() {
                        *z = super::dot(uk, data.row(i)) * s_inv;
                    }
                }
            }
            // Integer counts add up the same in any order.
            let negatives = if a_neg < 1.0 { pre_rows.iter().map(|&z| (z < 0.0) as u64).sum::<u64>() } else { 0 };
            let mut acc = vec![0.0; n];
            for (r, z) in pre_rows.chunks(n).enumerate() {
                let k = k0 + r;
                let g: &[f64] = if gate.is_empty() { &[] } else { &gate[k * n..(k + 1) * n] };
                match approx {
                    // The Taylor models keep the gates set at init (see `new`).
                    Approx::Network => {
                        for (o, &zi) in acc.iter_mut().zip(z) {
                            *o += v[k] * gate_of(zi, a_neg) * zi;
                        }
                    }
                    Approx::Quadratic => {
                        for ((o, &gi), &zi) in acc.iter_mut().zip(g).zip(z) {
                            *o += v[k] * gi * zi;
                        }
                    }
                    Approx::Linearized => {
                        let z0 = &pre0[k * n..(k + 1) * n];
                        for i in 0..n {
                            acc[i] += g[i] * (v0[k] * (z[i] - z0[i]) + (v[k] - v0[k]) * z0[i]);
                        }
                    }
                }
            }
            (acc, negatives)
        };
        let partials: Vec<(Vec<f64>, u64)> = if self.parallel() {
            pre.par_chunks_mut(size * n).enumerate().map(chunk).collect()
        } else {
            pre.chunks_mut(size * n).enumerate().map(chunk).collect()
        };
        self.pre = pre;
        let negatives: u64 = partials.iter().map(|(_, count)| count).sum();
        self.negative_fraction = negatives as f64 / (m * n).max(1) as f64;
        sum_partials(partials.into_iter().map(|(acc, _)| acc).collect(), out);
        for (i, o) in out.iter_mut().enumerate() {
            *o *= self.c;
            if self.approx == Approx::Linearized {
                *o += self.f0[i];
            }
        }
    }

    fn jvp(&self, data: &Dataset, dir: &[f64], out: &mut [f64]) {
        let (m, d, n) = (self.m, self.d, self.n);
        let a = self.a_coeffs();
        let (du, dv) = dir.split_at(m * d);
        let partials = self.map_chunks(|range| {
            let mut acc = vec![0.0; n];
            let mut buf = vec![0.0; 2 * n];
            for k in range {
                let (g, bk) = self.rows(data, k, &mut buf);
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
        let a = self.a_coeffs();
        let (c, s_inv) = (self.c, self.s_inv);
        let (out_u, out_v) = out.split_at_mut(m * d);
        if self.recompute && n == 1 {
            // One example on the line: every neuron is a few multiplies.
            let (xs, zc, a_neg) = (data.x[0] * s_inv, z[0] * c, self.a_neg);
            let gate = move |z: f64| gate_of(z, a_neg);
            let approx = self.approx;
            self.for_chunks_mut(out_u, 1, out_v, 1, |k0, du_rows, dv_rows| {
                let r = k0..k0 + du_rows.len();
                let (u, u0) = (&self.w[r.clone()], &self.w0[r.clone()]);
                let (v, v0) = (&self.w[m + r.start..m + r.end], &self.w0[m + r.start..m + r.end]);
                let rows = du_rows.iter_mut().zip(dv_rows.iter_mut()).zip(u.iter().zip(u0)).zip(v.iter().zip(v0));
                match approx {
                    Approx::Network => rows.for_each(|(((du, dv), (&u, _)), (&v, _))| {
                        let t = zc * gate(u * xs);
                        *du = t * v * xs;
                        *dv = t * (u * xs);
                    }),
                    Approx::Quadratic => rows.for_each(|(((du, dv), (&u, &u0)), (&v, _))| {
                        let t = zc * gate(u0 * xs);
                        *du = t * v * xs;
                        *dv = t * (u * xs);
                    }),
                    Approx::Linearized => rows.for_each(|(((du, dv), (_, &u0)), (_, &v0))| {
                        let t = zc * gate(u0 * xs);
                        *du = t * v0 * xs;
                        *dv = t * (u0 * xs);
                    }),
                }
            });
            return;
        }
        if self.recompute {
            // d = 1: neuron k's gate row is its class row g^σ(k) (see `line_class_weights`)
            // and b_k = q_k s x, so du_k = c s a_k T_σ(k) and dv_k = c s q_k T_σ(k) with
            // T_σ = Σ_i z_i g^σ_i x_i: three sums over the examples, then O(1) per neuron.
            let t = [0, 1, 2].map(|class| data.x.iter().zip(z).map(|(&x, &zi)| zi * self.line_class_gate(class, x) * x).sum::<f64>());
            let (approx, cs) = (self.approx, c * s_inv);
            self.for_chunks_mut_for(LINE_PASS, out_u, 1, out_v, 1, |k0, du_rows, dv_rows| {
                let r = k0..k0 + du_rows.len();
                let (u, u0) = (&self.w[r.clone()], &self.w0[r.clone()]);
                let (v, v0) = (&self.w[m + r.start..m + r.end], &self.w0[m + r.start..m + r.end]);
                line_class_vjp(du_rows, dv_rows, [u, u0, v, v0], t, cs, approx);
            });
            return;
        }
        self.for_chunks_mut(out_u, d, out_v, 1, |k0, du_rows, dv_rows| {
            let rows = dv_rows.len();
            let mut buf = vec![0.0; 2 * n];
            SCRATCH.with_borrow_mut(|t| {
                // t_ki = z_i g_ki; then du = T X (one product) and dv_k = Σ_i t_ki b_ki.
                t.resize(rows * n, 0.0);
                for (r, t_row) in t.chunks_mut(n).enumerate() {
                    let (g, bk) = self.rows(data, k0 + r, &mut buf);
                    for ((ti, &gi), &zi) in t_row.iter_mut().zip(g).zip(z) {
                        *ti = gi * zi;
                    }
                    dv_rows[r] = c * super::dot(t_row, bk);
                }
                if d >= GEMM_D {
                    gemm(rows, n, d, 1.0, t, (n as isize, 1), &data.x, (d as isize, 1), 0.0, du_rows, (d as isize, 1));
                } else {
                    for (t_row, du_k) in t.chunks(n).zip(du_rows.chunks_mut(d)) {
                        if d == 1 {
                            du_k[0] = super::dot(t_row, &data.x);
                        } else {
                            du_k.iter_mut().for_each(|x| *x = 0.0);
                            for (i, &ti) in t_row.iter().enumerate() {
                                for (o, x) in du_k.iter_mut().zip(data.row(i)) {
                                    *o += ti * x;
                                }
                            }
                        }
                    }
                }
                for (r, du_k) in du_rows.chunks_mut(d).enumerate() {
                    let scale = c * a[k0 + r] * s_inv;
                    du_k.iter_mut().for_each(|x| *x *= scale);
                }
            });
        });
    }

    fn kernel_costs(&self, n: usize) -> (f64, f64) {
        let (m, d) = (self.m as f64, self.d as f64);
        let n = n as f64;
        if self.recompute {
            // d = 1: the sign-class form (three weighted sums over the neurons).
            return (12.0 * m + 6.0 * n * n, 12.0 * m + 12.0 * n);
        }
        // Dense: two Gram products over the neurons, upper triangles only (`gram_upper`:
        // n (n + block) / 2 entries of 2m flops each), plus the fills; matrix-free: the fused
        // Jᵀ then J pass, 2 n m (d + 1) multiply-adds.
        let block = (GRAM_BLOCK as f64).min(n);
        (2.0 * n * (n + block) * m + 4.0 * n * m, 4.0 * n * m * (d + 1.0))
    }

    fn step_flops(&self, n: usize) -> f64 {
        let (m, d, n) = (self.m as f64, self.d as f64, n as f64);
        if self.recompute && n == 1.0 {
            // The fused one-example step: update, output, kernel, norms (~30 flops/neuron).
            30.0 * m
        } else if self.recompute {
            // d = 1: the sign-class sums (~10 flops per neuron, ~10 per example).
            10.0 * m + 10.0 * n
        } else {
            // Forward 2nmd + 3nm, backward 2nmd + 3nm.
            4.0 * n * m * d + 6.0 * n * m
        }
    }

    fn kernel_apply(&self, data: &Dataset, x: &[f64], out: &mut [f64], _scratch: &mut Vec<f64>) {
        self.kernel_matrix_free(data, x, out)
    }

    fn kernel(&self, data: &Dataset, out: &mut [f64]) {
        self.kernel_matrix(data, out)
    }

    fn hessian_scale_sq(&self, data: &Dataset) -> f64 {
        self.c * self.c * data.mean_sq_norm() * self.s_inv * self.s_inv
    }

    fn sparsity(&self) -> Option<f64> {
        if self.a_neg >= 1.0 {
            return None;
        }
        // Counted by the last forward pass: the network's own gates at the current weights.
        Some(self.negative_fraction)
    }

    fn output_at(&self, x: &[f64]) -> f64 {
        let mut total = 0.0;
        self.for_each_neuron_at(x, |k, g, z, z0| {
            let (v, v0) = (self.w[self.m * self.d + k], self.w0[self.m * self.d + k]);
            total += match self.approx {
                Approx::Network | Approx::Quadratic => v * g * z,
                Approx::Linearized => g * (v0 * z + (v - v0) * z0),
            };
        });
        self.c * total
    }

    fn outputs_on(&self, data: &Dataset, out: &mut [f64]) {
        self.outputs_batched(data, out)
    }

    fn kernel_on(&self, data: &Dataset, out: &mut [f64]) -> bool {
        self.kernel_at_rows(data, out);
        true
    }

    fn jacobian_row(&self, x: &[f64], out: &mut [f64]) {
        let (m, d) = (self.m, self.d);
        let a = self.a_coeffs().to_vec();
        let (out_u, out_v) = out.split_at_mut(m * d);
        self.for_each_neuron_at(x, |k, g, z, z0| {
            let scale = self.c * a[k] * g * self.s_inv;
            for (o, xv) in out_u[k * d..(k + 1) * d].iter_mut().zip(x) {
                *o = scale * xv;
            }
            out_v[k] = self.c * g * if self.approx == Approx::Linearized { z0 } else { z };
        });
    }

    fn input_gradient(&self, x: &[f64], out: &mut [f64]) -> bool {
        let (m, d) = (self.m, self.d);
        out.iter_mut().for_each(|o| *o = 0.0);
        self.for_each_neuron_at(x, |k, g, _, _| {
            let (v, v0) = (self.w[m * d + k], self.w0[m * d + k]);
            let (u, u0) = (&self.w[k * d..(k + 1) * d], &self.w0[k * d..(k + 1) * d]);
            for j in 0..d {
                // ∂/∂x of the three variants (gates are piecewise constant in x).
                let term = match self.approx {
                    Approx::Network | Approx::Quadratic => v * u[j],
                    Approx::Linearized => v0 * u[j] + (v - v0) * u0[j],
                };
                out[j] += g * term;
            }
        });
        let scale = self.c * self.s_inv;
        out.iter_mut().for_each(|o| *o *= scale);
        true
    }

    fn fused_one_example_step(&mut self, data: &Dataset, eta: f64, z: f64, xt_y: &[f64]) -> Option<super::FusedOneExample> {
        if !(self.recompute && self.n == 1) {
            return None;
        }
        let sums = self.fused_line_step(data.x[0] * self.s_inv, eta, z);
        let [f, kernel, norm, dist, du_sum, v_sum, negative] = sums;
        let m = self.m as f64;
        if self.a_neg < 1.0 {
            self.negative_fraction = negative / m;
        }
        let c = self.c;
        Some(super::FusedOneExample {
            output: c * f + if self.approx == Approx::Linearized { self.f0[0] } else { 0.0 },
            kernel: c * c * kernel,
            weight_norm_sq: norm,
            dist_from_init_sq: dist,
            rho: du_sum * xt_y[0] / m,
            v_mean: v_sum / m,
        })
    }

    fn feature_alignment(&self, xt_y: &[f64]) -> Option<(f64, f64)> {
        let (m, d) = (self.m, self.d);
        // ρ = (1/m) Σ_j (Xᵀy)_j Σ_k (u_kj − u0_kj): column sums of u − u0, vectorized over k.
        let mut columns = vec![0.0; d];
        if d == 1 {
            columns[0] = super::pair_sum(&self.w[..m], &self.w0[..m], |u, u0| u - u0);
        } else {
            for (u_k, u0_k) in self.w[..m * d].chunks(d).zip(self.w0[..m * d].chunks(d)) {
                for ((col, &u), &u0) in columns.iter_mut().zip(u_k).zip(u0_k) {
                    *col += u - u0;
                }
            }
        }
        let rho = super::dot(&columns, xt_y);
        let v = &self.w[m * d..];
        let v_mean = super::pair_sum(v, v, |x, _| x) / m as f64;
        Some((rho / m as f64, v_mean))
    }

    fn weight_stats(&self, xt_y: &[f64]) -> super::WeightStats {
        let (m, d) = (self.m, self.d);
        if d == 1 {
            // Cheap already (2m values).
            return super::WeightStats::by_separate_passes(self, xt_y);
        }
        // One pass over the neurons, per chunk: per-column sums of u², (u − u0)² and u − u0
        // (vectorized over the d columns), and of v², (v − v0)², v.
        let partials = self.map_chunks_for(d + 1, |range| {
            let mut sums = vec![0.0; 3 * d + 3];
            let (cols, v_sums) = sums.split_at_mut(3 * d);
            let (norm_cols, rest) = cols.split_at_mut(d);
            let (dist_cols, diff_cols) = rest.split_at_mut(d);
            for k in range {
                let (u, u0) = (&self.w[k * d..(k + 1) * d], &self.w0[k * d..(k + 1) * d]);
                for j in 0..d {
                    let du = u[j] - u0[j];
                    norm_cols[j] += u[j] * u[j];
                    dist_cols[j] += du * du;
                    diff_cols[j] += du;
                }
                let (v, v0) = (self.w[m * d + k], self.w0[m * d + k]);
                v_sums[0] += v * v;
                v_sums[1] += (v - v0) * (v - v0);
                v_sums[2] += v;
            }
            sums
        });
        let mut total = vec![0.0; 3 * d + 3];
        sum_partials(partials, &mut total);
        let (norm_cols, dist_cols, diff_cols, v_sums) = (&total[..d], &total[d..2 * d], &total[2 * d..3 * d], &total[3 * d..]);
        super::WeightStats {
            norm_sq: norm_cols.iter().sum::<f64>() + v_sums[0],
            dist_sq: dist_cols.iter().sum::<f64>() + v_sums[1],
            alignment: Some((super::dot(diff_cols, xt_y) / m as f64, v_sums[2] / m as f64)),
        }
    }
}
