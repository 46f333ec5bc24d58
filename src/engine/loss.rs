//! Losses and reductions of SPEC §3: per-sample ℓ, ℓ' and ℓ'' for mse / logistic /
//! exponential, and the reduction factor s in L = s Σ ℓ.

use crate::engine::config::{LossKind, Reduction};

/// A loss with its reduction, for a batch of `count` samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loss {
    pub kind: LossKind,
    pub reduction: Reduction,
}

/// log(1 + e^t) without overflow.
fn softplus(t: f64) -> f64 {
    if t > 0.0 { t + (-t).exp().ln_1p() } else { t.exp().ln_1p() }
}

/// The logistic function 1/(1 + e^{−t}) without overflow.
fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

impl Loss {
    /// s for a sum over `count` samples: ½, 1/count or 1/(2 count).
    pub fn scale(&self, count: usize) -> f64 {
        match self.reduction {
            Reduction::SumHalf => 0.5,
            Reduction::Mean => 1.0 / count as f64,
            Reduction::HalfMean => 0.5 / count as f64,
        }
    }

    /// ℓ(f, y).
    pub fn value(&self, f: f64, y: f64) -> f64 {
        match self.kind {
            LossKind::Mse => (f - y) * (f - y),
            LossKind::Logistic => softplus(-y * f),
            LossKind::Exponential => (-y * f).exp(),
        }
    }

    /// ∂ℓ/∂f.
    pub fn d1(&self, f: f64, y: f64) -> f64 {
        match self.kind {
            LossKind::Mse => 2.0 * (f - y),
            LossKind::Logistic => -y * sigmoid(-y * f),
            LossKind::Exponential => -y * (-y * f).exp(),
        }
    }

    /// ∂²ℓ/∂f².
    pub fn d2(&self, f: f64, y: f64) -> f64 {
        match self.kind {
            LossKind::Mse => 2.0,
            LossKind::Logistic => y * y * sigmoid(y * f) * sigmoid(-y * f),
            LossKind::Exponential => y * y * (-y * f).exp(),
        }
    }

    /// True when ℓ'' is the same constant everywhere (then λ_raw = λ̂ / (s ℓ'')).
    pub fn constant_curvature(&self) -> bool {
        self.kind == LossKind::Mse
    }

    /// L = s Σ ℓ(f_i, y_i) over all samples.
    pub fn total(&self, outputs: &[f64], targets: &[f64]) -> f64 {
        let s = self.scale(outputs.len());
        s * outputs.iter().zip(targets).map(|(&f, &y)| self.value(f, y)).sum::<f64>()
    }
}
