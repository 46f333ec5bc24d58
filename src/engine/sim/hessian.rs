//! The SPEC §11 measurements beyond λ̂: the Hessian sharpness λ_H (the algebraically largest
//! eigenvalue of the full-batch loss Hessian, by Lanczos on exact Hessian-vector products
//! `Model::hvp`, warm-started from the previous top vector, stopped on a residual bound), the
//! kernel change ‖K_t − K_0‖₂/‖K_0‖₂ of the raw kernel, the top-s loss split and the per-layer
//! sparsities; when each is measured (the cost rules below) and what the summary reports.
//!
//! Cost rules (deterministic, flop counts, never wall-clock time):
//! - λ_H: one Hessian-vector product is about three passes (J·w, Jᵀ·z, the residual term),
//!   6nP flops; a measurement expects `HESSIAN_EXPECTED_HVPS` of them. `measure.hessian_every`
//!   absent: every step when that costs less than two gradient steps (`Model::step_flops`,
//!   forward and backward) or less than `SMALL_WORK` flops (small nets, e.g. the app's default
//!   preset), else every `AUTO_SPARSE_EVERY` steps.
//! - kernel change: only for n ≤ `KERNEL_CHANGE_MAX_N` (K_0 kept, n² numbers; above it the
//!   column is left out: a matrix-free ‖K_t − K_0‖₂ would need a second model at w0); every
//!   step when forming K and its norm cost less than two gradient steps or `SMALL_WORK`, else
//!   every `AUTO_SPARSE_EVERY` steps.
//! - Runs whose samples nobody reads (sweep cells, benchmark workloads) switch the automatic
//!   ones off (`Simulation::skip_automatic_extras`); an explicit `measure.hessian_every` stays.

use super::*;
use nalgebra::{DMatrix, SymmetricEigen};

/// Hessian-vector products one warm-started λ_H measurement is expected to take.
pub const HESSIAN_EXPECTED_HVPS: f64 = 15.0;
/// Work (flops) below which a measurement is made every step whatever its relative cost.
pub const SMALL_WORK: f64 = 1e6;
/// The automatic interval when a measurement costs more than two steps.
pub const AUTO_SPARSE_EVERY: usize = 10;
/// The largest n whose kernel change is measured (dense n × n kernels).
pub const KERNEL_CHANGE_MAX_N: usize = 512;
/// Lanczos for λ_H stops when ‖Hy − θy‖ ≤ this × the largest |Ritz value| (so θ is within that
/// relative distance of an eigenvalue of H).
pub const HESSIAN_TOL: f64 = 1e-11;
/// Most Krylov vectors (of length P) the λ_H Lanczos keeps before it restarts.
pub const HESSIAN_MAX_BASIS: usize = 60;
/// Bytes the Krylov basis may take; wide nets keep fewer vectors (`lanczos_basis_len`).
pub const LANCZOS_BASIS_BYTES: usize = 1 << 30;
/// Vectors kept whatever P (a warm start usually converges within ~15 products).
pub const LANCZOS_MIN_BASIS: usize = 16;

/// Krylov vectors `lanczos_largest_in` keeps for operators of size p before it restarts:
/// `HESSIAN_MAX_BASIS`, or fewer when those would take more than `LANCZOS_BASIS_BYTES` (but at
/// least `LANCZOS_MIN_BASIS`); a run that converges within them is the same either way.
/// Counted in `config::estimated_bytes`.
pub fn lanczos_basis_len(p: usize) -> usize {
    let by_bytes = (LANCZOS_BASIS_BYTES / (8 * p.max(1))).max(LANCZOS_MIN_BASIS);
    p.min(HESSIAN_MAX_BASIS).min(by_bytes)
}
/// Lanczos for λ_H takes at least this many products before it may stop.
const MIN_BASIS: usize = 6;
/// Weight of the fixed random part added to a warm start.
const WARM_JITTER: f64 = 1e-3;
const HESSIAN_MAX_RESTARTS: usize = 30;
/// The top-s split keeps the eigenvectors whose eigenvalue exceeds this × λ̂ (the rest of a
/// rank-deficient kernel's "top s" are arbitrary null-space vectors).
pub const NULL_EIGEN: f64 = 1e-9;
/// Most hidden layers whose sparsity has a column (`sparsity_1` … `sparsity_8`; SPEC §10 depth ≤ 8).
pub const MAX_SPARSITY_LAYERS: usize = 8;

