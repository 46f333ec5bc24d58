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
        let n = jac.n;
        for (k, layer) in jac.layers.iter().enumerate() {
            let (w_range, b_range) = self.layer_ranges(k);
            out[w_range.start..b_range.end].iter_mut().for_each(|o| *o = 0.0);
            if !self.trained[k] {
                continue;
            }
            for (t, (p, q)) in layer.terms.iter().enumerate() {
                let mut zp = p.to_owned();
                for (mut row, &zi) in zp.rows_mut().into_iter().zip(&z[..n]) {
                    row.iter_mut().for_each(|x| *x *= zi);
                }
                at_b(self.c[k], zp.view(), q.view(), 1.0, &mut out[w_range.clone()]);
                if t == 0 && layer.bias && !b_range.is_empty() {
                    let ob = &mut out[b_range.clone()];
                    for row in zp.rows() {
                        ob.iter_mut().zip(row).for_each(|(o, x)| *o += self.beta * x);
                    }
                }
            }
        }
    }
}
