//! The models of SPEC §2 behind one trait: outputs on the data, the Jacobian products J·w and
//! Jᵀ·z that gradient descent and the matrix-free kernel need, the dense tangent kernel for
//! small n, the Hessian scale h² of the u/v phase plane, and exact Hessian-vector products.

pub mod linear;
pub mod mlp;
pub mod quadratic;
pub mod simd;
pub mod two_layer;

use crate::engine::config::{ModelKind, Preset};
use crate::engine::data::Dataset;

/// A scalar-output model with a flat parameter vector w.
pub trait Model: Send + Sync {
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
    /// Plain gradient descent in place, w ← w − η Jᵀz, fused where the model can (the update
    /// accumulated straight into the weights, no gradient vector); false when it has no fused
    /// update (the caller then uses `vjp` and `add_to_params`). Callers must call `forward`
    /// before the next product.
    fn descend(&mut self, _data: &Dataset, _z: &[f64], _eta: f64) -> bool {
        false
    }
    /// The raw tangent kernel K = J Jᵀ (n × n, row-major) at the last `forward`.
    fn kernel(&self, data: &Dataset, out: &mut [f64]);
    /// The scaled kernel diag(root) K diag(root) (n × n, row-major): `kernel`, then entry (i, j)
    /// times root_i root_j; models may fuse the scaling into forming K.
    fn kernel_scaled(&self, data: &Dataset, root: &[f64], out: &mut [f64]) {
        self.kernel(data, out);
        scale_both_sides(out, root);
    }
    /// (flops to form the dense kernel, flops of one matrix-free K·x product), for the choice
    /// between a dense kernel and Lanczos (`kernel::KernelSolver`).
    fn kernel_costs(&self, n: usize) -> (f64, f64) {
        let p = self.n_params() as f64;
        (2.0 * (n * n) as f64 * p, 4.0 * n as f64 * p)
    }
    /// Flops of one step's forward and backward passes on n examples as this model computes
    /// them (for the benchmark's GFLOP/s): J·w and Jᵀ·z cost 2nP each by default.
    fn step_flops(&self, n: usize) -> f64 {
        4.0 * n as f64 * self.n_params() as f64
    }
    /// `out` = K·x = J(Jᵀx) without forming K; `scratch` is a reusable buffer.
    fn kernel_apply(&self, data: &Dataset, x: &[f64], out: &mut [f64], scratch: &mut Vec<f64>) {
        scratch.resize(self.n_params(), 0.0);
        self.vjp(data, x, scratch);
        self.jvp(data, scratch, out);
    }
    /// h², the squared Hessian scale of SPEC §4 along the unit top eigenvector `p1` of K̂
    /// (length n): the squared norm of the Hessian of ⟨p1, f⟩ in the trained parameters
    /// (0 for a linear model).
    fn hessian_scale_sq(&self, data: &Dataset, p1: &[f64]) -> f64;
    /// `out` (length P) = Σ_i z_i ∇²f(x_i) · dir, exactly (the residual part of the loss
    /// Hessian, SPEC §11), over the trained parameters at the last `forward`.
    fn output_hessian_apply(&self, data: &Dataset, z: &[f64], dir: &[f64], out: &mut [f64]);
    /// `out` = ∇²L · dir = Jᵀ(curvature ⊙ J·dir) + Σ_i z_i ∇²f_i · dir, with z_i = s ℓ'(f_i, y_i)
    /// and curvature_i = s ℓ''(f_i, y_i) (for MSE 2s, the Gauss–Newton term 2s JᵀJ).
    /// `scratch` holds n + P numbers between calls.
    fn hvp(&self, data: &Dataset, z: &[f64], curvature: &[f64], dir: &[f64], out: &mut [f64], scratch: &mut Vec<f64>) {
        let (n, p) = (data.n, self.n_params());
        scratch.resize(n + p, 0.0);
        let (jd, residual) = scratch.split_at_mut(n);
        self.jvp(data, dir, jd);
        for (x, c) in jd.iter_mut().zip(curvature) {
            *x *= c;
        }
        self.vjp(data, jd, out);
        self.output_hessian_apply(data, z, dir, residual);
        for (o, r) in out.iter_mut().zip(residual.iter()) {
            *o += r;
        }
    }
    /// Fraction of gates with σ' = a_neg (two-layer nets with a_neg < 1 only).
    fn sparsity(&self) -> Option<f64> {
        None
    }
    /// Per hidden layer l = 1.., the fraction of units with σ'(z) = a_neg over the training data
    /// (`sparsity_1`, … in the CSV; empty for models without gates). The two-layer net's one
    /// hidden layer is `sparsity()`.
    fn layer_sparsities(&self) -> Vec<f64> {
        self.sparsity().into_iter().collect()
    }
    /// Each layer's parameters at init and now, for `run --params-out` (SPEC §10 layer names:
    /// the two-layer net's W1 = u (m × d), W2 = v (1 × m)); frozen layers included. Empty for
    /// models without layers.
    fn layer_params(&self) -> Vec<LayerParams> {
        Vec::new()
    }
    /// The scalar factor c_l of each layer's product, in `layer_params` order (SPEC §10
    /// z_l = c_l W_l h_{l−1} + β b_l; the two-layer net: [1/s_d, c_m]), for `run --params-out`.
    fn layer_scales(&self) -> Vec<f64> {
        Vec::new()
    }
    /// f(x) at one input (any point, not only the training data; no caches used).
    fn output_at(&self, x: &[f64]) -> f64;
    /// The raw kernel J Jᵀ (n' × n', row-major) at the rows of another data set of the same
    /// dimension (an SGD batch), into `out`; false when it would need more than 20 M Jacobian
    /// entries this way (explicit Jacobian rows; models with structure override it).
    fn kernel_on(&self, data: &Dataset, out: &mut [f64]) -> bool {
        let (b, p) = (data.n, self.n_params());
        if b * p > 20_000_000 {
            return false;
        }
        let mut rows = vec![0.0; b * p];
        for r in 0..b {
            self.jacobian_row(data.row(r), &mut rows[r * p..(r + 1) * p]);
        }
        for r in 0..b {
            for c in r..b {
                let k = dot(&rows[r * p..(r + 1) * p], &rows[c * p..(c + 1) * p]);
                out[r * b + c] = k;
                out[c * b + r] = k;
            }
        }
        true
    }
    /// f at every row of another data set of the same dimension (a test set), into `out`.
    fn outputs_on(&self, data: &Dataset, out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate().take(data.n) {
            *o = self.output_at(data.row(i));
        }
    }
    /// The Jacobian row ∂f(x)/∂w at one input (length P).
    fn jacobian_row(&self, x: &[f64], out: &mut [f64]);
    /// ∇_x f(x) at one input (length d), for the AGOP; false where not available.
    fn input_gradient(&self, _x: &[f64], _out: &mut [f64]) -> bool {
        false
    }
    /// ∇_x f at every row of `data` (n × d, row-major), for the AGOP; false where not available.
    fn input_gradients(&self, data: &Dataset, out: &mut [f64]) -> bool {
        let d = data.d;
        (0..data.n).all(|i| self.input_gradient(data.row(i), &mut out[i * d..(i + 1) * d]))
    }
    /// `input_gradients` at the training inputs the last `forward` saw (the AGOP every step):
    /// models with per-example caches reuse them instead of recomputing the pre-activations.
    fn training_input_gradients(&self, data: &Dataset, out: &mut [f64]) -> bool {
        self.input_gradients(data, out)
    }
    /// One whole gradient step on a single example in one pass, where the model has such a
    /// path (two-layer net, n = d = 1): w ← w − η z ∇f, then the new output and everything
    /// `Simulation` measures. `z` = s ℓ'(f, y). None: use the general products instead.
    fn fused_one_example_step(&mut self, _data: &Dataset, _eta: f64, _z: f64, _xt_y: &[f64]) -> Option<FusedOneExample> {
        None
    }
    /// (ρ, mean v): ρ = mean_i ⟨u_i − u0_i, Xᵀy⟩ (two-layer nets only).
    fn feature_alignment(&self, _xt_y: &[f64]) -> Option<(f64, f64)> {
        None
    }
    /// ‖w‖², ‖w − w0‖² and `feature_alignment`, in as few passes over the weights as the
    /// model can make.
    fn weight_stats(&self, xt_y: &[f64]) -> WeightStats {
        WeightStats::by_separate_passes(self, xt_y)
    }
}

