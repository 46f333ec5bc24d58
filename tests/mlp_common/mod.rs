//! Helpers shared by the layered net's step tests (tests/mlp_descend.rs,
//! tests/mlp_input_layer.rs): the model and data of a preset, and the relative distance of two
//! parameter or output vectors.

use catapult_lab::engine::config::Preset;
use catapult_lab::engine::data;
use catapult_lab::engine::dataset::Dataset;
use catapult_lab::engine::model::{self, Model, norm_sq};

pub fn build(p: &Preset) -> (Box<dyn Model>, Dataset) {
    let (data, _) = data::build(&p.data, p.seed).unwrap();
    (model::build(p, &data), data)
}

/// ‖a − b‖ / ‖b‖.
pub fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    norm_sq(&diff).sqrt() / norm_sq(b).sqrt().max(1e-300)
}
