//! Exact second-order products of the layered network (SPEC §11), by the R-operator
//! (forward-over-reverse): along a direction V, the forward tangents
//!   ż_k = c_k (Ḣ_k W_kᵀ + H_k V_kᵀ) + β v_{b,k},   Ḣ_{k+1} = σ'(z_k) ∘ ż_k   (Ḣ_0 = 0),
//! and the derivative of the backward pass,
//!   RΔ_L = 0,   R(∂f/∂h_k) = c_k (Δ_k V_k + RΔ_k W_k),
//!   RΔ_{k−1} = R(∂f/∂h_k) ∘ σ'(z_{k−1}) + ∂f/∂h_k ∘ σ''(z_{k−1}) ∘ ż_{k−1},
//! all n examples at once. The derivative of ∂f_i/∂W_k = c_k Δ_k[i] ⊗ H_k[i] along V is then
//! c_k (RΔ_k[i] ⊗ H_k[i] + Δ_k[i] ⊗ Ḣ_k[i]), so Σ_i z_i ∇²f_i · V is a transposed product with
//! the factors (RΔ, H) and (Δ, Ḣ). Also h², the squared Hessian scale of the u/v plane (SPEC §4).

use super::Mlp;
use super::backward::{Jac, LayerTerms};
use super::forward::{State, a_b, a_bt};
use crate::engine::config::Approx;
use crate::engine::data::Dataset;
use crate::engine::model::norm_sq;
use ndarray::Array2;

/// Flops of h² up to which it is computed at every step (see `hessian_scale`).
const SCALE_EXACT_WORK: f64 = 2e8;
/// Above that, h² is recomputed every this many forward passes.
const SCALE_EVERY: u64 = 10;

/// The tangents of a state along a direction.
pub(crate) struct Directional {
    /// ż of the output: J · V.
    pub out_dot: Vec<f64>,
    /// Ḣ_k, k = 0..=L (Ḣ_0 = 0, stored empty).
    pub h_dot: Vec<Array2<f64>>,
    /// RΔ_k, k = 0..=L.
    pub r_delta: Vec<Array2<f64>>,
}

impl Mlp {
    /// Tangents of `state` (taken at parameters `w`) along `dir` (frozen layers' part ignored).
    pub(crate) fn directional(&self, state: &State, w: &[f64], dir: &[f64]) -> Directional {
        let (depth, n, dims) = (self.depth(), state.n, &self.dims);
        let mut z_dot: Vec<Array2<f64>> = Vec::with_capacity(depth + 1);
        let mut h_dot: Vec<Array2<f64>> = vec![Array2::zeros((0, 0))];
        for k in 0..=depth {
            let mut zd = Array2::zeros((n, dims[k + 1]));
            if k > 0 {
                a_bt(self.c[k], h_dot[k].view(), self.weight(w, k), 0.0, &mut zd);
            }
            if self.trained[k] {
                a_bt(self.c[k], state.h[k].view(), self.weight(dir, k), 1.0, &mut zd);
                if let Some(vb) = self.bias(dir, k) {
                    for mut row in zd.rows_mut() {
                        row.iter_mut().zip(vb).for_each(|(x, b)| *x += self.beta * b);
                    }
                }
            }
            if k < depth {
                let act = self.act;
                let mut hd = zd.clone();
                hd.zip_mut_with(&state.z[k], |x, &z| *x *= act.slope(z));
                h_dot.push(hd);
            }
            z_dot.push(zd);
        }
        let mut r_delta: Vec<Array2<f64>> = (0..=depth).map(|_| Array2::zeros((0, 0))).collect();
        r_delta[depth] = Array2::zeros((n, 1));
        for k in (1..=depth).rev() {
            let mut rg = Array2::zeros((n, dims[k]));
            if self.trained[k] {
                a_b(self.c[k], state.delta[k].view(), self.weight(dir, k), 0.0, &mut rg);
            }
            if k < depth {
                a_b(self.c[k], r_delta[k].view(), self.weight(w, k), 1.0, &mut rg);
            }
            let act = self.act;
            rg.zip_mut_with(&state.z[k - 1], |x, &z| *x *= act.slope(z));
            if !act.piecewise_linear() {
                let curv = &state.z[k - 1];
                ndarray::Zip::from(&mut rg).and(&state.grad_h[k]).and(curv).and(&z_dot[k - 1]).for_each(|r, &g, &z, &zd| *r += g * act.curvature(z) * zd);
            }
            r_delta[k - 1] = rg;
        }
        let out_dot = z_dot[depth].as_slice().unwrap().to_vec();
        Directional { out_dot, h_dot, r_delta }
    }

