//! The separability badge of SPEC §7, decided exactly: `degenerate` when two points share x
//! with opposite labels, `separable` when some w has y_i wᵀx_i > 0 for every i (a linear
//! program: y_i wᵀx_i ≥ 1 is feasible), `non_separable` otherwise.

use super::Dataset;
use microlp::{ComparisonOp, OptimizationDirection, Problem};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Separability {
    /// Linearly separable through the origin.
    Separable,
    /// Two identical inputs carry opposite labels.
    Degenerate,
    /// Neither: no linear predictor through the origin classifies every point.
    NonSeparable,
    /// Targets are not ±1 labels, so the question does not apply.
    NotLabels,
    /// The LP solver failed numerically (reported, never guessed).
    Undecided,
}

impl Separability {
    pub fn label(self) -> &'static str {
        match self {
            Separability::Separable => "separable",
            Separability::Degenerate => "degenerate",
            Separability::NonSeparable => "non-separable",
            Separability::NotLabels => "regression targets",
            Separability::Undecided => "undecided",
        }
    }
}

/// Classifies a data set; exact up to the LP's feasibility tolerance (1e-7 on a margin of 1).
pub fn classify_separability(data: &Dataset) -> Separability {
    if !data.has_pm1_labels() {
        return Separability::NotLabels;
    }
    let mut order: Vec<usize> = (0..data.n).collect();
    order.sort_by(|&a, &b| data.row(a).partial_cmp(data.row(b)).unwrap_or(std::cmp::Ordering::Equal));
    for pair in order.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if data.row(a) == data.row(b) && data.y[a] != data.y[b] {
            return Separability::Degenerate;
        }
    }
    let mut problem = Problem::new(OptimizationDirection::Minimize);
    let w: Vec<_> = (0..data.d).map(|_| problem.add_var(0.0, (f64::NEG_INFINITY, f64::INFINITY))).collect();
    for i in 0..data.n {
        let terms: Vec<_> = w.iter().zip(data.row(i)).map(|(&var, &xv)| (var, data.y[i] * xv)).collect();
        problem.add_constraint(&terms, ComparisonOp::Ge, 1.0);
    }
    match problem.solve() {
        Ok(_) => Separability::Separable,
        Err(microlp::Error::Infeasible) => Separability::NonSeparable,
        Err(_) => Separability::Undecided,
    }
}
