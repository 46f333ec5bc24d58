//! Top-k eigenpairs (k up to 10) of the normalized kernel K̂, for the top-s loss split of SPEC
//! §11: the dense path decomposes the formed kernel completely, the Lanczos path keeps k Ritz
//! pairs and stops when all k residuals are small. `KernelSolver::set_top_k` switches a solver
//! to this path (λ̂ and λ̂_2 are then the first two of the k pairs); with k ≤ 2 the solver is
//! unchanged.

use super::*;

/// The k largest eigenvalues (descending) with unit eigenvectors (fewer when n < k).
#[derive(Clone, Debug, PartialEq)]
pub struct TopK {
    pub values: Vec<f64>,
    pub vectors: Vec<Vec<f64>>,
}

impl TopK {
    /// The first two pairs (zero-padded when n = 1).
    pub fn top2(&self) -> Top2 {
        let n = self.vectors.first().map_or(0, Vec::len);
        let value = |r: usize| self.values.get(r).copied().unwrap_or(0.0);
        let vector = |r: usize| self.vectors.get(r).cloned().unwrap_or_else(|| vec![0.0; n]);
        Top2 { values: [value(0), value(1)], vectors: [vector(0), vector(1)] }
    }
}

/// Top-k eigenpairs of a dense symmetric n × n row-major matrix (full decomposition).
pub fn dense_top_k(mat: &[f64], n: usize, k: usize) -> TopK {
    let eig = SymmetricEigen::new(DMatrix::from_row_slice(n, n, mat));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let order = &order[..k.min(n)];
    TopK {
        values: order.iter().map(|&i| eig.eigenvalues[i]).collect(),
        vectors: order.iter().map(|&i| eig.eigenvectors.column(i).iter().copied().collect()).collect(),
    }
}

/// Top-k eigenpairs of the symmetric operator `apply` on Rⁿ by Lanczos with full
/// reorthogonalization and explicit restarts (from the sum of the k best Ritz vectors); it
/// stops when every one of the k residuals ‖Ay − θy‖ is below `LANCZOS_TOL`·|θ1|.
pub fn lanczos_top_k(n: usize, mut apply: impl FnMut(&[f64], &mut [f64]), start: &[f64], k: usize) -> TopK {
    let k = k.clamp(1, n.max(1));
    if n == 1 {
        let mut out = [0.0];
        apply(&[1.0], &mut out);
        return TopK { values: vec![out[0]], vectors: vec![vec![1.0]] };
    }
    let max_basis = n.min(LANCZOS_MAX_BASIS.max(4 * k));
    let mut start = start.to_vec();
    let mut best = None;
    let mut w = vec![0.0; n];
    for restart in 0..LANCZOS_MAX_RESTARTS {
        let mut basis: Vec<Vec<f64>> = Vec::with_capacity(max_basis);
        let (mut alphas, mut betas): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
        let norm = norm_sq(&start).sqrt();
        let mut q: Vec<f64> = if norm > 0.0 && norm.is_finite() { start.iter().map(|x| x / norm).collect() } else { pseudo_random(n, restart as u64) };
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
            let len = alphas.len();
            let exhausted = beta <= 1e-13 * scale.max(f64::MIN_POSITIVE);
            let ritz = tridiagonal_top_k(&alphas, &betas, k);
            let tol = LANCZOS_TOL * ritz.values[0].abs().max(f64::MIN_POSITIVE);
            let converged = len >= k && (0..k).all(|r| beta * ritz.vectors[r][len - 1].abs() <= tol);
            if converged || (exhausted && len == n) {
                return assemble_k(&ritz, &basis, n);
            }
            if len == max_basis {
                let result = assemble_k(&ritz, &basis, n);
                start = (0..n).map(|i| result.vectors.iter().map(|v| v[i]).sum()).collect();
                best = Some(result);
                break;
            }
            if exhausted {
                // An invariant subspace: continue with a fresh direction orthogonal to it.
                betas.push(0.0);
                q = fresh_direction(n, (restart * 1000 + len) as u64, &basis);
            } else {
                betas.push(beta);
                q = w.iter().map(|x| x / beta).collect();
            }
        }
    }
    best.expect("at least one Lanczos pass ran")
}

