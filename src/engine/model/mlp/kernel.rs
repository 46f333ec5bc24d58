//! The layered network's tangent kernel (SPEC §10) from the factored Jacobian of `backward`:
//!   K = Σ_k c_k² Σ_{t,s} (P_t P_sᵀ) ∘ (Q_t Q_sᵀ) + β² P_0 P_0ᵀ,
//! for the network K = Σ_l (Δ_l Δ_lᵀ) ∘ (c_l² H_{l−1} H_{l−1}ᵀ + β²), frozen layers left out;
//! the same formula at the rows of an SGD batch (`kernel_on`), explicit Jacobian rows, and the
//! flop counts of the cost model that picks dense K or matrix-free Lanczos.

use super::Mlp;
use super::backward::Jac;
use super::forward::{a_bt, product, rm};
use ndarray::Array2;

impl Mlp {
    /// `out` (n × n, row-major) = J Jᵀ from the factors.
    pub(crate) fn kernel_from(&self, jac: &Jac, out: &mut [f64]) {
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
        let n = n as f64;
        let t = self.term_count();
        let (mut dense, mut apply) = (0.0, 0.0);
        for k in 0..self.dims.len() - 1 {
            if !self.trained[k] {
                continue;
            }
            let (a, b) = (self.dims[k] as f64, self.dims[k + 1] as f64);
            dense += t * t * (2.0 * n * n * (a + b) + 2.0 * n * n);
            apply += t * 4.0 * n * a * b;
        }
        (dense, apply)
    }

    /// Flops of a step's passes (Σ = Σ_k n_k n_{k+1}): forward + backward (about 4nΣ), Jᵀz (2nΣ), and for
    /// the Taylor models the J·w (and for the quadratic model the R-operator) passes.
    pub(crate) fn flops(&self, n: usize) -> f64 {
        let sum: f64 = (0..self.dims.len() - 1).map(|k| (self.dims[k] * self.dims[k + 1]) as f64).sum();
        let n = n as f64;
        match self.approx {
            // Forward 2nΣ, the backward pass 2n(Σ − n_0 n_1) (nothing flows back into x), Jᵀz 2nΣ.
            crate::engine::config::Approx::Network => 6.0 * n * sum - 2.0 * n * (self.dims[0] * self.dims[1]) as f64,
            crate::engine::config::Approx::Linearized => 4.0 * n * sum,
            crate::engine::config::Approx::Quadratic => 14.0 * n * sum,
        }
    }

    /// ∇ₓf at every row of x (n × d) for the network: c_1 Δ_1 W_1 (false for the Taylor models).
    pub(crate) fn input_gradients_of(&self, x: &[f64], n: usize, out: &mut [f64]) -> bool {
        if self.approx != crate::engine::config::Approx::Network {
            return false;
        }
        let state = self.state_at(&self.w, x, n);
        let d = self.dims[0];
        let w1 = self.weight(&self.w, 0);
        product(n, self.dims[1], d, self.c[0], state.delta[0].as_slice().unwrap(), rm(self.dims[1]), w1.as_slice().unwrap(), rm(d), 0.0, &mut out[..n * d]);
        true
    }
}