/// State of the SPEC §11 measurements over a run.
#[derive(Clone, Debug, Default)]
pub(super) struct ExtraMeasures {
    /// λ_H every this many steps (0 = off).
    pub hessian_every: usize,
    /// λ_H's Lanczos buffers and last top vector (warm start), and the loss derivatives and
    /// product scratch it reuses.
    lanczos: LanczosWork,
    z: Vec<f64>,
    curvature: Vec<f64>,
    scratch: Vec<f64>,
    /// Kernel change every this many steps (0 = off).
    pub kernel_every: usize,
    kernel0: Vec<f64>,
    kernel0_norm: f64,
    /// K_t − K_0 and the spectral norm's Lanczos buffers (n > 64).
    kernel_diff: Vec<f64>,
    norm_work: [LanczosWork; 2],
    summary: MeasureSummary,
    /// The u column's h² is not measured (u = 0): runs whose samples nobody reads.
    pub skip_u: bool,
}

/// What the summary JSON reports of the SPEC §11 measurements (flattened into `Summary`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MeasureSummary {
    /// s of the loss split (`measure.top_s`).
    pub top_s: usize,
    /// λ_H: the largest over the run and the last measured value (null when off).
    pub max_hessian_top: Option<f64>,
    pub final_hessian_top: Option<f64>,
    /// ‖K_t − K_0‖₂/‖K_0‖₂: the largest over the run and the last measured value.
    pub max_kernel_change: Option<f64>,
    pub final_kernel_change: Option<f64>,
    /// Hessian-vector products spent on λ_H so far.
    pub hessian_products: u64,
}

/// The automatic λ_H interval (`measure.hessian_every` absent).
pub fn auto_hessian_every(model: &dyn Model, n: usize) -> usize {
    let cost = HESSIAN_EXPECTED_HVPS * 6.0 * n as f64 * model.n_params() as f64;
    if cost < 2.0 * model.step_flops(n) || cost < SMALL_WORK { 1 } else { AUTO_SPARSE_EVERY }
}

/// The kernel-change interval (0 = off above `KERNEL_CHANGE_MAX_N`).
pub fn auto_kernel_every(model: &dyn Model, n: usize) -> usize {
    if n > KERNEL_CHANGE_MAX_N {
        return 0;
    }
    let cost = model.kernel_costs(n).0 + 40.0 * (n * n) as f64;
    if cost < 2.0 * model.step_flops(n) || cost < SMALL_WORK { 1 } else { AUTO_SPARSE_EVERY }
}

/// Reused buffers of `lanczos_largest_in` (the Krylov basis and the vectors, allocated once
/// per size, so a measurement allocates nothing sized by P) and its last top vector.
#[derive(Clone, Debug, Default)]
pub struct LanczosWork {
    basis: Vec<Vec<f64>>,
    w: Vec<f64>,
    start: Vec<f64>,
    jitter: Vec<f64>,
    /// The last top eigenvector (the warm start of the next call), length p once run.
    pub vector: Vec<f64>,
    /// Krylov vectors kept before a restart; None: `lanczos_basis_len(p)` (tests set fewer).
    pub basis_limit: Option<usize>,
}

/// `lanczos_largest_in` with fresh buffers, warm-started from `start` (empty: cold).
/// Returns (θ, y, products).
pub fn lanczos_largest(p: usize, apply: impl FnMut(&[f64], &mut [f64]), start: &[f64], tol: f64) -> (f64, Vec<f64>, u64) {
    let mut work = LanczosWork { vector: start.to_vec(), ..Default::default() };
    let (theta, products) = lanczos_largest_in(&mut work, p, apply, tol);
    (theta, work.vector, products)
}