/// One layer's weight matrix (rows × cols, row-major, the rows are the layer's outputs) and
/// bias at initialization and now, for `run --params-out`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerParams {
    pub rows: usize,
    pub cols: usize,
    pub weight_init: Vec<f64>,
    pub weight_now: Vec<f64>,
    /// None when the layer has no bias.
    pub bias_init: Option<Vec<f64>>,
    pub bias_now: Option<Vec<f64>>,
}

/// What `Model::weight_stats` measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightStats {
    pub norm_sq: f64,
    pub dist_sq: f64,
    /// (ρ, mean v), two-layer nets only.
    pub alignment: Option<(f64, f64)>,
}

impl WeightStats {
    /// One pass each for ‖w‖², ‖w − w0‖² and the alignment.
    pub fn by_separate_passes<M: Model + ?Sized>(model: &M, xt_y: &[f64]) -> Self {
        WeightStats { norm_sq: norm_sq(model.params()), dist_sq: dist_sq(model.params(), model.init_params()), alignment: model.feature_alignment(xt_y) }
    }
}

/// What a fused one-example step measures at the new weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FusedOneExample {
    /// f(x) after the update.
    pub output: f64,
    /// The raw kernel K = ‖∇f(x)‖² after the update.
    pub kernel: f64,
    pub weight_norm_sq: f64,
    pub dist_from_init_sq: f64,
    /// (ρ, mean v) as `feature_alignment` reports them.
    pub rho: f64,
    pub v_mean: f64,
}

