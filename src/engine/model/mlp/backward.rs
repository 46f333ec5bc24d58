//! The layered network's Jacobian in factored form and its two products. Every variant
//! (network, linearized, quadratic) has Jacobian rows made of a few outer products per layer:
//!   ∂f_i/∂W_k = c_k Σ_t P_t[i,:] ⊗ Q_t[i,:],   ∂f_i/∂b_k = β P_0[i,:],
//! the network with one term (P, Q) = (Δ_k, H_k); the linearized model the same at init; the
//! quadratic model two, (Δ0_k + RΔ_k, H0_k) and (Δ0_k, Ḣ_k) (see `approx`). J·w is then one
//! matrix product per term and layer, row sums of P ∘ (Q Vᵀ); Jᵀz one product (z∘P)ᵀ Q. Frozen
//! layers are left out: J·w ignores their part of w, Jᵀz leaves 0 there.

use super::Mlp;
use super::forward::{a_bt, at_b};
use ndarray::{Array2, ArrayView2};

/// The factors of one layer's Jacobian rows.
pub(crate) struct LayerTerms<'a> {
    /// (P, Q) pairs: P n × n_{k+1}, Q n × n_k.
    pub terms: Vec<(ArrayView2<'a, f64>, ArrayView2<'a, f64>)>,
    /// Whether the bias rows are β P_0 (false: this part of a Jacobian has no bias rows).
    pub bias: bool,
}

/// The factored Jacobian on n rows (layers 0..=L; frozen layers are skipped where used).
pub(crate) struct Jac<'a> {
    pub n: usize,
    pub layers: Vec<LayerTerms<'a>>,
}

impl Mlp {
    /// `out` (n) = J · dir.
    pub(crate) fn jac_apply(&self, jac: &Jac, dir: &[f64], out: &mut [f64]) {
        let n = jac.n;
        out[..n].iter_mut().for_each(|o| *o = 0.0);
        for (k, layer) in jac.layers.iter().enumerate() {
            if !self.trained[k] {
                continue;
            }
            let v = self.weight(dir, k);
            let mut t = Array2::zeros((n, self.dims[k + 1]));
            for (p, q) in &layer.terms {
                a_bt(self.c[k], q.view(), v.view(), 0.0, &mut t);
                for (i, o) in out.iter_mut().enumerate().take(n) {
                    *o += crate::engine::model::dot(t.row(i).as_slice().unwrap(), p.row(i).as_slice().unwrap());
                }
            }
            if let (Some(vb), true) = (self.bias(dir, k), layer.bias) {
                let p0 = &layer.terms[0].0;
                for (i, o) in out.iter_mut().enumerate().take(n) {
                    *o += self.beta * crate::engine::model::dot(p0.row(i).as_slice().unwrap(), vb);
                }
            }
        }
    }

    /// `out` (P) = Jᵀ · z (0 in frozen layers).
    pub(crate) fn jac_transpose_apply(&self, jac: &Jac, z: &[f64], out: &mut [f64]) {
        self.jac_transpose_into(jac, z, 1.0, false, out, None);
    }

    /// Plain gradient descent in place: w ← w − η Jᵀz, each layer's product accumulated
    /// straight into its weights by one GEMM (no gradient vector, no second pass over w);
    /// frozen layers are left as they are.
    /// `after_layer(k, range, w)` is called once layer k's part `range` of w is updated (while
    /// it is still in the cache).
    pub(crate) fn jac_transpose_descend(&self, jac: &Jac, z: &[f64], eta: f64, w: &mut [f64], after_layer: &mut dyn FnMut(usize, std::ops::Range<usize>, &[f64])) {
        self.jac_transpose_into(jac, z, -eta, true, w, Some(after_layer));
    }

    /// `out` = scale · Jᵀz (`accumulate` false: overwritten, 0 in frozen layers) or
    /// `out` += scale · Jᵀz (true: frozen layers untouched).
    fn jac_transpose_into(&self, jac: &Jac, z: &[f64], scale: f64, accumulate: bool, out: &mut [f64], mut after_layer: Option<&mut dyn FnMut(usize, std::ops::Range<usize>, &[f64])>) {
        let n = jac.n;
        for (k, layer) in jac.layers.iter().enumerate() {
            let (w_range, b_range) = self.layer_ranges(k);
            if !self.trained[k] {
                if !accumulate {
                    out[w_range.start..b_range.end].iter_mut().for_each(|o| *o = 0.0);
                }
                continue;
            }
            if !accumulate {
                out[b_range.clone()].iter_mut().for_each(|o| *o = 0.0);
            }
            for (t, (p, q)) in layer.terms.iter().enumerate() {
                let mut zp = p.to_owned();
                for (mut row, &zi) in zp.rows_mut().into_iter().zip(&z[..n]) {
                    row.iter_mut().for_each(|x| *x *= zi);
                }
                // The first term overwrites the weights' part unless accumulating.
                let beta = if t == 0 && !accumulate { 0.0 } else { 1.0 };
                at_b(scale * self.c[k], zp.view(), q.view(), beta, &mut out[w_range.clone()]);
                if t == 0 && layer.bias && !b_range.is_empty() {
                    let ob = &mut out[b_range.clone()];
                    for row in zp.rows() {
                        ob.iter_mut().zip(row).for_each(|(o, x)| *o += scale * self.beta * x);
                    }
                }
            }
            if let Some(after) = after_layer.as_mut() {
                after(k, w_range.start..b_range.end, &out[w_range.start..b_range.end]);
            }
        }
    }
}