/// The algebraically largest eigenvalue θ of the symmetric operator `apply` on Rᵖ, its unit
/// vector left in `work.vector` (which also holds the warm start), by Lanczos with full
/// reorthogonalization and restarts from the best Ritz vector. It stops when the residual
/// ‖Ay − θy‖ (= β_k |s_k|, exact in the Lanczos relation) is at most `tol` × the largest |Ritz
/// value| seen, after at least `MIN_BASIS` products, so θ is that close to an eigenvalue of A;
/// the operator may be indefinite (a loss Hessian has negative eigenvalues). Returns (θ, products).
pub fn lanczos_largest_in(work: &mut LanczosWork, p: usize, mut apply: impl FnMut(&[f64], &mut [f64]), tol: f64) -> (f64, u64) {
    let mut products = 0u64;
    if p == 0 {
        work.vector.clear();
        return (0.0, 0);
    }
    let max_basis = work.basis_limit.map_or_else(|| lanczos_basis_len(p), |limit| limit.clamp(2, p));
    if work.jitter.len() != p {
        work.jitter = seeded_vector(p, 1);
        let norm = norm_sq(&work.jitter).sqrt();
        work.jitter.iter_mut().for_each(|x| *x /= norm);
        work.basis.clear();
    }
    while work.basis.len() < max_basis {
        work.basis.push(vec![0.0; p]);
    }
    work.w.resize(p, 0.0);
    work.start.resize(p, 0.0);
    // A warm start plus a small fixed random part, so every eigendirection is present in the
    // Krylov space (an eigenvalue that overtook the previous top one is still found).
    let previous = if work.vector.len() == p { norm_sq(&work.vector).sqrt() } else { 0.0 };
    if previous > 0.0 && previous.is_finite() {
        for ((s, v), j) in work.start.iter_mut().zip(&work.vector).zip(&work.jitter) {
            *s = v / previous + WARM_JITTER * j;
        }
    } else {
        work.start.copy_from_slice(&work.jitter);
    }
    work.vector.resize(p, 0.0);
    let mut best = f64::NEG_INFINITY;
    let (mut alphas, mut betas): (Vec<f64>, Vec<f64>) = (Vec::with_capacity(max_basis), Vec::with_capacity(max_basis));
    for restart in 0..HESSIAN_MAX_RESTARTS {
        let LanczosWork { basis, w, start, vector, .. } = &mut *work;
        let norm = norm_sq(start).sqrt();
        basis[0].iter_mut().zip(start.iter()).for_each(|(b, s)| *b = s / norm);
        let mut k = 1;
        alphas.clear();
        betas.clear();
        loop {
            apply(&basis[k - 1], w);
            products += 1;
            let alpha = dot(&basis[k - 1], w);
            for _ in 0..2 {
                for b in &basis[..k] {
                    let c = dot(b, w);
                    w.iter_mut().zip(b).for_each(|(wi, bi)| *wi -= c * bi);
                }
            }
            alphas.push(alpha);
            let beta = norm_sq(w).sqrt();
            let mut t = DMatrix::zeros(k, k);
            for i in 0..k {
                t[(i, i)] = alphas[i];
                if i + 1 < k {
                    t[(i, i + 1)] = betas[i];
                    t[(i + 1, i)] = betas[i];
                }
            }
            let eig = SymmetricEigen::new(t);
            let top = (0..k).max_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b])).unwrap_or(0);
            let theta = eig.eigenvalues[top];
            let scale = eig.eigenvalues.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(f64::MIN_POSITIVE);
            let residual = beta * eig.eigenvectors[(k - 1, top)].abs();
            let done = (residual <= tol * scale && k >= p.min(MIN_BASIS)) || k == p;
            let restart_now = k == max_basis;
            // An invariant subspace (β ≈ 0) holds θ exactly for its part of the space; a fresh
            // direction orthogonal to it continues the search for larger eigenvalues elsewhere.
            let exhausted = beta <= 1e-14 * scale;
            if done || restart_now || exhausted {
                vector.iter_mut().for_each(|y| *y = 0.0);
                for (j, b) in basis[..k].iter().enumerate() {
                    let c = eig.eigenvectors[(j, top)];
                    vector.iter_mut().zip(b).for_each(|(yi, bi)| *yi += c * bi);
                }
                let ynorm = norm_sq(vector).sqrt();
                vector.iter_mut().for_each(|x| *x /= ynorm);
                if done {
                    return (theta, products);
                }
                if exhausted && !restart_now {
                    // The fresh direction is built in basis[k] itself (no allocation).
                    let (filled, rest) = basis.split_at_mut(k);
                    let fresh = &mut rest[0];
                    fill_seeded(fresh, (restart * 1000 + k) as u64 + 2);
                    for _ in 0..2 {
                        for b in filled.iter() {
                            let c = dot(b, fresh);
                            fresh.iter_mut().zip(b).for_each(|(fi, bi)| *fi -= c * bi);
                        }
                    }
                    let fnorm = norm_sq(fresh).sqrt();
                    if fnorm > 1e-8 {
                        fresh.iter_mut().for_each(|f| *f /= fnorm);
                        betas.push(0.0);
                        k += 1;
                        continue;
                    }
                    return (theta, products);
                }
                best = theta;
                start.copy_from_slice(vector);
                break;
            }
            betas.push(beta);
            basis[k].iter_mut().zip(w.iter()).for_each(|(b, wi)| *b = wi / beta);
            k += 1;
        }
    }
    (best, products)
}

