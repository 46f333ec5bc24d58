//! The layered network's tangent kernel (SPEC §10) from the factored Jacobian of `backward`:
//!   K = Σ_k c_k² Σ_{t,s} (P_t P_sᵀ) ∘ (Q_t Q_sᵀ) + β² P_0 P_0ᵀ,
//! for the network K = Σ_l (Δ_l Δ_lᵀ) ∘ (c_l² H_{l−1} H_{l−1}ᵀ + β²), frozen layers left out;
//! the same formula at the rows of an SGD batch (`kernel_on`), explicit Jacobian rows, and the
//! flop counts of the cost model that picks dense K or matrix-free Lanczos. The input layer's
//! c² X Xᵀ does not change while the rows do not, so it is kept.

use super::Mlp;
use super::backward::Jac;
use super::forward::{State, a_bt, product, rm};
use crate::engine::linalg::gemm;
use ndarray::Array2;
use rayon::prelude::*;

impl Mlp {
    /// `out` (n × n, row-major) = J Jᵀ from the factors.
    pub(crate) fn kernel_from(&self, jac: &Jac, out: &mut [f64]) {
        if jac.layers.iter().all(|layer| layer.terms.len() == 1) {
            self.kernel_symmetric(jac, out);
        } else {
            self.kernel_general(jac, out);
        }
    }

    /// One term per layer (network, linearized): every product P Pᵀ, Q Qᵀ is symmetric, so
    /// only its lower triangle is multiplied (`gram_rows_lower`, about 0.6 of the flops); the
    /// layers' products run side by side on every core (each one a few single-threaded GEMM
    /// calls, so each operand is packed about once), then the Hadamard products are summed on
    /// the lower triangle and the upper triangle mirrored.
    fn kernel_symmetric(&self, jac: &Jac, out: &mut [f64]) {
        let n = jac.n;
        let layers: Vec<usize> = (0..jac.layers.len()).filter(|&k| self.trained[k]).collect();
        out[..n * n].iter_mut().for_each(|o| *o = 0.0);
        // As many layers at a time as keep their 2 n × n products under `GRAM_BYTES`.
        let at_once = (GRAM_BYTES / (16 * n * n).max(1)).max(1);
        for group in layers.chunks(at_once) {
            let grams: Vec<Vec<f64>> = group
                .par_iter()
                .flat_map_iter(|&k| [(k, false), (k, true)])
                .map(|(k, is_q)| {
                    let (p, q) = &jac.layers[k].terms[0];
                    let (a, alpha) = if is_q { (q, self.c[k] * self.c[k]) } else { (p, 1.0) };
                    if k == 0 && is_q {
                        return self.input_gram(a.as_slice().unwrap(), n, alpha);
                    }
                    let mut g = vec![0.0; n * n];
                    gram_rows_lower(alpha, a.as_slice().unwrap(), n, a.ncols(), &mut g);
                    g
                })
                .collect();
            for (pair, &k) in grams.chunks(2).zip(group) {
                let (pp, qq) = (&pair[0], &pair[1]);
                let b2 = if self.has_bias && jac.layers[k].bias { self.beta * self.beta } else { 0.0 };
                for i in 0..n {
                    let row = i * n..i * n + i + 1;
                    for ((o, p), q) in out[row.clone()].iter_mut().zip(&pp[row.clone()]).zip(&qq[row]) {
                        *o += p * (q + b2);
                    }
                }
            }
        }
        for i in 0..n {
            for j in 0..i {
                out[j * n + i] = out[i * n + j];
            }
        }
    }

    /// The input layer's c² X Xᵀ (`gram_rows_lower`) on the rows `x` (n × d): the same every
    /// step on the training rows, so kept (with the rows, up to `INPUT_GRAM_ENTRIES`) and formed again only
    /// for other rows.
    fn input_gram(&self, x: &[f64], n: usize, alpha: f64) -> Vec<f64> {
        let d = self.dims[0];
        let form = || {
            let mut g = vec![0.0; n * n];
            gram_rows_lower(alpha, x, n, d, &mut g);
            g
        };
        if n * (n + d) > INPUT_GRAM_ENTRIES {
            return form();
        }
        let kept = crate::engine::model::kept_for_rows(&self.input_gram, &x[..n * d], n * n, form);
        kept.as_ref().map(|(_, gram)| gram.clone()).unwrap_or_default()
    }

