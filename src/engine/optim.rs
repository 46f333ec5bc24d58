//! The update rules of `train.optimizer` (SPEC §12) and their stability edges: heavy ball and
//! Nesterov momentum, Adam, RMSprop and Adagrad turn the gradient g into the step direction d
//! of w ← w − η d, keeping their state (velocity, moments) for the run. Plain GD never goes
//! through here (`Simulation::step` keeps its own bit-exact path and the fused one-example step).
//!
//! Forms (PyTorch's): heavy ball b ← βb + g, d = b; Nesterov b ← βb + g, d = g + βb;
//! Adam m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², d = m̂/(√v̂ + ε) with m̂ = m/(1−β1ᵗ),
//! v̂ = v/(1−β2ᵗ); RMSprop v ← β2 v + (1−β2) g², d = g/(√v + ε); Adagrad G ← G + g²,
//! d = g/(√G + ε). Where a denominator is exactly 0 (ε = 0, a coordinate never moved) d = 0.
//!
//! Edges on a quadratic with curvature λ along an eigenvector (a = ηλ):
//! - heavy ball: w' = (1 + β − a) w − β w₋, characteristic z² − (1 + β − a) z + β; the roots
//!   stay inside the unit circle iff 0 < a < 2(1 + β).
//! - Nesterov: with x = ηb the state (w, x) maps by [[1 − a(1+β), −β²], [a, β]], trace
//!   T = 1 + β − a(1+β), det D = β(1 − a). Jury: 1 − T + D = a > 0, |D| < 1 ⇔ a < 1 + 1/β, and
//!   1 + T + D = 2 + 2β − a(1 + 2β) > 0 ⇔ a < 2(1+β)/(1+2β), which is the binding one:
//!   the edge is ηλ < 2(1 + β)/(1 + 2β) (2 at β = 0; 19/14 ≈ 1.357 at β = 0.9).
//! - Adam with its preconditioner frozen is heavy ball on P⁻¹H with rate η(1−β1) and momentum
//!   β1: η λ_max(P⁻¹H) < (2 + 2β1)/(1 − β1) (Cohen et al. 2022; 38 at β1 = 0.9).
//! - RMSprop and Adagrad (no momentum): η λ_max(P⁻¹H) < 2.

use crate::engine::config::{OptimizerKind, TrainConfig};

/// An optimizer's state for one run.
#[derive(Clone, Debug)]
pub struct Optimizer {
    kind: OptimizerKind,
    beta: f64,
    nesterov: bool,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// Updates made.
    t: u64,
    /// β1ᵗ and β2ᵗ (Adam's bias corrections).
    beta1_pow: f64,
    beta2_pow: f64,
    /// Momentum buffer b (momentum) or first moment m (Adam).
    first: Vec<f64>,
    /// Second moment v (Adam, RMSprop) or the sum of squares G (Adagrad).
    second: Vec<f64>,
    direction: Vec<f64>,
}

impl Optimizer {
    /// A fresh state (all buffers zero) for `n_params` parameters.
    pub fn new(train: &TrainConfig, n_params: usize) -> Self {
        let kind = train.optimizer;
        let uses_first = matches!(kind, OptimizerKind::Momentum | OptimizerKind::Adam);
        Optimizer {
            kind,
            beta: train.beta_or_default(),
            nesterov: train.nesterov.unwrap_or(false),
            beta1: train.beta1_or_default(),
            beta2: train.beta2_or_default(),
            eps: train.eps_or_default(),
            t: 0,
            beta1_pow: 1.0,
            beta2_pow: 1.0,
            first: if uses_first { vec![0.0; n_params] } else { Vec::new() },
            second: if kind.adaptive() { vec![0.0; n_params] } else { Vec::new() },
            direction: vec![0.0; if kind == OptimizerKind::Gd { 0 } else { n_params }],
        }
    }

    pub fn kind(&self) -> OptimizerKind {
        self.kind
    }

    /// Updates made so far.
    pub fn updates(&self) -> u64 {
        self.t
    }

    /// Takes the gradient of this step and returns the direction d of w ← w − η d.
    pub fn direction<'a>(&'a mut self, grad: &'a [f64]) -> &'a [f64] {
        self.t += 1;
        let (beta, beta1, beta2, eps) = (self.beta, self.beta1, self.beta2, self.eps);
        match self.kind {
            OptimizerKind::Gd => return grad,
            OptimizerKind::Momentum => {
                for ((d, b), &g) in self.direction.iter_mut().zip(self.first.iter_mut()).zip(grad) {
                    *b = beta * *b + g;
                    *d = if self.nesterov { g + beta * *b } else { *b };
                }
            }
            OptimizerKind::Adam => {
                self.beta1_pow *= beta1;
                self.beta2_pow *= beta2;
                let (c1, c2) = (1.0 - self.beta1_pow, 1.0 - self.beta2_pow);
                for (((d, m), v), &g) in self.direction.iter_mut().zip(self.first.iter_mut()).zip(self.second.iter_mut()).zip(grad) {
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    *d = ratio(*m / c1, (*v / c2).sqrt() + eps);
                }
            }
            OptimizerKind::Rmsprop => {
                for ((d, v), &g) in self.direction.iter_mut().zip(self.second.iter_mut()).zip(grad) {
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    *d = ratio(g, v.sqrt() + eps);
                }
            }
            OptimizerKind::Adagrad => {
                for ((d, v), &g) in self.direction.iter_mut().zip(self.second.iter_mut()).zip(grad) {
                    *v += g * g;
                    *d = ratio(g, v.sqrt() + eps);
                }
            }
        }
        &self.direction
    }

    /// The diagonal preconditioner P the next update divides by (√v̂ + ε, √v + ε or √G + ε),
    /// for the adaptive rules after at least one update; None otherwise.
    pub fn preconditioner(&self) -> Option<Vec<f64>> {
        if !self.kind.adaptive() || self.t == 0 {
            return None;
        }
        let correction = if self.kind == OptimizerKind::Adam { 1.0 - self.beta2_pow } else { 1.0 };
        Some(self.second.iter().map(|v| (v / correction).sqrt() + self.eps).collect())
    }

    /// The stability edge in η·(sharpness) units: η·λ̂ < edge for GD and momentum (λ̂ the
    /// kernel's = the Hessian's top eigenvalue on a quadratic), η·λ_max(P⁻¹∇²L) < edge for the
    /// adaptive rules (see the module doc for the derivations).
    pub fn edge(&self) -> f64 {
        edge_of(self.kind, self.beta, self.nesterov, self.beta1)
    }
}

/// The edge of `Optimizer::edge` from the preset's keys.
pub fn edge_of(kind: OptimizerKind, beta: f64, nesterov: bool, beta1: f64) -> f64 {
    match kind {
        OptimizerKind::Gd | OptimizerKind::Rmsprop | OptimizerKind::Adagrad => 2.0,
        OptimizerKind::Momentum if nesterov => 2.0 * (1.0 + beta) / (1.0 + 2.0 * beta),
        OptimizerKind::Momentum => 2.0 * (1.0 + beta),
        OptimizerKind::Adam => (2.0 + 2.0 * beta1) / (1.0 - beta1),
    }
}

/// The edge a preset's optimizer has (`edge_of` with its keys and defaults).
pub fn preset_edge(train: &TrainConfig) -> f64 {
    edge_of(train.optimizer, train.beta_or_default(), train.nesterov.unwrap_or(false), train.beta1_or_default())
}

/// a / b, 0 where b is exactly 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}
