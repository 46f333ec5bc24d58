//! Top-two eigenpairs (top-k for the loss split: `top_k.rs`) of the normalized tangent kernel K̂ = W^{1/2} K W^{1/2} (SPEC §3–4),
//! W = diag(s ℓ''_i): a dense symmetric eigen-decomposition for small n; above that, when forming
//! K̂ costs less than the expected matrix-free products, K̂ formed (`Model::kernel_scaled`) and the
//! warm-started block solver of `kernel_block` on it; otherwise a matrix-free Lanczos iteration on
//! x ↦ W^{1/2} J (Jᵀ W^{1/2} x), warm-started from the previous step's eigenvectors, so K is
//! never formed when n·P is large.

use crate::engine::data::Dataset;
use crate::engine::model::{Model, dot, norm_sq};
use crate::engine::kernel_block::{BlockCounters, BlockEigen};
use nalgebra::{DMatrix, SymmetricEigen};

mod top_k;
pub use top_k::{TopK, dense_top_k, lanczos_top_k};

/// Largest n for which the automatic choice forms K and decomposes it densely.
pub const DENSE_MAX_N: usize = 64;
/// Matrix-free products per step the automatic choice's cost model expects (warm-started).
pub const EXPECTED_APPLIES: f64 = 12.0;
/// Lanczos stops when both residuals ‖K̂y − θy‖ fall below this times θ1.
pub const LANCZOS_TOL: f64 = 1e-11;
const LANCZOS_MAX_BASIS: usize = 80;
const LANCZOS_MAX_RESTARTS: usize = 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KernelMethod {
    /// Dense for n ≤ `DENSE_MAX_N`, Lanczos above.
    #[default]
    Auto,
    Dense,
    Lanczos,
}

/// The two largest eigenvalues (descending) with unit eigenvectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Top2 {
    pub values: [f64; 2],
    pub vectors: [Vec<f64>; 2],
}

/// Top-2 eigenpairs of a dense symmetric n × n row-major matrix.
pub fn dense_top2(mat: &[f64], n: usize) -> Top2 {
    let eig = SymmetricEigen::new(DMatrix::from_row_slice(n, n, mat));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let pick = |rank: usize| -> (f64, Vec<f64>) {
        match order.get(rank) {
            Some(&idx) => (eig.eigenvalues[idx], eig.eigenvectors.column(idx).iter().copied().collect()),
            None => (0.0, vec![0.0; n]),
        }
    };
    let (v1, p1) = pick(0);
    let (v2, p2) = pick(1);
    Top2 { values: [v1, v2], vectors: [p1, p2] }
}

/// A deterministic pseudo-random unit vector (so runs stay bit-reproducible).
pub(crate) fn pseudo_random(n: usize, salt: u64) -> Vec<f64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect();
    let norm = norm_sq(&v).sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Removes from `w` its components along every vector of `basis` (twice, for stability).
fn orthogonalize(w: &mut [f64], basis: &[Vec<f64>]) {
    for _ in 0..2 {
        for q in basis {
            let c = dot(q, w);
            for (wi, qi) in w.iter_mut().zip(q) {
                *wi -= c * qi;
            }
        }
    }
}

/// A deterministic unit vector orthogonal to `basis`: where Lanczos continues after its Krylov
/// space became invariant.
pub(crate) fn fresh_direction(n: usize, salt: u64, basis: &[Vec<f64>]) -> Vec<f64> {
    let mut fresh = pseudo_random(n, salt);
    orthogonalize(&mut fresh, basis);
    let fnorm = norm_sq(&fresh).sqrt();
    fresh.iter_mut().for_each(|x| *x /= fnorm);
    fresh
}

