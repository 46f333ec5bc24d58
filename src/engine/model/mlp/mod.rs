//! The layered network of SPEC §10, `model.kind = "mlp"`: f(x) = z_{L+1}, h_0 = x,
//! z_l = c_l W_l h_{l−1} + β b_l, h_l = σ(z_l), with its linearized and quadratic (NQM) Taylor
//! models. This file owns the parameters (one flat vector, layer by layer: W_l row-major
//! n_l × n_{l−1}, then b_l when biases are on), the initialization, the per-layer scales c_l,
//! and the `Model` impl; the batched passes are in `forward`, the Jacobian products in
//! `backward`, the kernel in `kernel`, the exact Hessian products in `hessian`, the Taylor
//! models in `approx`. Every batched product goes through `engine::linalg::gemm`.
//!
//! Init draws (stream `STREAM_INIT`): layer by layer, every entry of W_l, then b_l, standard
//! normal (times σ_l/√n_{l−1} for `standard`); so depth 1 with σ_w = 1 and no bias draws what
//! `two_layer` draws (u, then v; `second_layer_init = "rademacher"` gives the output layer ±1
//! there too) and follows it step for step.

mod approx;
mod backward;
mod forward;
mod fused;
mod hessian;
mod input_layer;
mod kernel;

use super::{LayerParams, Model, WeightStats};
use crate::engine::config::{Activation, Approx, InputNorm, ModelConfig, Parameterization, SecondLayerInit};
use crate::engine::data::{Dataset, STREAM_INIT, rng_for};
use approx::Quad;
use forward::{Act, State};
use ndarray::ArrayView2;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Mutex;

/// Test-set rows evaluated per block by `outputs_on`.
const EVAL_ROWS: usize = 4096;


pub struct Mlp {
    /// [n_0 = d, n_1, …, n_L, n_{L+1} = 1].
    dims: Vec<usize>,
    /// c_k of layer k = 0..=L (SPEC's c_{k+1}).
    c: Vec<f64>,
    has_bias: bool,
    /// β.
    beta: f64,
    act: Act,
    approx: Approx,
    /// Per layer: trained (false = in `train.frozen_layers`).
    trained: Vec<bool>,
    /// Start of W_k in the parameter vector, per layer, plus the total at the end.
    offsets: Vec<usize>,
    /// The parameters; the input layer's W may lag behind `input_base` (read through `weights`).
    w: input_layer::Weights,
    w0: Vec<f64>,
    /// The network's state at w on the training data; for the Taylor models the state at w0.
    state: State,
    /// The quadratic model's factors at the current Δw.
    quad: Option<Quad>,
    /// Per hidden layer, the fraction of units with σ' = a_neg at the last forward (relu).
    negative: Vec<f64>,
    /// Forward passes so far, and h² with the pass count it was computed at (`hessian_scale`).
    forwards: u64,
    scale_held: Mutex<Option<(u64, f64)>>,
    /// (‖w‖², ‖w − w0‖²) of the trained layers, summed by the last `descend` (None after any
    /// other change of w).
    norms_after_descend: Option<(f64, f64)>,
    /// The network's second state (the fused `descend` writes the new activations there while
    /// it still reads the old ones), and whether `state` already holds the state at w.
    spare_state: State,
    state_is_current: bool,
    /// The input layer in the rows' space for the fused step (`input_layer`).
    input_base: Mutex<input_layer::InputBase>,
    /// The input layer's c² X Xᵀ for the kernel, with the rows it was formed on.
    input_gram: crate::engine::model::KeptForRows,
    /// The linearized model's kernel is J(w0)J(w0)ᵀ, the same every step: formed once.
    fixed_kernel: Mutex<Option<Vec<f64>>>,
}

