//! The layered network's batched passes (SPEC §10): the activations σ, σ', σ'', the matrix
//! products (through `engine::linalg::gemm`, split into fixed row chunks so results are the same
//! bits whatever the thread count), and `State`, the forward pass z_l = c_l W_l h_{l−1} + β b_l
//! with the backward pass Δ_l = ∂f/∂z_l for all n examples at once.

use super::Mlp;
use crate::engine::config::Activation;
use crate::engine::linalg::{gemm, gemm_column_parts};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

/// Multiply-adds per part of a split product (below it a product is one call on the calling
/// thread).
const PARALLEL_WORK: usize = 1 << 22;
/// At most this many parts per product (the machines this runs on have a few cores; more
/// parts only pack the weights more often).
const MAX_CHUNKS: usize = 4;
/// Fewest rows (or columns) per part.
const CHUNK_ROWS: usize = 16;

/// The hidden activation with its slope for z < 0 (relu).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Act {
    pub kind: Activation,
    pub a_neg: f64,
}

const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

impl Act {
    #[inline(always)]
    pub fn value(self, z: f64) -> f64 {
        match self.kind {
            Activation::Relu => {
                if z >= 0.0 { z } else { self.a_neg * z }
            }
            Activation::Linear => z,
            Activation::Tanh => z.tanh(),
            Activation::Gelu => 0.5 * z * (1.0 + libm::erf(z * std::f64::consts::FRAC_1_SQRT_2)),
        }
    }
    #[inline(always)]
    pub fn slope(self, z: f64) -> f64 {
        match self.kind {
            Activation::Relu => {
                if z >= 0.0 { 1.0 } else { self.a_neg }
            }
            Activation::Linear => 1.0,
            Activation::Tanh => {
                let t = z.tanh();
                1.0 - t * t
            }
            Activation::Gelu => 0.5 * (1.0 + libm::erf(z * std::f64::consts::FRAC_1_SQRT_2)) + z * INV_SQRT_2PI * (-0.5 * z * z).exp(),
        }
    }
    #[inline(always)]
    pub fn curvature(self, z: f64) -> f64 {
        match self.kind {
            Activation::Relu | Activation::Linear => 0.0,
            Activation::Tanh => {
                let t = z.tanh();
                -2.0 * t * (1.0 - t * t)
            }
            Activation::Gelu => INV_SQRT_2PI * (-0.5 * z * z).exp() * (2.0 - z * z),
        }
    }
    /// σ'' ≡ 0 (relu, linear): the Hessian has only cross-layer blocks.
    pub fn piecewise_linear(self) -> bool {
        matches!(self.kind, Activation::Relu | Activation::Linear)
    }
}

/// C (rows × cols, row-major, contiguous) = alpha · A · B + beta · C (beta 0 or 1), A and B
/// strided. Large products are split into at most `MAX_CHUNKS` parts (their number and bounds
/// from the shape only, so the bits do not depend on the number of threads) that run in
/// parallel, one GEMM call each, along the longer side of C: a layer's weights are packed once
/// per part, so few parts, split across the weight matrix's columns where C is wide (n examples
/// × a wide layer), keep the packing small against the multiply-adds.
#[allow(clippy::too_many_arguments)]
pub(crate) fn product(rows: usize, inner: usize, cols: usize, alpha: f64, a: &[f64], a_strides: (isize, isize), b: &[f64], b_strides: (isize, isize), beta: f64, c: &mut [f64]) {
    if rows == 0 || cols == 0 {
        return;
    }
    if inner == 0 {
        c[..rows * cols].iter_mut().for_each(|x| *x *= beta);
        return;
    }
    let parts = product_parts(rows, inner, cols);
    if parts == 1 {
        gemm(rows, inner, cols, alpha, a, a_strides, b, b_strides, beta, c, (cols as isize, 1));
        return;
    }
    if rows >= cols {
        let chunk = rows.div_ceil(parts);
        c[..rows * cols].par_chunks_mut(chunk * cols).enumerate().for_each(|(i, c_rows)| {
            let r0 = i * chunk;
            let r = c_rows.len() / cols;
            gemm(r, inner, cols, alpha, &a[r0 * a_strides.0 as usize..], a_strides, b, b_strides, beta, c_rows, (cols as isize, 1));
        });
        return;
    }
    // Column parts, each written into its columns of C in place.
    gemm_column_parts(rows, inner, cols, alpha, a, a_strides, b, b_strides, beta, &mut c[..rows * cols], parts);
}

/// The number of parts `product` splits a rows × inner × cols product into (from the shape only).
pub(crate) fn product_parts(rows: usize, inner: usize, cols: usize) -> usize {
    (rows * inner * cols / PARALLEL_WORK).clamp(1, MAX_CHUNKS).min(rows.max(cols) / CHUNK_ROWS).max(1)
}