/// Top-2 eigenpairs of the symmetric operator `apply` on Rⁿ by Lanczos with full
/// reorthogonalization and explicit restarts from the best Ritz vectors.
pub fn lanczos_top2(n: usize, mut apply: impl FnMut(&[f64], &mut [f64]), start: &[f64]) -> Top2 {
    if n == 1 {
        let mut out = [0.0];
        apply(&[1.0], &mut out);
        return Top2 { values: [out[0], 0.0], vectors: [vec![1.0], vec![0.0]] };
    }
    let max_basis = n.min(LANCZOS_MAX_BASIS);
    let mut start = start.to_vec();
    let mut best = None;
    let mut w = vec![0.0; n];
    for restart in 0..LANCZOS_MAX_RESTARTS {
        let mut basis: Vec<Vec<f64>> = Vec::with_capacity(max_basis);
        let mut alphas: Vec<f64> = Vec::new();
        let mut betas: Vec<f64> = Vec::new();
        let norm = norm_sq(&start).sqrt();
        let mut q = if norm > 0.0 && norm.is_finite() {
            start.iter().map(|x| x / norm).collect()
        } else {
            pseudo_random(n, restart as u64)
        };
        let mut scale: f64 = 0.0;
        loop {
            apply(&q, &mut w);
            let alpha = dot(&q, &w);
            for (wi, qi) in w.iter_mut().zip(&q) {
                *wi -= alpha * qi;
            }
            basis.push(q);
            orthogonalize(&mut w, &basis);
            let beta = norm_sq(&w).sqrt();
            alphas.push(alpha);
            scale = scale.max(alpha.abs()).max(beta);
            let k = alphas.len();
            let exhausted = beta <= 1e-13 * scale.max(f64::MIN_POSITIVE);
            let (values, ritz) = tridiagonal_top2(&alphas, &betas);
            let residual = |r: usize| beta * ritz[r][k - 1].abs();
            let want = 2.min(k);
            let converged = k >= 2
                && (0..want).all(|r| residual(r) <= LANCZOS_TOL * values[0].abs().max(f64::MIN_POSITIVE));
            if converged || (exhausted && k == n) {
                return assemble(values, &ritz, &basis, n);
            }
            if k == max_basis {
                let result = assemble(values, &ritz, &basis, n);
                start = result.vectors[0].iter().zip(&result.vectors[1]).map(|(a, b)| a + b).collect();
                best = Some(result);
                break;
            }
            if exhausted {
                // An invariant subspace: continue with a fresh direction orthogonal to it.
                betas.push(0.0);
                q = fresh_direction(n, (restart * 1000 + k) as u64, &basis);
            } else {
                betas.push(beta);
                q = w.iter().map(|x| x / beta).collect();
            }
        }
    }
    best.expect("at least one Lanczos pass ran")
}

/// Top-2 eigenpairs of the tridiagonal matrix with diagonal `alphas` and off-diagonal `betas`;
/// eigenvectors are returned in the Lanczos basis.
fn tridiagonal_top2(alphas: &[f64], betas: &[f64]) -> ([f64; 2], [Vec<f64>; 2]) {
    let k = alphas.len();
    let mut flat = vec![0.0; k * k];
    for i in 0..k {
        flat[i * k + i] = alphas[i];
        if i + 1 < k {
            flat[i * k + i + 1] = betas[i];
            flat[(i + 1) * k + i] = betas[i];
        }
    }
    let top = dense_top2(&flat, k);
    (top.values, top.vectors)
}

fn assemble(values: [f64; 2], ritz: &[Vec<f64>; 2], basis: &[Vec<f64>], n: usize) -> Top2 {
    let vector = |r: usize| {
        let mut y = vec![0.0; n];
        for (coef, q) in ritz[r].iter().zip(basis) {
            for (yi, qi) in y.iter_mut().zip(q) {
                *yi += coef * qi;
            }
        }
        let norm = norm_sq(&y).sqrt();
        if norm > 0.0 {
            y.iter_mut().for_each(|x| *x /= norm);
        }
        y
    };
    Top2 { values, vectors: [vector(0), vector(1)] }
}

/// Computes the top-2 eigenpairs of W^{1/2} K W^{1/2} for a model, remembering the last
/// answer to warm-start the next Lanczos call.
pub struct KernelSolver {
    pub method: KernelMethod,
    previous: Option<Top2>,
    /// How many pairs `top2` computes (> 2: the top-k path of `top_k.rs`) and its last answer.
    top_k: usize,
    pairs: Option<top_k::TopK>,
    dense: Vec<f64>,
    /// The block solver on a formed kernel, with its warm start (`kernel_block`).
    block: BlockEigen,
    param_buf: Vec<f64>,
    sample_buf: Vec<f64>,
    /// Work done so far: matrix-free K·x products, dense kernels formed, Lanczos products on a
    /// formed kernel.
    pub matrix_free_applies: u64,
    pub dense_kernels: u64,
    pub dense_applies: u64,
}

