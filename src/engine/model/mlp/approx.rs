//! The layered network's Taylor models at w0 (SPEC §10), in the factored Jacobian form of
//! `backward`:
//! - linearized: f_lin = f(w0) + J(w0)Δw, Jacobian factors (Δ0_k, H0_k) of the state at init;
//! - quadratic (NQM): f_quad = f_lin + ½ Δwᵀ H_f(w0) Δw. Its gradient is J(w0) + H_f(w0)Δw, the
//!   R-operator of `hessian` along Δw at init: factors (Δ0_k + RΔ_k, H0_k) and (Δ0_k, Ḣ_k). With
//!   it J_q·Δw = J0Δw + ΔwᵀH_fΔw, so f_quad = f0 + ½ (J0Δw + J_qΔw) needs no third pass. For
//!   piecewise-linear σ (σ'' = 0) the gates stay frozen at init and the products of weight
//!   changes of different layers are kept. No Hessian is ever stored.

use super::Mlp;
use super::backward::{Jac, LayerTerms};
use super::forward::State;
use super::hessian::Directional;
use crate::engine::config::Approx;
use ndarray::Array2;

/// What the quadratic model adds to the state at init for the current Δw = w − w0.
pub(crate) struct Quad {
    /// Δ0_k + RΔ_k (the factor of both the weight term with H0 and the bias rows).
    pub a: Vec<Array2<f64>>,
    pub tangents: Directional,
}

impl Mlp {
    /// Δw = w − w0 (0 in frozen layers, which never move).
    pub(crate) fn weight_change(&self) -> Vec<f64> {
        self.weights().iter().zip(&self.w0).map(|(w, w0)| w - w0).collect()
    }

    /// The quadratic model's extra factors on the rows of `state0` (the state at w0).
    pub(crate) fn quad_of(&self, state0: &State, delta_w: &[f64]) -> Quad {
        let tangents = self.directional(state0, &self.w0, delta_w);
        let a = state0.delta.iter().zip(&tangents.r_delta).map(|(d, r)| d + r).collect();
        Quad { a, tangents }
    }

    /// The factored Jacobian of the model variant: the network's at its current state, the
    /// linearized model's at init, the quadratic model's with `quad`.
    pub(crate) fn jac_of<'a>(&self, state: &'a State, quad: Option<&'a Quad>) -> Jac<'a> {
        let layers = (0..=self.depth())
            .map(|k| match quad {
                None => LayerTerms { terms: vec![(state.delta[k].view(), state.h[k].view())], bias: true },
                Some(q) => {
                    let mut terms = vec![(q.a[k].view(), state.h[k].view())];
                    if k > 0 {
                        terms.push((state.delta[k].view(), q.tangents.h_dot[k].view()));
                    }
                    LayerTerms { terms, bias: true }
                }
            })
            .collect();
        Jac { n: state.n, layers }
    }

    /// The variant's outputs from its state (at w for the network, at w0 otherwise).
    pub(crate) fn outputs_of(&self, state: &State, quad: Option<&Quad>, delta_w: &[f64], out: &mut [f64]) {
        let f0 = state.outputs();
        match self.approx {
            Approx::Network => out[..state.n].copy_from_slice(f0),
            Approx::Linearized => {
                let jac = self.jac_of(state, None);
                self.jac_apply(&jac, delta_w, out);
                out.iter_mut().zip(f0).for_each(|(o, f)| *o += f);
            }
            Approx::Quadratic => {
                let q = quad.expect("the quadratic model's factors");
                let jac = self.jac_of(state, Some(q));
                self.jac_apply(&jac, delta_w, out);
                for ((o, f), lin) in out.iter_mut().zip(f0).zip(&q.tangents.out_dot) {
                    *o = f + 0.5 * (lin + *o);
                }
            }
        }
    }

    /// The state (and quadratic factors) of the variant on other rows x (n × d): at w for the
    /// network, at w0 for the Taylor models.
    pub(crate) fn evaluate_on(&self, x: &[f64], n: usize) -> (State, Option<Quad>) {
        match self.approx {
            Approx::Network => (self.state_at(self.weights(), x, n), None),
            Approx::Linearized => (self.state_at(&self.w0, x, n), None),
            Approx::Quadratic => {
                let state0 = self.state_at(&self.w0, x, n);
                let quad = self.quad_of(&state0, &self.weight_change());
                (state0, Some(quad))
            }
        }
    }
}