    /// Several terms per layer (the quadratic model): the cross products P_t P_sᵀ are not
    /// symmetric, so they are formed in full.
    fn kernel_general(&self, jac: &Jac, out: &mut [f64]) {
        let n = jac.n;
        out[..n * n].iter_mut().for_each(|o| *o = 0.0);
        let mut pp = Array2::zeros((n, n));
        let mut qq = Array2::zeros((n, n));
        for (k, layer) in jac.layers.iter().enumerate() {
            if !self.trained[k] {
                continue;
            }
            let c2 = self.c[k] * self.c[k];
            for (t, (pt, qt)) in layer.terms.iter().enumerate() {
                for (s, (ps, qs)) in layer.terms.iter().enumerate() {
                    a_bt(1.0, pt.view(), ps.view(), 0.0, &mut pp);
                    a_bt(c2, qt.view(), qs.view(), 0.0, &mut qq);
                    if t == 0 && s == 0 && self.has_bias && layer.bias {
                        let b2 = self.beta * self.beta;
                        qq.iter_mut().for_each(|x| *x += b2);
                    }
                    for ((o, p), q) in out.iter_mut().zip(pp.iter()).zip(qq.iter()) {
                        *o += p * q;
                    }
                }
            }
        }
    }

    /// The explicit Jacobian row of example `i` of `jac` (length P; 0 in frozen layers).
    pub(crate) fn jacobian_row_of(&self, jac: &Jac, i: usize, out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for (k, layer) in jac.layers.iter().enumerate() {
            if !self.trained[k] {
                continue;
            }
            let (w_range, b_range) = self.layer_ranges(k);
            let cols = self.dims[k];
            for (p, q) in &layer.terms {
                let (p, q) = (p.row(i), q.row(i));
                for (r, &pr) in p.iter().enumerate() {
                    let row = &mut out[w_range.start + r * cols..w_range.start + (r + 1) * cols];
                    row.iter_mut().zip(q.iter()).for_each(|(o, &qv)| *o += self.c[k] * pr * qv);
                }
            }
            if !b_range.is_empty() && layer.bias {
                out[b_range].iter_mut().zip(layer.terms[0].0.row(i).iter()).for_each(|(o, &p)| *o = self.beta * p);
            }
        }
    }

    /// Terms per layer of the variant's factored Jacobian (1, or 2 for the quadratic model).
    fn term_count(&self) -> f64 {
        if self.approx == crate::engine::config::Approx::Quadratic { 2.0 } else { 1.0 }
    }

    /// (dense K, one matrix-free K·x) flops for n examples.
    pub(crate) fn costs(&self, n: usize) -> (f64, f64) {
        // One term per layer: the products are triangles in blocks (`gram_rows_lower`).
        let multiplied = if self.term_count() == 1.0 { triangle_entries(n) as f64 } else { (n * n) as f64 };
        let n = n as f64;
        let t = self.term_count();
        // The input layer's c² X Xᵀ is not multiplied while it is kept for rows of this size
        // (`input_gram`: full-batch steps reuse it).
        let d = self.dims[0];
        let input_gram_kept = t == 1.0 && self.input_gram.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref().is_some_and(|(rows, _)| rows.len() == n as usize * d);
        let (mut dense, mut apply) = (0.0, 0.0);
        for k in 0..self.dims.len() - 1 {
            if !self.trained[k] {
                continue;
            }
            let (a, b) = (self.dims[k] as f64, self.dims[k + 1] as f64);
            let gram_inner = if k == 0 && input_gram_kept { b } else { a + b };
            dense += t * t * (2.0 * multiplied * gram_inner + 2.0 * n * n);
            apply += t * 4.0 * n * a * b;
        }
        (dense, apply)
    }