impl Mlp {
    /// The net a config describes on the data's dimension; `trained[k]` is false for the
    /// layers in `train.frozen_layers` (k = layer − 1).
    pub fn new(cfg: &ModelConfig, data: &Dataset, seed: u64, trained: Vec<bool>) -> Self {
        let depth = cfg.depth;
        let mut dims = vec![data.d];
        dims.extend(cfg.widths.clone().unwrap_or_else(|| vec![cfg.width; depth]));
        dims.push(1);
        let has_bias = cfg.bias;
        let mut offsets = Vec::with_capacity(depth + 2);
        let mut total = 0;
        for k in 0..=depth {
            offsets.push(total);
            total += dims[k + 1] * dims[k] + if has_bias { dims[k + 1] } else { 0 };
        }
        offsets.push(total);
        let mut c = Vec::with_capacity(depth + 1);
        let mut draw_scale = Vec::with_capacity(depth + 1);
        for k in 0..=depth {
            let sigma = cfg.layer_init_scale(k + 1);
            let fan = if k == 0 && cfg.input_norm == InputNorm::None { 1.0 } else { (dims[k] as f64).sqrt() };
            let (ck, sk) = match cfg.parameterization {
                Parameterization::Ntk => (sigma / fan, 1.0),
                Parameterization::MeanField if k == depth => (sigma / dims[k] as f64, 1.0),
                Parameterization::MeanField => (sigma / fan, 1.0),
                Parameterization::Standard => (1.0, sigma / fan),
            };
            c.push(ck);
            draw_scale.push(sk);
        }
        let mut rng = rng_for(seed, STREAM_INIT);
        let mut w = Vec::with_capacity(total);
        for k in 0..=depth {
            let rademacher = k == depth && cfg.second_layer_init == SecondLayerInit::Rademacher;
            for _ in 0..dims[k + 1] * dims[k] {
                let value = if rademacher {
                    if rng.random::<bool>() { 1.0 } else { -1.0 }
                } else {
                    <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng)
                };
                w.push(draw_scale[k] * value);
            }
            if has_bias {
                for _ in 0..dims[k + 1] {
                    w.push(<StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng));
                }
            }
        }
        let act = Act { kind: cfg.activation, a_neg: if cfg.activation == Activation::Relu { cfg.a_neg } else { 1.0 } };
        let mut net = Mlp {
            dims,
            c,
            has_bias,
            beta: cfg.bias_scale,
            act,
            approx: cfg.approx,
            trained,
            offsets,
            w0: w.clone(),
            w: input_layer::Weights::new(w),
            state: State::default(),
            quad: None,
            negative: Vec::new(),
            fixed_kernel: Mutex::new(None),
            norms_after_descend: None,
            spare_state: State::default(),
            state_is_current: false,
            input_base: Mutex::new(input_layer::InputBase::default()),
            input_gram: Mutex::new(None),
            forwards: 0,
            scale_held: Mutex::new(None),
        };
        net.state = net.state_at(&net.w0, &data.x, data.n);
        net.count_negatives();
        net
    }

    pub(crate) fn depth(&self) -> usize {
        self.dims.len() - 2
    }

    /// The ranges of W_k and of b_k (empty without biases) in a parameter-length vector.
    pub(crate) fn layer_ranges(&self, k: usize) -> (Range<usize>, Range<usize>) {
        let start = self.offsets[k];
        let split = start + self.dims[k + 1] * self.dims[k];
        (start..split, split..self.offsets[k + 1])
    }

    /// The parameters, the input layer brought up to date first when steps through its base
    /// are pending (`input_layer`: W ← W + C X once).
    pub(crate) fn weights(&self) -> &[f64] {
        let mut base = self.input_base.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if base.pending() {
            // SAFETY: under the base's lock, with pending updates (see `input_layer::Weights`).
            let w = unsafe { self.w.write() };
            let (range, _) = self.layer_ranges(0);
            base.apply(&mut w[range.clone()], &self.w0[range], self.c[0]);
        }
        drop(base);
        // SAFETY: nothing is pending, so no write can start while this borrow lives.
        unsafe { self.w.read() }
    }

    /// The parameters to change, brought up to date first.
    fn weights_mut(&mut self) -> &mut Vec<f64> {
        let (range, _) = self.layer_ranges(0);
        let base = self.input_base.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        let w = self.w.get_mut();
        base.apply(&mut w[range.clone()], &self.w0[range], self.c[0]);
        w
    }

    /// W_k of a parameter-length vector as an n_{k+1} × n_k view.
    pub(crate) fn weight<'a>(&self, w: &'a [f64], k: usize) -> ArrayView2<'a, f64> {
        let (range, _) = self.layer_ranges(k);
        ArrayView2::from_shape((self.dims[k + 1], self.dims[k]), &w[range]).unwrap()
    }

    /// b_k of a parameter-length vector (None without biases).
    pub(crate) fn bias<'a>(&self, w: &'a [f64], k: usize) -> Option<&'a [f64]> {
        let (_, range) = self.layer_ranges(k);
        self.has_bias.then(|| &w[range])
    }

    /// Per hidden layer, the fraction of σ' = a_neg units in the current state (relu, a_neg < 1).
    fn count_negatives(&mut self) {
        self.negative.clear();
        if self.act.kind != Activation::Relu || self.act.a_neg >= 1.0 {
            return;
        }
        for k in 0..self.depth() {
            let z = &self.state.z[k];
            let count: usize = z.as_slice().unwrap().par_chunks(1 << 14).map(|part| part.iter().filter(|&&v| v < 0.0).count()).sum();
            self.negative.push(count as f64 / z.len().max(1) as f64);
        }
    }

    /// (‖w‖², ‖w − w0‖²) over the trained layers in one pass over w and w0, in fixed
    /// `STATS_CHUNK` blocks on every core, the blocks' sums added in order (the same bits
    /// whatever the thread count).
    fn trained_norms(&self) -> (f64, f64) {
        if let Some(norms) = self.norms_after_descend {
            return norms;
        }
        let mut sums = Vec::new();
        for k in (0..=self.depth()).filter(|&k| self.trained[k]) {
            for range in self.norm_parts(k) {
                sums.extend(fused::block_norms_parallel(&self.weights()[range.clone()], &self.w0[range]));
            }
        }
        fold_norms(&sums)
    }
}