/// Fills `out` with a deterministic pseudo-random vector (runs stay bit-reproducible).
fn fill_seeded(out: &mut [f64], salt: u64) {
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for x in out.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *x = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    }
}

fn seeded_vector(p: usize, salt: u64) -> Vec<f64> {
    let mut v = vec![0.0; p];
    fill_seeded(&mut v, salt);
    v
}

/// ‖A‖₂ of a symmetric n × n row-major matrix: max |eigenvalue| (dense eigen for n ≤ 64, else
/// Lanczos for the top of A and of −A, warm-started in `work`).
fn spectral_norm(mat: &[f64], n: usize, work: &mut [LanczosWork; 2]) -> f64 {
    if n == 0 {
        return 0.0;
    }
    if n <= 64 {
        let eig = SymmetricEigen::new(DMatrix::from_row_slice(n, n, mat));
        return eig.eigenvalues.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    }
    let apply = |sign: f64| {
        move |x: &[f64], out: &mut [f64]| {
            for (o, row) in out.iter_mut().zip(mat.chunks(n)) {
                *o = sign * dot(row, x);
            }
        }
    };
    let [up, down] = work;
    let (top, _) = lanczos_largest_in(up, n, apply(1.0), 1e-10);
    let (bottom, _) = lanczos_largest_in(down, n, apply(-1.0), 1e-10);
    top.abs().max(bottom.abs())
}

impl ExtraMeasures {
    /// The rules for this run: λ_H from `measure.hessian_every` (or automatic), the kernel
    /// change by its cost rule, K_0 formed now (the model is at init).
    pub(super) fn new(preset: &Preset, model: &dyn Model, data: &Dataset) -> Self {
        let n = data.n;
        let hessian_every = preset.measure.hessian_every.unwrap_or_else(|| auto_hessian_every(model, n));
        let kernel_every = auto_kernel_every(model, n);
        let mut extra = ExtraMeasures { hessian_every, kernel_every, summary: MeasureSummary { top_s: preset.measure.top_s, ..Default::default() }, ..Default::default() };
        if kernel_every > 0 {
            extra.kernel0 = vec![0.0; n * n];
            model.kernel(data, &mut extra.kernel0);
            extra.kernel0_norm = spectral_norm(&extra.kernel0, n, &mut extra.norm_work);
            if !(extra.kernel0_norm > 0.0 && extra.kernel0_norm.is_finite()) {
                extra.kernel_every = 0;
            }
        }
        extra
    }

    pub(super) fn summary(&self) -> MeasureSummary {
        self.summary.clone()
    }
}

/// The top-s split (L_{≤s}, L_{>s}) of an MSE loss from the residual r and the top eigenvectors.
fn split(loss: f64, scale: f64, residual: &[f64], vectors: &[&[f64]]) -> (f64, f64) {
    let top: f64 = vectors.iter().map(|p| dot(residual, p).powi(2)).sum::<f64>() * scale;
    (top, loss - top)
}

/// The SPEC §11 numbers of one sample.
pub(super) struct Extras {
    pub hessian_top: Option<f64>,
    pub loss_top_s: Option<f64>,
    pub loss_rest_s: Option<f64>,
    pub kernel_change: Option<f64>,
    pub layer_sparsity: [Option<f64>; MAX_SPARSITY_LAYERS],
}

impl Simulation {
    /// Switches off the automatic SPEC §11 measurements (λ_H when `measure.hessian_every` is
    /// absent, the kernel change) and the u column's h² (u = 0 from the next step; for a
    /// layered net an R-operator pass of ~14 nP flops) for a run whose samples nobody reads:
    /// sweep cells, benchmark workloads. (Step 0 was measured already; the summary drops it.)
    pub fn skip_automatic_extras(&mut self) {
        self.extra.skip_u = true;
        let summary = &mut self.extra.summary;
        if self.preset.measure.hessian_every.is_none() {
            self.extra.hessian_every = 0;
            (summary.max_hessian_top, summary.final_hessian_top) = (None, None);
        }
        self.extra.kernel_every = 0;
        (summary.max_kernel_change, summary.final_kernel_change) = (None, None);
    }

    /// (λ_H interval, kernel-change interval) in force (0 = off).
    pub fn extra_intervals(&self) -> (usize, usize) {
        (self.extra.hessian_every, self.extra.kernel_every)
    }