/// Builds the model a preset asks for, initialized from the preset's seed.
pub fn build(preset: &Preset, data: &Dataset) -> Box<dyn Model> {
    match preset.model.kind {
        ModelKind::TwoLayer => {
            let trained = [preset.train.trains_layer(1), preset.train.trains_layer(2)];
            Box::new(two_layer::TwoLayer::new(&preset.model, data, preset.seed, trained))
        }
        ModelKind::Quadratic => Box::new(quadratic::QuadraticModel::new(&preset.model, data, preset.seed)),
        ModelKind::LinearPredictor => Box::new(linear::LinearPredictor::new(&preset.model, data)),
        ModelKind::Mlp => {
            let trained = (1..=preset.model.layer_count()).map(|l| preset.train.trains_layer(l)).collect();
            Box::new(mlp::Mlp::new(&preset.model, data, preset.seed, trained))
        }
    }
}

/// Lanes of the multi-accumulator reductions below: independent partial sums (added in a fixed
/// order at the end) let the compiler vectorize a sum it may not reorder itself.
const LANES: usize = 8;

/// Σ_i f(a_i, b_i) with `LANES` fixed partial sums (deterministic, SIMD-friendly).
#[inline(always)]
pub(crate) fn pair_sum(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0.0; LANES];
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..LANES {
            acc[l] += f(x[l], y[l]);
        }
    }
    let mut tail = 0.0;
    for (x, y) in ar.iter().zip(br) {
        tail += f(*x, *y);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// (‖a‖², ‖a − b‖²) in one pass, each sum with the lanes and order of `pair_sum` (the same bits
/// as `norm_sq(a)` and `dist_sq(a, b)`).
#[inline(always)]
pub(crate) fn norm_and_dist_sq(a: &[f64], b: &[f64]) -> (f64, f64) {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let (mut norm, mut dist) = ([0.0; LANES], [0.0; LANES]);
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..LANES {
            norm[l] += x[l] * x[l];
            dist[l] += (x[l] - y[l]) * (x[l] - y[l]);
        }
    }
    let (mut norm_tail, mut dist_tail) = (0.0, 0.0);
    for (x, y) in ar.iter().zip(br) {
        norm_tail += x * x;
        dist_tail += (x - y) * (x - y);
    }
    let combine = |acc: [f64; LANES], tail: f64| ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
    (combine(norm, norm_tail), combine(dist, dist_tail))
}

/// Entry (i, j) of the n × n row-major `mat` times root_i root_j (n = root.len()).
pub fn scale_both_sides(mat: &mut [f64], root: &[f64]) {
    let n = root.len();
    for (row, &ri) in mat.chunks_mut(n).zip(root) {
        for (k, &rj) in row.iter_mut().zip(root) {
            *k *= ri * rj;
        }
    }
}

/// ‖a − b‖².
pub fn dist_sq(a: &[f64], b: &[f64]) -> f64 {
    pair_sum(a, b, |x, y| (x - y) * (x - y))
}

/// ‖a‖².
pub fn norm_sq(a: &[f64]) -> f64 {
    pair_sum(a, a, |x, _| x * x)
}

/// Dot product.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    pair_sum(a, b, |x, y| x * y)
}

/// A product of the training inputs kept between steps with the rows it was made on (the X Xᵀ
/// tiles and dots of the two-layer kernels, the layered net's input Gram).
pub(crate) type KeptForRows = std::sync::Mutex<Option<(Vec<f64>, Vec<f64>)>>;

/// The kept product for `rows` (`len` entries): the stored one when it was made on these rows,
/// else `make()` stored with them. The guard holds `Some`.
pub(crate) fn kept_for_rows<'a>(slot: &'a KeptForRows, rows: &[f64], len: usize, make: impl FnOnce() -> Vec<f64>) -> std::sync::MutexGuard<'a, Option<(Vec<f64>, Vec<f64>)>> {
    let mut kept = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !kept.as_ref().is_some_and(|(stored, value)| stored[..] == rows[..] && value.len() == len) {
        *kept = Some((rows.to_vec(), make()));
    }
    kept
}

#[cfg(test)]
mod norm_tests {
    use super::*;

    #[test]
    fn norm_and_dist_in_one_pass_are_the_bits_of_the_two_passes() {
        for len in [0, 1, 7, 8, 9, 63, 1000] {
            let a: Vec<f64> = (0..len).map(|i| ((i * 7919) % 113) as f64 / 17.0 - 3.0).collect();
            let b: Vec<f64> = (0..len).map(|i| ((i * 104729) % 97) as f64 / 13.0 - 2.5).collect();
            let (norm, dist) = norm_and_dist_sq(&a, &b);
            assert_eq!((norm.to_bits(), dist.to_bits()), (norm_sq(&a).to_bits(), dist_sq(&a, &b).to_bits()), "len {len}");
        }
    }
}
