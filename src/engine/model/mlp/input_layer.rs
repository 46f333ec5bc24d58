//! The input layer in the training inputs' row space, for the fused gradient-descent step when
//! there are fewer examples than inputs (n < d: W6's 128 MNIST images of 784 pixels). A GD
//! update of the input layer is W ← W + α Aᵀ X (A = z∘Δ, n × o; X the n × d rows), so from a
//! base W_b on, W = W_b + C X with C (o × n) the sum of the α Aᵀ. With G = X Xᵀ (n × n) a step
//! then needs only C G (o·n·n multiply-adds): the forward product c W Xᵀ = c W_b Xᵀ + c C G, and
//! the norms ‖W‖² = ‖W_b‖² + 2⟨C, W_b Xᵀ⟩ + ⟨C G, C⟩ and ‖W − W0‖² = ‖W_b − W0‖² +
//! 2⟨C, (W_b − W0) Xᵀ⟩ + ⟨C G, C⟩; W itself is not written (o·d·n multiply-adds and a pass over
//! W saved) until something reads it (`Mlp::weights`: then W_b ← W_b + C X once, C ← 0). The
//! base's products are made again from W every `REBASE_STEPS` steps, so rounding cannot build
//! up, and at once when w changes any other way (`add_to_params`) or the rows differ.

use crate::engine::linalg::gemm;
use crate::engine::model::dot;
use std::cell::UnsafeCell;

/// Steps after which the base's products are made again from W (one full product).
pub(crate) const REBASE_STEPS: usize = 64;
/// Most entries kept (X, G, C, C G and three products: n·d + n² + 5·o·n), 32 MB.
const MAX_ENTRIES: usize = 1 << 22;

/// The parameter vector with the input layer's W that may lag behind `InputBase`'s C: read it
/// only through `Mlp::weights`, which brings it up to date first.
pub(crate) struct Weights(UnsafeCell<Vec<f64>>);

// SAFETY: the vector is written through a shared reference only by `Weights::write`, which
// `Mlp::weights` calls while it holds the lock of the model's `InputBase` and only when that
// base has pending updates; updates become pending only through `&mut Mlp` (`descend`), which
// no shared borrow of the vector can outlive. So a write never overlaps a read.
unsafe impl Sync for Weights {}

impl Weights {
    pub(crate) fn new(w: Vec<f64>) -> Self {
        Weights(UnsafeCell::new(w))
    }
    /// The vector as it is (the input layer may lag: see `Mlp::weights`).
    ///
    /// # Safety
    /// No `write` may run while the returned slice is alive (see the `Sync` impl).
    pub(crate) unsafe fn read(&self) -> &[f64] {
        unsafe { &*self.0.get() }
    }
    /// # Safety
    /// Only under the lock of the model's `InputBase`, with no slice from `read` alive.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn write(&self) -> &mut Vec<f64> {
        unsafe { &mut *self.0.get() }
    }
    pub(crate) fn get_mut(&mut self) -> &mut Vec<f64> {
        self.0.get_mut()
    }
}

/// The input layer's base for one set of rows.
#[derive(Default)]
pub(crate) struct InputBase {
    /// The rows X (n × d), compared bit for bit before the base is used.
    x: Vec<f64>,
    /// G = X Xᵀ (n × n, row-major).
    gram: Vec<f64>,
    /// c W0 Xᵀ (o × n) of the initial weights on these rows.
    zt_init: Vec<f64>,
    /// c W_b Xᵀ (o × n), and c (W_b − W0) Xᵀ.
    zt_base: Vec<f64>,
    zt_moved: Vec<f64>,
    /// Rows.
    n: usize,
    /// C (o × n) and C G.
    coef: Vec<f64>,
    coef_gram: Vec<f64>,
    /// (‖W_b‖², ‖W_b − W0‖²).
    norms: (f64, f64),
    /// C ≠ 0: W lags behind W_b + C X.
    pending: bool,
    /// Steps since the base's products were made from W; None when there is no base.
    steps: Option<usize>,
}

/// One row part's sums for the norms: (⟨C, c W_b Xᵀ⟩, ⟨C, c (W_b − W0) Xᵀ⟩, ⟨C G, C⟩).
pub(crate) type PartSums = (f64, f64, f64);

impl InputBase {
    /// Whether the input layer (o × d) on n rows is worth computing this way and small enough.
    pub(crate) fn applies(n: usize, d: usize, o: usize) -> bool {
        n < d && n.saturating_mul(d + n + 5 * o) <= MAX_ENTRIES
    }

    /// Whether the base holds for these rows (layer o × d) and is not due to be made again.
    pub(crate) fn usable(&self, x: &[f64], n: usize, d: usize, o: usize) -> bool {
        self.steps.is_some_and(|s| s < REBASE_STEPS) && self.coef.len() == o * n && self.x.len() == n * d && self.x[..] == x[..n * d]
    }

    pub(crate) fn pending(&self) -> bool {
        self.pending
    }

