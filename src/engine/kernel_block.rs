//! Top-2 eigenpairs of a formed symmetric n × n kernel by a warm-started block Krylov method
//! (block Davidson without preconditioner, i.e. thick-restarted block Lanczos with explicit
//! Rayleigh–Ritz): the basis grows by blocks of `BLOCK` residual vectors (those of the top Ritz
//! pairs), alternating with block Lanczos steps (the next block is K times the last block,
//! which is already computed, orthonormalized: no Rayleigh–Ritz decomposition for that block);
//! every product with K is one matrix product K·[q1 … q4] (K is read once for 4 vectors,
//! which costs little more than one vector), and the next call starts from this call's top
//! `WARM` Ritz vectors, so when the kernel moves little between steps fewer products are
//! needed (W5: ~23 block products per step warm, ~40 cold).
//!
//! Stopping is rigorous, not a fixed count: for the Ritz pairs (θ_j, y_j), j = 1, 2, with
//! explicit residuals r_j = K y_j − θ_j y_j (from the stored products, not the Lanczos
//! recurrence), and the gap δ_j from θ_j to the other Ritz values, each widened by that pair's
//! residual (there is an eigenvalue within ‖r_i‖ of θ_i; the third pair must be accurate for
//! the gap of the second to count), the method stops when
//! ‖r_j‖ ≤ `VECTOR_TOL` · δ_j for j = 1, 2: by Davis–Kahan the angle between y_j and the
//! eigenvector is at most ‖r_j‖/δ_j and the eigenvalue error at most ‖r_j‖²/δ_j. When that is
//! not reached within `MAX_PRODUCTS` block products (rounding floor, a near-degenerate pair)
//! the answer comes from the dense eigen-decomposition instead (`fallbacks` counts it), so the
//! result is within the tolerance of the exact one. (The gaps come from Ritz values, as in
//! ARPACK: an eigenvalue the basis has not yet seen at all between θ2 and θ3 is not ruled out;
//! the warm start and the residual blocks make that unlikely, and tests/speed_exact.rs compares
//! W5 with the dense decomposition at every step.) Every operation is a fixed sequence
//! of GEMM calls and fixed-order sums: bit-identical across thread counts.

use crate::engine::kernel::{Top2, dense_top2};
use crate::engine::linalg::gemm;
use crate::engine::model::norm_sq;
use nalgebra::{DMatrix, SymmetricEigen};
use rayon::prelude::*;

/// Vectors per block.
pub const BLOCK: usize = 4;
/// Ritz vectors kept for the next call's start block (and at a thick restart).
pub const WARM: usize = 12;
/// The Davis–Kahan angle bound each of the top two Ritz vectors must reach.
pub const VECTOR_TOL: f64 = 1e-11;
/// Basis size at which the basis restarts from the top `WARM` Ritz vectors.
/// Measured on the 40 kernels of a captured W5 run (solver alone, as in examples/w5_eigen_probe.rs;
/// configurations interleaved in one process, min of 4, loaded machine):
/// (warm, basis, Rayleigh–Ritz every) = (8, 64, 1) 5.29 ms and 23.7 block products per step,
/// (12, 48, 2) 4.50 ms and 23.2, (8, 32, 2) 4.54 ms and 30.1, (8, 48, 3) 5.04 ms and 28.6:
/// the dense Rayleigh–Ritz decomposition of the basis (cubic in its size, single-threaded)
/// costs as much as several block products, so the basis stays small and every other block
/// is a Lanczos block that needs none.
const MAX_BASIS: usize = 48;
/// Block products per Rayleigh–Ritz step (the others extend the basis by K times the last block).
/// The first product (the warm start block) is always followed by Rayleigh–Ritz, so a warm start
/// that has already converged costs one product (W1: 2.1 block products and 0.079 ms per step
/// when the Lanczos step came first, 1.0 and 0.050 ms now; W5 unchanged, 22.4 block products).
const RAYLEIGH_RITZ_EVERY: usize = 2;
/// Block products before falling back to the dense decomposition.
const MAX_PRODUCTS: usize = 60;
/// Most vectors per GEMM call of a block product.
const PRODUCT_GROUP: usize = 16;
/// Columns of K per parallel task of a block product (fixed: same bits on any thread count).
const PRODUCT_COLUMNS: usize = 128;
/// From this n on, block products run on several threads.
const PARALLEL_N: usize = 256;