    /// The factors of ∂/∂V (∂f_i/∂w) along a direction: (RΔ_k, H_k) and (Δ_k, Ḣ_k).
    pub(crate) fn hessian_jac<'a>(&self, state: &'a State, tangents: &'a Directional) -> Jac<'a> {
        let layers = (0..=self.depth())
            .map(|k| {
                let mut terms = vec![(tangents.r_delta[k].view(), state.h[k].view())];
                if k > 0 {
                    terms.push((state.delta[k].view(), tangents.h_dot[k].view()));
                }
                LayerTerms { terms, bias: true }
            })
            .collect();
        Jac { n: state.n, layers }
    }

    /// Σ_i z_i ∇²f_i · dir at the point the model's Hessian lives at (the current weights for
    /// the network, w0 for the quadratic model, whose Hessian is constant; 0 when linearized).
    pub(crate) fn output_hessian_product(&self, z: &[f64], dir: &[f64], out: &mut [f64]) {
        if self.approx == Approx::Linearized {
            out.iter_mut().for_each(|o| *o = 0.0);
            return;
        }
        // Network: the state at w; quadratic: the state at w0 (its Hessian is H_f(w0)).
        let w: &[f64] = if self.approx == Approx::Network { self.weights() } else { &self.w0 };
        let tangents = self.directional(&self.state, w, dir);
        let jac = self.hessian_jac(&self.state, &tangents);
        self.jac_transpose_apply(&jac, z, out);
    }

    /// ∇²L · dir for the network in one R-operator pass: the forward tangent gives J·dir, and
    /// the Gauss–Newton and residual terms share their transposed products,
    /// layer k: c_k [(κ∘J·dir∘Δ_k + z∘RΔ_k)ᵀ H_k + (z∘Δ_k)ᵀ Ḣ_k] (κ = curvature), biases alike:
    /// 6 products a layer instead of 8. None for the Taylor models (the trait's default form).
    pub(crate) fn loss_hessian_product(&self, z: &[f64], curvature: &[f64], dir: &[f64], out: &mut [f64]) -> bool {
        if self.approx != Approx::Network {
            return false;
        }
        let state = &self.state;
        let mut tangents = self.directional(state, self.weights(), dir);
        let n = state.n;
        let gauss_newton: Vec<f64> = (0..n).map(|i| curvature[i] * tangents.out_dot[i]).collect();
        // z∘RΔ_k + (κ J·dir)∘Δ_k, as one factor with unit weights; the (Δ, Ḣ) term keeps z.
        for k in 0..=self.depth() {
            let delta = &state.delta[k];
            let r = &mut tangents.r_delta[k];
            for i in 0..n {
                let (zi, gi) = (z[i], gauss_newton[i]);
                r.row_mut(i).iter_mut().zip(delta.row(i)).for_each(|(rv, &dv)| *rv = zi * *rv + gi * dv);
            }
        }
        let ones = vec![1.0; n];
        let first = self.hessian_jac_terms(state, &tangents, true);
        self.jac_transpose_apply(&first, &ones, out);
        let second = self.hessian_jac_terms(state, &tangents, false);
        let mut rest = vec![0.0; out.len()];
        self.jac_transpose_apply(&second, z, &mut rest);
        out.iter_mut().zip(&rest).for_each(|(o, r)| *o += r);
        true
    }