    /// Brings the input layer's W (o × d, row-major; W0 its initial values) up to date:
    /// W ← W + C X, C ← 0; the base moves to the new W (its product gains c C G, its norms are
    /// summed afresh). The base's products keep their age.
    pub(crate) fn apply(&mut self, w: &mut [f64], w0: &[f64], c: f64) {
        if !self.pending {
            return;
        }
        let (n, d) = (self.n, self.x.len() / self.n);
        let o = self.coef.len() / n;
        super::forward::product(o, n, d, 1.0, &self.coef, (n as isize, 1), &self.x, (d as isize, 1), 1.0, w);
        for ((z, m), (cg, i)) in self.zt_base.iter_mut().zip(self.zt_moved.iter_mut()).zip(self.coef_gram.iter().zip(&self.zt_init)) {
            *z += c * cg;
            *m = *z - i;
        }
        self.coef.iter_mut().for_each(|x| *x = 0.0);
        self.norms = super::fold_norms(&super::fused::block_norms_parallel(w, w0));
        self.pending = false;
    }

    /// Forgets the base (the weights changed some other way; W must be up to date).
    pub(crate) fn invalidate(&mut self) {
        debug_assert!(!self.pending);
        self.steps = None;
    }

    /// C, C G, the base's two products and G, for the step's row parts.
    pub(crate) fn parts_mut(&mut self) -> (&mut [f64], &mut [f64], &[f64], &[f64], &[f64]) {
        (&mut self.coef, &mut self.coef_gram, &self.zt_base, &self.zt_moved, &self.gram)
    }

    /// After a step through the base: its row parts' sums (in order) give the layer's norms.
    pub(crate) fn stepped(&mut self, sums: &[PartSums], c: f64) -> (f64, f64) {
        self.steps = self.steps.map(|s| s + 1);
        self.pending = true;
        let (a, b, q) = sums.iter().fold((0.0, 0.0, 0.0), |(a, b, q), s| (a + s.0, b + s.1, q + s.2));
        (self.norms.0 + 2.0 * a / c + q, self.norms.1 + 2.0 * b / c + q)
    }

    /// Takes the base at the up-to-date W (o × d) whose product c W Xᵀ is `zt` (o × n) and whose
    /// norms are `norms`, on the rows `x`; G and c W0 Xᵀ (`w0`) are made again only for new rows.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn take(&mut self, x: &[f64], n: usize, d: usize, c: f64, w0: &[f64], zt: &[f64], norms: (f64, f64)) {
        let o = zt.len() / n;
        if self.x.len() != n * d || self.x[..] != x[..n * d] || self.gram.len() != n * n || self.zt_init.len() != o * n {
            self.x.clear();
            self.x.extend_from_slice(&x[..n * d]);
            self.gram.resize(n * n, 0.0);
            let ds = d as isize;
            gemm(n, d, n, 1.0, &self.x, (ds, 1), &self.x, (1, ds), 0.0, &mut self.gram, (n as isize, 1));
            self.zt_init.resize(o * n, 0.0);
            super::forward::product(o, d, n, c, w0, (ds, 1), &self.x, (1, ds), 0.0, &mut self.zt_init);
        }
        self.n = n;
        self.zt_base.clear();
        self.zt_base.extend_from_slice(zt);
        self.zt_moved.clear();
        self.zt_moved.extend(self.zt_base.iter().zip(&self.zt_init).map(|(b, i)| b - i));
        self.coef.clear();
        self.coef.resize(o * n, 0.0);
        self.coef_gram.resize(o * n, 0.0);
        self.norms = norms;
        self.pending = false;
        self.steps = Some(0);
    }
}

/// One row part (rows r0.., r of them) of a step through the base: C gains α Aᵀ (A = `zs`, n × o,
/// row-major), then C G, the forward product's rows c W_b Xᵀ + c C G into `zt_rows`, and the
/// part's sums for the norms.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step_rows(coef: &mut [f64], coef_gram: &mut [f64], zt_base: &[f64], zt_moved: &[f64], gram: &[f64], zs: &[f64], r0: usize, o: usize, n: usize, alpha: f64, c: f64, zt_rows: &mut [f64]) -> PartSums {
    let r = coef.len() / n;
    // C's row j gains α times A's column r0 + j: in blocks of 8 rows, so the cache lines of A
    // they read (8 columns each) stay in the L1 cache, and C is written in order.
    for (b, rows) in coef.chunks_mut(8 * n).enumerate() {
        let j0 = r0 + 8 * b;
        for (jj, row) in rows.chunks_mut(n).enumerate() {
            for (e, c) in row.iter_mut().enumerate() {
                *c += alpha * zs[e * o + j0 + jj];
            }
        }
    }
    let ns = n as isize;
    gemm(r, n, n, 1.0, coef, (ns, 1), gram, (ns, 1), 0.0, coef_gram, (ns, 1));
    for ((z, &b), &g) in zt_rows[..r * n].iter_mut().zip(zt_base).zip(coef_gram.iter()) {
        *z = b + c * g;
    }
    (dot(coef, &zt_base[..r * n]), dot(coef, &zt_moved[..r * n]), dot(coef_gram, coef))
}
