//! The models of SPEC §2 behind one trait: outputs on the data, the Jacobian products J·w and
//! Jᵀ·z that gradient descent and the matrix-free kernel need, the dense tangent kernel for
//! small n, and the Hessian scale h² of the u/v phase plane.

pub mod linear;
pub mod quadratic;
pub mod two_layer;

use crate::config::{ModelKind, Preset};
use crate::data::Dataset;

/// A scalar-output model with a flat parameter vector w.
pub trait Model: Send {
    /// Number of trained parameters P.
    fn n_params(&self) -> usize;
    /// The current parameters w.
    fn params(&self) -> &[f64];
    /// The parameters at initialization w0.
    fn init_params(&self) -> &[f64];
    /// Adds `scale · delta` to w. Callers must call `forward` before the next product.
    fn add_to_params(&mut self, scale: f64, delta: &[f64]);
    /// Recomputes the per-sample caches at the current w and writes f(x_i) into `out`.
    fn forward(&mut self, data: &Dataset, out: &mut [f64]);
    /// `out` (length n) = J · dir, J = ∂f(x_i)/∂w at the last `forward`.
    fn jvp(&self, data: &Dataset, dir: &[f64], out: &mut [f64]);
    /// `out` (length P) = Jᵀ · z.
    fn vjp(&self, data: &Dataset, z: &[f64], out: &mut [f64]);
    /// The raw tangent kernel K = J Jᵀ (n × n, row-major) at the last `forward`.
    fn kernel(&self, data: &Dataset, out: &mut [f64]);
    /// h², the squared Hessian scale of SPEC §4 (0 for a linear model).
    fn hessian_scale_sq(&self, data: &Dataset) -> f64;
    /// Fraction of gates with σ' = a_neg (two-layer nets with a_neg < 1 only).
    fn sparsity(&self) -> Option<f64> {
        None
    }
    /// (ρ, mean v): ρ = mean_i ⟨u_i − u0_i, Xᵀy⟩ (two-layer nets only).
    fn feature_alignment(&self, _xt_y: &[f64]) -> Option<(f64, f64)> {
        None
    }
}

/// Builds the model a preset asks for, initialized from the preset's seed.
pub fn build(preset: &Preset, data: &Dataset) -> Box<dyn Model> {
    match preset.model.kind {
        ModelKind::TwoLayer => Box::new(two_layer::TwoLayer::new(&preset.model, data, preset.seed)),
        ModelKind::Quadratic => Box::new(quadratic::QuadraticModel::new(&preset.model, data, preset.seed)),
        ModelKind::LinearPredictor => Box::new(linear::LinearPredictor::new(&preset.model, data)),
    }
}

/// ‖a − b‖².
pub fn dist_sq(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// ‖a‖².
pub fn norm_sq(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum()
}

/// Dot product.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