/// Rows per part when `product` splits C (rows × cols) by rows — C's row ranges
/// `[p·chunk, (p + 1)·chunk)` — or None when it splits by columns.
pub(crate) fn product_row_chunk(rows: usize, inner: usize, cols: usize) -> Option<usize> {
    let parts = product_parts(rows, inner, cols);
    (parts == 1 || rows >= cols).then(|| rows.div_ceil(parts))
}

/// Row-major strides of an n × m matrix, and of its transpose read in place.
pub(crate) fn rm(cols: usize) -> (isize, isize) {
    (cols as isize, 1)
}
pub(crate) fn tr(cols: usize) -> (isize, isize) {
    (1, cols as isize)
}

/// `out` (n × m) = A (n × k) · Bᵀ, B stored m × k: rows of A against rows of B.
pub(crate) fn a_bt(alpha: f64, a: ArrayView2<f64>, b: ArrayView2<f64>, beta: f64, out: &mut Array2<f64>) {
    let (n, k) = a.dim();
    let m = b.nrows();
    product(n, k, m, alpha, a.as_slice().unwrap(), rm(k), b.as_slice().unwrap(), tr(k), beta, out.as_slice_mut().unwrap());
}

/// `out` (m × k) = Aᵀ (m × n) · B (n × k), A stored n × m.
pub(crate) fn at_b(alpha: f64, a: ArrayView2<f64>, b: ArrayView2<f64>, beta: f64, out: &mut [f64]) {
    let (n, m) = a.dim();
    let k = b.ncols();
    product(m, n, k, alpha, a.as_slice().unwrap(), tr(m), b.as_slice().unwrap(), rm(k), beta, out);
}

/// `out` (n × k) = A (n × m) · B (m × k), both row-major.
pub(crate) fn a_b(alpha: f64, a: ArrayView2<f64>, b: ArrayView2<f64>, beta: f64, out: &mut Array2<f64>) {
    let (n, m) = a.dim();
    let k = b.ncols();
    product(n, m, k, alpha, a.as_slice().unwrap(), rm(m), b.as_slice().unwrap(), rm(k), beta, out.as_slice_mut().unwrap());
}

/// The network's state at some parameters on some inputs (n rows). Layer k = 0..=L (SPEC's
/// l = k + 1) reads `h[k]` (n × n_k; h[0] = X) and writes `z[k]` (n × n_{k+1}); `z[L]` is f.
/// `delta[k]` = ∂f/∂z[k] (n × n_{k+1}, delta[L] = 1) and `grad_h[k]` = ∂f/∂h[k] (k ≥ 1; entry 0
/// is empty), from one batched backward pass.
#[derive(Default)]
pub(crate) struct State {
    pub n: usize,
    pub h: Vec<Array2<f64>>,
    pub z: Vec<Array2<f64>>,
    pub grad_h: Vec<Array2<f64>>,
    pub delta: Vec<Array2<f64>>,
    /// Scratch: a layer's pre-activations transposed (n_{k+1} × n), as the forward product
    /// writes them.
    pub zt: Vec<f64>,
    /// Scratch: the fused step's z∘Δ_k (n × n_{k+1}).
    pub scaled: Vec<f64>,
}

/// Examples and units from which the forward product is made transposed (`state_into`).
const TRANSPOSED_FORWARD_ROWS: usize = 32;

/// Entries per part of the elementwise passes and the transpose run on every core (below it
/// they run on the calling thread).
const ELEMENTWISE_CHUNK: usize = 1 << 14;

/// `out[j] = f(g[j], z[j])` (g = 1 when absent), in parts on every core for long arrays.
fn elementwise(out: &mut [f64], z: &[f64], g: Option<&[f64]>, f: impl Fn(f64, f64) -> f64 + Sync) {
    let part = |(i, o): (usize, &mut [f64])| {
        let start = i * ELEMENTWISE_CHUNK;
        let zs = &z[start..start + o.len()];
        match g {
            Some(g) => o.iter_mut().zip(zs).zip(&g[start..]).for_each(|((o, &zv), &gv)| *o = f(gv, zv)),
            None => o.iter_mut().zip(zs).for_each(|(o, &zv)| *o = f(1.0, zv)),
        }
    };
    if out.len() > ELEMENTWISE_CHUNK {
        out.par_chunks_mut(ELEMENTWISE_CHUNK).enumerate().for_each(part);
    } else {
        part((0, out));
    }
}