/// Top-k eigenpairs of the tridiagonal matrix (diagonal `alphas`, off-diagonal `betas`), the
/// vectors in the Lanczos basis; padded with zero pairs while the basis is shorter than k.
fn tridiagonal_top_k(alphas: &[f64], betas: &[f64], k: usize) -> TopK {
    let len = alphas.len();
    let mut flat = vec![0.0; len * len];
    for i in 0..len {
        flat[i * len + i] = alphas[i];
        if i + 1 < len {
            flat[i * len + i + 1] = betas[i];
            flat[(i + 1) * len + i] = betas[i];
        }
    }
    let mut top = dense_top_k(&flat, len, k);
    while top.values.len() < k {
        top.values.push(0.0);
        top.vectors.push(vec![0.0; len]);
    }
    top
}

fn assemble_k(ritz: &TopK, basis: &[Vec<f64>], n: usize) -> TopK {
    let vectors = ritz
        .vectors
        .iter()
        .map(|coefs| {
            let mut y = vec![0.0; n];
            for (coef, q) in coefs.iter().zip(basis) {
                for (yi, qi) in y.iter_mut().zip(q) {
                    *yi += coef * qi;
                }
            }
            let norm = norm_sq(&y).sqrt();
            if norm > 0.0 {
                y.iter_mut().for_each(|x| *x /= norm);
            }
            y
        })
        .collect();
    TopK { values: ritz.values.clone(), vectors }
}

impl KernelSolver {
    /// Asks every later call of `top2` for the top k pairs (k ≤ 2: the plain top-2 path).
    pub fn set_top_k(&mut self, k: usize) {
        self.top_k = k;
        self.pairs = None;
    }

    /// The top-k pairs of the last call (None unless `set_top_k` asked for k > 2).
    pub fn top_pairs(&self) -> Option<&TopK> {
        self.pairs.as_ref()
    }

    /// `top2` on the top-k path: the same plans, k pairs kept.
    pub(super) fn top2_via_top_k(&mut self, model: &dyn Model, data: &Dataset, root: &[f64], plan: Plan) -> Top2 {
        let (n, k) = (data.n, self.top_k);
        let start: Vec<f64> = match &self.pairs {
            Some(prev) => {
                let jitter = pseudo_random(n, 7);
                (0..n).map(|i| prev.vectors.iter().map(|v| v[i]).sum::<f64>() + 1e-3 * jitter[i]).collect()
            }
            None => pseudo_random(n, 1),
        };
        let result = if plan != Plan::MatrixFree {
            self.dense.resize(n * n, 0.0);
            model.kernel(data, &mut self.dense);
            self.dense_kernels += 1;
            for i in 0..n {
                for j in 0..n {
                    self.dense[i * n + j] *= root[i] * root[j];
                }
            }
            if plan == Plan::DenseEigen {
                dense_top_k(&self.dense, n, k)
            } else {
                let dense = &self.dense;
                let mut applies = 0;
                let top = lanczos_top_k(n, |x, out| {
                    applies += 1;
                    for (o, row) in out.iter_mut().zip(dense.chunks(n)) {
                        *o = dot(row, x);
                    }
                }, &start, k);
                self.dense_applies += applies;
                top
            }
        } else {
            self.sample_buf.resize(n, 0.0);
            let (param_buf, sample_buf) = (&mut self.param_buf, &mut self.sample_buf);
            let mut applies = 0;
            let top = lanczos_top_k(n, |x, out| {
                applies += 1;
                for i in 0..n {
                    sample_buf[i] = root[i] * x[i];
                }
                model.kernel_apply(data, sample_buf, out, param_buf);
                for i in 0..n {
                    out[i] *= root[i];
                }
            }, &start, k);
            self.matrix_free_applies += applies;
            top
        };
        let top2 = result.top2();
        self.pairs = Some(result);
        self.previous = Some(top2.clone());
        top2
    }
}
