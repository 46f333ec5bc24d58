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
//! (`fused_line_step`); the dense kernel multiplies only the lower triangles of its two Gram
//! matrices (`gram_lower`). The per-neuron loops are compiled for AVX2/AVX-512 (`simd`).

mod backward;
mod chunks;
mod eval;
mod fused;
mod gram;
mod gram_tiled;
mod hessian;
mod layers;
mod params_out;
mod line;

use super::{Model, simd};
use chunks::sum_partials;
use line::*;
use crate::engine::linalg::{GRAM_BLOCK, gemm, gram_lower};
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
    /// The tiled kernel's X Xᵀ tiles with the rows they were made on (`gram_tiled`): the
    /// training inputs do not change, so they are multiplied once.
    input_tiles: crate::engine::model::KeptForRows,
    /// The neuron-chunked kernel's x_i·x_j (lower triangle, n × n) with the rows they were made
    /// on (`gram`): made once for the training inputs, like the tiles.
    input_dots: crate::engine::model::KeptForRows,
    /// Which layers are trained, [u, v] (`train.frozen_layers`): a frozen layer is never
    /// updated and its columns are left out of J (so of the kernel, λ̂ and Jᵀ·z).
    trained: [bool; 2],
}

impl TwoLayer {
    /// The net a config describes; `trained` = [train u, train v] (`train.frozen_layers`).
    pub fn new(cfg: &ModelConfig, data: &Dataset, seed: u64, trained: [bool; 2]) -> Self {
        let (m, d, n) = (cfg.width, data.d, data.n);
        let mut rng = rng_for(seed, STREAM_INIT);
        let (sigma_u, sigma) = (cfg.layer_init_scale(1), cfg.layer_init_scale(2));
        let mut w = Vec::with_capacity(m * (d + 1));
        for _ in 0..m * d {
            w.push(sigma_u * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng));
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
            Parameterization::Standard => unreachable!("validation allows parameterization = standard for mlp only"),
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
            input_tiles: Default::default(),
            input_dots: Default::default(),
            trained,
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
            let mut acc = vec![0.0; n];
            if approx == Approx::Network {
                // One fused pass (vectorized): outputs and the negative count (integer counts
                // add up the same in any order).
                let negatives = fused::relu_rows_accumulate(pre_rows, n, &v[k0..k0 + rows], a_neg, &mut acc);
                return (acc, if a_neg < 1.0 { negatives } else { 0 });
            }
            let negatives = if a_neg < 1.0 { pre_rows.iter().map(|&z| (z < 0.0) as u64).sum::<u64>() } else { 0 };
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
        let [ku, kv] = self.layer_factors();
        let partials = self.map_chunks(|range| {
            let mut acc = vec![0.0; n];
            let mut buf = vec![0.0; 2 * n];
            for k in range {
                let (g, bk) = self.rows(data, k, &mut buf);
                let du_k = &du[k * d..(k + 1) * d];
                let (coef, dv_k) = (ku * a[k] * self.s_inv, kv * dv[k]);
                for i in 0..n {
                    acc[i] += g[i] * (coef * super::dot(du_k, data.row(i)) + bk[i] * dv_k);
                }
            }
            acc
        });
        sum_partials(partials, out);
        out.iter_mut().for_each(|o| *o *= self.c);
    }

    fn vjp(&self, data: &Dataset, z: &[f64], out: &mut [f64]) {
        self.vjp_all_layers(data, z, out);
        self.zero_frozen(out);
    }

    fn kernel_costs(&self, n: usize) -> (f64, f64) {
        let (m, d) = (self.m as f64, self.d as f64);
        let n = n as f64;
        if self.recompute {
            // d = 1: the sign-class form (three weighted sums over the neurons).
            return (12.0 * m + 6.0 * n * n, 12.0 * m + 12.0 * n);
        }
        // Dense: two Gram products over the neurons, lower triangles only (`gram_lower`:
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
        if self.tiled_kernel_applies() {
            self.kernel_tiled(data, None, out)
        } else {
            self.kernel_matrix(data, out)
        }
    }

    fn kernel_scaled(&self, data: &Dataset, root: &[f64], out: &mut [f64]) {
        if self.tiled_kernel_applies() {
            self.kernel_tiled(data, Some(root), out)
        } else {
            self.kernel_matrix(data, out);
            super::scale_both_sides(out, root);
        }
    }

    fn hessian_scale_sq(&self, data: &Dataset, p1: &[f64]) -> f64 {
        self.hessian_scale_along(data, p1)
    }

    fn output_hessian_apply(&self, data: &Dataset, z: &[f64], dir: &[f64], out: &mut [f64]) {
        self.output_hessian_along(data, z, dir, out)
    }

    fn layer_params(&self) -> Vec<super::LayerParams> {
        self.layers_out()
    }
    fn layer_scales(&self) -> Vec<f64> {
        vec![self.s_inv, self.c]
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

    fn input_gradients(&self, data: &Dataset, out: &mut [f64]) -> bool {
        self.input_gradients_batched(data, out);
        true
    }

    fn training_input_gradients(&self, data: &Dataset, out: &mut [f64]) -> bool {
        self.training_input_gradients_cached(data, out);
        true
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
        self.zero_frozen(out);
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
        if !(self.recompute && self.n == 1) || self.trained != [true, true] {
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
        self.feature_alignment_of(xt_y)
    }

    fn weight_stats(&self, xt_y: &[f64]) -> super::WeightStats {
        self.weight_stats_of(xt_y)
    }
}
