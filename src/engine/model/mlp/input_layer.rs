//! The input layer's forward product in the training inputs' row space, for the fused
//! gradient-descent step when there are fewer examples than inputs (n < d: W6's 128 MNIST
//! images of 784 pixels). A GD update of the input layer is W ← W + α Aᵀ X (A = z∘Δ, n × o; X
//! the n × d rows), so its product moves by c W Xᵀ ← c W Xᵀ + c α Aᵀ G with G = X Xᵀ (n × n):
//! o·n·n multiply-adds a step instead of o·d·n. The explicit W is still updated every step
//! (params, weight norms and every other pass read it); the product kept here is taken again
//! from W every `REBASE_STEPS` steps, so the two agree to the rounding of a few dozen updates,
//! and at once whenever w changes any other way (`add_to_params`) or the rows differ.

use crate::engine::linalg::gemm;

/// Steps after which the product is taken again from the explicit weights (one full product).
pub(crate) const REBASE_STEPS: usize = 64;
/// Most entries kept (X, G and the product: n·d + n² + o·n), 32 MB.
const MAX_ENTRIES: usize = 1 << 22;

/// The input layer's product c W Xᵀ kept for one set of rows, with G.
#[derive(Default)]
pub(crate) struct InputBase {
    /// The rows X (n × d) the product is for, compared bit for bit before it is used.
    x: Vec<f64>,
    /// G = X Xᵀ (n × n, row-major, full).
    gram: Vec<f64>,
    /// c W Xᵀ (o × n, row-major: the transposed forward product) at the current weights.
    zt: Vec<f64>,
    /// Steps made through it since it was taken from W; None when there is none.
    steps: Option<usize>,
}

impl InputBase {
    /// Whether the input layer (o × d) on n rows is worth computing this way, and small
    /// enough to keep.
    pub(crate) fn applies(n: usize, d: usize, o: usize) -> bool {
        n < d && n.saturating_mul(d + n + o) <= MAX_ENTRIES
    }

    /// Whether the kept product is for these rows (o × n) and not due to be taken again.
    pub(crate) fn usable(&self, x: &[f64], n: usize, d: usize, o: usize) -> bool {
        self.steps.is_some_and(|s| s < REBASE_STEPS) && self.zt.len() == o * n && self.x.len() == n * d && self.x[..] == x[..n * d]
    }

    /// Forgets the product (the weights changed some other way).
    pub(crate) fn invalidate(&mut self) {
        self.steps = None;
    }

    /// The kept product and G, for the fused step's row parts.
    pub(crate) fn parts_mut(&mut self) -> (&mut [f64], &[f64]) {
        (&mut self.zt, &self.gram)
    }

    /// Counts one step made through the kept product.
    pub(crate) fn stepped(&mut self) {
        self.steps = self.steps.map(|s| s + 1);
    }

    /// Keeps `zt` = c W Xᵀ (o × n) of the explicit weights on the rows `x` (G is formed again
    /// only when the rows changed).
    pub(crate) fn take(&mut self, x: &[f64], n: usize, d: usize, zt: &[f64]) {
        if self.x.len() != n * d || self.x[..] != x[..n * d] || self.gram.len() != n * n {
            self.x.clear();
            self.x.extend_from_slice(&x[..n * d]);
            self.gram.resize(n * n, 0.0);
            let ds = d as isize;
            gemm(n, d, n, 1.0, &self.x, (ds, 1), &self.x, (1, ds), 0.0, &mut self.gram, (n as isize, 1));
        }
        self.zt.clear();
        self.zt.extend_from_slice(zt);
        self.steps = Some(0);
    }
}

/// One row part of the step: rows r0.. (`kept_rows`, r × n) of the kept product gain
/// c α Aᵀ G (A = `zs`, n × o, row-major) and are copied into `zt_rows`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step_rows(kept_rows: &mut [f64], gram: &[f64], zs: &[f64], r0: usize, o: usize, n: usize, scale: f64, zt_rows: &mut [f64]) {
    let r = kept_rows.len() / n;
    let ns = n as isize;
    gemm(r, n, n, scale, &zs[r0..], (1, o as isize), gram, (ns, 1), 1.0, kept_rows, (ns, 1));
    zt_rows[..r * n].copy_from_slice(kept_rows);
}