/// How one call computes the top pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Form K and decompose it completely (exact; small n, or `KernelMethod::Dense`).
    DenseEigen,
    /// Form K (blocked Gram products), then the warm-started block method of `kernel_block`
    /// on the formed matrix.
    DenseBlock,
    /// Warm-started Lanczos on x ↦ J(Jᵀx), K never formed.
    MatrixFree,
}

impl KernelSolver {
    pub fn new(method: KernelMethod) -> Self {
        KernelSolver {
            method,
            previous: None,
            top_k: 2,
            pairs: None,
            dense: Vec::new(),
            block: BlockEigen::default(),
            param_buf: Vec::new(),
            sample_buf: Vec::new(),
            matrix_free_applies: 0,
            dense_kernels: 0,
            dense_applies: 0,
        }
    }

    /// What the block solver on formed kernels did so far.
    pub fn block_counters(&self) -> BlockCounters {
        self.block.counters
    }

    /// Whether this solver decomposes a dense n × n kernel (without a model: the size rule).
    pub fn uses_dense(&self, n: usize) -> bool {
        match self.method {
            KernelMethod::Dense => true,
            KernelMethod::Lanczos => false,
            KernelMethod::Auto => n <= DENSE_MAX_N,
        }
    }

    /// The plan for this model: the automatic method forms K when that costs less than the
    /// expected number of matrix-free products (cost model of `Model::kernel_costs`).
    pub fn plan(&self, model: &dyn Model, n: usize) -> Plan {
        match self.method {
            KernelMethod::Dense => Plan::DenseEigen,
            KernelMethod::Lanczos => Plan::MatrixFree,
            KernelMethod::Auto if n <= DENSE_MAX_N => Plan::DenseEigen,
            KernelMethod::Auto => {
                let (dense, apply) = model.kernel_costs(n);
                if dense < EXPECTED_APPLIES * apply { Plan::DenseBlock } else { Plan::MatrixFree }
            }
        }
    }

    /// Top-2 eigenpairs of W^{1/2} K W^{1/2}, `weights` = diag(W) (non-negative).
    pub fn top2(&mut self, model: &dyn Model, data: &Dataset, weights: &[f64]) -> Top2 {
        let n = data.n;
        let root: Vec<f64> = weights.iter().map(|w| w.max(0.0).sqrt()).collect();
        let plan = self.plan(model, n);
        if self.top_k > 2 {
            return self.top2_via_top_k(model, data, &root, plan);
        }
        let start = || -> Vec<f64> {
            match &self.previous {
                Some(prev) => {
                    let jitter = pseudo_random(n, 7);
                    (0..n).map(|i| prev.vectors[0][i] + prev.vectors[1][i] + 1e-3 * jitter[i]).collect()
                }
                None => pseudo_random(n, 1),
            }
        };
        let result = if plan != Plan::MatrixFree {
            self.dense.resize(n * n, 0.0);
            model.kernel_scaled(data, &root, &mut self.dense);
            self.dense_kernels += 1;
            if plan == Plan::DenseEigen {
                dense_top2(&self.dense, n)
            } else {
                let before = self.block.counters.vectors;
                let top = self.block.top2(&self.dense, n);
                self.dense_applies += self.block.counters.vectors - before;
                top
            }
        } else {
            let start = start();
            self.sample_buf.resize(n, 0.0);
            let (param_buf, sample_buf) = (&mut self.param_buf, &mut self.sample_buf);
            let mut applies = 0;
            let top = lanczos_top2(
                n,
                |x, out| {
                    applies += 1;
                    for i in 0..n {
                        sample_buf[i] = root[i] * x[i];
                    }
                    model.kernel_apply(data, sample_buf, out, param_buf);
                    for i in 0..n {
                        out[i] *= root[i];
                    }
                },
                &start,
            );
            self.matrix_free_applies += applies;
            top
        };
        self.previous = Some(result.clone());
        result
    }
}