/// The blocks' sums added in order.
pub(crate) fn fold_norms(sums: &[(f64, f64)]) -> (f64, f64) {
    sums.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y))
}

impl Mlp {
}

impl Model for Mlp {
    fn n_params(&self) -> usize {
        self.w0.len()
    }
    fn params(&self) -> &[f64] {
        self.weights()
    }
    fn init_params(&self) -> &[f64] {
        &self.w0
    }
    fn add_to_params(&mut self, scale: f64, delta: &[f64]) {
        self.norms_after_descend = None;
        self.state_is_current = false;
        for (w, d) in self.weights_mut().iter_mut().zip(delta) {
            *w += scale * d;
        }
        self.input_base.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()).invalidate();
    }

    fn forward(&mut self, data: &Dataset, out: &mut [f64]) {
        self.forwards += 1;
        match self.approx {
            Approx::Network => {
                // After a fused `descend` the state at w is already computed.
                if !(std::mem::take(&mut self.state_is_current) && data.n == self.state.n) {
                    let mut state = std::mem::replace(&mut self.state, State::default());
                    self.state_into(self.weights(), &data.x, data.n, &mut state);
                    self.state = state;
                }
                self.count_negatives();
            }
            Approx::Linearized => {}
            Approx::Quadratic => self.quad = Some(self.quad_of(&self.state, &self.weight_change())),
        }
        let delta_w = if self.approx == Approx::Network { Vec::new() } else { self.weight_change() };
        self.outputs_of(&self.state, self.quad.as_ref(), &delta_w, out);
    }

    fn jvp(&self, _data: &Dataset, dir: &[f64], out: &mut [f64]) {
        let jac = self.jac_of(&self.state, self.quad.as_ref());
        self.jac_apply(&jac, dir, out);
    }

    fn vjp(&self, _data: &Dataset, z: &[f64], out: &mut [f64]) {
        let jac = self.jac_of(&self.state, self.quad.as_ref());
        self.jac_transpose_apply(&jac, z, out);
    }

    fn descend(&mut self, data: &Dataset, z: &[f64], eta: f64) -> bool {
        let fused = self.approx == Approx::Network && data.n == self.state.n;
        if !fused {
            self.weights_mut();
        }
        let mut w = std::mem::take(self.w.get_mut());
        if fused {
            // The update fused with the forward pass at the new weights (`fused`); `forward`
            // then only reads the outputs. The input layer may go through its base.
            let mut next = std::mem::take(&mut self.spare_state);
            let mut base = std::mem::take(self.input_base.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()));
            let sums = self.descend_and_forward(&mut w, z, eta, &data.x, &self.state, &mut next, &mut base);
            *self.input_base.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()) = base;
            self.backward_into(&w, &mut next);
            self.spare_state = std::mem::replace(&mut self.state, next);
            self.state_is_current = true;
            *self.w.get_mut() = w;
            self.norms_after_descend = Some(fold_norms(&sums));
            return true;
        }
        // The weight norms of each trained layer as soon as it is updated, while it is in the
        // cache (the same blocks and order as `trained_norms`).
        let mut sums = Vec::new();
        let parts: Vec<Vec<Range<usize>>> = (0..=self.depth()).map(|k| self.norm_parts(k)).collect();
        let (w0, trained) = (&self.w0, &self.trained);
        let mut after_layer = |k: usize, range: Range<usize>, w: &[f64]| {
            if trained[k] {
                for part in &parts[k] {
                    let local = part.start - range.start..part.end - range.start;
                    sums.extend(fused::block_norms_parallel(&w[local], &w0[part.clone()]));
                }
            }
        };
        self.jac_transpose_descend(&self.jac_of(&self.state, self.quad.as_ref()), z, eta, &mut w, &mut after_layer);
        *self.w.get_mut() = w;
        self.norms_after_descend = Some(fold_norms(&sums));
        true
    }

    fn kernel(&self, _data: &Dataset, out: &mut [f64]) {
        let n = self.state.n;
        if self.approx == Approx::Linearized {
            let mut fixed = self.fixed_kernel.lock().unwrap();
            if fixed.is_none() {
                let mut k = vec![0.0; n * n];
                self.kernel_from(&self.jac_of(&self.state, None), &mut k);
                *fixed = Some(k);
            }
            out[..n * n].copy_from_slice(fixed.as_ref().unwrap());
            return;
        }
        self.kernel_from(&self.jac_of(&self.state, self.quad.as_ref()), out);
    }

    fn kernel_costs(&self, n: usize) -> (f64, f64) {
        let (dense, apply) = self.costs(n);
        // The linearized model's kernel is formed once and then only copied.
        if self.approx == Approx::Linearized && self.fixed_kernel.lock().unwrap().is_some() { ((n * n) as f64, apply) } else { (dense, apply) }
    }

    fn step_flops(&self, n: usize) -> f64 {
        self.flops(n)
    }

    fn hessian_scale_sq(&self, data: &Dataset, p1: &[f64]) -> f64 {
        self.hessian_scale(data, p1)
    }

    fn output_hessian_apply(&self, _data: &Dataset, z: &[f64], dir: &[f64], out: &mut [f64]) {
        self.output_hessian_product(z, dir, out)
    }

    fn hvp(&self, data: &Dataset, z: &[f64], curvature: &[f64], dir: &[f64], out: &mut [f64], scratch: &mut Vec<f64>) {
        if self.loss_hessian_product(z, curvature, dir, out) {
            return;
        }
        // The Taylor models: J·dir, the Gauss–Newton term, plus the residual term.
        let (n, p) = (data.n, self.n_params());
        scratch.resize(n + p, 0.0);
        let (jd, residual) = scratch.split_at_mut(n);
        self.jvp(data, dir, jd);
        jd.iter_mut().zip(curvature).for_each(|(x, c)| *x *= c);
        self.vjp(data, jd, out);
        self.output_hessian_product(z, dir, residual);
        out.iter_mut().zip(residual.iter()).for_each(|(o, r)| *o += r);
    }

    fn sparsity(&self) -> Option<f64> {
        if self.negative.is_empty() {
            return None;
        }
        // Over all hidden units of all layers, weighted by width.
        let units: usize = self.dims[1..=self.depth()].iter().sum();
        Some(self.negative.iter().zip(&self.dims[1..]).map(|(f, &m)| f * m as f64).sum::<f64>() / units as f64)
    }

    fn layer_scales(&self) -> Vec<f64> {
        self.c.clone()
    }

    fn layer_sparsities(&self) -> Vec<f64> {
        self.negative.clone()
    }

    fn layer_params(&self) -> Vec<LayerParams> {
        (0..=self.depth())
            .map(|k| {
                let (wr, br) = self.layer_ranges(k);
                LayerParams {
                    rows: self.dims[k + 1],
                    cols: self.dims[k],
                    weight_init: self.w0[wr.clone()].to_vec(),
                    weight_now: self.weights()[wr].to_vec(),
                    bias_init: self.has_bias.then(|| self.w0[br.clone()].to_vec()),
                    bias_now: self.has_bias.then(|| self.weights()[br].to_vec()),
                }
            })
            .collect()
    }

    fn output_at(&self, x: &[f64]) -> f64 {
        let mut out = [0.0];
        let (state, quad) = self.evaluate_on(x, 1);
        let delta_w = self.weight_change();
        self.outputs_of(&state, quad.as_ref(), &delta_w, &mut out);
        out[0]
    }

    fn outputs_on(&self, data: &Dataset, out: &mut [f64]) {
        let d = data.d;
        let delta_w = self.weight_change();
        for start in (0..data.n).step_by(EVAL_ROWS) {
            let rows = EVAL_ROWS.min(data.n - start);
            let (state, quad) = self.evaluate_on(&data.x[start * d..(start + rows) * d], rows);
            self.outputs_of(&state, quad.as_ref(), &delta_w, &mut out[start..start + rows]);
        }
    }

    fn kernel_on(&self, data: &Dataset, out: &mut [f64]) -> bool {
        let (state, quad) = self.evaluate_on(&data.x, data.n);
        self.kernel_from(&self.jac_of(&state, quad.as_ref()), out);
        true
    }

    fn jacobian_row(&self, x: &[f64], out: &mut [f64]) {
        let (state, quad) = self.evaluate_on(x, 1);
        self.jacobian_row_of(&self.jac_of(&state, quad.as_ref()), 0, out);
    }

    fn input_gradient(&self, x: &[f64], out: &mut [f64]) -> bool {
        self.input_gradients_of(x, 1, out)
    }

    fn input_gradients(&self, data: &Dataset, out: &mut [f64]) -> bool {
        self.input_gradients_of(&data.x, data.n, out)
    }

    fn training_input_gradients(&self, data: &Dataset, out: &mut [f64]) -> bool {
        // The network's state at w on the training rows is cached by `forward`.
        if self.approx == Approx::Network && data.n == self.state.n {
            return self.input_gradients_from(&self.state, out);
        }
        self.input_gradients(data, out)
    }

    fn weight_stats(&self, _xt_y: &[f64]) -> WeightStats {
        let (norm_sq, dist_sq) = self.trained_norms();
        WeightStats { norm_sq, dist_sq, alignment: None }
    }
}