    /// The SPEC §11 measurements at the current state; `top_values`, `top2` are the top-2
    /// eigenpairs of K̂ just computed (the split for s ≤ 2 needs no more), `finite` whether the
    /// state is finite.
    pub(super) fn measure_extras(&mut self, loss: f64, residual: &[f64], top_values: [f64; 2], top2: [&[f64]; 2], finite: bool) -> Extras {
        let mut extras = Extras { hessian_top: None, loss_top_s: None, loss_rest_s: None, kernel_change: None, layer_sparsity: [None; MAX_SPARSITY_LAYERS] };
        for (slot, value) in extras.layer_sparsity.iter_mut().zip(self.model.layer_sparsities()) {
            *slot = Some(value);
        }
        if !finite {
            return extras;
        }
        let scale = self.loss.scale(self.data.n);
        if self.loss.kind == LossKind::Mse {
            let s = self.preset.measure.top_s;
            let n = self.data.n;
            let pairs: Vec<(f64, &[f64])> = match self.solver.top_pairs() {
                Some(pairs) if s > 2 && n > 1 && pairs.vectors.first().is_some_and(|v| v.len() == n) => pairs.values.iter().copied().zip(pairs.vectors.iter().map(Vec::as_slice)).take(s).collect(),
                // s ≤ 2, and n = 1 (K̂ is 1 × 1: one direction).
                _ => [(top_values[0], top2[0]), (top_values[1], top2[1])].into_iter().take(s.min(2).min(n)).collect(),
            };
            // Only directions the kernel sees: eigenvalue above `NULL_EIGEN` λ̂ (a rank-deficient
            // kernel, e.g. the d = 1 NQM's rank 2, has arbitrary null-space "eigenvectors").
            let threshold = NULL_EIGEN * pairs.first().map_or(0.0, |p| p.0);
            let kept: Vec<&[f64]> = pairs.iter().filter(|p| p.0 > threshold).map(|p| p.1).collect();
            let (top, rest) = split(loss, scale, residual, &kept);
            extras.loss_top_s = Some(top);
            extras.loss_rest_s = Some(rest);
        }
        let step = self.step as usize;
        let started = std::time::Instant::now();
        if self.extra.hessian_every > 0 && step.is_multiple_of(self.extra.hessian_every) {
            let value = self.hessian_top();
            extras.hessian_top = Some(value);
            let summary = &mut self.extra.summary;
            summary.max_hessian_top = Some(summary.max_hessian_top.map_or(value, |m: f64| m.max(value)));
            summary.final_hessian_top = Some(value);
        }
        if self.extra.kernel_every > 0 && step.is_multiple_of(self.extra.kernel_every) {
            let value = self.kernel_change();
            extras.kernel_change = Some(value);
            let summary = &mut self.extra.summary;
            summary.max_kernel_change = Some(summary.max_kernel_change.map_or(value, |m: f64| m.max(value)));
            summary.final_kernel_change = Some(value);
        }
        self.timing.kernel_secs += started.elapsed().as_secs_f64();
        extras
    }

    /// λ_H = λ_max(∇²L) of the full-batch loss at the current weights (algebraically largest).
    pub(super) fn hessian_top(&mut self) -> f64 {
        let s = self.loss.scale(self.data.n);
        let extra = &mut self.extra;
        let (model, data, loss, outputs) = (self.model.as_ref(), &self.data, &self.loss, &self.outputs);
        extra.z.clear();
        extra.z.extend(outputs.iter().zip(&data.y).map(|(&f, &y)| s * loss.d1(f, y)));
        extra.curvature.clear();
        extra.curvature.extend(outputs.iter().zip(&data.y).map(|(&f, &y)| s * loss.d2(f, y)));
        let (z, curvature, scratch) = (&extra.z, &extra.curvature, &mut extra.scratch);
        let (value, products) = lanczos_largest_in(&mut extra.lanczos, model.n_params(), |x, out| model.hvp(data, z, curvature, x, out, scratch), HESSIAN_TOL);
        extra.summary.hessian_products += products;
        value
    }

    /// ‖K_t − K_0‖₂ / ‖K_0‖₂ of the raw kernel at the current weights.
    fn kernel_change(&mut self) -> f64 {
        let n = self.data.n;
        let extra = &mut self.extra;
        extra.kernel_diff.resize(n * n, 0.0);
        self.model.kernel(&self.data, &mut extra.kernel_diff);
        extra.kernel_diff.iter_mut().zip(&extra.kernel0).for_each(|(k, k0)| *k -= k0);
        spectral_norm(&extra.kernel_diff, n, &mut extra.norm_work) / extra.kernel0_norm
    }
}
