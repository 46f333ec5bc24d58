//! A data set in memory: n points of dimension d (row-major) with one scalar target each. The
//! type every data source produces and every model reads; it depends on nothing else.

/// A training set: n points of dimension d (row-major), one scalar target each.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub n: usize,
    pub d: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Dataset {
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// True when every target is +1 or −1 (accuracy and the separability badge apply).
    pub fn has_pm1_labels(&self) -> bool {
        self.y.iter().all(|&y| y == 1.0 || y == -1.0)
    }

    /// Mean squared input norm, ‖x̄‖² = (1/n) Σ ‖x_i‖².
    pub fn mean_sq_norm(&self) -> f64 {
        self.x.iter().map(|v| v * v).sum::<f64>() / self.n as f64
    }

    /// Xᵀy, the direction the two-layer linear view aligns with (Huang et al. 2025).
    pub fn xt_y(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.d];
        for i in 0..self.n {
            for (o, xv) in out.iter_mut().zip(self.row(i)) {
                *o += xv * self.y[i];
            }
        }
        out
    }
}