/// `out` (cols × rows, row-major) = the transpose of `src` (rows × cols, row-major), in
/// 16 × 16 blocks, bands of 16 output rows on every core.
fn transpose_into(src: &[f64], rows: usize, cols: usize, out: &mut [f64]) {
    const B: usize = 16;
    let band = |(band, out_rows): (usize, &mut [f64])| {
        let c0 = band * B;
        let width = out_rows.len() / rows;
        for r0 in (0..rows).step_by(B) {
            for c in c0..c0 + width {
                for r in r0..(r0 + B).min(rows) {
                    out_rows[(c - c0) * rows + r] = src[r * cols + c];
                }
            }
        }
    };
    if rows * cols > ELEMENTWISE_CHUNK {
        out[..rows * cols].par_chunks_mut(B * rows).enumerate().for_each(band);
    } else {
        out[..rows * cols].chunks_mut(B * rows).enumerate().for_each(band);
    }
}

/// A part's finish of layer k (what `finish_layer` does, for units c0..c0 + r only): from the
/// part's rows of Zᵀ (`zt_rows`, r × n) the columns c0.. of z[k] (n × o) = Zᵀ's transpose
/// + β b, and of h[k + 1] = σ(z[k]) when `h` is given; the same operations on the same
/// numbers as the whole-layer pass, so the same bits.
pub(crate) struct PartFinish<'a> {
    pub act: Act,
    pub n: usize,
    pub o: usize,
    /// (β, b_k) when the layer has a bias.
    pub bias: Option<(f64, &'a [f64])>,
    pub z: *mut f64,
    pub h: Option<*mut f64>,
}

// SAFETY: the parts that share a `PartFinish` write disjoint columns of z and h (`apply`'s
// contract), which outlive the parallel loop.
unsafe impl Sync for PartFinish<'_> {}

impl PartFinish<'_> {
    /// # Safety
    /// z and h must be n × o, columns c0..c0 + r in range and written by no other part.
    pub(crate) unsafe fn apply(&self, zt_rows: &[f64], c0: usize) {
        const B: usize = 16;
        let (n, o) = (self.n, self.o);
        let r = zt_rows.len() / n;
        for e0 in (0..n).step_by(B) {
            for j0 in (0..r).step_by(B) {
                for e in e0..(e0 + B).min(n) {
                    // SAFETY: row e, columns c0 + j0.. of z, inside this part's columns.
                    let row = unsafe { std::slice::from_raw_parts_mut(self.z.add(e * o + c0 + j0), B.min(r - j0)) };
                    for (jj, v) in row.iter_mut().enumerate() {
                        *v = zt_rows[(j0 + jj) * n + e];
                    }
                }
            }
        }
        for e in 0..n {
            // SAFETY: row e, this part's columns of z (and h).
            let z = unsafe { std::slice::from_raw_parts_mut(self.z.add(e * o + c0), r) };
            if let Some((beta, b)) = self.bias {
                z.iter_mut().zip(&b[c0..c0 + r]).for_each(|(v, bj)| *v += beta * bj);
            }
            if let Some(h) = self.h {
                let h = unsafe { std::slice::from_raw_parts_mut(h.add(e * o + c0), r) };
                match self.act.kind {
                    Activation::Relu => {
                        let a_neg = self.act.a_neg;
                        h.iter_mut().zip(z.iter()).for_each(|(o, &zv)| *o = if zv >= 0.0 { zv } else { a_neg * zv });
                    }
                    _ => h.iter_mut().zip(z.iter()).for_each(|(o, &zv)| *o = self.act.value(zv)),
                }
            }
        }
    }
}

impl State {
    /// f(x_i), the output column.
    pub fn outputs(&self) -> &[f64] {
        self.z.last().unwrap().as_slice().unwrap()
    }
}

/// Makes `a` an n × m array, reusing its buffer when the shape already fits (contents are
/// overwritten by the caller).
pub(crate) fn shaped(a: &mut Array2<f64>, n: usize, m: usize) {
    if a.dim() != (n, m) {
        *a = Array2::zeros((n, m));
    }
}

impl Mlp {
    /// Forward and backward passes at parameters `w` on the rows `x` (n × d, row-major).
    pub(crate) fn state_at(&self, w: &[f64], x: &[f64], n: usize) -> State {
        let mut state = State::default();
        self.state_into(w, x, n, &mut state);
        state
    }

    /// `state_at` into an existing state, reusing its arrays (no allocation from the second
    /// step on: every step's passes write into the same buffers).
    pub(crate) fn state_into(&self, w: &[f64], x: &[f64], n: usize, state: &mut State) {
        self.prepare_state(x, n, state);
        for k in 0..=self.depth() {
            self.forward_product(w, k, state);
            self.finish_layer(w, k, state);
        }
        self.backward_into(w, state);
    }

