//! `run --params-out FILE.npz`: the data and every layer's parameters at init and at the end as
//! an .npz archive that `numpy.load` reads (the `ndarray-npy` crate), so a researcher can check
//! our numbers against their own code. Contents (all float64 unless said):
//! - `x_train` (n × d), `y_train` (n); `x_test`, `y_test` when the data have a test split;
//! - `W1_init`, `W1_final`, `W2_init`, … (rows × cols, the rows are the layer's outputs) and
//!   `b1_init`, `b1_final`, … where the layer has a bias (SPEC §10 names; the two-layer net:
//!   W1 = u (m × d), W2 = v (1 × m); the linear predictor: W1 = w (1 × d));
//! - `layer_scales` (one per layer): the factor c_l of z_l = c_l W_l h_{l−1} (+ β b_l); the
//!   two-layer net: [1/s_d, c_m], so f(x) = c_m W2 σ(W1 x / s_d);
//! - `w_init`, `w_final`: the flat parameter vector of any model (the quadratic model has no layers);
//! - `a_neg` (1), `loss_scale` (1, the s of L = s Σ ℓ on the training set), `bias_scale` (1, β);
//! - `preset_json` (uint8): the effective preset as UTF-8 JSON (`bytes(z["preset_json"]).decode()`).

use crate::engine::config::preset_to_json;
use crate::engine::data::Dataset;
use crate::engine::loss::Loss;
use crate::engine::sim::Simulation;
use ndarray::{Array1, Array2};
use ndarray_npy::NpzWriter;
use std::path::Path;

fn matrix(rows: usize, cols: usize, values: &[f64]) -> Array2<f64> {
    Array2::from_shape_vec((rows, cols), values.to_vec()).expect("rows × cols values")
}

fn vector(values: &[f64]) -> Array1<f64> {
    Array1::from_vec(values.to_vec())
}

/// Writes the archive of a run (call it after the run: `_final` is the current state).
pub fn write_params_npz(path: &Path, sim: &Simulation) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: cannot write the .npz: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| fail(&e))?;
    let mut npz = NpzWriter::new(std::io::BufWriter::new(file));
    let mut add_matrix = |npz: &mut NpzWriter<_>, name: &str, rows: usize, cols: usize, values: &[f64]| npz.add_array(name, &matrix(rows, cols, values)).map_err(|e| fail(&e));
    let data_arrays = |npz: &mut NpzWriter<_>, data: &Dataset, suffix: &str, add: &mut dyn FnMut(&mut NpzWriter<_>, &str, usize, usize, &[f64]) -> Result<(), String>| -> Result<(), String> {
        add(npz, &format!("x_{suffix}"), data.n, data.d, &data.x)?;
        npz.add_array(format!("y_{suffix}"), &vector(&data.y)).map_err(|e| fail(&e))
    };
    data_arrays(&mut npz, sim.data(), "train", &mut add_matrix)?;
    if let Some(test) = sim.test_data() {
        data_arrays(&mut npz, test, "test", &mut add_matrix)?;
    }
    let model = sim.model();
    for (l, layer) in model.layer_params().iter().enumerate() {
        let l = l + 1;
        add_matrix(&mut npz, &format!("W{l}_init"), layer.rows, layer.cols, &layer.weight_init)?;
        add_matrix(&mut npz, &format!("W{l}_final"), layer.rows, layer.cols, &layer.weight_now)?;
        for (name, bias) in [("init", &layer.bias_init), ("final", &layer.bias_now)] {
            if let Some(b) = bias {
                npz.add_array(format!("b{l}_{name}"), &vector(b)).map_err(|e| fail(&e))?;
            }
        }
    }
    let preset = sim.preset();
    let loss = Loss { kind: preset.loss.kind, reduction: preset.loss.reduction };
    let arrays: [(&str, Vec<f64>); 6] = [
        ("layer_scales", model.layer_scales()),
        ("w_init", model.init_params().to_vec()),
        ("w_final", model.params().to_vec()),
        ("a_neg", vec![preset.model.a_neg]),
        ("loss_scale", vec![loss.scale(sim.data().n)]),
        ("bias_scale", vec![preset.model.bias_scale]),
    ];
    for (name, values) in arrays {
        npz.add_array(name, &vector(&values)).map_err(|e| fail(&e))?;
    }
    npz.add_array("preset_json", &Array1::from_vec(preset_to_json(preset).into_bytes())).map_err(|e| fail(&e))?;
    npz.finish().map_err(|e| fail(&e))?;
    Ok(())
}