/// Counters of what the block solver did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockCounters {
    /// Block products K·Q.
    pub products: u64,
    /// Vectors multiplied in them (one product of p vectors counts p).
    pub vectors: u64,
    /// Calls answered by the dense decomposition because the tolerance was not reached.
    pub fallbacks: u64,
}

/// The warm start kept between calls: the last call's top Ritz vectors (rows, length n).
#[derive(Clone, Debug, Default)]
pub struct BlockEigen {
    start: Vec<Vec<f64>>,
    pub counters: BlockCounters,
    /// The basis, its products and the projected matrix, kept between calls (no allocation of
    /// these per step).
    work: [Vec<f64>; 6],
}

/// out (p × n, rows) = Q (p × n, rows) · K, K symmetric n × n row-major, in groups of at most
/// `PRODUCT_GROUP` rows, each group one GEMM per fixed column strip of K (measured on
/// 1000 × 1000, both cores: 4 rows 0.089 ms, 8 rows 0.105, 12 rows 0.116, 16 rows 0.165; so
/// the 12-vector warm start block is one group, not three).
fn block_product(k: &[f64], n: usize, q: &[f64], p: usize, out: &mut [f64]) {
    for (qs, outs) in q[..p * n].chunks(PRODUCT_GROUP * n).zip(out.chunks_mut(PRODUCT_GROUP * n)) {
        block_product_group(k, n, qs, qs.len() / n, outs);
    }
}

fn block_product_group(k: &[f64], n: usize, q: &[f64], p: usize, out: &mut [f64]) {
    let ns = n as isize;
    if n < PARALLEL_N {
        gemm(p, n, n, 1.0, q, (ns, 1), k, (ns, 1), 0.0, out, (ns, 1));
        return;
    }
    // Column strips of the result: strip c is Q · K[:, c·w..], each a fixed GEMM call.
    let strips = n.div_ceil(PRODUCT_COLUMNS);
    let parts: Vec<Vec<f64>> = (0..strips)
        .into_par_iter()
        .map(|c| {
            let j0 = c * PRODUCT_COLUMNS;
            let w = PRODUCT_COLUMNS.min(n - j0);
            let mut part = vec![0.0; p * w];
            gemm(p, n, w, 1.0, q, (ns, 1), &k[j0..], (ns, 1), 0.0, &mut part, (w as isize, 1));
            part
        })
        .collect();
    for (c, part) in parts.iter().enumerate() {
        let j0 = c * PRODUCT_COLUMNS;
        let w = PRODUCT_COLUMNS.min(n - j0);
        for r in 0..p {
            out[r * n + j0..r * n + j0 + w].copy_from_slice(&part[r * w..(r + 1) * w]);
        }
    }
}

/// Removes from the `p` rows of `w` their components along the `k` orthonormal rows of `v`
/// (classical Gram–Schmidt, twice), then orthonormalizes the rows among themselves; rows that
/// vanish are dropped. Returns the number of rows kept (moved to the front of `w`).
fn orthonormalize_against(v: &[f64], k: usize, w: &mut [f64], p: usize, n: usize) -> usize {
    let ns = n as isize;
    let mut coef = vec![0.0; p * k.max(1)];
    let norms0: Vec<f64> = (0..p).map(|r| norm_sq(&w[r * n..(r + 1) * n]).sqrt()).collect();
    for _ in 0..2 {
        if k > 0 {
            // C (p × k) = W Vᵀ; W −= C V.
            gemm(p, n, k, 1.0, w, (ns, 1), v, (1, ns), 0.0, &mut coef, (k as isize, 1));
            gemm(p, k, n, -1.0, &coef, (k as isize, 1), v, (ns, 1), 1.0, w, (ns, 1));
        }
    }
    let mut kept = 0;
    for r in 0..p {
        let (done, rest) = w.split_at_mut(r * n);
        let row = &mut rest[..n];
        for _ in 0..2 {
            for q in done[..kept * n].chunks(n) {
                let c = crate::engine::model::dot(q, row);
                for (x, qi) in row.iter_mut().zip(q) {
                    *x -= c * qi;
                }
            }
        }
        let norm = norm_sq(row).sqrt();
        // A row that lost all but rounding noise to the projections adds nothing.
        if norm > 1e-10 * norms0[r].max(f64::MIN_POSITIVE) && norm.is_finite() {
            row.iter_mut().for_each(|x| *x /= norm);
            if kept != r {
                let (head, tail) = w.split_at_mut(r * n);
                head[kept * n..(kept + 1) * n].copy_from_slice(&tail[..n]);
            }
            kept += 1;
        }
    }
    kept
}

