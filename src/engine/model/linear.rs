//! The linear predictor f(x) = wᵀx (SPEC §2): the convex baseline for the classification
//! losses. J = X is constant, so its kernel X Xᵀ never moves and h² = 0.

use super::{Model, dot};
use crate::engine::config::ModelConfig;
use crate::engine::data::Dataset;

pub struct LinearPredictor {
    w: Vec<f64>,
    w0: Vec<f64>,
}

impl LinearPredictor {
    /// w0 from `model.w0`, or zeros when absent.
    pub fn new(cfg: &ModelConfig, data: &Dataset) -> Self {
        let w0 = cfg.w0.clone().unwrap_or_else(|| vec![0.0; data.d]);
        LinearPredictor { w: w0.clone(), w0 }
    }
}

impl Model for LinearPredictor {
    fn n_params(&self) -> usize {
        self.w.len()
    }
    fn params(&self) -> &[f64] {
        &self.w
    }
    fn init_params(&self) -> &[f64] {
        &self.w0
    }
    fn add_to_params(&mut self, scale: f64, delta: &[f64]) {
        for (w, d) in self.w.iter_mut().zip(delta) {
            *w += scale * d;
        }
    }
    /// One layer: W1 = w (1 × d), factor 1.
    fn layer_params(&self) -> Vec<super::LayerParams> {
        vec![super::LayerParams { rows: 1, cols: self.w.len(), weight_init: self.w0.clone(), weight_now: self.w.clone(), bias_init: None, bias_now: None }]
    }
    fn layer_scales(&self) -> Vec<f64> {
        vec![1.0]
    }
    fn forward(&mut self, data: &Dataset, out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = dot(&self.w, data.row(i));
        }
    }
    fn jvp(&self, data: &Dataset, dir: &[f64], out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = dot(dir, data.row(i));
        }
    }
    fn vjp(&self, data: &Dataset, z: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for (i, &zi) in z.iter().enumerate() {
            for (o, x) in out.iter_mut().zip(data.row(i)) {
                *o += zi * x;
            }
        }
    }
    fn kernel(&self, data: &Dataset, out: &mut [f64]) {
        let n = data.n;
        for i in 0..n {
            for j in 0..n {
                out[i * n + j] = dot(data.row(i), data.row(j));
            }
        }
    }
    fn hessian_scale_sq(&self, _data: &Dataset, _p1: &[f64]) -> f64 {
        0.0
    }
    fn output_hessian_apply(&self, _data: &Dataset, _z: &[f64], _dir: &[f64], out: &mut [f64]) {
        // f is linear in w: no second derivatives.
        out.iter_mut().for_each(|o| *o = 0.0);
    }
    fn output_at(&self, x: &[f64]) -> f64 {
        dot(&self.w, x)
    }
    fn jacobian_row(&self, x: &[f64], out: &mut [f64]) {
        out.copy_from_slice(x);
    }
    fn input_gradient(&self, _x: &[f64], out: &mut [f64]) -> bool {
        out.copy_from_slice(&self.w);
        true
    }
}