    /// One of the two factor pairs of `hessian_jac`: (RΔ_k, H_k) (`first`) or (Δ_k, Ḣ_k).
    fn hessian_jac_terms<'a>(&self, state: &'a State, tangents: &'a Directional, first: bool) -> Jac<'a> {
        let layers = (0..=self.depth())
            .map(|k| {
                let terms = if first {
                    vec![(tangents.r_delta[k].view(), state.h[k].view())]
                } else if k > 0 {
                    vec![(state.delta[k].view(), tangents.h_dot[k].view())]
                } else {
                    Vec::new()
                };
                LayerTerms { terms, bias: first }
            })
            .collect();
        Jac { n: state.n, layers }
    }

    /// h², the squared Hessian scale of SPEC §4 along p̂1: ‖H_p ĝ‖² with H_p = Σ_i p_i ∇²f_i
    /// and ĝ = Jᵀp̂1 / ‖Jᵀp̂1‖, the unit direction of the step a residual along p̂1 drives (one
    /// Jᵀ product and one exact Hessian product). For the two-layer linear net this is exactly
    /// c² ‖Xᵀp̂1‖² / s_d² on any data (the gradient's u and v parts swap under H_p), the SPEC §4
    /// form; depth 1 without biases uses that form itself, (c_1 c_2)² ‖Xᵀp̂1‖² (gates ignored,
    /// as for `two_layer`), so that depth 1 = `two_layer` holds for u too.
    ///
    /// Cost: the two products are about 2.3 steps' worth of GEMMs. Up to `SCALE_EXACT_WORK`
    /// flops (nets the app runs live) h² is exact at every step; above it, it is recomputed
    /// every `SCALE_EVERY` forward passes and held in between (u then uses the current
    /// residual and p̂1 with a held h²), so that the u column does not dominate big runs.
    pub(crate) fn hessian_scale(&self, data: &Dataset, p1: &[f64]) -> f64 {
        let full = p1.len() == self.state.n;
        let work = 14.0 * self.state.n as f64 * self.w0.len() as f64;
        if full && work > SCALE_EXACT_WORK {
            let held = self.scale_held.lock().unwrap();
            if let Some((forwards, value)) = *held {
                if self.forwards - forwards < SCALE_EVERY {
                    return value;
                }
            }
        }
        let value = self.hessian_scale_now(data, p1);
        if full {
            *self.scale_held.lock().unwrap() = Some((self.forwards, value));
        }
        value
    }

    fn hessian_scale_now(&self, data: &Dataset, p1: &[f64]) -> f64 {
        if self.depth() == 1 && !self.has_bias {
            if self.trained.iter().any(|t| !t) {
                return 0.0;
            }
            let mut xt_p = vec![0.0; data.d];
            for (i, &p) in p1.iter().enumerate().take(data.n) {
                xt_p.iter_mut().zip(data.row(i)).for_each(|(o, x)| *o += p * x);
            }
            let c = self.c[0] * self.c[1];
            return c * c * norm_sq(&xt_p);
        }
        if self.approx == Approx::Linearized {
            return 0.0;
        }
        // A shorter p (e.g. [1.0]) weighs the first examples only, as in the two-layer form.
        let mut p = p1[..p1.len().min(self.state.n)].to_vec();
        p.resize(self.state.n, 0.0);
        let p1 = &p[..];
        let jac = self.jac_of(&self.state, self.quad.as_ref());
        let mut g = vec![0.0; self.w0.len()];
        self.jac_transpose_apply(&jac, p1, &mut g);
        let norm = norm_sq(&g).sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        g.iter_mut().for_each(|x| *x /= norm);
        let mut hg = vec![0.0; g.len()];
        self.output_hessian_product(p1, &g, &mut hg);
        norm_sq(&hg)
    }
}