    /// Flops of a step's passes (Σ = Σ_k n_k n_{k+1}): forward + backward (about 4nΣ), Jᵀz (2nΣ), and for
    /// the Taylor models the J·w (and for the quadratic model the R-operator) passes.
    pub(crate) fn flops(&self, n: usize) -> f64 {
        let sum: f64 = (0..self.dims.len() - 1).map(|k| (self.dims[k] * self.dims[k + 1]) as f64).sum();
        let n = n as f64;
        let (n0, n1) = (self.dims[0] as f64, self.dims[1] as f64);
        match self.approx {
            // Forward 2nΣ, the backward pass 2n(Σ − n_0 n_1) (nothing flows back into x), Jᵀz 2nΣ;
            // with the input layer in the rows' space (`input_layer`) its update and forward
            // product (2n·n_0·n_1 each) are one C G (2n·n·n_1), and both once every
            // `REBASE_STEPS` steps (writing W when something reads it is not counted).
            crate::engine::config::Approx::Network if self.input_layer_in_rows_space(n as usize) => {
                let kept = 2.0 * n * n * n1 + 4.0 * n * n0 * n1 / super::input_layer::REBASE_STEPS as f64;
                6.0 * n * sum - 6.0 * n * n0 * n1 + kept
            }
            crate::engine::config::Approx::Network => 6.0 * n * sum - 2.0 * n * n0 * n1,
            crate::engine::config::Approx::Linearized => 4.0 * n * sum,
            crate::engine::config::Approx::Quadratic => 14.0 * n * sum,
        }
    }

    /// ∇ₓf at every row of x (n × d) for the network: c_1 Δ_1 W_1 (false for the Taylor models).
    pub(crate) fn input_gradients_of(&self, x: &[f64], n: usize, out: &mut [f64]) -> bool {
        if self.approx != crate::engine::config::Approx::Network {
            return false;
        }
        let state = self.state_at(self.weights(), x, n);
        self.input_gradients_from(&state, out)
    }

    /// ∇ₓf = c_1 Δ_1 W_1 at the rows of a state of the network at the current w (one product).
    pub(crate) fn input_gradients_from(&self, state: &State, out: &mut [f64]) -> bool {
        if self.approx != crate::engine::config::Approx::Network {
            return false;
        }
        let (n, d) = (state.n, self.dims[0]);
        let w1 = self.weight(self.weights(), 0);
        product(n, self.dims[1], d, self.c[0], state.delta[0].as_slice().unwrap(), rm(self.dims[1]), w1.as_slice().unwrap(), rm(d), 0.0, &mut out[..n * d]);
        true
    }
}

/// Most entries (the n × n Gram product and the n × d rows) kept between steps (32 MB).
const INPUT_GRAM_ENTRIES: usize = 1 << 22;

/// Most bytes of per-layer products `kernel_symmetric` holds at once.
const GRAM_BYTES: usize = 256 << 20;

/// Rows per block of `gram_rows_lower`. On the AMD EPYC (Zen 5) machine of the sixth session a
/// 128 × 1024 Gram's lower triangle took 197–203 µs in 16-row blocks, 252–258 in 32-row and
/// 286–293 in 64-row ones (one thread, min of 300; the same bits: the inner products are the same
/// calls' sums), and 8-row blocks 305 (other bits); 16 also multiplies the fewest entries that
/// are not needed (n(n + 16)/2 in all).
const GRAM_ROWS: usize = 16;

/// The entries `gram_rows_lower` multiplies for an n × n result (blocks from the diagonal on).
fn triangle_entries(n: usize) -> usize {
    (0..n).step_by(GRAM_ROWS).map(|i0| GRAM_ROWS.min(n - i0) * (n - i0)).sum()
}

/// The lower triangle (column blocks of `GRAM_ROWS` from the diagonal down; entries right of
/// a block's diagonal square are not meaningful) of `out` (n × n) = alpha · A Aᵀ, A n × k
/// row-major: one single-threaded GEMM per block, rows i0.. of A against rows i0.. written
/// column-major (the gemm crate writes these 12–18 % faster so than row-major, with the same
/// bits), which lands block i0 in columns i0..i0 + GRAM_ROWS from row i0 down. Callers run several of
/// these side by side.
fn gram_rows_lower(alpha: f64, a: &[f64], n: usize, k: usize, out: &mut [f64]) {
    for i0 in (0..n).step_by(GRAM_ROWS) {
        let ni = GRAM_ROWS.min(n - i0);
        gemm(ni, k, n - i0, alpha, &a[i0 * k..], rm(k), &a[i0 * k..], (1, k as isize), 0.0, &mut out[i0 * n + i0..n * n], (1, n as isize));
    }
}