    /// Shapes `state` for n rows and copies the inputs into h[0].
    pub(crate) fn prepare_state(&self, x: &[f64], n: usize, state: &mut State) {
        let depth = self.depth();
        state.n = n;
        for list in [&mut state.h, &mut state.z, &mut state.grad_h, &mut state.delta] {
            list.resize_with(depth + 1, || Array2::zeros((0, 0)));
        }
        shaped(&mut state.h[0], n, self.dims[0]);
        state.h[0].as_slice_mut().unwrap().copy_from_slice(&x[..n * self.dims[0]]);
        for k in 0..=depth {
            shaped(&mut state.z[k], n, self.dims[k + 1]);
        }
    }

    /// Whether layer k's forward product is made transposed (into `state.zt`, then `finish_layer`
    /// transposes it into z[k]).
    pub(crate) fn transposed_forward(&self, n: usize, k: usize) -> bool {
        n >= TRANSPOSED_FORWARD_ROWS && self.dims[k + 1] >= TRANSPOSED_FORWARD_ROWS
    }

    /// Layer k's product c W_k h[k]ᵀ: Zᵀ into `state.zt` (transposed: W's rows against the
    /// examples, each part of W's rows writing a contiguous block; measured faster than
    /// Z = c H Wᵀ) or Z straight into z[k].
    pub(crate) fn forward_product(&self, w: &[f64], k: usize, state: &mut State) {
        let (n, o, i) = (state.n, self.dims[k + 1], self.dims[k]);
        if self.transposed_forward(n, k) {
            state.zt.resize(o * n, 0.0);
            product(o, i, n, self.c[k], self.weight(w, k).as_slice().unwrap(), rm(i), state.h[k].as_slice().unwrap(), tr(i), 0.0, &mut state.zt);
        } else {
            a_bt(self.c[k], state.h[k].view(), self.weight(w, k), 0.0, &mut state.z[k]);
        }
    }

    /// After layer k's product: z[k] (transposed from `zt` where the product was), + β b_k, and
    /// h[k + 1] = σ(z[k]) for hidden layers.
    pub(crate) fn finish_layer(&self, w: &[f64], k: usize, state: &mut State) {
        let (n, o) = (state.n, self.dims[k + 1]);
        let act = self.act;
        let (h, z) = (&mut state.h, &mut state.z);
        if self.transposed_forward(n, k) {
            transpose_into(&state.zt, o, n, z[k].as_slice_mut().unwrap());
        }
        if let Some(b) = self.bias(w, k) {
            let beta = self.beta;
            for mut row in z[k].rows_mut() {
                row.iter_mut().zip(b).for_each(|(v, bj)| *v += beta * bj);
            }
        }
        if k < self.depth() {
            shaped(&mut h[k + 1], n, o);
            let (out, zs) = (h[k + 1].as_slice_mut().unwrap(), z[k].as_slice().unwrap());
            // ReLU as its own loop (a select the compiler vectorizes), the others through `Act`.
            match act.kind {
                Activation::Relu => {
                    let a_neg = act.a_neg;
                    elementwise(out, zs, None, move |_, zv| if zv >= 0.0 { zv } else { a_neg * zv })
                }
                _ => elementwise(out, zs, None, |_, zv| act.value(zv)),
            }
        }
    }

    /// The batched backward pass Δ_l = ∂f/∂z_l for all rows of a state whose forward is done.
    pub(crate) fn backward_into(&self, w: &[f64], state: &mut State) {
        let depth = self.depth();
        let (n, dims, act) = (state.n, &self.dims, self.act);
        shaped(&mut state.delta[depth], n, 1);
        state.delta[depth].fill(1.0);
        shaped(&mut state.grad_h[0], 0, 0);
        for k in (1..=depth).rev() {
            let (grad_h, delta) = (&mut state.grad_h, &mut state.delta);
            shaped(&mut grad_h[k], n, dims[k]);
            a_b(self.c[k], delta[k].view(), self.weight(w, k), 0.0, &mut grad_h[k]);
            shaped(&mut delta[k - 1], n, dims[k]);
            let (out, zs, gs) = (delta[k - 1].as_slice_mut().unwrap(), state.z[k - 1].as_slice().unwrap(), grad_h[k].as_slice().unwrap());
            match act.kind {
                Activation::Relu => {
                    let a_neg = act.a_neg;
                    elementwise(out, zs, Some(gs), move |g, zv| if zv >= 0.0 { g } else { g * a_neg })
                }
                _ => elementwise(out, zs, Some(gs), |g, zv| g * act.slope(zv)),
            }
        }
    }
}