impl BlockEigen {
    /// Top-2 eigenpairs of the symmetric n × n row-major `k`, warm-started from the last call.
    pub fn top2(&mut self, k: &[f64], n: usize) -> Top2 {
        if n <= 4 * BLOCK {
            return dense_top2(k, n);
        }
        let mut work = std::mem::take(&mut self.work);
        let top = self.solve(k, n, &mut work);
        self.work = work;
        top
    }

    fn solve(&mut self, k: &[f64], n: usize, work: &mut [Vec<f64>; 6]) -> Top2 {
        let [v, kv, t, y, ky, res] = work;
        let ns = n as isize;
        let (p, warm, max_basis) = (BLOCK, WARM, MAX_BASIS.min(n));
        let cap = max_basis + warm.max(p);
        // Basis V and K·V (rows), T = V K Vᵀ (upper triangle, row stride `cap`); only entries
        // written in this call are read.
        v.resize(cap * n, 0.0);
        kv.resize(cap * n, 0.0);
        t.resize(cap * cap, 0.0);
        // The start block: last call's Ritz vectors, topped up with deterministic rows.
        let first = if self.start.is_empty() { p } else { warm };
        for r in 0..first {
            let row = &mut v[r * n..(r + 1) * n];
            match self.start.get(r) {
                Some(prev) if prev.len() == n => row.copy_from_slice(prev),
                _ => row.copy_from_slice(&crate::engine::kernel::pseudo_random(n, 100 + r as u64)),
            }
        }
        let mut cols = 0;
        let mut added = orthonormalize_against(&[], 0, &mut v[..first * n], first, n);
        let mut products = 0;
        loop {
            // K times the new block, and T's new columns V·(K W)ᵀ.
            let fresh = &v[cols * n..];
            let (_, kfresh) = kv.split_at_mut(cols * n);
            block_product(k, n, &fresh[..added * n], added, &mut kfresh[..added * n]);
            self.count(added);
            products += 1;
            let total = cols + added;
            let mut block_t = vec![0.0; total * added];
            gemm(total, n, added, 1.0, &v[..total * n], (ns, 1), &kv[cols * n..total * n], (1, ns), 0.0, &mut block_t, (added as isize, 1));
            for i in 0..total {
                for j in 0..added {
                    t[i * cap + cols + j] = block_t[i * added + j];
                }
            }
            let last = cols;
            cols = total;
            if products % RAYLEIGH_RITZ_EVERY == 0 && cols + added <= max_basis && products < MAX_PRODUCTS {
                // A block Lanczos step: the next block is K times the last one (already
                // computed) orthonormalized against the basis; no Rayleigh–Ritz this time
                // (unless nothing new is left: then the basis is invariant and Rayleigh–Ritz
                // below is exact).
                let (basis, fresh) = v.split_at_mut(cols * n);
                fresh[..added * n].copy_from_slice(&kv[last * n..cols * n]);
                let lanczos = orthonormalize_against(basis, cols, &mut fresh[..added * n], added, n);
                if lanczos > 0 {
                    added = lanczos;
                    continue;
                }
            }
            // Rayleigh–Ritz on T (upper triangle: entry (i, j), i ≤ j, is v_i·K v_j).
            let tm = DMatrix::from_fn(cols, cols, |i, j| if i <= j { t[i * cap + j] } else { t[j * cap + i] });
            let eig = SymmetricEigen::new(tm);
            let mut order: Vec<usize> = (0..cols).collect();
            order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
            let r = warm.max(p).min(cols);
            let theta: Vec<f64> = order[..r].iter().map(|&i| eig.eigenvalues[i]).collect();
            // S (r × cols): the top Ritz coefficient vectors as rows; Y = S V, KY = S KV.
            let mut s = vec![0.0; r * cols];
            for (row, &i) in s.chunks_mut(cols).zip(&order[..r]) {
                for (j, x) in row.iter_mut().enumerate() {
                    *x = eig.eigenvectors[(j, i)];
                }
            }
            y.resize(r * n, 0.0);
            ky.resize(r * n, 0.0);
            gemm(r, cols, n, 1.0, &s, (cols as isize, 1), &v[..cols * n], (ns, 1), 0.0, y, (ns, 1));
            gemm(r, cols, n, 1.0, &s, (cols as isize, 1), &kv[..cols * n], (ns, 1), 0.0, ky, (ns, 1));
            res.clear();
            res.extend_from_slice(ky);
            for j in 0..r {
                for (x, yi) in res[j * n..(j + 1) * n].iter_mut().zip(&y[j * n..(j + 1) * n]) {
                    *x -= theta[j] * yi;
                }
            }
            let res_norm: Vec<f64> = (0..r).map(|j| norm_sq(&res[j * n..(j + 1) * n]).sqrt()).collect();
            if r >= 3 && converged(&theta, &res_norm, VECTOR_TOL) {
                return self.finish(theta, y, r, n);
            }
            if products >= MAX_PRODUCTS || cols >= n {
                return self.fall_back(k, n);
            }
            if cols + p > max_basis {
                // Thick restart: the top Ritz vectors and their products (no new products);
                // T becomes Y K Yᵀ.
                v[..r * n].copy_from_slice(&y);
                kv[..r * n].copy_from_slice(&ky);
                let mut yt = vec![0.0; r * r];
                gemm(r, n, r, 1.0, &y, (ns, 1), &ky, (1, ns), 0.0, &mut yt, (r as isize, 1));
                for i in 0..r {
                    for j in 0..r {
                        t[i * cap + j] = yt[i * r + j];
                    }
                }
                cols = r;
            }
            // The next block: the residuals of the top p Ritz pairs, orthonormalized against
            // the basis (block Davidson; in exact arithmetic the block Krylov space).
            let (basis, fresh) = v.split_at_mut(cols * n);
            fresh[..p * n].copy_from_slice(&res[..p * n]);
            added = orthonormalize_against(basis, cols, &mut fresh[..p * n], p, n);
            if added == 0 {
                // Nothing new (the basis is invariant up to rounding): the exact answer.
                return self.fall_back(k, n);
            }
        }
    }

    /// The dense decomposition, when the block method does not reach its tolerance.
    fn fall_back(&mut self, k: &[f64], n: usize) -> Top2 {
        self.counters.fallbacks += 1;
        let exact = dense_top2(k, n);
        self.start = vec![exact.vectors[0].clone(), exact.vectors[1].clone()];
        exact
    }

    fn count(&mut self, vectors: usize) {
        self.counters.products += 1;
        self.counters.vectors += vectors as u64;
    }

    fn finish(&mut self, theta: Vec<f64>, y: &[f64], r: usize, n: usize) -> Top2 {
        // The next start block, into the vectors kept from the last call.
        self.start.resize_with(r, Vec::new);
        for (kept, new) in self.start.iter_mut().zip(y.chunks(n)) {
            kept.clear();
            kept.extend_from_slice(new);
        }
        Top2 { values: [theta[0], theta[1]], vectors: [self.start[0].clone(), self.start[1].clone()] }
    }
}

/// The stopping rule of the module header for the top two of the Ritz pairs `theta`
/// (descending) with residual norms `res`: the gap of pair j is the distance to its neighbouring
/// Ritz values, each moved towards θ_j by its own residual norm.
fn converged(theta: &[f64], res: &[f64], tol: f64) -> bool {
    let gap = |j: usize| -> f64 {
        let below = (theta[j] - theta[j + 1]) - res[j + 1];
        let above = if j > 0 { (theta[j - 1] - theta[j]) - res[j - 1] } else { f64::INFINITY };
        below.min(above)
    };
    (0..2).all(|j| {
        let g = gap(j);
        g > 0.0 && res[j] <= tol * g
    })
}
